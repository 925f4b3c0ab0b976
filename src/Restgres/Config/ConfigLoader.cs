using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;

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
