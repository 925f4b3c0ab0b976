using System.Collections.Frozen;

namespace Restgres.SchemaCache;

/// <summary>
/// Derives the relationship graph from foreign keys, as PostgREST does: each FK gives a many-to-one (or one-to-one)
/// and its inverse one-to-many (or one-to-one); a table whose FKs cover its primary key... is a junction that gives
/// many-to-many. Relationships through views are added by the embedding work (view key dependencies).
/// </summary>
internal static class Relationships
{
    public static FrozenDictionary<QualifiedIdentifier, IReadOnlyList<Relationship>> Build(
        IReadOnlyList<SchemaCacheLoader.ForeignKey> fks, IReadOnlyList<Table> tables, HashSet<string> exposedSchemas)
    {
        _ = tables;
        var all = new List<Relationship>();
        foreach (var fk in fks)
        {
            var self = fk.Table == fk.ForeignTable;
            all.Add(new Relationship(fk.Table, fk.ForeignTable, self,
                fk.OneToOne ? Cardinality.OneToOne : Cardinality.ManyToOne, fk.Constraint, fk.Columns, null, false, false));
            all.Add(new Relationship(fk.ForeignTable, fk.Table, self,
                fk.OneToOne ? Cardinality.OneToOne : Cardinality.OneToMany, fk.Constraint,
                [.. fk.Columns.Select(c => (c.Item2, c.Item1))], null, false, false));
        }
        return all
            .Where(r => exposedSchemas.Contains(r.Table.Schema))
            .GroupBy(r => r.Table)
            .ToFrozenDictionary(g => g.Key, g => (IReadOnlyList<Relationship>)[.. g]);
    }
}
