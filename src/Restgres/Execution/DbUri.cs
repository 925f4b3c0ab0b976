using Npgsql;

namespace Restgres.Execution;

/// <summary>
/// Converts PostgREST's <c>db-uri</c> (a libpq connection URI or key=value string) into an Npgsql connection string.
/// As libpq, a parameter the string does not give comes from its environment variable (PGHOST, PGPORT, PGUSER, ...),
/// so <c>db-uri = "postgresql://"</c> (the default) with <c>PG*</c> variables works as it does for PostgREST.
/// </summary>
internal static class DbUri
{
    private static readonly Dictionary<string, string> LibpqToNpgsql = new(StringComparer.OrdinalIgnoreCase)
    {
        ["host"] = "Host", ["hostaddr"] = "Host", ["port"] = "Port", ["dbname"] = "Database", ["user"] = "Username",
        ["password"] = "Password", ["sslmode"] = "SSL Mode", ["application_name"] = "Application Name",
        ["options"] = "Options", ["connect_timeout"] = "Timeout", ["target_session_attrs"] = "Target Session Attributes",
        ["passfile"] = "Passfile", ["sslcert"] = "SSL Certificate", ["sslkey"] = "SSL Key", ["sslrootcert"] = "Root Certificate",
        ["sslpassword"] = "SSL Password", ["keepalives_idle"] = "Keepalive", ["client_encoding"] = "Client Encoding",
    };

    /// <summary>libpq's environment variables (libpq-envars) for the parameters above, in libpq's names.</summary>
    private static readonly (string Env, string Key)[] LibpqEnvironment =
    [
        ("PGHOST", "host"), ("PGHOSTADDR", "hostaddr"), ("PGPORT", "port"), ("PGDATABASE", "dbname"), ("PGUSER", "user"),
        ("PGPASSWORD", "password"), ("PGPASSFILE", "passfile"), ("PGOPTIONS", "options"), ("PGAPPNAME", "application_name"),
        ("PGSSLMODE", "sslmode"), ("PGSSLCERT", "sslcert"), ("PGSSLKEY", "sslkey"), ("PGSSLROOTCERT", "sslrootcert"),
        ("PGCONNECT_TIMEOUT", "connect_timeout"), ("PGTARGETSESSIONATTRS", "target_session_attrs"),
        ("PGCLIENTENCODING", "client_encoding"),
    ];

