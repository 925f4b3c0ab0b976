using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.FileProviders.Physical;
using Microsoft.Net.Http.Headers;
using Restgres.Catalog;
using Restgres.Config;

namespace Restgres.Http;

/// <summary>
/// <c>server-static-dir</c>: serves a folder (a web page built against the API, such as the A/B dashboard) from the
/// same origin as the API, so the page needs no CORS and no second server. PostgREST has no such option; it is ours,
/// and it must never change what an API client sees, so a file is served only for a GET or HEAD that is not an API
/// route:
/// <list type="bullet">
/// <item>paths under a <c>server-path-prefixes</c> prefix are always the API (the caller checks);</item>
/// <item><c>/</c> is the OpenAPI root, except for a browser (<c>Accept</c> names <c>text/html</c>), which gets the
/// folder's <c>index.html</c> instead of the API docs page;</item>
/// <item><c>/rpc/NAME</c> and <c>/NAME</c> where NAME is a table or view of an exposed schema stay the API;</item>
/// <item>anything else is a file of the folder when one exists there, and the API (with its 404) when not.</item>
/// </list>
/// Never served: a path with a segment starting with a dot (dot-files and anything inside a dot-directory such as
/// <c>.git/</c> or <c>.vite/</c>), and a file whose real path — symbolic links resolved — is outside the folder. Links
/// that stay inside the folder are followed.
/// </summary>
internal sealed partial class StaticFiles
{
    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    // Names Vite (and most bundlers) give to content-hashed output, e.g. index-BsT3kF9a.js: a new build gets new
    // names, so these may be cached for good, while everything else is revalidated on every load.
    [GeneratedRegex(@"[-.][A-Za-z0-9_-]{8,}\.(?:js|mjs|css|woff2?|ttf|svg|png|jpe?g|webp|gif|ico|map)$")]
    private static partial Regex HashedName();

    private readonly PhysicalFileProvider _files;
    private readonly AppState _state;
    // The folder's own real path, with a trailing separator, so a resolved file path is inside it by prefix.
    private readonly string _realRoot;

    private StaticFiles(string root, AppState state)
    {
        // ExclusionFilters.Sensitive: dot-files, hidden and system files are never served; the provider also refuses
        // paths that climb out of the root.
        _files = new PhysicalFileProvider(root, ExclusionFilters.Sensitive);
        _state = state;
        _realRoot = RealPath(root).TrimEnd('/') + "/";
    }

    /// <summary>Null when <c>server-static-dir</c> is unset, so the request path is PostgREST's alone.</summary>
    public static StaticFiles? Create(AppConfig config, AppState state) =>
        string.IsNullOrEmpty(config.ServerStaticDir) ? null : new StaticFiles(Path.GetFullPath(config.ServerStaticDir), state);

    /// <summary>
    /// The task that answers the request with a file, or null when the request is the API's. Call it only for requests
    /// outside the API path prefixes.
    /// </summary>
    public Task? TryServe(HttpContext ctx)
    {
        var request = ctx.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
            return null;
        var file = Resolve(request);
        return file is null ? null : SendAsync(ctx, file.Value.Content, file.Value.Name);
    }

    /// <summary>The file to send (the link target's, for size and time) and the name it was asked by (for its type).</summary>
    private (IFileInfo Content, string Name)? Resolve(HttpRequest request)
    {
        var path = request.Path.Value ?? "";
        if (path is "" or "/")
            return AcceptsHtml(request) ? Existing("/index.html") : null;
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        // The provider hides dot-files but not what is inside a dot-directory (/.git/config): refuse any dot segment.
        if (segments.Any(s => s.StartsWith('.')))
            return null;
        if (segments.Length == 2 && segments[0] == "rpc")
            return null;
        if (segments.Length == 1 && IsRelation(segments[0]))
            return null;
        if (path.EndsWith('/'))
            return Existing(path + "index.html");
        return Existing(path) ?? Existing(path + "/index.html");
    }

