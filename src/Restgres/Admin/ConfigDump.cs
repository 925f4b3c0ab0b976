using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Restgres.Config;

namespace Restgres.Admin;

/// <summary>
/// The running configuration as text, in the format of PostgREST's <c>--dump-config</c> (Config.hs toText: sorted
/// <c>key = value</c> lines, strings quoted, app settings included), served by the admin server's <c>/config</c>.
/// Unlike <c>--dump-config</c>, which is for the operator's terminal, this goes over the network, so secrets are
/// redacted: the JWT secret, the password in <c>db-uri</c>, and app settings whose name suggests a secret.
/// </summary>
public static partial class ConfigDump
{
    public const string Redacted = "<redacted>";

    public static string ToText(AppConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        static string Q(string s) => "\"" + s.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        static string B(bool b) => b ? "true" : "false";
        static string I(long n) => n.ToString(CultureInfo.InvariantCulture);
        var lines = new List<string>
        {
            "client-error-verbosity = " + Q(c.ClientErrorVerbosity == ErrorVerbosity.Minimal ? "minimal" : "verbose"),
            "db-aggregates-enabled = " + B(c.DbAggregatesEnabled),
            "db-anon-role = " + Q(c.DbAnonRole ?? ""),
            "db-channel = " + Q(c.DbChannel),
            "db-channel-enabled = " + B(c.DbChannelEnabled),
            "db-extra-search-path = " + Q(string.Join(',', c.DbExtraSearchPath)),
            "db-hoisted-tx-settings = " + Q(string.Join(',', c.DbHoistedTxSettings)),
            "db-max-rows = " + (c.DbMaxRows is { } m ? I(m) : "\"\""),
            "db-plan-enabled = " + B(c.DbPlanEnabled),
            "db-pool = " + I(c.DbPool),
            "db-pool-acquisition-timeout = " + I(c.DbPoolAcquisitionTimeout),
            "db-pool-max-lifetime = " + I(c.DbPoolMaxLifetime),
            "db-pool-max-idletime = " + I(c.DbPoolMaxIdletime),
            "db-pool-automatic-recovery = " + B(c.DbPoolAutomaticRecovery),
            "db-pre-request = " + Q(c.DbPreRequest?.ToString() ?? ""),
            "db-prepared-statements = " + B(c.DbPreparedStatements),
            "db-root-spec = " + Q(c.DbRootSpec?.ToString() ?? ""),
            "db-schemas = " + Q(string.Join(',', c.DbSchemas)),
            "db-config = " + B(c.DbConfig),
            "db-pre-config = " + Q(c.DbPreConfig?.ToString() ?? ""),
            "db-tx-end = " + Q(c.DbTxEnd switch
            {
                TxEnd.CommitAllowOverride => "commit-allow-override",
                TxEnd.Rollback => "rollback",
                TxEnd.RollbackAllowOverride => "rollback-allow-override",
                _ => "commit",
            }),
            "db-uri = " + Q(RedactDbUri(c.DbUri)),
            "jwt-aud = " + Q(c.JwtAud ?? ""),
            "jwt-role-claim-key = " + Q(c.JwtRoleClaimKey),
            "jwt-secret = " + Q(c.JwtSecret is null ? "" : Redacted),
            "jwt-secret-is-base64 = " + B(c.JwtSecretIsBase64),
            "jwt-cache-max-entries = " + I(c.JwtCacheMaxEntries),
            "log-level = " + Q(c.LogLevel.ToString().ToLowerInvariant()),
            "log-query = " + B(c.LogQuery),
            "openapi-mode = " + Q(c.OpenApiMode switch
            {
                OpenApiMode.IgnorePrivileges => "ignore-privileges",
                OpenApiMode.Disabled => "disabled",
                _ => "follow-privileges",
            }),
            "openapi-security-active = " + B(c.OpenApiSecurityActive),
            "openapi-server-proxy-uri = " + Q(c.OpenApiServerProxyUri ?? ""),
            "server-cors-allowed-origins = " + Q(string.Join(',', c.ServerCorsAllowedOrigins)),
            "server-host = " + Q(c.ServerHost),
            "server-port = " + I(c.ServerPort),
            "server-reuseport = " + B(c.ServerReusePort),
            "server-trace-header = " + Q(c.ServerTraceHeader ?? ""),
            "server-timing-enabled = " + B(c.ServerTimingEnabled),
            "server-unix-socket = " + Q(c.ServerUnixSocket ?? ""),
            "server-unix-socket-mode = " + Q(Convert.ToString(c.ServerUnixSocketMode, 8)),
            "url-use-legacy-target-names = " + B(c.UrlUseLegacyTargetNames),
            "admin-server-host = " + Q(c.AdminServerHost),
            "admin-server-port = " + (c.AdminServerPort is { } ap ? I(ap) : "\"\""),
            "admin-server-unix-socket = " + Q(c.AdminServerUnixSocket ?? ""),
            "admin-server-unix-socket-mode = " + Q(Convert.ToString(c.AdminServerUnixSocketMode, 8)),
            // Beyond PostgREST.
            "log-format = " + Q(c.LogFormat),
            "server-max-body-size = " + I(c.ServerMaxBodySize),
            "server-path-prefixes = " + Q(string.Join(',', c.ServerPathPrefixes)),
            "server-static-dir = " + Q(c.ServerStaticDir ?? ""),
        };
        foreach (var (k, v) in c.AppSettings)
            lines.Add(k + " = " + Q(LooksSecret(k) ? Redacted : v));
        lines.Sort(StringComparer.Ordinal);
        var sb = new StringBuilder();
        foreach (var l in lines) sb.Append(l).Append('\n');
        return sb.ToString();
    }

    /// <summary>Hides the password of a <c>db-uri</c>, in URI (<c>user:pw@</c>, <c>?password=</c>) or key/value form.</summary>
    public static string RedactDbUri(string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var s = UserInfoPassword().Replace(uri, "$1" + Redacted + "@");
        return PasswordParameter().Replace(s, "$1" + Redacted);
    }

    private static bool LooksSecret(string name) => SecretName().IsMatch(name);

    [GeneratedRegex(@"^([a-z][a-z0-9+.-]*://[^:/@?#]*:)[^@/?#]*@", RegexOptions.IgnoreCase)]
    private static partial Regex UserInfoPassword();

    [GeneratedRegex(@"((?:^|[?&\s])password\s*=\s*)('[^']*'|[^&\s]*)", RegexOptions.IgnoreCase)]
    private static partial Regex PasswordParameter();

    [GeneratedRegex("secret|passw|token|key|credential", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();
}
