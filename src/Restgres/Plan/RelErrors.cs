using System.Text;
using Restgres.Catalog;
using Restgres.Errors;

namespace Restgres.Plan;

/// <summary>PGRST200 / PGRST201 (Error.hs: NoRelBetween, AmbiguousRelBetween) with PostgREST's details and hints.</summary>
internal static class RelErrors
{
    public static ApiError NoRelBetween(string parent, string child, string? hint, string schema, SchemaCache cache)
    {
        var details = $"Searched for a foreign key relationship between '{parent}' and '{child}'"
            + (hint is null ? "" : $" using the hint '{hint}'") + $" in the schema '{schema}', but no matches were found.";
        string? suggestion = null;
        // noRelBetweenHint: with the parent known, the closest of its related tables, unless the child is one of them
        // (an exact match scores 1: the embed hint is the problem then); otherwise the closest table with relationships.
        var parentRels = cache.Relationships.TryGetValue(new QualifiedIdentifier(schema, parent), out var pr)
            ? pr.Where(r => r.ForeignTable.Schema == schema).ToList() : null;
        if (parentRels is not null)
        {
            if (Fuzzy.Hintable(child))
            {
                var children = new FuzzySet(parentRels.Select(r => r.ForeignTable.Name));
                var best = children.Get(child, FuzzySet.DefaultMinScore).FirstOrDefault(r => r.Score < 1.0).Value;
                if (best is not null) suggestion = $"Perhaps you meant '{best}' instead of '{child}'.";
            }
        }
        else if (Fuzzy.Hintable(parent))
        {
            var parents = new FuzzySet(cache.Relationships.Keys.Where(k => k.Schema == schema).Select(k => k.Name));
            var best = parents.GetOne(parent, FuzzySet.DefaultMinScore);
            if (best is not null) suggestion = $"Perhaps you meant '{best}' instead of '{parent}'.";
        }
        return new ApiError(400, "PGRST200", $"Could not find a relationship between '{parent}' and '{child}' in the schema cache",
            ApiError.Str(details), ApiError.Str(suggestion));
    }

    public static ApiError Ambiguous(string parent, string child, IReadOnlyList<Relationship> rels)
    {
        var details = new StringBuilder("[");
        for (var i = 0; i < rels.Count; i++)
        {
            if (i > 0) details.Append(',');
            details.Append(Compressed(rels[i]));
        }
        details.Append(']');
        var hints = string.Join(", ", rels.Select(r => "'" + r.ForeignTable.Name + "!" + (r.Junction is { } j ? j.Table.Name : r.Constraint) + "'"));
        return new ApiError(300, "PGRST201", $"Could not embed because more than one relationship was found for '{parent}' and '{child}'",
            details.ToString(), ApiError.Str($"Try changing '{child}' to one of the following: {hints}. Find the desired relationship in the 'details' key."));
    }

    /// <summary>compressedRel: keys in aeson's sorted order (cardinality, embedding, relationship).</summary>
    private static string Compressed(Relationship r)
    {
        static string Els(IEnumerable<string> els) => "(" + string.Join(", ", els) + ")";
        string cardinality, relationship;
        switch (r.Cardinality)
        {
            case Cardinality.ManyToMany:
                var j = r.Junction!;
                cardinality = "many-to-many";
                relationship = $"{j.Table.Name} using {j.Constraint1}{Els(j.SourceColumns.Select(c => c.JunctionColumn))} and {j.Constraint2}{Els(j.TargetColumns.Select(c => c.JunctionColumn))}";
                break;
            case Cardinality.Computed:
                return "{}";
            default:
                cardinality = r.Cardinality switch { Cardinality.ManyToOne => "many-to-one", Cardinality.OneToOne => "one-to-one", _ => "one-to-many" };
                relationship = $"{r.Constraint} using {r.Table.Name}{Els(r.Columns.Select(c => c.Column))} and {r.ForeignTable.Name}{Els(r.Columns.Select(c => c.ForeignColumn))}";
                break;
        }
        return "{\"cardinality\":" + JsonText.Quote(cardinality) + ",\"embedding\":" + JsonText.Quote(r.Table.Name + " with " + r.ForeignTable.Name)
            + ",\"relationship\":" + JsonText.Quote(relationship) + "}";
    }
}
