using System.Text;
using Restgres.Catalog;

namespace Restgres.Plan;

/// <summary>
/// "Perhaps you meant ..." hints. PostgREST takes every one of them from the fuzzyset library (Error.hs:
/// tableNotFoundHint, noRelBetweenHint, noRpcHint), so do we, through <see cref="FuzzySet"/>. Client-supplied names
/// are bounded first: hints cost nothing more for a hostile name than for a typo.
/// </summary>
internal static class Fuzzy
{
    /// <summary>PostgREST builds no table index for a schema with this many tables (maxDbTablesForFuzzySearch).</summary>
    private const int MaxTablesForFuzzySearch = 500;

    /// <summary>PostgreSQL's identifier limit (NAMEDATALEN − 1 bytes): no relation or function name is longer.</summary>
    public const int MaxIdentifierBytes = 63;

    /// <summary>
    /// Whether a client-supplied name is short enough to look for similar names: a longer one names nothing and is
    /// not worth a comparison grid per candidate (a 130k-character name cost seconds of CPU per request).
    /// </summary>
    public static bool Hintable(string name) =>
        name.Length <= MaxIdentifierBytes && Encoding.UTF8.GetByteCount(name) <= MaxIdentifierBytes;

    /// <summary>tableNotFoundHint: the closest table or view of the schema, with a similarity of at least 0.75.</summary>
    public static string? TableHint(SchemaCache cache, QualifiedIdentifier target)
    {
        if (!Hintable(target.Name)) return null;
        var names = cache.Tables.Keys.Where(k => k.Schema == target.Schema).Select(k => k.Name).ToList();
        if (names.Count == 0 || names.Count >= MaxTablesForFuzzySearch) return null;
        var best = new FuzzySet(names).GetOne(target.Name, FuzzySet.NameMinScore);
        return best is null ? null : $"Perhaps you meant the table '{target.Schema}.{best}'";
    }

    /// <summary>
    /// An upper bound of the Levenshtein similarity from the lengths alone: the distance is at least the difference
    /// in length.
    /// </summary>
    public static double MaxSimilarity(int a, int b) => a == b ? 1 : (double)Math.Min(a, b) / Math.Max(a, b);
}

/// <summary>
/// The fuzzy string set PostgREST's hints come from (Haskell's fuzzyset): candidates sharing n-grams (3, then 2) with
/// the query are ranked by cosine similarity, the best 50 re-scored by normalised Levenshtein similarity on the
/// lower-cased strings, and those at or above the minimum score returned, best first. An exact (case-insensitive)
/// match scores 1.
/// </summary>
internal sealed class FuzzySet
{
    /// <summary>fuzzyset's default (get, getOne): relationship and parameter-list hints.</summary>
    public const double DefaultMinScore = 0.33;

    /// <summary>getFuzzyHint's minimum for table and function names, so that a hint reveals only a close name.</summary>
    public const double NameMinScore = 0.75;

    private readonly List<(string Value, string Lower, Dictionary<string, int>[] Grams, double[] Norms)> _items = [];
    private readonly int _longest;

    public FuzzySet(IEnumerable<string> values)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var v in values)
        {
            var lower = v.ToLowerInvariant();
            // add: an entry whose lower-cased key already exists is ignored.
            if (!seen.Add(lower)) continue;
            var grams = new Dictionary<string, int>[4];
            var norms = new double[4];
            for (var size = 2; size <= 3; size++)
            {
                grams[size] = GramVector(lower, size);
                norms[size] = Math.Sqrt(grams[size].Values.Sum(n => (double)n * n));
            }
            _items.Add((v, lower, grams, norms));
            _longest = Math.Max(_longest, lower.Length);
        }
    }

    public string? GetOne(string query, double minScore) => Get(query, minScore).Select(r => r.Value).FirstOrDefault();

    public List<(double Score, string Value)> Get(string query, double minScore)
    {
        // A Levenshtein similarity is at most the ratio of the two lengths: when even the longest candidate is too
        // short for that ratio to reach the minimum, nothing can match, and a client-sized query costs nothing more.
        if (query.Length > _longest && Fuzzy.MaxSimilarity(query.Length, _longest) < minScore) return [];
        var key = query.ToLowerInvariant();
        foreach (var item in _items)
            if (item.Lower == key) return [(1.0, item.Value)];
        for (var size = 3; size >= 2; size--)
        {
            var qv = GramVector(key, size);
            var qNorm = Math.Sqrt(qv.Values.Sum(n => (double)n * n));
            var cosine = new List<(double Score, int Index)>();
            for (var i = 0; i < _items.Count; i++)
            {
                var iv = _items[i].Grams[size];
                long dot = 0;
                foreach (var (g, n) in qv)
                    if (iv.TryGetValue(g, out var m)) dot += (long)n * m;
                if (dot > 0) cosine.Add((dot / (qNorm * _items[i].Norms[size]), i));
            }
            // Candidates whose length ratio cannot reach the minimum score are dropped before any Levenshtein grid.
            var results = cosine
                .OrderByDescending(c => c.Score)
                .Take(50)
                .Select(c => (Score: Fuzzy.MaxSimilarity(key.Length, _items[c.Index].Lower.Length) < minScore
                    ? 0 : LevenshteinSimilarity(key, _items[c.Index].Lower), _items[c.Index].Value))
                .OrderByDescending(r => r.Score)
                .Where(r => r.Score >= minScore)
                .ToList();
            if (results.Count > 0) return results;
        }
        return [];
    }

    /// <summary>The n-grams of the normalised string (letters, digits, spaces, commas; lower-cased) framed by <c>-</c>.</summary>
    public static Dictionary<string, int> GramVector(string value, int size)
    {
        var sb = new StringBuilder("-");
        foreach (var c in value.ToLowerInvariant())
            if (char.IsLetterOrDigit(c) || char.IsWhiteSpace(c) || c == ',') sb.Append(c);
        sb.Append('-');
        var s = sb.ToString();
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i + size <= s.Length; i++)
        {
            var g = s.Substring(i, size);
            result[g] = result.GetValueOrDefault(g) + 1;
        }
        return result;
    }

    /// <summary>1 − Levenshtein distance / length of the longer string (text-metrics' levenshteinNorm), in two rows.</summary>
    public static double LevenshteinSimilarity(string a, string b)
    {
        if (a.Length == 0 && b.Length == 0) return 1;
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) prev[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return 1.0 - (double)prev[b.Length] / Math.Max(a.Length, b.Length);
    }
}
