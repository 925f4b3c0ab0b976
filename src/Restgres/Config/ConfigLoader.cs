using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Restgres.Config;

/// <summary>An invalid configuration value: startup stops with this one-line message and exit code 1.</summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string message) : base(message) { }

    public ConfigException(string message, string option) : base(message) => Option = option;

    public ConfigException() { }

    public ConfigException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The option the message is about, when there is one.</summary>
    public string? Option { get; }
}

/// <summary>
/// Reads a PostgREST-style config file and <c>PGRST_*</c> environment variables into an <see cref="AppConfig"/>,
/// option by option as PostgREST v16's <c>Config.hs</c> does (docs: references/configuration.rst):
/// <list type="bullet">
/// <item>each option is read from <c>PGRST_&lt;NAME&gt;</c> if that variable exists (even empty), else from the file;</item>
/// <item>an empty string means unset, except for <c>db-extra-search-path</c>, where <c>""</c> is the empty list;</item>
/// <item>for an option with an old alias, the first name that yields a value wins (for the pool idle time the old
/// name, <c>db-pool-timeout</c>, comes first, as in PostgREST);</item>
/// <item><c>app.settings.&lt;name&gt;</c> (one level only) and <c>PGRST_APP_SETTINGS_&lt;name&gt;</c> become
/// <see cref="AppConfig.AppSettings"/>, sorted by name, the environment winning.</item>
/// </list>
/// Where PostgREST silently falls back to the default for a value it cannot read (an integer option set to
/// <c>"abc"</c>), Restgres stops with a message instead.
/// </summary>
public static class ConfigLoader
{
    /// <summary>Options that are read and validated but do nothing yet. Setting one logs a warning.</summary>
    public static readonly ImmutableArray<string> NotImplementedOptions =
    [
        "server-unix-socket",
        "server-unix-socket-mode",
        "admin-server-unix-socket",
        "admin-server-unix-socket-mode",
        "server-reuseport",
        "internal-schema-cache-query-sleep",
        "internal-schema-cache-query-sleep-before-queries",
    ];

    /// <summary>Every option name PostgREST v16 reads (with its old aliases), plus Restgres's own.</summary>
    public static readonly ImmutableArray<string> OptionNames =
    [
        "admin-server-host", "admin-server-port", "admin-server-unix-socket", "admin-server-unix-socket-mode",
        "client-error-verbosity",
        "db-aggregates-enabled", "db-anon-role", "db-channel", "db-channel-enabled", "db-config",
        "db-extra-search-path", "db-hoisted-tx-settings", "db-max-rows", "db-plan-enabled", "db-pool",
        "db-pool-acquisition-timeout", "db-pool-automatic-recovery", "db-pool-max-idletime",
        "db-pool-max-lifetime", "db-pre-config", "db-pre-request", "db-prepared-statements", "db-root-spec",
        "db-schemas", "db-tx-end", "db-uri",
        "jwt-aud", "jwt-cache-max-entries", "jwt-role-claim-key", "jwt-secret", "jwt-secret-is-base64",
        "log-level", "log-query",
        "openapi-mode", "openapi-security-active", "openapi-server-proxy-uri",
        "server-cors-allowed-origins", "server-host", "server-port", "server-reuseport", "server-timing-enabled",
        "server-trace-header", "server-unix-socket", "server-unix-socket-mode",
        "url-use-legacy-target-names",
        "internal-schema-cache-query-sleep", "internal-schema-cache-query-sleep-before-queries",
        // Old names PostgREST still accepts.
        "db-schema", "max-rows", "pre-request", "root-spec", "role-claim-key", "secret-is-base64", "db-pool-timeout",
        // Beyond PostgREST.
        "log-format", "server-max-body-size", "server-path-prefixes", "server-static-dir",
    ];

    private const string AppSettingsPrefix = "app.settings.";
    private const string EnvPrefix = "PGRST_";
    private const string EnvAppSettingsPrefix = "PGRST_APP_SETTINGS_";

    // Plain hash sets: built once at startup, where FrozenSet's slower construction would not pay off.
    private static readonly HashSet<string> KnownOptions = new(OptionNames, StringComparer.Ordinal);

    /// <summary>Option name → environment variable name, computed once.</summary>
    private static readonly Dictionary<string, string> EnvNameByOption =
        OptionNames.ToDictionary(n => n, EnvName, StringComparer.Ordinal);

    private static readonly HashSet<string> OptionEnvNames = new(EnvNameByOption.Values, StringComparer.Ordinal);


    private static readonly ImmutableArray<string> DefaultHoistedTxSettings =
        ["statement_timeout", "plan_filter.statement_cost_limit", "default_transaction_isolation"];

    /// <summary>The environment variable for an option: <c>PGRST_</c>, upper case, '-' → '_'.</summary>
    public static string EnvName(string option) =>
        string.Create(EnvPrefix.Length + option.Length, option, static (span, o) =>
        {
            EnvPrefix.AsSpan().CopyTo(span);
            for (var i = 0; i < o.Length; i++)
                span[EnvPrefix.Length + i] = o[i] == '-' ? '_' : char.ToUpperInvariant(o[i]);
        });

