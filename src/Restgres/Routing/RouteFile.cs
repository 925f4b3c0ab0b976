using System.Collections.Immutable;
using System.Text;
using Restgres.Config;

namespace Restgres.Routing;

/// <summary>
/// The routes file's parser (docs/routes.md). One route per block: a line <c>METHOD[,METHOD...] /template</c> at the
/// start of the line, then indented lines <c>to /path?query</c> (required), <c>header Name: value</c> (repeatable),
/// <c>param old as new</c> (repeatable), <c>errors postgrest|fastapi</c> and <c>rate-limit RULES</c> (docs/rate-limits.md).
/// <c>#</c> starts a comment line. Every error names the file and the line. Pure
/// apart from <see cref="Load"/>.
/// </summary>
internal static class RouteFile
{
    public const string Option = "server-routes-file";

    private static readonly string[] Methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

    /// <summary>A <c>to</c> naming one of the admin server's read-only endpoints serves it on the API's port (an old
    /// service's <c>/metrics</c>, its cache statistics).</summary>
    public const string AdminPrefix = "admin:";

    public static readonly string[] AdminTargets = ["/metrics", "/response_cache"];

    /// <summary>PostgREST's reserved query parameters: a capture in one of them could change what is selected,
    /// ordered or paged rather than filter, so captures are refused there.</summary>
    private static readonly string[] Reserved = ["select", "order", "limit", "offset", "columns", "on_conflict", "and", "or", "not.and", "not.or"];

    /// <exception cref="ConfigException">The file cannot be read or is invalid.</exception>
    public static RouteTable Load(string path) =>
        Parse(path, OptionFile.ReadText(path, "routes file", Option));

    /// <exception cref="ConfigException">The text is not a valid routes file.</exception>
    public static RouteTable Parse(string path, string text)
    {
        var routes = ImmutableArray.CreateBuilder<Route>();
        Block? block = null;
        foreach (var line in BlockFileLine.Read(text))
        {
            var (n, trimmed) = (line.Number, line.Text);
            if (!line.Indented)
            {
                if (block is not null) routes.Add(Finish(path, block));
                block = StartBlock(path, n, trimmed);
                continue;
            }
            if (block is null) throw Error(path, n, $"'{trimmed}' is indented, but no route line (e.g. 'GET /api/v1/items') comes before it");
            var (key, value) = (line.Key, line.Value);
            switch (key)
            {
                case "to":
                    if (block.To is not null) throw Error(path, n, "a second 'to' in one route");
                    if (value.StartsWith(AdminPrefix, StringComparison.Ordinal))
                    {
                        if (!AdminTargets.Contains(value[AdminPrefix.Length..]))
                            throw Error(path, n, $"'to {value}': the admin targets a route may serve are {string.Join(", ", AdminTargets.Select(t => AdminPrefix + t))}");
                        block.To = value;
                        block.ToLine = n;
                        break;
                    }
                    if (value.Length == 0 || value[0] != '/') throw Error(path, n, $"'to' needs a path starting with '/', got '{value}'");
                    if (value.AsSpan().IndexOfAny('#', ' ') >= 0) throw Error(path, n, $"'to {value}' holds '#' or a space");
                    block.To = value;
                    block.ToLine = n;
                    break;
                case "header":
                    var colon = value.IndexOf(':', StringComparison.Ordinal);
                    var name = colon < 0 ? "" : value[..colon].Trim();
                    if (name.Length == 0 || name.Any(c => c <= ' ' || c >= 0x7f || "()<>@,;:\\\"/[]?={}".Contains(c, StringComparison.Ordinal)))
                        throw Error(path, n, $"'header {value}' is not 'header Name: value'");
                    block.Headers.Add(new(name, value[(colon + 1)..].Trim()));
                    break;
                case "param":
                    var words = value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                    if (words.Length != 3 || words[1] != "as" || !IsName(words[0]) || !IsName(words[2]))
                        throw Error(path, n, $"'param {value}' is not 'param old_name as new_name' (letters, digits, '_')");
                    if (block.Renames.Any(r => r.Key == words[0]))
                        throw Error(path, n, $"the parameter '{words[0]}' is renamed twice");
                    block.Renames.Add(new(words[0], words[2]));
                    break;
                case "errors":
                    if (block.ErrorsLine > 0) throw Error(path, n, "a second 'errors' in one route");
                    block.Errors = value switch
                    {
                        "postgrest" => ErrorShape.Postgrest,
                        "fastapi" => ErrorShape.Fastapi,
                        _ => throw Error(path, n, $"unknown value '{value}' for 'errors' (expected postgrest or fastapi)"),
                    };
                    block.ErrorsLine = n;
                    break;
                case "rate-limit":
                    if (block.RateLimitLine > 0) throw Error(path, n, "a second 'rate-limit' in one route");
                    if (value.Length == 0) throw Error(path, n, "'rate-limit' needs a rule, e.g. 'rate-limit 10/min per ip'");
                    block.RateLimit = RateLimiting.RateLimitRules.Parse(value, Option, $"Error in routes file '{path}' line {n} ({Option})", block.Template);
                    block.RateLimitLine = n;
                    break;
                case "auth-detail":
                    if (block.AuthDetailLine > 0) throw Error(path, n, "a second 'auth-detail' in one route");
                    // The rest of the line; surrounding double quotes, when written, are not part of it.
                    var detail = value.Length >= 2 && value[0] == '"' && value[^1] == '"' ? value[1..^1] : value;
                    if (detail.Length == 0) throw Error(path, n, "'auth-detail' needs the text, e.g. 'auth-detail Invalid or expired token'");
                    block.AuthDetail = detail;
                    block.AuthDetailLine = n;
                    break;
                default:
                    throw Error(path, n, $"unknown option '{key}' (expected to, header, param, errors, rate-limit or auth-detail)");
            }
        }
        if (block is not null) routes.Add(Finish(path, block));

        var seen = new Dictionary<string, Route>(StringComparer.Ordinal);
        foreach (var r in routes)
        {
            foreach (var m in r.Methods)
            {
                if (seen.TryGetValue(m + " " + r.Shape, out var first))
                    throw Error(path, r.Line, $"{m} {r.Template} is also the route on line {first.Line} ({m} {first.Template}): one method and path, two routes");
                seen.Add(m + " " + r.Shape, r);
            }
        }
        return new RouteTable(path, routes.ToImmutable());
    }

