using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Restgres.Errors;

namespace Restgres.Requests;

/// <summary>
/// The parsed query string (PostgREST's QueryParams): select tree, filters (split root / embedded), order, logic trees,
/// limit/offset ranges per embed path, columns, on_conflict, RPC arguments and the canonical form used for
/// Content-Location.
/// </summary>
internal sealed record QueryParams
{
    public required string Canonical { get; init; }
    /// <summary>Arguments of a GET/HEAD RPC call: parameters whose value is not an operator expression.</summary>
    public required ImmutableArray<KeyValuePair<string, string>> RpcParams { get; init; }
    /// <summary>Ranges from limit/offset, keyed by embed path joined with dots plus ".limit" (root: "limit").</summary>
    public required ImmutableDictionary<string, NonnegRange> Ranges { get; init; }
    public required ImmutableArray<(ImmutableArray<string> Path, ImmutableArray<OrderTerm> Terms)> Order { get; init; }
    public required ImmutableArray<(ImmutableArray<string> Path, LogicTree Tree)> Logic { get; init; }
    public required ImmutableArray<string>? Columns { get; init; }
    public required ImmutableArray<SelectItem> Select { get; init; }
    public required ImmutableArray<(ImmutableArray<string> Path, Filter Filter)> Filters { get; init; }
    public required ImmutableArray<string>? OnConflict { get; init; }

    public IEnumerable<Filter> FiltersRoot => Filters.Where(f => f.Path.IsEmpty).Select(f => f.Filter);

    private static readonly string[] Reserved = ["select", "columns", "on_conflict"];
    private static readonly string[] ReservedEmbeddable = ["order", "limit", "offset", "and", "or"];

    /// <summary>Parses a raw (still percent-encoded) query string, PostgREST's <c>QueryParams.parse</c>.</summary>
    /// <param name="isRpcRead">GET/HEAD on /rpc: values without an operator become function arguments.</param>
    public static QueryParams Parse(bool isRpcRead, string rawQuery)
    {
        var qParams = SplitQuery(rawQuery);
        var nonEmpty = new List<KeyValuePair<string, string>>(qParams.Count);
        foreach (var p in qParams)
            if (p.Value is not null) nonEmpty.Add(new(p.Key, p.Value));

        string? Lookup(string key)
        {
            foreach (var p in qParams)
                if (p.Key == key) return p.Value;
            return null;
        }

        // order, logic, columns, select, filters, on_conflict — in PostgREST's order so the first error reported matches.
        // Builders, not ImmutableArray.Add per item: that copies the array each time, quadratic in a long query string.
        var order = ImmutableArray.CreateBuilder<(ImmutableArray<string>, ImmutableArray<OrderTerm>)>();
        foreach (var (k, v) in nonEmpty)
        {
            if (LastWord(k) != "order") continue;
            var path = TreePathMemo.Get(k, "failed to parse tree path").Path;
            order.Add((path, OrderMemo.Get(v, "failed to parse order")));
        }

        var logic = ImmutableArray.CreateBuilder<(ImmutableArray<string>, LogicTree)>();
        foreach (var (k, v) in nonEmpty)
        {
            if (LastWord(k) is not ("and" or "or")) continue;
            var (path, op) = ParseOrThrow(Grammar.LogicPath, k, "failed to parse logic path", k);
            var tree = ParseOrThrow(Grammar.LogicTree, op + v, "failed to parse logic tree", v);
            logic.Add((path, tree));
        }

        var columnsText = Lookup("columns");
        ImmutableArray<string>? columns = columnsText is null ? null : ColumnsMemo.Get(columnsText, "failed to parse columns parameter");

        var selectText = Lookup("select");
        var select = selectText is null ? DefaultSelect : SelectMemo.Get(selectText, "failed to parse select parameter");

        var filters = ImmutableArray.CreateBuilder<(ImmutableArray<string>, Filter)>();
        var rpcParams = ImmutableArray.CreateBuilder<KeyValuePair<string, string>>();
        foreach (var (k, v) in nonEmpty)
        {
            if (Reserved.Contains(k) || ReservedEmbeddable.Contains(LastWord(k))) continue;
            var (path, field) = TreePathMemo.Get(k, "failed to parse tree path");
            var expr = FastFilter.TryParse(v)
                ?? (isRpcRead
                    ? ParseOrThrow(Grammar.RpcFilterExpr, v, "failed to parse filter", v)
                    : ParseOrThrow(Grammar.FilterExpr, v, "failed to parse filter", v));
            if (expr is null)
            {
                rpcParams.Add(new(field.Name, v));
                continue;
            }
            filters.Add((path, new Filter(field, ReferenceEquals(expr.RawValue, v) ? expr : expr with { RawValue = v })));
        }

        var onConflictText = Lookup("on_conflict");
        ImmutableArray<string>? onConflict = onConflictText is null ? null : ColumnsMemo.Get(onConflictText, "failed to parse on_conflict parameter");

        return new QueryParams
        {
            Canonical = Canonicalize(qParams),
            RpcParams = rpcParams.DrainToImmutable(),
            Ranges = ParseRanges(nonEmpty),
            Order = order.DrainToImmutable(),
            Logic = logic.DrainToImmutable(),
            Columns = columns,
            Select = select,
            Filters = filters.DrainToImmutable(),
            OnConflict = onConflict,
        };
    }