    /// <summary>Loads the configuration; environment variables override the file.</summary>
    /// <param name="path">The config file, or null.</param>
    /// <param name="env">The process environment.</param>
    /// <param name="warn">Receives one line per unknown option, per option that is accepted but not implemented
    /// yet, and for the deprecated <c>jwt-role-claim-key</c> syntax.</param>
    /// <param name="dbSettings">In-database settings (<see cref="InDbConfig"/>: names with '_', e.g.
    /// <c>db_schemas</c>), which override the environment and the file, as PostgREST's readAppConfig dbSettings do.</param>
    /// <exception cref="ConfigException">A file or value is invalid.</exception>
    public static AppConfig Load(string? path, IReadOnlyDictionary<string, string> env, Action<string> warn,
        IReadOnlyDictionary<string, string>? dbSettings = null)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(warn);
        var file = path is null
            ? new Dictionary<string, ConfigValue>(StringComparer.Ordinal)
            : ConfigFileParser.Load(path, env);
        var config = Build(new Reader(file, env, dbSettings), path, warn);
        // So that SIGUSR2 / NOTIFY 'reload config' can read the same sources again.
        ConfigSources.Remember(config, new ConfigSource(path, env));
        return config;
    }

    /// <summary>Loads from config text instead of a file (tests, and <c>--example</c> checks).</summary>
    internal static AppConfig LoadText(string text, IReadOnlyDictionary<string, string> env, Action<string> warn,
        string name = "config") =>
        Build(new Reader(ConfigFileParser.Parse(text, name, env), env), null, warn);

    private static AppConfig Build(Reader r, string? path, Action<string> warn)
    {
        WarnUnknown(r, warn);

        // Same order as PostgREST's parser, so the first error reported is the same one.
        var appSettings = r.AppSettings();
        var verbosity = r.String("client-error-verbosity") switch
        {
            null or "verbose" => ErrorVerbosity.Verbose,
            "minimal" => ErrorVerbosity.Minimal,
            _ => throw Invalid("client-error-verbosity", "Invalid client-error-verbosity. Check your configuration."),
        };
        var aggregates = r.Bool("db-aggregates-enabled") ?? false;
        var anonRole = r.String("db-anon-role");
        var channel = r.String("db-channel") ?? "pgrst";
        var channelEnabled = r.Bool("db-channel-enabled") ?? true;
        var extraSearchPath = r.StringEmptyable("db-extra-search-path") is { } esp
            ? esp.Length == 0 ? [] : SplitOnCommas(esp)
            : ImmutableArray.Create("public");
        var hoisted = r.String("db-hoisted-tx-settings") is { } h ? SplitOnCommas(h) : DefaultHoistedTxSettings;
        var maxRows = r.Long("db-max-rows") ?? r.Long("max-rows");
        var planEnabled = r.Bool("db-plan-enabled") ?? false;
        var pool = r.Int("db-pool") ?? 10;
        if (pool < 1) throw Invalid("db-pool", $"Invalid db-pool: {pool}, the pool needs at least one connection");
        var acquisitionTimeout = NonNegative("db-pool-acquisition-timeout", r.Int("db-pool-acquisition-timeout") ?? 10);
        var maxLifetime = NonNegative("db-pool-max-lifetime", r.Int("db-pool-max-lifetime") ?? 1800);
        var maxIdletime = NonNegative("db-pool-max-idletime", r.Int("db-pool-timeout") ?? r.Int("db-pool-max-idletime") ?? 30);
        var automaticRecovery = r.Bool("db-pool-automatic-recovery") ?? true;
        var preRequest = r.String("db-pre-request") ?? r.String("pre-request");
        var prepared = r.Bool("db-prepared-statements") ?? true;
        var rootSpec = r.String("db-root-spec") ?? r.String("root-spec");
        var schemas = ParseDbSchemas(r.String("db-schemas") ?? r.String("db-schema"));
        var dbConfig = r.Bool("db-config") ?? true;
        var preConfig = r.String("db-pre-config");
        var txEnd = r.String("db-tx-end") switch
        {
            null or "commit" => TxEnd.Commit,
            "commit-allow-override" => TxEnd.CommitAllowOverride,
            "rollback" => TxEnd.Rollback,
            "rollback-allow-override" => TxEnd.RollbackAllowOverride,
            _ => throw Invalid("db-tx-end", "Invalid transaction termination. Check your configuration. (db-tx-end)"),
        };
        var dbUri = r.String("db-uri") ?? "postgresql://";
        var jwtAud = r.String("jwt-aud");
        if (jwtAud is not null && jwtAud.Contains(':', StringComparison.Ordinal) && !Uris.IsUri(jwtAud))
            throw Invalid("jwt-aud", "jwt-aud should be a string or a valid URI");
        var roleClaimKeyText = r.String("jwt-role-claim-key") ?? r.String("role-claim-key");
        var roleClaimPath = roleClaimKeyText is null ? RoleClaimPath.Default : RoleClaimPath.Parse(roleClaimKeyText);
        var jwtSecret = r.String("jwt-secret");
        var secretIsBase64 = r.Bool("jwt-secret-is-base64") ?? r.Bool("secret-is-base64") ?? false;
        var jwtCacheMaxEntries = r.Int("jwt-cache-max-entries") ?? 1000;
        var logLevel = r.String("log-level") switch
        {
            null or "error" => LogLevel.Error,
            "crit" => LogLevel.Crit,
            "warn" => LogLevel.Warn,
            "info" => LogLevel.Info,
            "debug" => LogLevel.Debug,
            _ => throw Invalid("log-level", "Invalid logging level. Check your configuration. (log-level)"),
        };
        var logQuery = r.Bool("log-query") ?? false;
        var openApiMode = r.String("openapi-mode") switch
        {
            null or "follow-privileges" => OpenApiMode.FollowPrivileges,
            "ignore-privileges" => OpenApiMode.IgnorePrivileges,
            "disabled" => OpenApiMode.Disabled,
            _ => throw Invalid("openapi-mode", "Invalid openapi-mode. Check your configuration."),
        };
        var openApiSecurity = r.Bool("openapi-security-active") ?? false;
        var proxyUri = r.String("openapi-server-proxy-uri");
        if (proxyUri is not null && !Uris.IsValidProxyUri(proxyUri))
            throw Invalid("openapi-server-proxy-uri",
                "Malformed proxy uri, a correct example: https://example.com:8443/basePath (openapi-server-proxy-uri)");
        // As in PostgREST, unset and "" both mean no list: any origin is allowed.
        var corsOrigins = r.String("server-cors-allowed-origins") is { } cors ? SplitOnCommas(cors) : [];
        var serverHost = r.String("server-host") ?? "!4";
        var serverPort = Port("server-port", r.Int("server-port") ?? 3000);
        var reusePort = r.Bool("server-reuseport") ?? false;
        var traceHeader = r.String("server-trace-header");
        var timing = r.Bool("server-timing-enabled") ?? false;
        var unixSocket = r.String("server-unix-socket");
        var unixSocketMode = SocketMode("server-unix-socket-mode", r.String("server-unix-socket-mode"));
        var legacyTargetNames = r.Bool("url-use-legacy-target-names") ?? true;
        var adminHost = r.String("admin-server-host") ?? r.String("server-host") ?? "!4";
        int? adminPort = r.Int("admin-server-port") is { } ap ? Port("admin-server-port", ap) : null;
        if (adminPort == serverPort)
            throw Invalid("admin-server-port", "admin-server-port cannot be the same as server-port");
        var adminSocket = r.String("admin-server-unix-socket");
        var adminSocketMode = SocketMode("admin-server-unix-socket-mode", r.String("admin-server-unix-socket-mode"));
        var sleepFirst = r.Int("internal-schema-cache-query-sleep-before-queries");
        var sleep = r.Int("internal-schema-cache-query-sleep");

        // Beyond PostgREST.
        var logFormat = r.String("log-format") ?? "text";
        if (logFormat is not ("text" or "json"))
            throw Invalid("log-format", $"Invalid log-format '{logFormat}'. Admitted values: text, json.");
        var pathPrefixes = ParsePathPrefixes(r.String("server-path-prefixes"));
        var staticDir = r.String("server-static-dir");
        if (staticDir is not null && !Directory.Exists(staticDir))
            throw Invalid("server-static-dir", $"Invalid server-static-dir: '{staticDir}' is not a directory");
        var maxBodySize = r.Long("server-max-body-size") ?? AppConfig.DefaultServerMaxBodySize;
        if (maxBodySize < 1)
            throw Invalid("server-max-body-size", $"Invalid server-max-body-size: {maxBodySize} is not a positive number of bytes");

        // Then, as PostgREST's decodeLoadFiles: @file values, the base64 secret, and the secret's checks.
        if (dbUri.StartsWith('@')) dbUri = ReadOptionFile("db-uri", dbUri[1..]).Trim();
        byte[]? secretBytes = null;
        if (jwtSecret is not null)
        {
            if (jwtSecret.StartsWith('@'))
            {
                jwtSecret = ReadOptionFile("jwt-secret", jwtSecret[1..]);
                if (jwtSecret.EndsWith('\n')) jwtSecret = jwtSecret[..^1];
            }
            secretBytes = secretIsBase64 ? DecodeBase64Secret(jwtSecret) : Encoding.UTF8.GetBytes(jwtSecret);
            if (secretBytes.Length < 32 && !LooksLikeJwk(secretBytes))
                throw Invalid("jwt-secret", "The JWT secret must be at least 32 characters long. (jwt-secret)");
        }

        if (roleClaimPath.IsDeprecatedSyntax)
        {
            var replacement = roleClaimPath.JsonPathEquivalent is { } jp ? $" such as '{jp}'" : "";
            warn($"restgres: jwt-role-claim-key '{roleClaimPath.Text}' uses the deprecated JSPath syntax; update it to "
                + $"the JSON Path syntax{replacement}, as support for JSPath will be removed in a future release "
                + "(see https://github.com/PostgREST/postgrest/blob/main/CHANGELOG.md#migration-to-v16)");
        }
        WarnNotImplemented(r, warn);

        return new AppConfig
        {
            AppSettings = appSettings,
            ClientErrorVerbosity = verbosity,
            DbAggregatesEnabled = aggregates,
            DbAnonRole = anonRole,
            DbChannel = channel,
            DbChannelEnabled = channelEnabled,
            DbExtraSearchPath = extraSearchPath,
            DbHoistedTxSettings = hoisted,
            DbMaxRows = maxRows,
            DbPlanEnabled = planEnabled,
            DbPool = pool,
            DbPoolAcquisitionTimeout = acquisitionTimeout,
            DbPoolMaxLifetime = maxLifetime,
            DbPoolMaxIdletime = maxIdletime,
            DbPoolAutomaticRecovery = automaticRecovery,
            DbPreRequest = preRequest is null ? null : QualifiedName.Parse(preRequest),
            DbPreparedStatements = prepared,
            DbRootSpec = rootSpec is null ? null : QualifiedName.Parse(rootSpec),
            DbSchemas = schemas,
            DbConfig = dbConfig,
            DbPreConfig = preConfig is null ? null : QualifiedName.Parse(preConfig),
            DbTxEnd = txEnd,
            DbUri = dbUri,
            JwtAud = jwtAud,
            JwtRoleClaimKey = roleClaimPath.Text,
            JwtRoleClaimPath = roleClaimPath,
            JwtSecret = jwtSecret,
            JwtSecretBytes = secretBytes is null ? [] : ImmutableArray.Create(secretBytes),
            JwtSecretIsBase64 = secretIsBase64,
            JwtCacheMaxEntries = jwtCacheMaxEntries,
            LogLevel = logLevel,
            LogQuery = logQuery,
            OpenApiMode = openApiMode,
            OpenApiSecurityActive = openApiSecurity,
            OpenApiServerProxyUri = proxyUri,
            ServerCorsAllowedOrigins = corsOrigins,
            ServerHost = serverHost,
            ServerPort = serverPort,
            ServerReusePort = reusePort,
            ServerTraceHeader = traceHeader,
            ServerTimingEnabled = timing,
            ServerUnixSocket = unixSocket,
            ServerUnixSocketMode = unixSocketMode,
            UrlUseLegacyTargetNames = legacyTargetNames,
            AdminServerHost = adminHost,
            AdminServerPort = adminPort,
            AdminServerUnixSocket = adminSocket,
            AdminServerUnixSocketMode = adminSocketMode,
            InternalSchemaCacheQuerySleepBeforeQueries = sleepFirst,
            InternalSchemaCacheQuerySleep = sleep,
            LogFormat = logFormat,
            ServerPathPrefixes = pathPrefixes,
            ServerStaticDir = staticDir,
            ServerMaxBodySize = maxBodySize,
            ConfigFilePath = path,
        };
    }

    private static ConfigException Invalid(string option, string message) => new(message, option);

    /// <summary>PostgREST's splitOnCommas: split on ',' and trim each part (empty parts are kept).</summary>
    private static ImmutableArray<string> SplitOnCommas(string s)
    {
        var parts = s.Split(',');
        var builder = ImmutableArray.CreateBuilder<string>(parts.Length);
        foreach (var p in parts) builder.Add(p.Trim());
        return builder.MoveToImmutable();
    }

    private static ImmutableArray<string> ParseDbSchemas(string? value)
    {
        if (value is null) return ["public"];
        var schemas = SplitOnCommas(value);
        foreach (var forbidden in (ReadOnlySpan<string>)["pg_catalog", "information_schema"])
        {
            if (schemas.Contains(forbidden))
                throw Invalid("db-schemas", $"db-schemas does not allow schema: '{forbidden}'");
        }
        return schemas;
    }

    private static int NonNegative(string option, int value) =>
        value >= 0 ? value : throw Invalid(option, $"Invalid {option}: {value}, it cannot be negative");

    private static int Port(string option, int value) =>
        value is >= 0 and <= 65535 ? value : throw Invalid(option, $"Invalid {option}: {value} is not a port number (0-65535)");

    /// <summary>PostgREST's parseSocketFileMode: leading octal digits (the rest ignored), between 600 and 777.</summary>
    private static int SocketMode(string option, string? value)
    {
        if (value is null) return 432; // 0660
        var mode = 0;
        var digits = 0;
        foreach (var c in value)
        {
            if (c is < '0' or > '7') break;
            mode = (mode * 8) + (c - '0');
            if (++digits > 10) break;
        }
        if (digits == 0) throw Invalid(option, $"Invalid {option}: not an octal");
        if (mode is < 384 or > 511) throw Invalid(option, $"Invalid {option}: needs to be between 600 and 777");
        return mode;
    }

    private static ImmutableArray<string> ParsePathPrefixes(string? value)
    {
        if (value is null) return [];
        var builder = ImmutableArray.CreateBuilder<string>();
        foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part[0] != '/')
                throw Invalid("server-path-prefixes", $"Invalid server-path-prefixes: '{part}' must start with '/'");
            if (part[^1] == '/')
                throw Invalid("server-path-prefixes", $"Invalid server-path-prefixes: '{part}' must not end with '/'");
            foreach (var c in part)
            {
                if (c is '?' or '#' || char.IsWhiteSpace(c) || char.IsControl(c))
                    throw Invalid("server-path-prefixes",
                        $"Invalid server-path-prefixes: '{part}' must be a plain path (no '?', '#' or spaces)");
            }
            if (!builder.Contains(part)) builder.Add(part);
        }
        return builder.ToImmutable();
    }

    private static string ReadOptionFile(string option, string file)
    {
        try
        {
            return File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw Invalid(option, $"Invalid {option}: cannot read the file '{file}': {e.Message}");
        }
    }

    /// <summary>PostgREST's decodeSecret: URL-safe characters are mapped back, blanks trimmed, padding required.</summary>
    private static byte[] DecodeBase64Secret(string secret)
    {
        var s = secret.Replace('_', '/').Replace('-', '+').Replace('.', '=').Trim();
        try
        {
            return Convert.FromBase64String(s);
        }
        catch (FormatException)
        {
            throw Invalid("jwt-secret", "Invalid jwt-secret: jwt-secret-is-base64 is true but the secret is not valid base64");
        }
    }

    /// <summary>
    /// PostgREST accepts a JSON Web Key or key set of any length, and a plain secret of at least 32 bytes. Which
    /// keys are usable is for the JWT validation to decide; here only the length rule is checked.
    /// </summary>
    private static bool LooksLikeJwk(byte[] secret)
    {
        try
        {
            using var doc = JsonDocument.Parse(secret);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && (doc.RootElement.TryGetProperty("kty", out _) || doc.RootElement.TryGetProperty("keys", out _));
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static void WarnUnknown(Reader r, Action<string> warn)
    {
        foreach (var key in r.File.Keys.Order(StringComparer.Ordinal))
        {
            if (KnownOptions.Contains(key)) continue;
            if (key.StartsWith(AppSettingsPrefix, StringComparison.Ordinal)
                && key.IndexOf('.', AppSettingsPrefix.Length) < 0) continue;
            warn($"restgres: unknown option '{key}' ignored");
        }
        foreach (var name in r.Env.Keys.Where(k => k.StartsWith(EnvPrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            if (OptionEnvNames.Contains(name) || name.StartsWith(EnvAppSettingsPrefix, StringComparison.Ordinal)) continue;
            warn($"restgres: unknown option '{name}' ignored");
        }
    }

    private static void WarnNotImplemented(Reader r, Action<string> warn)
    {
        foreach (var option in NotImplementedOptions)
        {
            // A boolean set to false asks for what we already do; anything else set explicitly has no effect.
            var set = option is "db-config" or "server-reuseport"
                ? r.Bool(option) == true
                : r.String(option) is not null;
            if (set) warn($"restgres: option '{option}' is accepted but not implemented yet; it has no effect");
        }
    }

    /// <summary>Reads raw option values with PostgREST's coercions; the environment variable, if present, wins.</summary>
    private sealed class Reader(Dictionary<string, ConfigValue> file, IReadOnlyDictionary<string, string> env,
        IReadOnlyDictionary<string, string>? db = null)
    {
        public Dictionary<string, ConfigValue> File { get; } = file;
        public IReadOnlyDictionary<string, string> Env { get; } = env;

        private bool TryRaw(string key, out ConfigValue value)
        {
            // PostgREST's overrideFromDbOrEnvironment: the in-database value (its name with '_' for '-') first.
            if (db is not null && db.Count > 0 && db.TryGetValue(key.Replace('-', '_'), out var d))
            {
                value = ConfigValue.Str(d);
                return true;
            }
            if (Env.TryGetValue(EnvNameByOption.TryGetValue(key, out var envName) ? envName : EnvName(key), out var e))
            {
                value = ConfigValue.Str(e);
                return true;
            }
            return File.TryGetValue(key, out value);
        }

        /// <summary>PostgREST's coerceText; a list is refused rather than turned into its Haskell rendering.</summary>
        private static string Text(string key, ConfigValue v) => v.Kind == ConfigValueKind.List
            ? throw Invalid(key, $"Invalid {key}: a list is not accepted here, use a comma-separated \"string\"")
            : v.Text;

        /// <summary>optString: unset or empty is null.</summary>
        public string? String(string key) =>
            TryRaw(key, out var v) && Text(key, v) is { Length: > 0 } s ? s : null;

        /// <summary>optStringEmptyable: unset is null, empty stays empty.</summary>
        public string? StringEmptyable(string key) => TryRaw(key, out var v) ? Text(key, v) : null;

        public long? Long(string key)
        {
            if (!TryRaw(key, out var v)) return null;
            var text = Text(key, v).Trim();
            if (text.Length == 0) return null;
            if (v.Kind == ConfigValueKind.Number)
            {
                if (TryIntegral(text, out var n)) return n;
            }
            else if (v.Kind == ConfigValueKind.String
                && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
                && text[0] != '+')
            {
                return l;
            }
            throw Invalid(key, $"Invalid {key}: expected an integer, got '{v.Text}'");
        }

        /// <summary>A number in the file: any integral value (10, 10.0, 1e3), as PostgREST's floatingOrInteger.</summary>
        private static bool TryIntegral(string text, out long value)
        {
            if (decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
                && d == decimal.Truncate(d) && d is >= long.MinValue and <= long.MaxValue)
            {
                value = (long)d;
                return true;
            }
            value = 0;
            return false;
        }

        public int? Int(string key) => Long(key) switch
        {
            null => null,
            >= int.MinValue and <= int.MaxValue and var n => (int)n,
            var n => throw Invalid(key, $"Invalid {key}: {n} is out of range"),
        };

        /// <summary>
        /// PostgREST's coerceBool: of a string, only its letters count, compared case-insensitively with
        /// true/false ("TRUE", "True", "\"true\""); failing that an integer means &gt; 0. Empty is unset.
        /// </summary>
        public bool? Bool(string key)
        {
            if (!TryRaw(key, out var v)) return null;
            switch (v.Kind)
            {
                case ConfigValueKind.Bool:
                    return v.Text == "true";
                case ConfigValueKind.Number:
                    if (TryIntegral(v.Text, out var number)) return number > 0;
                    break;
                case ConfigValueKind.String:
                    if (v.Text.Length == 0) return null;
                    Span<char> letters = stackalloc char[Math.Min(v.Text.Length, 16)];
                    var n = 0;
                    foreach (var c in v.Text)
                    {
                        if (!char.IsLetter(c)) continue;
                        if (n == letters.Length) { n = -1; break; }
                        letters[n++] = c;
                    }
                    if (n >= 0)
                    {
                        if (letters[..n].Equals("true", StringComparison.OrdinalIgnoreCase)) return true;
                        if (letters[..n].Equals("false", StringComparison.OrdinalIgnoreCase)) return false;
                    }
                    if (long.TryParse(v.Text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
                        && v.Text.Trim()[0] != '+')
                        return l > 0;
                    break;
            }
            throw Invalid(key, $"Invalid {key}: expected a boolean (true or false), got '{v.Text}'");
        }

        /// <summary>
        /// PostgREST's parseAppSettings: <c>app.settings.x</c> from the file (direct children only) and
        /// <c>PGRST_APP_SETTINGS_x</c> from the environment (winning), sorted by full name.
        /// </summary>
        public ImmutableArray<KeyValuePair<string, string>> AppSettings()
        {
            var settings = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, value) in File)
            {
                if (!key.StartsWith(AppSettingsPrefix, StringComparison.Ordinal)
                    || key.IndexOf('.', AppSettingsPrefix.Length) >= 0) continue;
                settings[key] = Text(key, value);
            }
            foreach (var (name, value) in Env)
            {
                if (name.StartsWith(EnvAppSettingsPrefix, StringComparison.Ordinal) && name.Length > EnvAppSettingsPrefix.Length)
                    settings[AppSettingsPrefix + name[EnvAppSettingsPrefix.Length..]] = value;
            }
            return [.. settings];
        }
    }
}

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

/// <summary>
/// The parsed <c>jwt-role-claim-key</c>: where the role is in the JWT claims. PostgREST v16 takes an RFC 9535 JSON
/// Path (<c>$.role</c>, <c>$.a.b</c>, <c>$.roles[0]</c>, <c>$['https://x/role']</c>,
/// <c>$.roles[?(@ == 'author')]</c>, <c>$.roles[?search(@, '^au')]</c>; of the function extensions only
/// <c>search()</c>), and still accepts v14's deprecated JSPath (<c>.role</c>, <c>."a-b"[0]</c>,
/// <c>.roles[?(@ ^== "au")]</c>). Evaluation selects the first node the query returns (docs: references/auth.rst,
/// "JWT Role Extraction").
/// </summary>
public sealed class RoleClaimPath
{
    private readonly JsonPath.Query? _query;
    private readonly DeprecatedJsPath.Step[]? _steps;

    private RoleClaimPath(string text, JsonPath.Query? query, DeprecatedJsPath.Step[]? steps)
    {
        Text = text;
        _query = query;
        _steps = steps;
    }

    /// <summary>PostgREST's default, <c>$.role</c>.</summary>
    public static RoleClaimPath Default { get; } = Parse("$.role");

    /// <summary>The path as configured.</summary>
    public string Text { get; }

    /// <summary>True for the deprecated v14 JSPath syntax (<c>.role</c>).</summary>
    public bool IsDeprecatedSyntax => _steps is not null;

    /// <summary>Parses either syntax, trying JSON Path first as PostgREST does.</summary>
    /// <exception cref="ConfigException">Neither syntax matches.</exception>
    public static RoleClaimPath Parse(string text)
    {
        if (JsonPath.TryParse(text, out var query, out var error)) return new RoleClaimPath(text, query, null);
        if (DeprecatedJsPath.TryParse(text, out var steps, out var deprecatedError)) return new RoleClaimPath(text, null, steps);
        // Report the error of the syntax the value looks like it was meant to be in.
        var why = text.StartsWith('$') ? error : deprecatedError;
        throw new ConfigException($"failed to parse role-claim-key value ({text}): {why}", "jwt-role-claim-key");
    }

    /// <summary>Finds the first value the path selects in <paramref name="claims"/>.</summary>
    public bool TryEvaluate(JsonElement claims, out JsonElement value)
    {
        if (_query is not null) return JsonPath.TryEvaluateFirst(_query, claims, out value);
        return DeprecatedJsPath.TryEvaluate(_steps!, claims, out value);
    }

    /// <summary>For the deprecated syntax, the same path in JSON Path syntax when there is a direct equivalent.</summary>
    public string? JsonPathEquivalent => _steps is null ? null : DeprecatedJsPath.ToJsonPath(_steps);

    public override string ToString() => Text;
}

/// <summary>v14's JSPath DSL (PostgREST's <c>Config/DeprecatedJSPath.hs</c>): <c>.key</c>, <c>."quoted key"</c>,
/// <c>[index]</c>, and one final filter <c>[?(@ op "text")]</c> with <c>== != ^== ==^ *==</c>.</summary>
internal static class DeprecatedJsPath
{
    internal enum Op { Equals, NotEquals, StartsWith, EndsWith, Contains }

    internal sealed record Step(string? Key, int Index, Op FilterOp, string? FilterText)
    {
        public bool IsFilter => FilterText is not null;
    }

    public static bool TryParse(string s, out Step[] steps, out string error)
    {
        var list = new List<Step>();
        var i = 0;
        steps = [];
        error = "";
        while (i < s.Length)
        {
            if (s[i] == '.')
            {
                i++;
                if (i < s.Length && s[i] == '"')
                {
                    var close = s.IndexOf('"', i + 1);
                    if (close < 0) { error = $"unterminated quoted key at position {i + 1}"; return false; }
                    list.Add(new Step(s[(i + 1)..close], 0, default, null));
                    i = close + 1;
                    continue;
                }
                var start = i;
                while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] is '_' or '$' or '@')) i++;
                if (i == start) { error = $"expected a key after '.' at position {start + 1}"; return false; }
                list.Add(new Step(s[start..i], 0, default, null));
            }
            else if (s.AsSpan(i).StartsWith("[?("))
            {
                var at = i;
                i += 3;
                if (!TryParseFilter(s, ref i, out var op, out var text) || i != s.Length)
                {
                    error = $"expected a final filter like [?(@ == \"value\")] at position {at + 1}";
                    return false;
                }
                list.Add(new Step(null, 0, op, text));
            }
            else if (s[i] == '[')
            {
                var start = ++i;
                while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
                if (i == start || i >= s.Length || s[i] != ']'
                    || !int.TryParse(s.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out var idx))
                {
                    error = $"expected an array index like [0] at position {start}";
                    return false;
                }
                i++;
                list.Add(new Step(null, idx, default, null));
            }
            else
            {
                error = $"unexpected '{s[i]}' at position {i + 1}, expected '.key', '[index]' or '[?(@ == \"value\")]'";
                return false;
            }
        }
        if (list.Count == 0)
        {
            error = "the path is empty";
            return false;
        }
        steps = [.. list];
        return true;
    }

    private static bool TryParseFilter(string s, ref int i, out Op op, out string text)
    {
        op = default;
        text = "";
        if (i >= s.Length || s[i] != '@') return false;
        i++;
        while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
        var rest = s.AsSpan(i);
        // Same order as PostgREST: "==^" must be tried before "==".
        if (rest.StartsWith("==^")) { op = Op.EndsWith; i += 3; }
        else if (rest.StartsWith("==")) { op = Op.Equals; i += 2; }
        else if (rest.StartsWith("!=")) { op = Op.NotEquals; i += 2; }
        else if (rest.StartsWith("^==")) { op = Op.StartsWith; i += 3; }
        else if (rest.StartsWith("*==")) { op = Op.Contains; i += 3; }
        else return false;
        while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
        if (i >= s.Length || s[i] != '"') return false;
        var close = s.IndexOf('"', i + 1);
        if (close < 0) return false;
        text = s[(i + 1)..close];
        i = close + 1;
        if (!s.AsSpan(i).StartsWith(")]")) return false;
        i += 2;
        return true;
    }

    public static bool TryEvaluate(Step[] steps, JsonElement node, out JsonElement value)
    {
        value = default;
        foreach (var step in steps)
        {
            if (step.IsFilter)
            {
                if (node.ValueKind != JsonValueKind.Array) return false;
                foreach (var item in node.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String) continue;
                    var s = item.GetString()!;
                    var match = step.FilterOp switch
                    {
                        Op.Equals => s == step.FilterText,
                        Op.NotEquals => s != step.FilterText,
                        Op.StartsWith => s.StartsWith(step.FilterText!, StringComparison.Ordinal),
                        Op.EndsWith => s.EndsWith(step.FilterText!, StringComparison.Ordinal),
                        _ => s.Contains(step.FilterText!, StringComparison.Ordinal),
                    };
                    if (match)
                    {
                        value = item;
                        return true;
                    }
                }
                return false;
            }
            if (step.Key is not null)
            {
                if (node.ValueKind != JsonValueKind.Object || !node.TryGetProperty(step.Key, out node)) return false;
            }
            else
            {
                if (node.ValueKind != JsonValueKind.Array || step.Index >= node.GetArrayLength()) return false;
                node = node[step.Index];
            }
        }
        value = node;
        return true;
    }

    public static string? ToJsonPath(Step[] steps)
    {
        var sb = new StringBuilder("$");
        foreach (var step in steps)
        {
            if (step.IsFilter)
            {
                if (step.FilterOp is not (Op.Equals or Op.NotEquals)) return null;
                sb.Append("[?(@ ").Append(step.FilterOp == Op.Equals ? "==" : "!=").Append(' ')
                    .Append(JsonPath.Quote(step.FilterText!)).Append(")]");
            }
            else if (step.Key is null)
            {
                sb.Append('[').Append(step.Index.ToString(CultureInfo.InvariantCulture)).Append(']');
            }
            else if (JsonPath.IsPlainName(step.Key))
            {
                sb.Append('.').Append(step.Key);
            }
            else
            {
                sb.Append('[').Append(JsonPath.Quote(step.Key)).Append(']');
            }
        }
        return sb.ToString();
    }
}

