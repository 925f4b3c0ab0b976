using Restgres.SchemaCache;

namespace Restgres.Plan;

/// <summary>
/// "Perhaps you meant ..." hints (PostgREST uses a fuzzy set of names per schema, skipped on schemas with 500 or more
/// tables to bound the cost). We score with trigram similarity, which is what the fuzzyset library approximates.
/// </summary>
public static class Fuzzy
{
    private const int MaxTablesForFuzzySearch = 500;

    /// <summary>PostgreSQL's identifier limit (NAMEDATALEN − 1 bytes): no relation or function name is longer.</summary>
    public const int MaxIdentifierBytes = 63;

    /// <summary>
    /// Whether a client-supplied name is short enough to look for similar names: a longer one names nothing and is
    /// not worth a comparison grid per candidate (a 130k-character name cost seconds of CPU per request).
    /// </summary>
    public static bool Hintable(string name) =>
        name.Length <= MaxIdentifierBytes && System.Text.Encoding.UTF8.GetByteCount(name) <= MaxIdentifierBytes;

    public static string? TableHint(SchemaCache.SchemaCache cache, QualifiedIdentifier target)
    {
        if (!Hintable(target.Name)) return null;
        var names = cache.Tables.Keys.Where(k => k.Schema == target.Schema).Select(k => k.Name).ToList();
        if (names.Count == 0 || names.Count >= MaxTablesForFuzzySearch) return null;
        var best = Best(target.Name, names, 0.75);
        return best is null ? null : $"Perhaps you meant the table '{target.Schema}.{best}'";
    }

    public static string? Best(string needle, IEnumerable<string> candidates, double minScore)
    {
        string? best = null;
        var bestScore = 0.0;
        foreach (var c in candidates)
        {
            // The distance is at least the difference in length, so a candidate whose length ratio is below the
            // minimum can never be chosen: skip its grid.
            if (MaxSimilarity(needle.Length, c.Length) < minScore) continue;
            var s = Similarity(needle, c);
            if (s > bestScore) { bestScore = s; best = c; }
        }
        return bestScore >= minScore ? best : null;
    }

    /// <summary>An upper bound of <see cref="Similarity"/> from the lengths alone (distance ≥ length difference).</summary>
    public static double MaxSimilarity(int a, int b) => a == b ? 1 : (double)Math.Min(a, b) / Math.Max(a, b);

    /// <summary>Levenshtein-based similarity in [0,1] (1 - distance / max length), as fuzzyset reports.</summary>
    public static double Similarity(string a, string b)
    {
        a = a.ToLowerInvariant();
        b = b.ToLowerInvariant();
        if (a.Length == 0 && b.Length == 0) return 1;
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return 1.0 - (double)d[a.Length, b.Length] / Math.Max(a.Length, b.Length);
    }
}
