using System.Globalization;

namespace Restgres.Config;

/// <summary>The RFC 3986 checks PostgREST makes with Haskell's <c>Network.URI</c>.</summary>
internal static class Uris
{
    /// <summary><c>isURI</c>: an absolute URI, a fragment allowed.</summary>
    public static bool IsUri(string s) => TryParse(s, out _);

    /// <summary>
    /// PostgREST's isMalformedProxyUri, negated: an absolute http(s) URI with a host, without user info, query or
    /// fragment, and with a port (if any) between 1 and 65535.
    /// </summary>
    public static bool IsValidProxyUri(string s)
    {
        if (!TryParse(s, out var u) || u.HasFragment || u.HasQuery || u.Authority is null) return false;
        if (!u.Scheme.Equals("http", StringComparison.OrdinalIgnoreCase)
            && !u.Scheme.Equals("https", StringComparison.OrdinalIgnoreCase)) return false;
        var (userInfo, host, port) = u.Authority.Value;
        if (userInfo is not null || host.Length == 0) return false;
        if (port is null) return true;
        return port.Length is > 0 and <= 5
            && int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and < 65536;
    }

    private readonly record struct Parsed(string Scheme, (string? UserInfo, string Host, string? Port)? Authority,
        bool HasQuery, bool HasFragment);

    private static bool TryParse(string s, out Parsed parsed)
    {
        parsed = default;
        var colon = s.IndexOf(':', StringComparison.Ordinal);
        if (colon < 1 || !char.IsAsciiLetter(s[0])) return false;
        for (var i = 1; i < colon; i++)
            if (!(char.IsAsciiLetterOrDigit(s[i]) || s[i] is '+' or '-' or '.')) return false;
        var scheme = s[..colon];
        var rest = s.AsSpan(colon + 1);

        var hash = rest.IndexOf('#');
        var hasFragment = hash >= 0;
        if (hasFragment)
        {
            if (!AllValid(rest[(hash + 1)..], extra: "/?")) return false;
            rest = rest[..hash];
        }
        var question = rest.IndexOf('?');
        var hasQuery = question >= 0;
        if (hasQuery)
        {
            if (!AllValid(rest[(question + 1)..], extra: "/?")) return false;
            rest = rest[..question];
        }

        (string?, string, string?)? authority = null;
        if (rest.StartsWith("//"))
        {
            rest = rest[2..];
            var slash = rest.IndexOf('/');
            var auth = slash < 0 ? rest : rest[..slash];
            rest = slash < 0 ? ReadOnlySpan<char>.Empty : rest[slash..];
            string? userInfo = null;
            var at = auth.IndexOf('@');
            if (at >= 0)
            {
                if (!AllValid(auth[..at], extra: ":", pchar: false)) return false;
                userInfo = auth[..at].ToString();
                auth = auth[(at + 1)..];
            }
            string host;
            ReadOnlySpan<char> afterHost;
            if (auth.StartsWith("["))
            {
                var close = auth.IndexOf(']');
                if (close < 0) return false;
                foreach (var c in auth[1..close])
                    if (!(char.IsAsciiHexDigit(c) || c is ':' or '.' or 'v' or 'V')) return false;
                host = auth[..(close + 1)].ToString();
                afterHost = auth[(close + 1)..];
            }
            else
            {
                var portColon = auth.IndexOf(':');
                var hostPart = portColon < 0 ? auth : auth[..portColon];
                if (!AllValid(hostPart, extra: "", pchar: false)) return false;
                host = hostPart.ToString();
                afterHost = portColon < 0 ? ReadOnlySpan<char>.Empty : auth[portColon..];
            }
            string? port = null;
            if (afterHost.Length > 0)
            {
                if (afterHost[0] != ':') return false;
                foreach (var c in afterHost[1..]) if (!char.IsAsciiDigit(c)) return false;
                port = afterHost[1..].ToString();
            }
            authority = (userInfo, host, port);
        }
        if (!AllValid(rest, extra: "/")) return false;
        parsed = new Parsed(scheme, authority, hasQuery, hasFragment);
        return true;
    }

    /// <summary>Unreserved, sub-delims and %HH (plus ':' and '@' when <paramref name="pchar"/>) and <paramref name="extra"/>.</summary>
    private static bool AllValid(ReadOnlySpan<char> s, string extra, bool pchar = true)
    {
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or '!' or '$' or '&' or '\'' or '(' or ')'
                or '*' or '+' or ',' or ';' or '=') continue;
            if (pchar && c is ':' or '@') continue;
            if (extra.Contains(c, StringComparison.Ordinal)) continue;
            if (c == '%' && i + 2 < s.Length && char.IsAsciiHexDigit(s[i + 1]) && char.IsAsciiHexDigit(s[i + 2]))
            {
                i += 2;
                continue;
            }
            return false;
        }
        return true;
    }
}
