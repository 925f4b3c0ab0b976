using Microsoft.AspNetCore.Http;
using Restgres.Config;

namespace Restgres.Http;

/// <summary>
/// CORS as PostgREST configures wai-cors (Cors.hs): only when the request has an Origin; any origin unless
/// server-cors-allowed-origins lists some (then credentials are allowed and unknown origins get no CORS headers).
/// </summary>
internal static class Cors
{
    public const string ExposedHeaders =
        "Content-Encoding, Content-Location, Content-Range, Content-Type, Date, Location, Server, Transfer-Encoding, Range-Unit";

    public static bool IsPreflight(HttpRequest req) =>
        HttpMethods.IsOptions(req.Method) && req.Headers.ContainsKey("Origin") && req.Headers.ContainsKey("Access-Control-Request-Method");

    /// <summary>The answer to a preflight request, or false when the origin is not allowed (then the app answers).</summary>
    public static bool TryPreflight(HttpContext ctx, AppConfig config)
    {
        var origin = ctx.Request.Headers.Origin.ToString();
        if (!OriginAllowed(config, origin, out var allowOrigin)) return false;
        var h = ctx.Response.Headers;
        h["Access-Control-Allow-Origin"] = allowOrigin;
        if (config.ServerCorsAllowedOrigins.Length > 0) h["Access-Control-Allow-Credentials"] = "true";
        h["Access-Control-Allow-Methods"] = "GET, POST, PATCH, PUT, DELETE, OPTIONS, HEAD";
        var requested = ctx.Request.Headers["Access-Control-Request-Headers"].ToString()
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        h["Access-Control-Allow-Headers"] = string.Join(", ", new[] { "Authorization" }.Concat(requested).Concat(["Accept", "Accept-Language", "Content-Language"]));
        h["Access-Control-Max-Age"] = "86400";
        if (config.ServerCorsAllowedOrigins.Length > 0) VaryOnOrigin(h);
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentLength = 0;
        return true;
    }

    /// <summary>Adds the simple-request CORS headers to a normal response.</summary>
    public static void Apply(HttpContext ctx, AppConfig config)
    {
        // With an allow-list the CORS headers depend on the request's Origin, so every response says so — also those
        // without CORS headers, or a shared cache could serve one origin's answer to another (Fetch standard, "CORS
        // protocol and HTTP caches"). With any origin allowed the answer is the same for all: no Vary needed.
        if (config.ServerCorsAllowedOrigins.Length > 0) VaryOnOrigin(ctx.Response.Headers);
        if (!ctx.Request.Headers.TryGetValue("Origin", out var originValues)) return;
        if (!OriginAllowed(config, originValues.ToString(), out var allowOrigin)) return;
        var h = ctx.Response.Headers;
        h["Access-Control-Allow-Origin"] = allowOrigin;
        if (config.ServerCorsAllowedOrigins.Length > 0) h["Access-Control-Allow-Credentials"] = "true";
        // A write's read-your-writes position (db-read-replicas) is readable by the page that sent the write; other
        // responses keep PostgREST's list.
        h["Access-Control-Expose-Headers"] = h.ContainsKey(Execution.ReadYourWrites.Header)
            ? ExposedHeaders + ", " + Execution.ReadYourWrites.Header
            : ExposedHeaders;
    }

    private static void VaryOnOrigin(IHeaderDictionary h)
    {
        var vary = h.Vary.ToString();
        if (vary.Length == 0) h.Vary = "Origin";
        else if (!vary.Split(',', StringSplitOptions.TrimEntries).Any(v => v.Equals("Origin", StringComparison.OrdinalIgnoreCase) || v == "*"))
            h.Vary = vary + ", Origin";
    }

    private static bool OriginAllowed(AppConfig config, string origin, out string allowOrigin)
    {
        if (config.ServerCorsAllowedOrigins.Length == 0)
        {
            allowOrigin = "*";
            return true;
        }
        allowOrigin = origin;
        foreach (var allowed in config.ServerCorsAllowedOrigins)
            if (Matches(allowed, origin)) return true;
        return false;
    }

    /// <summary>
    /// Whether <paramref name="origin"/> is the allowed origin <paramref name="allowed"/>: the same text, or for an
    /// entry <c>scheme://*.domain[:port]</c> any subdomain (one or more DNS labels) of that domain, with that scheme
    /// and port (<c>https://*.vercel.app</c>: preview deployments). A browser never sends a <c>*</c> in an Origin, so
    /// the exact lists PostgREST accepts keep their meaning.
    /// </summary>
    internal static bool Matches(string allowed, string origin)
    {
        if (string.Equals(allowed, origin, StringComparison.Ordinal)) return true;
        var star = allowed.IndexOf("://*.", StringComparison.Ordinal);
        if (star < 0) return false;
        var prefix = allowed[..(star + 3)];
        var suffix = allowed[(star + 4)..];
        if (origin.Length <= prefix.Length + suffix.Length
            || !origin.StartsWith(prefix, StringComparison.Ordinal) || !origin.EndsWith(suffix, StringComparison.Ordinal))
            return false;
        var labels = origin[prefix.Length..^suffix.Length];
        return labels.Split('.').All(l => l.Length > 0 && l.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'));
    }
}