/// <summary>
/// RFC 9535 JSON Path, with the grammar PostgREST accepts (the <c>aeson-jsonpath</c> package): child and descendant
/// segments, name/index/slice/wildcard/filter selectors, filters with comparisons, <c>&amp;&amp; || !</c>, parentheses,
/// existence tests and the <c>search()</c> function only.
/// </summary>
internal static class JsonPath
{
    private const long MaxSafeInt = 9007199254740991;

    internal sealed record Query(bool IsRoot, Segment[] Segments)
    {
        /// <summary>A singular query: only child name and index segments (RFC 9535 §2.3.5.1).</summary>
        public bool IsSingular
        {
            get
            {
                foreach (var seg in Segments)
                {
                    if (seg.Descendant || seg.Selectors.Length != 1
                        || seg.Selectors[0] is not (NameSelector or IndexSelector)) return false;
                }
                return true;
            }
        }
    }

    internal sealed record Segment(bool Descendant, Selector[] Selectors);

    internal abstract record Selector;
    internal sealed record NameSelector(string Name) : Selector;
    internal sealed record IndexSelector(long Index) : Selector;
    internal sealed record SliceSelector(long? Start, long? End, long Step) : Selector;
    internal sealed record WildcardSelector : Selector;
    internal sealed record FilterSelector(Expr Expr) : Selector;

