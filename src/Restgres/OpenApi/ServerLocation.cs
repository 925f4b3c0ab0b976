using System.Globalization;
using Restgres.Config;

namespace Restgres.OpenApi;

/// <summary>
/// Where the API is served, for the documents' host/basePath/schemes (Swagger 2.0) and servers (OpenAPI 3.1):
/// openapi-server-proxy-uri when set, else http on server-host:server-port at "/" (PostgREST's proxyUri). The
/// proxy URI was validated when the config was loaded (an absolute http(s) URI with a host, no user info or query).
/// </summary>
internal sealed record ServerLocation(string Scheme, string Host, int Port, string BasePath, bool FromProxy)
{
    public static ServerLocation From(AppConfig config) =>
        config.OpenApiServerProxyUri is { } proxy && ParseProxy(proxy) is { } p
            ? p
            : new ServerLocation("http", config.ServerHost, config.ServerPort, "/", false);

    /// <summary>server-host's special names for "any address" print as 0.0.0.0 (PostgREST's escapeHostName).</summary>
    public string EscapedHost => Host is "*" or "*4" or "!4" or "*6" or "!6" ? "0.0.0.0" : Host;

    /// <summary>The Swagger 2.0 <c>host</c>: host and port.</summary>
    public string HostAndPort => EscapedHost + ":" + Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>The proxy URI split like Network.URI does: lower-cased scheme, host as written, default ports by scheme.</summary>
    public static ServerLocation? ParseProxy(string uri)
    {
        var sep = uri.IndexOf("://", StringComparison.Ordinal);
        if (sep <= 0) return null;
        var scheme = uri[..sep].ToLowerInvariant();
        var rest = uri[(sep + 3)..];
        var authEnd = rest.IndexOfAny(['/', '?', '#']);
        var authority = authEnd < 0 ? rest : rest[..authEnd];
        var afterAuthority = authEnd < 0 ? "" : rest[authEnd..];
        var pathEnd = afterAuthority.IndexOfAny(['?', '#']);
        var path = pathEnd < 0 ? afterAuthority : afterAuthority[..pathEnd];
        string host, port;
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']', StringComparison.Ordinal);
            if (close < 0) return null;
            host = authority[..(close + 1)];
            port = authority[(close + 1)..].TrimStart(':');
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            port = colon < 0 ? "" : authority[(colon + 1)..];
        }
        var portNumber = port.Length == 0
            ? scheme == "https" ? 443 : 80
            : int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 80;
        return new ServerLocation(scheme, host, portNumber, path.Length == 0 ? "/" : path, true);
    }
}