    private (IFileInfo Content, string Name)? Existing(string path)
    {
        var info = _files.GetFileInfo(path);
        if (!info.Exists || info.IsDirectory || info.PhysicalPath is not { } physical) return null;
        try
        {
            var real = RealPath(physical);
            if (!real.StartsWith(_realRoot, StringComparison.Ordinal)) return null;
            // The provider describes a link by the link itself (its length is the target path's): describe the target.
            return (real == physical ? info : new PhysicalFileInfo(new FileInfo(real)), info.Name);
        }
        catch (IOException)
        {
            // A link loop or a link that vanished meanwhile: not a file to serve.
            return null;
        }
    }

    /// <summary>
    /// The path with every symbolic link resolved, component by component as the kernel does (realpath(3)), so a
    /// link anywhere on the way — in a directory or the file itself — is seen.
    /// </summary>
    internal static string RealPath(string path)
    {
        var pending = new Stack<string>(Path.GetFullPath(path).Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        var result = "/";
        var links = 0;
        while (pending.TryPop(out var part))
        {
            if (part == ".") continue;
            if (part == "..")
            {
                result = Path.GetDirectoryName(result) ?? "/";
                continue;
            }
            var next = Path.Join(result, part);
            if (new FileInfo(next).LinkTarget is not { } target)
            {
                result = next;
                continue;
            }
            // Linux's limit of links followed in one lookup (ELOOP).
            if (++links > 40) throw new IOException("Too many levels of symbolic links: " + path);
            if (target.StartsWith('/')) result = "/";
            foreach (var t in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse()) pending.Push(t);
        }
        return result;
    }

    private bool IsRelation(string name)
    {
        var cache = _state.SchemaCache;
        if (cache is null)
            return false;
        foreach (var schema in _state.Config.DbSchemas)
        {
            if (cache.Tables.ContainsKey(new QualifiedIdentifier(schema, name)))
                return true;
        }
        return false;
    }

    private static bool AcceptsHtml(HttpRequest request)
    {
        foreach (var value in request.Headers.Accept)
        {
            if (value is not null && value.Contains("text/html", StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    private static Task SendAsync(HttpContext ctx, IFileInfo file, string name)
    {
        var request = ctx.Request;
        var response = ctx.Response;
        var modified = file.LastModified.ToUniversalTime();
        // Second precision, as Last-Modified carries; a weak tag because the same bytes may be re-written by a build.
        var etag = new EntityTagHeaderValue(
            "\"" + file.Length.ToString("x", CultureInfo.InvariantCulture) + "-" +
            modified.ToUnixTimeSeconds().ToString("x", CultureInfo.InvariantCulture) + "\"", isWeak: true);

        response.Headers.ETag = etag.ToString();
        response.Headers.LastModified = modified.ToString("R", CultureInfo.InvariantCulture);
        response.Headers.CacheControl = HashedName().IsMatch(name) ? "public, max-age=31536000, immutable" : "no-cache";
        response.Headers.XContentTypeOptions = "nosniff";

        if (NotModified(request, etag, modified))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ContentType(name);
        response.ContentLength = file.Length;
        return HttpMethods.IsHead(request.Method) ? Task.CompletedTask : response.SendFileAsync(file, ctx.RequestAborted);
    }

    /// <summary>RFC 9110 13.2.2: If-None-Match wins over If-Modified-Since.</summary>
    private static bool NotModified(HttpRequest request, EntityTagHeaderValue etag, DateTimeOffset modified)
    {
        var headers = request.GetTypedHeaders();
        if (headers.IfNoneMatch is { Count: > 0 } tags)
            return tags.Any(t => t.Equals(EntityTagHeaderValue.Any) || t.Compare(etag, useStrongComparison: false));
        return headers.IfModifiedSince is { } since && modified.ToUnixTimeSeconds() <= since.ToUnixTimeSeconds();
    }

    private static string ContentType(string name)
    {
        if (!ContentTypes.TryGetContentType(name, out var type))
            return "application/octet-stream";
        return type.StartsWith("text/", StringComparison.Ordinal) || type is "application/javascript" or "application/json"
            ? type + "; charset=utf-8"
            : type;
    }
}