    internal abstract record Expr;
    internal sealed record OrExpr(Expr[] Items) : Expr;
    internal sealed record AndExpr(Expr[] Items) : Expr;
    internal sealed record NotExpr(Expr Inner) : Expr;
    internal sealed record ExistsExpr(Query Query) : Expr;
    internal sealed record CompareExpr(Operand Left, string Op, Operand Right) : Expr;
    internal sealed record SearchExpr(Operand Text, Operand Pattern) : Expr
    {
        /// <summary>The compiled pattern when it is a literal (compiled once, at config load).</summary>
        public Regex? LiteralRegex { get; init; }
    }

    /// <summary>A value in a filter: a literal, a (singular) query, or a logical expression (only as a function
    /// argument, where it is not a value and makes <c>search()</c> false).</summary>
    internal abstract record Operand;
    internal sealed record LiteralOperand(JsonElement Value) : Operand;
    internal sealed record QueryOperand(Query Query) : Operand;
    internal sealed record LogicalOperand(Expr Expr) : Operand;

    private sealed class ParseError(string message, int position) : Exception(message)
    {
        public int Position { get; } = position;
    }

    public static bool TryParse(string text, out Query? query, out string error)
    {
        var p = new Parser(text);
        try
        {
            query = p.ParseRootQuery();
            error = "";
            return true;
        }
        catch (ParseError e)
        {
            query = null;
            error = $"{e.Message} at position {e.Position + 1}";
            return false;
        }
    }