    /// <param name="env">The environment to fill unset parameters from; the process's when null.</param>
    public static NpgsqlConnectionStringBuilder Parse(string dbUri, IReadOnlyDictionary<string, string>? env = null)
    {
        var b = new NpgsqlConnectionStringBuilder();
        var given = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var p in Parameters(dbUri))
        {
            Set(b, p.Key, p.Value);
            given.Add(p.Key is "hostaddr" ? "host" : p.Key);
        }
        foreach (var (variable, key) in LibpqEnvironment)
        {
            var value = env is null ? Environment.GetEnvironmentVariable(variable) : env.GetValueOrDefault(variable);
            if (!string.IsNullOrEmpty(value) && given.Add(key is "hostaddr" ? "host" : key)) Set(b, key, value);
        }
        // libpq's defaults: the local socket directory (Debian's), the OS user, and a database named like the user.
        if (string.IsNullOrEmpty(b.Host)) b.Host = Directory.Exists("/var/run/postgresql") ? "/var/run/postgresql" : "localhost";
        if (string.IsNullOrEmpty(b.Username)) b.Username = Environment.UserName;
        if (string.IsNullOrEmpty(b.Database)) b.Database = b.Username;
        return b;
    }

    private static void Set(NpgsqlConnectionStringBuilder b, string key, string value)
    {
        if (LibpqToNpgsql.TryGetValue(key, out var npg)) b[npg] = value;
        else throw new ArgumentException($"unsupported connection parameter '{key}'");
    }

    /// <summary>
    /// <paramref name="dbUri"/> with the value of every password parameter (the URI's <c>user:password@</c>,
    /// <c>password=</c>, <c>sslpassword=</c>) replaced by <paramref name="mask"/>, found by the same reading that
    /// connects, so what is hidden is exactly what would be sent (a pattern cut <c>u:p@ss@h</c> at the first <c>@</c>).
    /// </summary>
    public static string Redact(string dbUri, string mask)
    {
        ArgumentNullException.ThrowIfNull(dbUri);
        var secrets = Parameters(dbUri).Where(p => p.Key is "password" or "sslpassword" && p.Length > 0).OrderByDescending(p => p.Start);
        var sb = new System.Text.StringBuilder(dbUri);
        foreach (var p in secrets) sb.Remove(p.Start, p.Length).Insert(p.Start, mask);
        return sb.ToString();
    }

    /// <summary>One connection parameter as libpq reads it, and where its value stands in the text.</summary>
    private readonly record struct Parameter(string Key, string Value, int Start, int Length);

    /// <summary>The parameters of a libpq connection URI or key=value string, in order.</summary>
    private static List<Parameter> Parameters(string dbUri)
    {
        var list = new List<Parameter>();
        var lead = dbUri.Length - dbUri.TrimStart().Length;
        var s = dbUri.Trim();
        if (s.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || s.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
            UriParameters(list, dbUri, lead + s.IndexOf("://", StringComparison.Ordinal) + 3, lead + s.Length);
        else
            KeyValueParameters(list, dbUri, lead);
        return list;
    }

    private static void UriParameters(List<Parameter> list, string text, int from, int to)
    {
        var rest = text[from..to];
        var q = rest.IndexOf('?', StringComparison.Ordinal);
        var query = q >= 0 ? rest[(q + 1)..] : "";
        var queryStart = from + q + 1;
        if (q >= 0) rest = rest[..q];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var db = slash >= 0 ? rest[(slash + 1)..] : "";
        var authority = slash >= 0 ? rest[..slash] : rest;
        // libpq splits the user info at the last '@': a password may contain '@' (unescaped, as people write it).
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = authority[..at];
            authority = authority[(at + 1)..];
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            var user = Uri.UnescapeDataString(colon >= 0 ? userInfo[..colon] : userInfo);
            if (user.Length > 0) list.Add(new("user", user, from, colon >= 0 ? colon : userInfo.Length));
            if (colon >= 0) list.Add(new("password", Uri.UnescapeDataString(userInfo[(colon + 1)..]), from + colon + 1, userInfo.Length - colon - 1));
        }
        if (authority.Length > 0)
        {
            var hosts = new List<(string Host, string Port)>();
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
                hosts.Add((Uri.UnescapeDataString(host), port));
            }
            if (hosts is [var (single, singlePort)])
            {
                if (single.Length > 0) list.Add(new("host", single, 0, 0));
                if (singlePort.Length > 0) list.Add(new("port", singlePort, 0, 0));
            }
            else
            {
                // Several hosts: Npgsql takes host:port pairs; the first port given is the default for the others.
                var joined = string.Join(",", hosts.Where(h => h.Host.Length > 0).Select(h => h.Port.Length > 0 ? h.Host + ":" + h.Port : h.Host));
                if (joined.Length > 0) list.Add(new("host", joined, 0, 0));
                if (hosts.FirstOrDefault(h => h.Port.Length > 0) is { Port.Length: > 0 } first) list.Add(new("port", first.Port, 0, 0));
            }
        }
        if (db.Length > 0) list.Add(new("dbname", Uri.UnescapeDataString(db), 0, 0));
        var pos = queryStart;
        foreach (var kv in query.Split('&'))
        {
            var eq = kv.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
                list.Add(new(Uri.UnescapeDataString(kv[..eq]), Uri.UnescapeDataString(kv[(eq + 1)..]), pos + eq + 1, kv.Length - eq - 1));
            pos += kv.Length + 1;
        }
    }

    private static void KeyValueParameters(List<Parameter> list, string s, int i)
    {
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
            var valueStart = i;
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
            list.Add(new(key, sb.ToString(), valueStart, Math.Min(i, s.Length) - valueStart));
        }
    }
}
