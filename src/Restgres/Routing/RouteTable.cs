using System.Collections.Immutable;
using System.Text;
using Restgres.Requests;

namespace Restgres.Routing;

/// <summary>How a route's error responses are shaped.</summary>
internal enum ErrorShape
{
    /// <summary>PostgREST's <c>{"code","message","details","hint"}</c>.</summary>
    Postgrest,

    /// <summary>FastAPI's <c>{"detail": message}</c>, with the same status: what clients migrated from FastAPI expect.</summary>
    Fastapi,
}

/// <summary>One piece of a route's fixed query string: literal text (already URL-encoded) or a capture.</summary>
internal readonly record struct QueryPiece(string Text, int Capture, bool InList);

/// <summary>
/// One route of the routes file: an incoming method + path template mapped onto an API path, fixed query parameters
/// (captures substituted as filter values only), fixed headers and an error shape.
/// </summary>
/// <param name="Segments">The template's segments; a capture is <c>{name}</c>.</param>
/// <param name="Query">The target's query string as pieces; captures are indexes into <paramref name="Segments"/>.</param>
internal sealed record Route(
    int Line,
    ImmutableArray<string> Methods,
    string Template,
    ImmutableArray<string> Segments,
    string To,
    string TargetPath,
    ImmutableArray<QueryPiece> Query,
    ImmutableArray<KeyValuePair<string, string>> Headers,
    ErrorShape Errors)
{
    /// <summary>The route's <c>rate-limit</c> line: rules that replace <c>server-rate-limits</c> on this route (for
    /// the roles they name, or for all with a single rule); null: none.</summary>
    public RateLimiting.RateLimitRules? RateLimit { get; init; }

    /// <summary>The route's <c>auth-detail</c>: the <c>detail</c> of a 401 for the token in the fastapi error shape
    /// (the old service's wording); null: FastAPI's own "Could not validate credentials".</summary>
    public string? AuthDetail { get; init; }

    /// <summary>The capture names, in path order (OpenAPI's path parameters).</summary>
    public IEnumerable<string> Captures => Segments.Where(IsCapture).Select(s => s[1..^1]);

    /// <summary>What OpenAPI says of the route: where it goes, and with which headers.</summary>
    public string Summary =>
        $"Route to {To}" + (Headers.IsEmpty ? "" : " with " + string.Join(", ", Headers.Select(h => h.Key + ": " + h.Value)))
        + (Errors == ErrorShape.Fastapi ? "; errors as {\"detail\": message}" : "")
        + (RateLimit is null ? "" : "; rate limit " + RateLimit.Text);

    /// <summary>
    /// The client's query parameters passed under another name (<c>param limit as row_limit</c>): an old API's
    /// parameter that PostgREST reserves (<c>limit</c>, <c>order</c>, ...) can reach a function as an argument.
    /// </summary>
    public ImmutableArray<KeyValuePair<string, string>> Renames { get; init; } = [];

    /// <summary>The admin endpoint the route serves (<c>to admin:/metrics</c>), or null for an API route.</summary>
    public string? AdminTarget { get; init; }

    public static bool IsCapture(string segment) => segment.Length > 2 && segment[0] == '{' && segment[^1] == '}';

    /// <summary>The template with capture names dropped: two routes of one method and one shape collide.</summary>
    public string Shape => string.Join('/', Segments.Select(s => IsCapture(s) ? "{}" : s));

    public bool Answers(string method) =>
        Methods.Contains(method) || (method == "HEAD" && Methods.Contains("GET"));

    /// <summary>Matches decoded path segments; literal segments compare ordinally.</summary>
    public bool Matches(ReadOnlySpan<string> path)
    {
        if (path.Length != Segments.Length) return false;
        for (var i = 0; i < path.Length; i++)
            if (!IsCapture(Segments[i]) && !string.Equals(Segments[i], path[i], StringComparison.Ordinal)) return false;
        return true;
    }

    /// <summary>
    /// The API request this route makes of <paramref name="raw"/> (whose path matched): the target path, the fixed
    /// query with the captures substituted and the client's own query appended, the fixed headers replacing the
    /// client's of the same name, the method and body unchanged. Also returns the new raw target (for the plan cache).
    /// </summary>
    public (RawRequest Raw, string Target) Rewrite(RawRequest raw, ReadOnlySpan<string> path)
    {
        var query = new StringBuilder();
        foreach (var piece in Query)
        {
            if (piece.Capture < 0) query.Append(piece.Text);
            else if (piece.InList) AppendEncoded(query, Quoted(path[piece.Capture]));
            else AppendEncoded(query, path[piece.Capture]);
        }
        var client = raw.RawQuery;
        if (client.Length > 0)
        {
            if (query.Length > 0) query.Append('&');
            if (Renames.IsEmpty) query.Append(client);
            else AppendRenamed(query, client);
        }
        var headers = raw.Headers;
        if (!Headers.IsEmpty)
        {
            var builder = ImmutableArray.CreateBuilder<KeyValuePair<string, string>>(headers.Length + Headers.Length);
            foreach (var h in headers)
                if (!Headers.Any(f => string.Equals(f.Key, h.Key, StringComparison.OrdinalIgnoreCase))) builder.Add(h);
            builder.AddRange(Headers);
            headers = builder.ToImmutable();
        }
        var segments = TargetPath.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(QueryParams.Decode).ToImmutableArray();
        var q = query.ToString();
        return (raw with { RawPath = TargetPath, PathSegments = segments, RawQuery = q, Headers = headers },
            q.Length > 0 ? TargetPath + "?" + q : TargetPath);
    }

    /// <summary>The client's query with the renamed parameters' names replaced (names compare as sent, undecoded).</summary>
    private void AppendRenamed(StringBuilder query, string client)
    {
        var first = true;
        foreach (var pair in client.Split('&'))
        {
            if (!first) query.Append('&');
            first = false;
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var name = eq < 0 ? pair : pair[..eq];
            var rename = Renames.FirstOrDefault(r => r.Key == name);
            query.Append(rename.Value ?? name).Append(eq < 0 ? "" : pair[eq..]);
        }
    }

    /// <summary>A list element (<c>in.(...)</c>, <c>cs.{...}</c>, logic trees) as PostgREST's quoted value, so that
    /// <c>,</c>, <c>)</c> or a quote in it cannot start another element.</summary>
    private static string Quoted(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    /// <summary>Percent-encodes all but RFC 3986's unreserved characters: nothing in a capture can end the value
    /// (<c>&amp;</c>, <c>#</c>), start a parameter (<c>=</c>), or decode into something else (<c>%</c>, <c>+</c>).</summary>
    internal static void AppendEncoded(StringBuilder sb, string value)
    {
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
                or (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~')
                sb.Append((char)b);
            else sb.Append('%').Append(Convert.ToHexString([b]));
        }
    }
}

/// <summary>
/// The routes of a routes file (<c>server-routes-file</c>), part of the config snapshot: a reload re-reads the file,
/// and a file that fails to parse keeps the old config. Matching picks, of the routes whose template fits the path,
/// the one with a literal segment where the others capture, leftmost first; the parser refuses two routes of one
/// method and one shape, so the choice is never ambiguous.
/// </summary>
internal sealed class RouteTable(string path, ImmutableArray<Route> routes)
{
    /// <summary>The file the routes were read from (the option's value).</summary>
    public string Path { get; } = path;

    public ImmutableArray<Route> Routes { get; } = routes;

    /// <summary>
    /// The routes by template, each with its (method, route) pairs, for the OpenAPI documents; templates that are
    /// already paths of the document (<paramref name="taken"/>) are left out rather than listed twice.
    /// </summary>
    public IEnumerable<(string Template, List<(string Method, Route Route)> Operations)> ForOpenApi(ISet<string> taken)
    {
        var byTemplate = new Dictionary<string, List<(string, Route)>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var r in Routes)
        {
            if (taken.Contains(r.Template)) continue;
            if (!byTemplate.TryGetValue(r.Template, out var ops))
            {
                byTemplate[r.Template] = ops = [];
                order.Add(r.Template);
            }
            foreach (var m in r.Methods) ops.Add((m, r));
        }
        return order.Select(t => (t, byTemplate[t]));
    }

    /// <summary>The route for <paramref name="method"/> and the decoded path segments, or null.</summary>
    public Route? Match(string method, ReadOnlySpan<string> segments)
    {
        Route? best = null;
        foreach (var r in Routes)
        {
            if (!r.Answers(method) || !r.Matches(segments)) continue;
            // Of two equally specific routes (only GET's implied HEAD and an explicit HEAD route), the explicit one.
            if (best is null || MoreSpecific(r, best) || (!MoreSpecific(best, r) && r.Methods.Contains(method) && !best.Methods.Contains(method)))
                best = r;
        }
        return best;
    }

    private static bool MoreSpecific(Route a, Route b)
    {
        for (var i = 0; i < a.Segments.Length; i++)
        {
            var (ca, cb) = (Route.IsCapture(a.Segments[i]), Route.IsCapture(b.Segments[i]));
            if (ca != cb) return cb;
        }
        return false;
    }
}