    private static string LastWord(string key)
    {
        var i = key.LastIndexOf('.');
        return i < 0 ? key : key[(i + 1)..];
    }

    /// <summary><c>select=*</c>, what PostgREST parses when there is no select parameter.</summary>
    private static readonly ImmutableArray<SelectItem> DefaultSelect =
        [.. ParseOrThrow(Grammar.FieldForest, "*", "failed to parse select parameter", "*")];

    // Keys, select, order and column lists repeat from request to request (filter values do not): their parses are
    // memoised. The grammar is a pure function of the text, so a memoised result is the result.
    private static readonly ParseMemo<(ImmutableArray<string> Path, Field Field)> TreePathMemo = Memo(Grammar.TreePath, r => r);
    private static readonly ParseMemo<ImmutableArray<OrderTerm>> OrderMemo = Memo(Grammar.Order, r => r.ToImmutableArray());
    private static readonly ParseMemo<ImmutableArray<SelectItem>> SelectMemo = Memo(Grammar.FieldForest, r => r.ToImmutableArray());
    private static readonly ParseMemo<ImmutableArray<string>> ColumnsMemo = Memo(Grammar.Columns, r => r.ToImmutableArray());

    private static ParseMemo<T> Memo<TParsed, T>(Parsec.P<TParsed> parser, Func<TParsed, T> freeze) =>
        new((input, what) => freeze(ParseOrThrow(parser, input, what, input)));

    /// <summary>
    /// Runs a parser; on failure throws PGRST100 with Parsec's message, whose source name is <c>what (subject)</c> as in
    /// PostgREST. The source name is only built on failure (parsing runs again for it: errors are rare, successes hot).
    /// </summary>
    private static T ParseOrThrow<T>(Parsec.P<T> parser, string input, string what, string subject)
    {
        if (Parsec.Run(parser, input, "", out var value, out _)) return value;
        Parsec.Run(parser, input, $"{what} ({subject})", out _, out var err);
        throw Pgrst.QueryParam(err.Message, err.Details);
    }

    /// <summary>A bounded memo of one grammar rule's results, keyed by the input text (short inputs only).</summary>
    private sealed class ParseMemo<T>(Func<string, string, T> parse)
    {
        private const int MaxEntries = 1024;
        private const int MaxInputLength = 256;
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, T> _results = new(StringComparer.Ordinal);
        private int _count;

