using Restgres.Catalog;

namespace Restgres.OpenApi;

/// <summary>
/// What one OpenAPI document describes: the relations and functions of one schema that the request may see
/// (all of them with openapi-mode = ignore-privileges, those the role can access with follow-privileges), the
/// schema's comment, and the relationships for the foreign-key notes.
/// </summary>
internal sealed record ApiDescription(
    string Schema,
    IReadOnlyList<Table> Tables,
    IReadOnlyList<Routine> Routines,
    string? SchemaDescription,
    IReadOnlyDictionary<QualifiedIdentifier, IReadOnlyList<Relationship>> Relationships)
{
    /// <summary>
    /// The single-column to-one foreign key of <paramref name="column"/> as (foreign table, foreign column), preferring
    /// tables over views (PostgREST's makeProperty looks up the relationships to the same schema, sorted by
    /// relFTableIsView, and takes the first many-to-one or child-side one-to-one on exactly this column).
    /// </summary>
    public (string Table, string Column)? ForeignKey(Table table, string column)
    {
        if (!Relationships.TryGetValue(table.Identifier, out var rels)) return null;
        Relationship? found = null;
        foreach (var r in rels)
        {
            if (r.ForeignTable.Schema != table.Schema || r.Junction is not null) continue;
            var fk = r.Cardinality == Cardinality.ManyToOne || (r.Cardinality == Cardinality.OneToOne && !r.O2OIsParent);
            if (!fk || r.Columns.Count != 1 || r.Columns[0].Column != column) continue;
            if (found is null || (found.ForeignTableIsView && !r.ForeignTableIsView)) found = r;
            if (!r.ForeignTableIsView) break;
        }
        return found is null ? null : (found.ForeignTable.Name, found.Columns[0].ForeignColumn);
    }

    /// <summary>
    /// Splits a comment into a summary (first line) and the rest with its leading newlines dropped (empty when the
    /// comment is one line), as PostgREST does for tables, functions and the schema (<c>T.breakOn "\n"</c>). Tables
    /// and functions omit an empty rest; the schema's info.description keeps it.
    /// </summary>
    public static (string? Summary, string? Remainder) SplitComment(string? comment)
    {
        if (comment is null) return (null, null);
        var nl = comment.IndexOf('\n', StringComparison.Ordinal);
        return nl < 0 ? (comment, "") : (comment[..nl], comment[(nl + 1)..].TrimStart('\n'));
    }
}
