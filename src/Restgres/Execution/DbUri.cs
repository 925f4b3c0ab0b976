using Npgsql;

namespace Restgres.Execution;

/// <summary>
/// Converts PostgREST's <c>db-uri</c> (a libpq connection URI or key=value string) into an Npgsql connection string.
/// Parameters libpq would read from the environment (PGHOST, PGUSER, ...) are left for Npgsql, which reads the same
/// variables.
/// </summary>
public static class DbUri
{
    private static readonly Dictionary<string, string> LibpqToNpgsql = new(StringComparer.OrdinalIgnoreCase)
    {
        ["host"] = "Host", ["hostaddr"] = "Host", ["port"] = "Port", ["dbname"] = "Database", ["user"] = "Username",
        ["password"] = "Password", ["sslmode"] = "SSL Mode", ["application_name"] = "Application Name",
        ["options"] = "Options", ["connect_timeout"] = "Timeout", ["target_session_attrs"] = "Target Session Attributes",
        ["passfile"] = "Passfile", ["sslcert"] = "SSL Certificate", ["sslkey"] = "SSL Key", ["sslrootcert"] = "Root Certificate",
        ["sslpassword"] = "SSL Password", ["keepalives_idle"] = "Keepalive", ["client_encoding"] = "Client Encoding",
    };

    public static NpgsqlConnectionStringBuilder Parse(string dbUri)
    {
        var b = new NpgsqlConnectionStringBuilder();
        var s = dbUri.Trim();
        if (s.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || s.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
            ParseUri(b, s[(s.IndexOf("://", StringComparison.Ordinal) + 3)..]);
        else
            ParseKeyValue(b, s);
        if (string.IsNullOrEmpty(b.Host) && Environment.GetEnvironmentVariable("PGHOST") is null)
            b.Host = Directory.Exists("/var/run/postgresql") ? "/var/run/postgresql" : "localhost";
        return b;
    }

    private static void Set(NpgsqlConnectionStringBuilder b, string key, string value)
    {
        if (LibpqToNpgsql.TryGetValue(key, out var npg)) b[npg] = value;
        else throw new ArgumentException($"unsupported connection parameter '{key}'");
    }

    private static void ParseUri(NpgsqlConnectionStringBuilder b, string rest)
    {
        var q = rest.IndexOf('?', StringComparison.Ordinal);
        var query = q >= 0 ? rest[(q + 1)..] : "";
        if (q >= 0) rest = rest[..q];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var db = slash >= 0 ? rest[(slash + 1)..] : "";
        var authority = slash >= 0 ? rest[..slash] : rest;
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = authority[..at];
            authority = authority[(at + 1)..];
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            var user = Uri.UnescapeDataString(colon >= 0 ? userInfo[..colon] : userInfo);
            if (user.Length > 0) b.Username = user;
            if (colon >= 0) b.Password = Uri.UnescapeDataString(userInfo[(colon + 1)..]);
        }
        if (authority.Length > 0)
        {
            var hosts = new List<string>();
            foreach (var hp in authority.Split(','))
            {
                string host = hp, port = "";
                if (hp.StartsWith('['))
                {
                    var end = hp.IndexOf(']', StringComparison.Ordinal);
                    host = hp[1..end];
                    port = end + 2 <= hp.Length && end + 1 < hp.Length && hp[end + 1] == ':' ? hp[(end + 2)..] : "";
                }
                else if (hp.LastIndexOf(':') is var c and >= 0)
                {
                    host = hp[..c];
                    port = hp[(c + 1)..];
                }
                host = Uri.UnescapeDataString(host);
                hosts.Add(port.Length > 0 ? host + ":" + port : host);
            }
            b.Host = string.Join(",", hosts.Where(h => h.Length > 0));
            if (b.Host.Length == 0) b.Host = null;
        }
        if (db.Length > 0) b.Database = Uri.UnescapeDataString(db);
        foreach (var kv in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = kv.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0) continue;
            Set(b, Uri.UnescapeDataString(kv[..eq]), Uri.UnescapeDataString(kv[(eq + 1)..]));
        }
    }

    private static void ParseKeyValue(NpgsqlConnectionStringBuilder b, string s)
    {
        var i = 0;
        while (i < s.Length)
        {
            while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
            if (i >= s.Length) break;
            var ks = i;
            while (i < s.Length && s[i] != '=' && !char.IsWhiteSpace(s[i])) i++;
            var key = s[ks..i];
            while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
            if (i >= s.Length || s[i] != '=') throw new ArgumentException($"missing '=' after '{key}' in connection string");
            i++;
            while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
            var sb = new System.Text.StringBuilder();
            if (i < s.Length && s[i] == '\'')
            {
                i++;
                while (i < s.Length && s[i] != '\'')
                {
                    if (s[i] == '\\' && i + 1 < s.Length) i++;
                    sb.Append(s[i++]);
                }
                i++;
            }
            else
                while (i < s.Length && !char.IsWhiteSpace(s[i]))
                {
                    if (s[i] == '\\' && i + 1 < s.Length) i++;
                    sb.Append(s[i++]);
                }
            Set(b, key, sb.ToString());
        }
    }
}