        /// <summary>The parse of <paramref name="input"/>; a failure throws PGRST100 naming <paramref name="what"/>.</summary>
        public T Get(string input, string what)
        {
            if (_results.TryGetValue(input, out var hit)) return hit;
            var result = parse(input, what);
            if (input.Length > MaxInputLength) return result;
            if (Interlocked.Increment(ref _count) > MaxEntries)
            {
                _results.Clear();
                Volatile.Write(ref _count, 1);
            }
            _results[input] = result;
            return result;
        }
    }

    /// <summary>
    /// limit/offset per key; an offset key is renamed to the matching ".limit" key so both combine (QueryParams.hs).
    /// Numbers are read like Haskell's <c>readMaybe :: Integer</c>; unparsable ones mean "no restriction".
    /// </summary>
    private static ImmutableDictionary<string, NonnegRange> ParseRanges(List<KeyValuePair<string, string>> nonEmpty)
    {
        var any = false;
        foreach (var (k, _) in nonEmpty)
            any |= LastWord(k) is "limit" or "offset";
        if (!any) return NoRanges;
        var limits = new Dictionary<string, NonnegRange>(StringComparer.Ordinal);
        var offsets = new Dictionary<string, NonnegRange>(StringComparer.Ordinal);
        foreach (var (k, v) in nonEmpty)
        {
            var lw = LastWord(k);
            if (lw == "limit")
                limits[k] = NonnegRange.All.Restrict(ReadInteger(v));
            else if (lw == "offset")
            {
                var key = k[..^"offset".Length] + "limit";
                offsets[key] = ReadInteger(v) is { } o ? NonnegRange.Geq(o) : NonnegRange.All;
            }
        }
        var result = ImmutableDictionary.CreateBuilder<string, NonnegRange>(StringComparer.Ordinal);
        foreach (var (k, l) in limits)
        {
            if (offsets.TryGetValue(k, out var o))
            {
                var lim = l.Limit ?? 0;
                result[k] = new NonnegRange(o.Offset, NonnegRange.LastOf(o.Offset, lim));
            }
            else result[k] = l;
        }
        foreach (var (k, o) in offsets)
            if (!limits.ContainsKey(k)) result[k] = o;
        return result.ToImmutable();
    }

    private static readonly ImmutableDictionary<string, NonnegRange> NoRanges = ImmutableDictionary.Create<string, NonnegRange>(StringComparer.Ordinal);

    private static long? ReadInteger(string s) => HaskellRead.ReadInteger(s);