    private sealed class Block(int line, ImmutableArray<string> methods, string template, ImmutableArray<string> segments)
    {
        public int Line { get; } = line;
        public ImmutableArray<string> Methods { get; } = methods;
        public string Template { get; } = template;
        public ImmutableArray<string> Segments { get; } = segments;
        public string? To { get; set; }
        public int ToLine { get; set; }
        public List<KeyValuePair<string, string>> Headers { get; } = [];
        public List<KeyValuePair<string, string>> Renames { get; } = [];
        public ErrorShape Errors { get; set; }
        public int ErrorsLine { get; set; }
        public RateLimiting.RateLimitRules? RateLimit { get; set; }
        public int RateLimitLine { get; set; }
        public string? AuthDetail { get; set; }
        public int AuthDetailLine { get; set; }
    }

    private static Block StartBlock(string path, int n, string text)
    {
        var parts = text.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2) throw Error(path, n, $"'{text}' is not a route line: 'METHOD /path/{{capture}}'");
        var methods = parts[0].Split(',');
        foreach (var m in methods)
            if (!Methods.Contains(m)) throw Error(path, n, $"unknown method '{m}' (expected {string.Join(", ", Methods)})");
        if (methods.Distinct().Count() != methods.Length) throw Error(path, n, $"a method repeated in '{parts[0]}'");
        var template = parts[1];
        if (template[0] != '/') throw Error(path, n, $"the path '{template}' must start with '/'");
        if (template.AsSpan().IndexOfAny('?', '#', '%') >= 0) throw Error(path, n, $"the path '{template}' must be a plain path (no '?', '#' or '%')");
        var segments = template.Split('/', StringSplitOptions.RemoveEmptyEntries).ToImmutableArray();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in segments)
        {
            if (Route.IsCapture(s))
            {
                var name = s[1..^1];
                if (!IsName(name)) throw Error(path, n, $"'{s}': a capture name is letters, digits and '_'");
                if (!names.Add(name)) throw Error(path, n, $"the capture '{s}' appears twice");
            }
            else if (s.AsSpan().IndexOfAny('{', '}') >= 0) throw Error(path, n, $"'{s}': a capture is a whole segment, '{{name}}'");
        }
        return new Block(n, [.. methods], template, segments);
    }

    private static Route Finish(string path, Block b)
    {
        if (b.To is null) throw Error(path, b.Line, $"the route {b.Template} has no 'to' line");
        if (b.AuthDetail is not null && b.Errors != ErrorShape.Fastapi)
            throw Error(path, b.AuthDetailLine, "'auth-detail' words the fastapi error shape's token failures: add 'errors fastapi' to the route");
        var to = b.To;
        if (to.StartsWith(AdminPrefix, StringComparison.Ordinal))
        {
            if (b.Segments.Any(Route.IsCapture)) throw Error(path, b.Line, $"the route {b.Template} to {to} cannot use captures");
            if (b.Methods.Any(m => m is not ("GET" or "HEAD"))) throw Error(path, b.Line, $"the route {b.Template} to {to} answers GET only");
            return new Route(b.Line, b.Methods, b.Template, b.Segments, to, to, [], [.. b.Headers], b.Errors)
            {
                AdminTarget = to[AdminPrefix.Length..],
                RateLimit = b.RateLimit,
            };
        }
        var q = to.IndexOf('?', StringComparison.Ordinal);
        var targetPath = q < 0 ? to : to[..q];
        if (targetPath.AsSpan().IndexOfAny('{', '}') >= 0)
            throw Error(path, b.ToLine, $"'to {to}': captures go in filter values of the query string, not in the path");
        var pieces = ImmutableArray.CreateBuilder<QueryPiece>();
        var used = new HashSet<int>();
        if (q >= 0)
        {
            var parts = to[(q + 1)..].Split('&');
            for (var p = 0; p < parts.Length; p++)
            {
                if (p > 0) pieces.Add(new QueryPiece("&", -1, false));
                AddParam(path, b, parts[p], pieces, used);
            }
        }
        for (var i = 0; i < b.Segments.Length; i++)
            if (Route.IsCapture(b.Segments[i]) && !used.Contains(i))
                throw Error(path, b.Line, $"the capture '{b.Segments[i]}' of {b.Template} is never used in 'to'");
        return new Route(b.Line, b.Methods, b.Template, b.Segments, to, targetPath, pieces.ToImmutable(), [.. b.Headers], b.Errors)
        {
            Renames = [.. b.Renames],
            RateLimit = b.RateLimit,
            AuthDetail = b.AuthDetail,
        };
    }

    /// <summary>
    /// One <c>key=value</c> of the target's query: captures only in the value, and of a key that filters (or names a
    /// function argument); inside a parenthesised list a capture must be a whole element, and is quoted.
    /// </summary>
    private static void AddParam(string path, Block b, string param, ImmutableArray<QueryPiece>.Builder pieces, HashSet<int> used)
    {
        var eq = param.IndexOf('=', StringComparison.Ordinal);
        var key = eq < 0 ? param : param[..eq];
        if (key.AsSpan().IndexOfAny('{', '}') >= 0)
            throw Error(path, b.ToLine, $"'{param}': a capture can only be a filter value, not a parameter name");
        if (eq < 0 || param.AsSpan(eq).IndexOf('{') < 0)
        {
            pieces.Add(new QueryPiece(param, -1, false));
            return;
        }
        if (Reserved.Contains(key))
            throw Error(path, b.ToLine, $"'{param}': a capture can only be a filter value, not part of '{key}'");
        var value = param[(eq + 1)..];
        pieces.Add(new QueryPiece(key + "=", -1, false));
        var depth = 0;
        var text = new StringBuilder();
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '{')
            {
                var close = value.IndexOf('}', i);
                var name = close < 0 ? "" : value[(i + 1)..close];
                var index = b.Segments.IndexOf("{" + name + "}");
                if (close < 0 || index < 0)
                    throw Error(path, b.ToLine, $"'{param}': '{(close < 0 ? value[i..] : value[i..(close + 1)])}' is not a capture of {b.Template}");
                if (!FollowsOperator(value[..i], b.To!.StartsWith("/rpc/", StringComparison.Ordinal)))
                    throw Error(path, b.ToLine, $"'{param}': the capture must follow an operator, e.g. '{key}=eq.{{{name}}}'");
                var inList = depth > 0;
                if (inList && (value[i - 1] is not ('(' or ',') || close + 1 >= value.Length || value[close + 1] is not (')' or ',')))
                    throw Error(path, b.ToLine, $"'{param}': inside a list a capture is a whole element, e.g. 'in.({{{name}}})'");
                if (text.Length > 0) pieces.Add(new QueryPiece(text.ToString(), -1, false));
                text.Clear();
                pieces.Add(new QueryPiece("", index, inList));
                used.Add(index);
                i = close;
                continue;
            }
            if (c == '}') throw Error(path, b.ToLine, $"'{param}': a '}}' without its '{{'");
            if (c == '(') depth++;
            else if (c == ')') depth--;
            text.Append(c);
        }
        if (text.Length > 0) pieces.Add(new QueryPiece(text.ToString(), -1, false));
    }

    /// <summary>PostgREST's filter operators (docs: references/api/tables_views.rst, operators).</summary>
    private static readonly string[] Operators =
    [
        "eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "match", "imatch", "in", "is", "isdistinct",
        "fts", "plfts", "phfts", "wfts", "cs", "cd", "ov", "sl", "sr", "nxr", "nxl", "adj",
    ];

    /// <summary>
    /// A capture must come after a filter operator (<c>eq.</c>, <c>not.like.*</c>, <c>fts(english).</c>), else the
    /// client would choose the operator (<c>id={id}</c> with <c>gt.0</c>). The one exception is a function's argument
    /// on a <c>/rpc/</c> target, whose value is taken whole: there the capture may be the whole value.
    /// </summary>
    private static bool FollowsOperator(string prefix, bool rpc)
    {
        if (prefix.Length == 0) return rpc;
        if (prefix.StartsWith("not.", StringComparison.Ordinal)) prefix = prefix[4..];
        var dot = prefix.IndexOf('.', StringComparison.Ordinal);
        if (dot < 0) return false;
        var op = prefix[..dot];
        var paren = op.IndexOf('(', StringComparison.Ordinal);
        if (paren >= 0 && op[^1] == ')') op = op[..paren];
        return Operators.Contains(op);
    }

    private static bool IsName(string s) => s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static ConfigException Error(string path, int line, string message) =>
        new($"Error in routes file '{path}' line {line} ({Option}): {message}", Option);
}
