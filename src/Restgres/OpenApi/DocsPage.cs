using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Restgres.Config;
using Restgres.Http;
using Restgres.Response;

namespace Restgres.OpenApi;

/// <summary>
/// Beyond PostgREST: a browsable API docs page, answered at the root for <c>Accept: text/html</c> (what a browser
/// asks for first), so it needs no path of its own that could hide a table. It is one self-contained HTML document:
/// Swagger UI (the swagger-ui-dist npm package, bundled as resources: no CDN) and a small script that loads this
/// server's OpenAPI 3.1 document. Built once per list of schemas, gzip-compressed when the client accepts it, and
/// revalidated with an ETag, since it is about 2 MB uncompressed.
/// </summary>
internal static class DocsPage
{
    private sealed record Page(string Key, byte[] Html, byte[] Gzip, string ETag);

    private static Page? s_page;

    public static PgrstResponse Respond(AppConfig config, Requests.ApiRequest req, bool headersOnly)
    {
        var key = string.Join(",", config.DbSchemas);
        var page = s_page;
        if (page is null || page.Key != key) s_page = page = Build(key, config.DbSchemas);

        var resp = new PgrstResponse { Status = 200 };
        resp.Headers.Add(new("Content-Type", "text/html; charset=utf-8"));
        resp.Headers.Add(new("Vary", "Accept, Accept-Encoding, Accept-Profile"));
        var gzip = Header(req, "accept-encoding") is { } ae && ae.Split(',').Any(e => e.Split(';')[0].Trim().Equals("gzip", StringComparison.OrdinalIgnoreCase));
        // The gzip body is another representation, so it has another tag (RFC 9110 §8.8.3.3).
        var etag = gzip ? HttpCaching.WithCoding(page.ETag, "gzip") : page.ETag;
        resp.Headers.Add(new("ETag", etag));
        resp.Headers.Add(new("Cache-Control", "no-cache"));
        if (Header(req, "if-none-match") is { } inm && HttpCaching.IfNoneMatchMatches(inm, etag))
        {
            resp.Status = 304;
            resp.SuppressContentLength = true;
            return resp;
        }
        if (gzip) resp.Headers.Add(new("Content-Encoding", "gzip"));
        var body = gzip ? page.Gzip : page.Html;
        if (headersOnly)
        {
            // HEAD: the length the GET would have, without the body.
            resp.Headers.Add(new("Content-Length", body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            resp.SuppressContentLength = true;
        }
        else
        {
            resp.Body = body;
        }
        return resp;
    }

    private static string? Header(Requests.ApiRequest req, string name)
    {
        foreach (var (k, v) in req.Headers)
            if (k == name) return v;
        return null;
    }

    private static Page Build(string key, IReadOnlyList<string> schemas)
    {
        var config = JsonSerializer.Serialize(new DocsConfig(schemas, OpenApiNegotiation.OpenApi31MediaType), DocsConfigContext.Default.DocsConfig);
        var html = Resource("index.html")
            .Replace("/*{{swagger-ui.css}}*/", StripSourceMap(Resource("swagger-ui.css")), StringComparison.Ordinal)
            .Replace("/*{{docs.css}}*/", Resource("docs.css"), StringComparison.Ordinal)
            .Replace("{{config}}", config, StringComparison.Ordinal)
            .Replace("/*{{swagger-ui-bundle.js}}*/", InlineScript(Resource("swagger-ui-bundle.js")), StringComparison.Ordinal)
            .Replace("/*{{docs.js}}*/", InlineScript(Resource("docs.js")), StringComparison.Ordinal);
        var bytes = Encoding.UTF8.GetBytes(html);
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(bytes);
        var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes).AsSpan(0, 16)) + "\"";
        return new Page(key, bytes, ms.ToArray(), etag);
    }

    /// <summary>
    /// Makes script text safe inside &lt;script&gt;: the HTML parser ends the element at <c>&lt;/script</c> and changes
    /// state at <c>&lt;!--</c> and <c>&lt;script</c>, which minified code has inside strings and regular expressions;
    /// <c>\x3C</c> means the same '&lt;' there.
    /// </summary>
    public static string InlineScript(string js) => js
        .Replace("<!--", "\\x3C!--", StringComparison.Ordinal)
        .Replace("<script", "\\x3Cscript", StringComparison.OrdinalIgnoreCase)
        .Replace("</script", "\\x3C/script", StringComparison.OrdinalIgnoreCase);

    /// <summary>The map is not served, so the browser's developer tools must not ask the API for it.</summary>
    private static string StripSourceMap(string css) =>
        css.Replace("/*# sourceMappingURL=swagger-ui.css.map*/", "", StringComparison.Ordinal);

    private static string Resource(string name)
    {
        using var stream = typeof(DocsPage).Assembly.GetManifestResourceStream("Restgres.Http.docs." + name)
            ?? throw new InvalidOperationException($"missing embedded resource {name}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}

/// <summary>What the page's script needs: the exposed schemas (the first is the default) and the media type to ask for.</summary>
internal sealed record DocsConfig(IReadOnlyList<string> Schemas, string MediaType);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(DocsConfig))]
internal sealed partial class DocsConfigContext : System.Text.Json.Serialization.JsonSerializerContext;