    /// <summary>
    /// http-types' parseQueryReplacePlus: split on <c>&amp;</c> and <c>;</c>, <c>+</c> is a space, percent-decoding;
    /// a key without <c>=</c> has no value. Invalid UTF-8 is a client error (PGRST100).
    /// </summary>
    public static List<KeyValuePair<string, string?>> SplitQuery(string rawQuery)
    {
        var q = rawQuery.StartsWith('?') ? rawQuery[1..] : rawQuery;
        var list = new List<KeyValuePair<string, string?>>();
        if (q.Length == 0) return list;
        foreach (var part in q.Split('&', ';'))
        {
            if (part.Length == 0) continue;
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? part : part[..eq];
            string? val = eq < 0 ? null : part[(eq + 1)..];
            list.Add(new(Decode(key), val is null ? null : Decode(val)));
        }
        return list;
    }

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    public static string Decode(string s)
    {
        if (s.AsSpan().IndexOfAny('%', '+') < 0) return s;
        var bytes = new List<byte>(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '+') bytes.Add((byte)' ');
            else if (c == '%' && i + 2 < s.Length && IsHex(s[i + 1]) && IsHex(s[i + 2]))
            {
                bytes.Add((byte)Convert.ToInt32(s.Substring(i + 1, 2), 16));
                i += 2;
            }
            else if (c < 0x80) bytes.Add((byte)c);
            else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(s.Substring(i, 2)));
                i++;
            }
            else bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
        }
        try
        {
            return StrictUtf8.GetString([.. bytes]);
        }
        catch (DecoderFallbackException)
        {
            throw Pgrst.QueryParam("Invalid UTF-8 in the query string", $"Could not decode '{s}' as UTF-8");
        }
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    /// <summary>PostgREST's canonical query string: sorted by key, url-encoded, repeated keys joined by commas.</summary>
    private static string Canonicalize(List<KeyValuePair<string, string?>> qParams)
    {
        // sortOn fst is stable and compares the raw bytes, i.e. code points: a surrogate pair sorts above U+FFFF.
        if (qParams.Count == 0) return "";
        // Insertion sort: stable and allocation-free for the handful of parameters a request has; a stable
        // O(n log n) sort beyond that, since the count is the client's (insertion sort is quadratic).
        var sorted = new (string Key, string Val)[qParams.Count];
        if (sorted.Length > 16)
        {
            var i = 0;
            foreach (var p in qParams.OrderBy(p => p.Key, CodePointComparer.Instance))
                sorted[i++] = (p.Key, p.Value ?? "");
        }
        else
        {
            for (var i = 0; i < sorted.Length; i++)
            {
                var item = (qParams[i].Key, qParams[i].Value ?? "");
                var j = i;
                for (; j > 0 && CodePointComparer.Instance.Compare(sorted[j - 1].Key, item.Key) > 0; j--)
                    sorted[j] = sorted[j - 1];
                sorted[j] = item;
            }
        }
        var sb = new StringBuilder();
        for (var i = 0; i < sorted.Length; i++)
        {
            var k = sorted[i].Key;
            if (i > 0 && sorted[i - 1].Key == k)
            {
                // urlEncodeVars joins the values of a repeated key with commas.
                sb.Append(',').Append(CanonicalEncode(sorted[i].Val));
                continue;
            }
            if (sb.Length > 0) sb.Append('&');
            sb.Append(CanonicalEncode(k)).Append('=').Append(CanonicalEncode(sorted[i].Val));
        }
        return sb.ToString();
    }

    private sealed class CodePointComparer : IComparer<string>
    {
        public static readonly CodePointComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            if (x is null || y is null) return x is null ? (y is null ? 0 : -1) : 1;
            var n = Math.Min(x.Length, y.Length);
            for (var i = 0; i < n; i++)
            {
                if (x[i] == y[i]) continue;
                return Fix(x[i]) - Fix(y[i]);
            }
            return x.Length - y.Length;
        }

        // Moves surrogates above U+E000..U+FFFF so UTF-16 units compare in code point order.
        private static int Fix(char c) => c < 0xD800 ? c : c >= 0xE000 ? c - 0x800 : c + 0x2000;
    }

    /// <summary>http-types' urlEncode: keeps ASCII alphanumerics and <c>-_.~</c>, percent-encodes every other UTF-8 byte.</summary>
    public static string UrlEncode(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var b in Encoding.UTF8.GetBytes(s))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~') sb.Append(c);
            else AppendHex(sb, b);
        }
        return sb.ToString();
    }

    /// <summary>
    /// Network.HTTP's urlEncode as PostgREST's canonical form applies it, to the raw query bytes unpacked as Latin-1
    /// characters: like <see cref="UrlEncode"/> for ASCII, but each byte of 0x80 and above is UTF-8-encoded as a
    /// character first, so <c>é</c> (C3 A9) becomes <c>%C3%83%C2%A9</c>.
    /// </summary>
    private static string CanonicalEncode(string s)
    {
        if (!s.AsSpan().ContainsAnyExcept(UnreservedChars)) return s;
        var sb = new StringBuilder(s.Length);
        foreach (var b in Encoding.UTF8.GetBytes(s))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~') sb.Append(c);
            else if (b < 0x80) AppendHex(sb, b);
            else
            {
                AppendHex(sb, (byte)(0xC0 | (b >> 6)));
                AppendHex(sb, (byte)(0x80 | (b & 0x3F)));
            }
        }
        return sb.ToString();
    }

    private static readonly System.Buffers.SearchValues<char> UnreservedChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~");

    private static void AppendHex(StringBuilder sb, byte b) => sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
}
