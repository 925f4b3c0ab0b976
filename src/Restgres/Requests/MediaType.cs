using System.Globalization;

namespace Restgres.Requests;

internal enum MediaKind
{
    ApplicationJson, GeoJson, TextCsv, TextPlain, TextXml, OpenApi, UrlEncoded, OctetStream, Any, Other,
    ArrayJsonStrip, SingularJson, Plan,
}

/// <summary>A media type as PostgREST understands it (MediaType.hs).</summary>
internal sealed record MediaType(MediaKind Kind, string? Other = null, bool StripNulls = false,
    MediaType? PlanFor = null, bool PlanJson = false, IReadOnlyList<string>? PlanOptions = null)
{
    public static readonly MediaType Json = new(MediaKind.ApplicationJson);
    public static readonly MediaType Csv = new(MediaKind.TextCsv);
    public static readonly MediaType AnyType = new(MediaKind.Any);

    public string ToMime() => Kind switch
    {
        MediaKind.ApplicationJson => "application/json",
        MediaKind.ArrayJsonStrip => "application/vnd.pgrst.array+json;nulls=stripped",
        MediaKind.GeoJson => "application/geo+json",
        MediaKind.TextCsv => "text/csv",
        MediaKind.TextPlain => "text/plain",
        MediaKind.TextXml => "text/xml",
        MediaKind.OpenApi => "application/openapi+json",
        MediaKind.SingularJson => StripNulls ? "application/vnd.pgrst.object+json;nulls=stripped" : "application/vnd.pgrst.object+json",
        MediaKind.UrlEncoded => "application/x-www-form-urlencoded",
        MediaKind.OctetStream => "application/octet-stream",
        MediaKind.Any => "*/*",
        MediaKind.Other => Other!,
        MediaKind.Plan => "application/vnd.pgrst.plan+" + (PlanJson ? "json" : "text") + "; for=\"" + PlanFor!.ToMime() + "\""
            + (PlanOptions is { Count: > 0 } ? "; options=" + string.Join("|", PlanOptions) : ""),
        _ => "application/json",
    };

    /// <summary>The Content-Type header value: the mime type plus <c>; charset=utf-8</c> except for binary/other types.</summary>
    public string ToContentType() => Kind is MediaKind.OctetStream or MediaKind.Other ? ToMime() : ToMime() + "; charset=utf-8";

    public static MediaType Decode(string text)
    {
        var (main, sub, pars) = Tokenize(text);
        // Data.Map.fromList: the last of repeated parameters wins.
        string? Param(string k) => pars.LastOrDefault(p => p.Key == k).Value;
        var strip = (Param("nulls") ?? "false") == "stripped";
        return (main.ToLowerInvariant(), sub.ToLowerInvariant()) switch
        {
            ("application", "json") => Json,
            ("application", "geo+json") => new(MediaKind.GeoJson),
            ("text", "csv") => Csv,
            ("text", "plain") => new(MediaKind.TextPlain),
            ("text", "xml") => new(MediaKind.TextXml),
            ("application", "openapi+json") => new(MediaKind.OpenApi),
            ("application", "x-www-form-urlencoded") => new(MediaKind.UrlEncoded),
            ("application", "octet-stream") => new(MediaKind.OctetStream),
            ("application", "vnd.pgrst.plan") or ("application", "vnd.pgrst.plan+text") => Plan(false),
            ("application", "vnd.pgrst.plan+json") => Plan(true),
            ("application", "vnd.pgrst.object+json") or ("application", "vnd.pgrst.object") => new(MediaKind.SingularJson, StripNulls: strip),
            ("application", "vnd.pgrst.array+json") or ("application", "vnd.pgrst.array") => strip ? new(MediaKind.ArrayJsonStrip) : Json,
            ("*", "*") => AnyType,
            _ => new(MediaKind.Other, text),
        };

        MediaType Plan(bool json)
        {
            var opts = (Param("options") ?? "").Split('|');
            string[] known = ["analyze", "verbose", "settings", "buffers", "wal"];
            return new MediaType(MediaKind.Plan, PlanFor: Decode(Param("for") ?? "application/json"), PlanJson: json,
                PlanOptions: [.. known.Where(opts.Contains)]);
        }
    }

    /// <summary>PostgREST's tokenizeMediaType: type/subtype and <c>;key=value</c> parameters; unparsable text is the main type.</summary>
    private static (string Main, string Sub, List<KeyValuePair<string, string>> Params) Tokenize(string s)
    {
        var i = 0;
        static bool MainChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '*';
        static bool SubChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '*' or '+' or '-';
        while (i < s.Length && MainChar(s[i])) i++;
        if (i == 0 || i >= s.Length || s[i] != '/') return (s, "", []);
        var main = s[..i];
        var j = ++i;
        while (i < s.Length && SubChar(s[i])) i++;
        if (i == j) return (s, "", []);
        var sub = s[j..i];
        var pars = new List<KeyValuePair<string, string>>();
        while (true)
        {
            var k = i;
            while (k < s.Length && Parsec.IsHsSpace(s[k])) k++;
            if (k >= s.Length || s[k] != ';') break;
            k++;
            while (k < s.Length && Parsec.IsHsSpace(s[k])) k++;
            var ks = k;
            while (k < s.Length && (char.IsAsciiLetterOrDigit(s[k]) || s[k] == '-')) k++;
            if (k == ks) break;
            var key = s[ks..k];
            while (k < s.Length && Parsec.IsHsSpace(s[k])) k++;
            if (k >= s.Length || s[k] != '=') break;
            k++;
            while (k < s.Length && Parsec.IsHsSpace(s[k])) k++;
            string val;
            if (k < s.Length && s[k] == '"')
            {
                var end = s.IndexOf('"', k + 1);
                if (end < 0) break;
                val = s[(k + 1)..end];
                k = end + 1;
            }
            else
            {
                var vs = k;
                while (k < s.Length && (char.IsAsciiLetterOrDigit(s[k]) || s[k] is '|' or '-')) k++;
                if (k == vs) break;
                val = s[vs..k];
            }
            pars.Add(new(key.ToLowerInvariant(), val));
            i = k;
        }
        return (main, sub, pars);
    }

    /// <summary>
    /// wai's parseHttpAccept: split on commas, drop spaces, stable-sort by (q, specificity) descending. The q-value is
    /// read with Haskell's <c>reads</c> (<c>q=.5</c> is unreadable and counts as 1). An empty header has no media types
    /// at all (ByteString's split gives no part), which PostgREST answers with 406.
    /// </summary>
    public static List<MediaType> ParseAccept(string? header)
    {
        if (header is null) return [AnyType];
        if (header.Length == 0) return [];
        var items = new List<(string Type, double Q, int Spec, int Index)>();
        var parts = header.Split(',');
        for (var idx = 0; idx < parts.Length; idx++)
        {
            var s = parts[idx].Replace(" ", "", StringComparison.Ordinal);
            var qi = s.IndexOf(";q=", StringComparison.Ordinal);
            double q = 1.0;
            string type = s;
            if (qi >= 0)
            {
                type = s[..qi];
                var rest = s[(qi + 3)..];
                var semi = rest.IndexOf(';', StringComparison.Ordinal);
                var qs = semi >= 0 ? rest[..semi] : rest;
                q = HaskellRead.ReadsDouble(qs) ?? 1.0;
            }
            var spec = type.Count(c => c == ';') - type.Count(c => c == '*');
            items.Add((type, q, spec, idx));
        }
        return [.. items.OrderByDescending(x => x.Q).ThenByDescending(x => x.Spec).ThenBy(x => x.Index).Select(x => Decode(x.Type))];
    }
}