    internal static bool IsNameFirst(char c) => char.IsAsciiLetter(c) || c == '_' || c >= 0x80;
    internal static bool IsNameChar(char c) => IsNameFirst(c) || char.IsAsciiDigit(c);

    internal static bool IsPlainName(string s)
    {
        if (s.Length == 0 || !IsNameFirst(s[0])) return false;
        foreach (var c in s) if (!IsNameChar(c)) return false;
        return true;
    }

    /// <summary>A single-quoted JSON Path string literal.</summary>
    internal static string Quote(string s)
    {
        var sb = new StringBuilder("'");
        foreach (var c in s)
        {
            switch (c)
            {
                case '\'': sb.Append("\\'"); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('\'').ToString();
    }

    private sealed class Parser(string s)
    {
        private int _pos;

        private bool AtEnd => _pos >= s.Length;
        private char Peek => _pos < s.Length ? s[_pos] : '\0';
        private bool At(string t) => string.CompareOrdinal(s, _pos, t, 0, t.Length) == 0;

        private ParseError Fail(string expected) =>
            new(AtEnd ? $"expected {expected} but the path ended" : $"unexpected '{s[_pos]}', expected {expected}", _pos);

        private void Expect(char c)
        {
            if (Peek != c) throw Fail($"'{c}'");
            _pos++;
        }

        private void SkipSpaces()
        {
            while (!AtEnd && s[_pos] is ' ' or '\n' or '\r' or '\t') _pos++;
        }

        public Query ParseRootQuery()
        {
            if (Peek != '$') throw Fail("'$' (a JSON Path starts with $)");
            var q = ParseQuery();
            if (!AtEnd) throw Fail("'.', '..' or '[' (or the end of the path)");
            return q;
        }

        /// <summary><c>$</c> or <c>@</c> followed by segments, with optional blanks between segments.</summary>
        private Query ParseQuery()
        {
            var root = Peek == '$';
            _pos++;
            var segments = new List<Segment>();
            while (true)
            {
                var save = _pos;
                SkipSpaces();
                if (At("..") || Peek == '[' || (Peek == '.' && _pos + 1 < s.Length && (s[_pos + 1] == '*' || IsNameFirst(s[_pos + 1]))))
                {
                    segments.Add(ParseSegment());
                }
                else if (Peek == '.')
                {
                    _pos++;
                    throw Fail("a member name or '*' after '.'");
                }
                else
                {
                    _pos = save;
                    break;
                }
            }
            return new Query(root, [.. segments]);
        }

        private Segment ParseSegment()
        {
            if (At(".."))
            {
                _pos += 2;
                if (Peek == '[') return new Segment(true, ParseBracketed());
                if (Peek == '*') { _pos++; return new Segment(true, [new WildcardSelector()]); }
                if (IsNameFirst(Peek)) return new Segment(true, [new NameSelector(ParseDottedName())]);
                throw Fail("a member name, '*' or '[' after '..'");
            }
            if (Peek == '[') return new Segment(false, ParseBracketed());
            _pos++; // .
            if (Peek == '*') { _pos++; return new Segment(false, [new WildcardSelector()]); }
            return new Segment(false, [new NameSelector(ParseDottedName())]);
        }

        private string ParseDottedName()
        {
            var start = _pos;
            while (!AtEnd && IsNameChar(s[_pos])) _pos++;
            return s[start.._pos];
        }

        private Selector[] ParseBracketed()
        {
            Expect('[');
            SkipSpaces();
            var selectors = new List<Selector> { ParseSelector() };
            while (true)
            {
                SkipSpaces();
                if (Peek == ',')
                {
                    _pos++;
                    SkipSpaces();
                    selectors.Add(ParseSelector());
                    continue;
                }
                if (Peek == ']') break;
                throw Fail("',' or ']'");
            }
            _pos++;
            return [.. selectors];
        }

        private Selector ParseSelector()
        {
            var c = Peek;
            if (c is '\'' or '"') return new NameSelector(ParseStringLiteral());
            if (c == '*') { _pos++; return new WildcardSelector(); }
            if (c == '?')
            {
                _pos++;
                SkipSpaces();
                return new FilterSelector(ParseOr());
            }
            if (c == ':' || c == '-' || char.IsAsciiDigit(c))
            {
                long? start = c == ':' ? null : ParseInt();
                var save = _pos;
                SkipSpaces();
                if (Peek != ':')
                {
                    _pos = save;
                    return new IndexSelector(start!.Value);
                }
                _pos++;
                SkipSpaces();
                long? end = Peek == '-' || char.IsAsciiDigit(Peek) ? ParseInt() : null;
                SkipSpaces();
                long step = 1;
                if (Peek == ':')
                {
                    _pos++;
                    save = _pos;
                    SkipSpaces();
                    if (Peek == '-' || char.IsAsciiDigit(Peek)) step = ParseInt();
                    else _pos = save;
                }
                return new SliceSelector(start, end, step);
            }
            throw Fail("a selector: 'name', index, slice, '*' or ?filter");
        }

        /// <summary>An integer without leading zeros, within ±(2^53-1) (RFC 9535 §2.1).</summary>
        private long ParseInt()
        {
            var start = _pos;
            var negative = Peek == '-';
            if (negative) _pos++;
            if (!char.IsAsciiDigit(Peek)) throw Fail("a digit");
            if (Peek == '0' && (negative || (_pos + 1 < s.Length && char.IsAsciiDigit(s[_pos + 1]))))
                throw new ParseError("integers must not have leading zeros (nor be -0)", start);
            var digitsStart = _pos;
            while (char.IsAsciiDigit(Peek)) _pos++;
            if (_pos - digitsStart > 16
                || !long.TryParse(s.AsSpan(start, _pos - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
                || v is > MaxSafeInt or < -MaxSafeInt)
                throw new ParseError("integer out of range", start);
            return v;
        }

        private Expr ParseOr()
        {
            var first = ParseAnd();
            List<Expr>? items = null;
            while (true)
            {
                var save = _pos;
                SkipSpaces();
                if (!At("||")) { _pos = save; break; }
                _pos += 2;
                SkipSpaces();
                (items ??= [first]).Add(ParseAnd());
            }
            return items is null ? first : new OrExpr([.. items]);
        }

        private Expr ParseAnd()
        {
            var first = ParseBasic();
            List<Expr>? items = null;
            while (true)
            {
                var save = _pos;
                SkipSpaces();
                if (!At("&&")) { _pos = save; break; }
                _pos += 2;
                SkipSpaces();
                (items ??= [first]).Add(ParseBasic());
            }
            return items is null ? first : new AndExpr([.. items]);
        }

        private Expr ParseBasic()
        {
            if (Peek == '!')
            {
                _pos++;
                SkipSpaces();
                if (Peek == '(') return new NotExpr(ParseParen());
                if (Peek is '@' or '$') return new NotExpr(new ExistsExpr(ParseQuery()));
                if (At("search(")) return new NotExpr(ParseSearch());
                throw Fail("'(', a query or search() after '!'");
            }
            if (Peek == '(') return ParseParen();
            if (At("search(")) return ParseSearch();
            if (Peek is '@' or '$')
            {
                var start = _pos;
                var q = ParseQuery();
                var save = _pos;
                SkipSpaces();
                var op = TryParseComparisonOp();
                if (op is null)
                {
                    _pos = save;
                    return new ExistsExpr(q);
                }
                if (!q.IsSingular) throw new ParseError("only a singular query (names and indexes) can be compared", start);
                SkipSpaces();
                return new CompareExpr(new QueryOperand(q), op, ParseComparable());
            }
            var left = ParseComparable();
            SkipSpaces();
            var op2 = TryParseComparisonOp() ?? throw Fail("a comparison operator (== != < <= > >=)");
            SkipSpaces();
            return new CompareExpr(left, op2, ParseComparable());
        }

        private Expr ParseParen()
        {
            Expect('(');
            SkipSpaces();
            var e = ParseOr();
            SkipSpaces();
            Expect(')');
            return e;
        }

        private string? TryParseComparisonOp()
        {
            foreach (var op in (ReadOnlySpan<string>)[">=", "<=", "==", "!=", ">", "<"])
            {
                if (At(op))
                {
                    _pos += op.Length;
                    return op;
                }
            }
            return null;
        }

        private Operand ParseComparable()
        {
            if (Peek is '@' or '$')
            {
                var start = _pos;
                var q = ParseQuery();
                if (!q.IsSingular) throw new ParseError("only a singular query (names and indexes) can be compared", start);
                return new QueryOperand(q);
            }
            return new LiteralOperand(ParseLiteral());
        }

        private JsonElement ParseLiteral()
        {
            var c = Peek;
            if (c is '\'' or '"') return Json("\"" + JsonEncodedText.Encode(ParseStringLiteral()) + "\"");
            if (At("true")) { _pos += 4; return Json("true"); }
            if (At("false")) { _pos += 5; return Json("false"); }
            if (At("null")) { _pos += 4; return Json("null"); }
            if (c == '-' || char.IsAsciiDigit(c))
            {
                var start = _pos;
                if (At("-0") && !(_pos + 2 < s.Length && char.IsAsciiDigit(s[_pos + 2]))) _pos += 2;
                else ParseInt();
                if (Peek == '.')
                {
                    _pos++;
                    if (!char.IsAsciiDigit(Peek)) throw Fail("a digit after '.'");
                    while (char.IsAsciiDigit(Peek)) _pos++;
                }
                if (Peek is 'e' or 'E')
                {
                    _pos++;
                    if (Peek is '+' or '-') _pos++;
                    if (!char.IsAsciiDigit(Peek)) throw Fail("a digit in the exponent");
                    while (char.IsAsciiDigit(Peek)) _pos++;
                }
                return Json(s[start.._pos]);
            }
            throw Fail("a literal ('string', number, true, false, null) or a query (@ or $)");
        }

        private static JsonElement Json(string json)
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.Clone();
        }

        private SearchExpr ParseSearch()
        {
            _pos += "search(".Length;
            SkipSpaces();
            var text = ParseFunctionArg();
            SkipSpaces();
            Expect(',');
            SkipSpaces();
            var pattern = ParseFunctionArg();
            SkipSpaces();
            Expect(')');
            Regex? regex = null;
            if (pattern is LiteralOperand { Value.ValueKind: JsonValueKind.String } lit)
                regex = CompileIRegexp(lit.Value.GetString()!);
            return new SearchExpr(text, pattern) { LiteralRegex = regex };
        }

        private Operand ParseFunctionArg()
        {
            if (Peek is '(' or '!' || At("search(")) return new LogicalOperand(ParseOr());
            if (Peek is '@' or '$') return new QueryOperand(ParseQuery());
            return new LiteralOperand(ParseLiteral());
        }

        /// <summary>A single- or double-quoted string with JSON-style escapes (RFC 9535 §2.3.1.1).</summary>
        private string ParseStringLiteral()
        {
            var quote = Peek;
            var start = _pos;
            _pos++;
            var sb = new StringBuilder();
            while (true)
            {
                if (AtEnd) throw new ParseError("unterminated string", start);
                var c = s[_pos];
                if (c == quote)
                {
                    _pos++;
                    return sb.ToString();
                }
                if (c < 0x20) throw new ParseError("control character in string", _pos);
                if (c != '\\')
                {
                    sb.Append(c);
                    _pos++;
                    continue;
                }
                _pos++;
                var e = Peek;
                _pos++;
                switch (e)
                {
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case '/': sb.Append('/'); break;
                    case '\\': sb.Append('\\'); break;
                    case 'u':
                        var hi = Hex4();
                        if (hi is >= 0xDC00 and <= 0xDFFF) throw new ParseError("invalid UTF-16 surrogate", _pos - 6);
                        sb.Append((char)hi);
                        if (hi is >= 0xD800 and <= 0xDBFF)
                        {
                            if (!At("\\u")) throw new ParseError("unpaired UTF-16 surrogate", _pos - 6);
                            _pos += 2;
                            var lo = Hex4();
                            if (lo is < 0xDC00 or > 0xDFFF) throw new ParseError("invalid UTF-16 surrogate", _pos - 6);
                            sb.Append((char)lo);
                        }
                        break;
                    default:
                        if (e == quote) { sb.Append(e); break; }
                        throw new ParseError($"invalid escape '\\{e}' in string", _pos - 2);
                }
            }
        }

        private int Hex4()
        {
            if (_pos + 4 > s.Length
                || !int.TryParse(s.AsSpan(_pos, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v))
                throw Fail("4 hexadecimal digits");
            _pos += 4;
            return v;
        }
    }

    /// <summary>
    /// Compiles an I-Regexp (RFC 9485) for <c>search()</c>; null when the pattern is invalid, which makes the
    /// function false (RFC 9535 §2.4.7). I-Regexp's '.' excludes line breaks, as does .NET's (but for '\r').
    /// </summary>
    internal static Regex? CompileIRegexp(string pattern)
    {
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    // ---- Evaluation (RFC 9535 §2.3-2.4) ----

    public static bool TryEvaluateFirst(Query query, JsonElement root, out JsonElement value)
    {
        var nodes = Select(query, root, root);
        if (nodes.Count == 0)
        {
            value = default;
            return false;
        }
        value = nodes[0];
        return true;
    }

    private static List<JsonElement> Select(Query query, JsonElement current, JsonElement root)
    {
        var nodes = new List<JsonElement> { query.IsRoot ? root : current };
        foreach (var segment in query.Segments)
        {
            var next = new List<JsonElement>();
            foreach (var node in nodes)
            {
                if (segment.Descendant) SelectDescendants(segment.Selectors, node, root, next);
                else SelectChildren(segment.Selectors, node, root, next);
            }
            nodes = next;
            if (nodes.Count == 0) break;
        }
        return nodes;
    }

    private static void SelectDescendants(Selector[] selectors, JsonElement node, JsonElement root, List<JsonElement> output)
    {
        SelectChildren(selectors, node, root, output);
        if (node.ValueKind == JsonValueKind.Object)
            foreach (var p in node.EnumerateObject()) SelectDescendants(selectors, p.Value, root, output);
        else if (node.ValueKind == JsonValueKind.Array)
            foreach (var item in node.EnumerateArray()) SelectDescendants(selectors, item, root, output);
    }

    private static void SelectChildren(Selector[] selectors, JsonElement node, JsonElement root, List<JsonElement> output)
    {
        foreach (var selector in selectors)
        {
            switch (selector)
            {
                case NameSelector n:
                    if (node.ValueKind == JsonValueKind.Object && node.TryGetProperty(n.Name, out var v)) output.Add(v);
                    break;
                case IndexSelector i:
                    if (node.ValueKind == JsonValueKind.Array)
                    {
                        var len = node.GetArrayLength();
                        var idx = i.Index < 0 ? len + i.Index : i.Index;
                        if (idx >= 0 && idx < len) output.Add(node[(int)idx]);
                    }
                    break;
                case WildcardSelector:
                    if (node.ValueKind == JsonValueKind.Object)
                        foreach (var p in node.EnumerateObject()) output.Add(p.Value);
                    else if (node.ValueKind == JsonValueKind.Array)
                        foreach (var item in node.EnumerateArray()) output.Add(item);
                    break;
                case SliceSelector sl:
                    if (node.ValueKind == JsonValueKind.Array) Slice(sl, node, output);
                    break;
                case FilterSelector f:
                    if (node.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var p in node.EnumerateObject())
                            if (Test(f.Expr, p.Value, root)) output.Add(p.Value);
                    }
                    else if (node.ValueKind == JsonValueKind.Array)
                    {
                        foreach (var item in node.EnumerateArray())
                            if (Test(f.Expr, item, root)) output.Add(item);
                    }
                    break;
            }
        }
    }

    private static void Slice(SliceSelector sl, JsonElement array, List<JsonElement> output)
    {
        long n = array.GetArrayLength();
        var step = sl.Step;
        if (step == 0) return;
        static long Normalize(long i, long len) => i >= 0 ? i : len + i;
        if (step > 0)
        {
            var lower = Math.Clamp(Normalize(sl.Start ?? 0, n), 0, n);
            var upper = Math.Clamp(Normalize(sl.End ?? n, n), 0, n);
            for (var i = lower; i < upper; i += step) output.Add(array[(int)i]);
        }
        else
        {
            var upper = Math.Clamp(Normalize(sl.Start ?? n - 1, n), -1, n - 1);
            var lower = Math.Clamp(Normalize(sl.End ?? -n - 1, n), -1, n - 1);
            for (var i = upper; lower < i; i += step) output.Add(array[(int)i]);
        }
    }

    private static bool Test(Expr expr, JsonElement current, JsonElement root)
    {
        switch (expr)
        {
            case OrExpr o:
                foreach (var e in o.Items) if (Test(e, current, root)) return true;
                return false;
            case AndExpr a:
                foreach (var e in a.Items) if (!Test(e, current, root)) return false;
                return true;
            case NotExpr n:
                return !Test(n.Inner, current, root);
            case ExistsExpr x:
                return Select(x.Query, current, root).Count > 0;
            case CompareExpr c:
                var hasLeft = TryValue(c.Left, current, root, out var left);
                var hasRight = TryValue(c.Right, current, root, out var right);
                return c.Op switch
                {
                    "==" => AreEqual(hasLeft, left, hasRight, right),
                    "!=" => !AreEqual(hasLeft, left, hasRight, right),
                    "<" => IsLess(hasLeft, left, hasRight, right),
                    ">" => IsLess(hasRight, right, hasLeft, left),
                    "<=" => IsLess(hasLeft, left, hasRight, right) || AreEqual(hasLeft, left, hasRight, right),
                    _ => IsLess(hasRight, right, hasLeft, left) || AreEqual(hasLeft, left, hasRight, right),
                };
            case SearchExpr s:
                if (!TryValue(s.Text, current, root, out var text) || text.ValueKind != JsonValueKind.String) return false;
                var regex = s.LiteralRegex;
                if (regex is null)
                {
                    if (s.Pattern is LiteralOperand
                        || !TryValue(s.Pattern, current, root, out var pattern) || pattern.ValueKind != JsonValueKind.String)
                        return false;
                    regex = CompileIRegexp(pattern.GetString()!);
                    if (regex is null) return false;
                }
                try
                {
                    return regex.IsMatch(text.GetString()!);
                }
                catch (RegexMatchTimeoutException)
                {
                    return false;
                }
            default:
                return false;
        }
    }

    /// <summary>The value of an operand: a literal, or the single node a query selects (none: "Nothing").</summary>
    private static bool TryValue(Operand operand, JsonElement current, JsonElement root, out JsonElement value)
    {
        switch (operand)
        {
            case LiteralOperand l:
                value = l.Value;
                return true;
            case QueryOperand q:
                var nodes = Select(q.Query, current, root);
                if (nodes.Count == 1)
                {
                    value = nodes[0];
                    return true;
                }
                break;
        }
        value = default;
        return false;
    }

    private static bool AreEqual(bool hasA, JsonElement a, bool hasB, JsonElement b)
    {
        if (!hasA || !hasB) return !hasA && !hasB;
        return JsonEquals(a, b);
    }

    private static bool JsonEquals(JsonElement a, JsonElement b)
    {
        if (a.ValueKind != b.ValueKind) return false;
        switch (a.ValueKind)
        {
            case JsonValueKind.Number:
                return CompareNumbers(a, b) == 0;
            case JsonValueKind.String:
                return a.ValueEquals(b.GetString());
            case JsonValueKind.Array:
                if (a.GetArrayLength() != b.GetArrayLength()) return false;
                for (var i = 0; i < a.GetArrayLength(); i++)
                    if (!JsonEquals(a[i], b[i])) return false;
                return true;
            case JsonValueKind.Object:
                var count = 0;
                foreach (var p in a.EnumerateObject())
                {
                    count++;
                    if (!b.TryGetProperty(p.Name, out var other) || !JsonEquals(p.Value, other)) return false;
                }
                foreach (var _ in b.EnumerateObject()) count--;
                return count == 0;
            default:
                return true; // true, false, null
        }
    }

    private static bool IsLess(bool hasA, JsonElement a, bool hasB, JsonElement b)
    {
        if (!hasA || !hasB) return false;
        if (a.ValueKind == JsonValueKind.Number && b.ValueKind == JsonValueKind.Number) return CompareNumbers(a, b) < 0;
        if (a.ValueKind == JsonValueKind.String && b.ValueKind == JsonValueKind.String)
            return string.CompareOrdinal(a.GetString(), b.GetString()) < 0;
        return false;
    }

    private static int CompareNumbers(JsonElement a, JsonElement b) =>
        a.TryGetDecimal(out var da) && b.TryGetDecimal(out var db)
            ? da.CompareTo(db)
            : a.GetDouble().CompareTo(b.GetDouble());
}
