using System.Collections.Immutable;
using System.Text;
using System.Text.Json;
using static Restgres.Config.OptionTypes;

namespace Restgres.Config;

/// <summary>An invalid configuration value: startup stops with this one-line message and exit code 1.</summary>
internal sealed class ConfigException : Exception
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
/// <item>for an option with an old name, the first name that yields a value wins (<see cref="ConfigOption.Names"/>);</item>
/// <item><c>app.settings.&lt;name&gt;</c> (one level only) and <c>PGRST_APP_SETTINGS_&lt;name&gt;</c> become
/// <see cref="AppConfig.AppSettings"/>, sorted by name, the environment winning.</item>
/// </list>
/// Where PostgREST silently falls back to the default for a value it cannot read (an integer option set to
/// <c>"abc"</c>), Restgres stops with a message instead.
/// </summary>
internal static class ConfigLoader
{
    // Plain hash sets: built once at startup, where FrozenSet's slower construction would not pay off.
    private static readonly HashSet<string> KnownNames =
        new(ConfigOptions.All.SelectMany(o => o.Names), StringComparer.Ordinal);

    private static readonly HashSet<string> KnownEnvNames =
        new(KnownNames.Select(ConfigOption.EnvNameOf), StringComparer.Ordinal);

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
        return Build(new OptionReader(file, env, dbSettings), warn) with { Source = new ConfigSource(path, env) };
    }

    /// <summary>Loads from config text instead of a file (tests, and <c>--example</c> checks).</summary>
    internal static AppConfig LoadText(string text, IReadOnlyDictionary<string, string> env, Action<string> warn,
        string name = "config") =>
        Build(new OptionReader(ConfigFileParser.Parse(text, name, env), env), warn);

    private static AppConfig Build(OptionReader r, Action<string> warn)
    {
        WarnUnknownKeys(r, warn);

        // The app settings first and then the options in the table's order, PostgREST's, so that the first error
        // reported is the same one.
        var config = new AppConfig { AppSettings = r.AppSettings() };
        foreach (var option in ConfigOptions.All) config = option.Read(r, config);
        config = DecodeLoadFiles(config);
        if (config.LogLevel >= LogLevel.Debug) WarnUnknownVariables(r, warn);

        if (config.JwtRoleClaimPath.IsDeprecatedSyntax)
        {
            // PostgREST's two lines (DeprecatedJSPathSyntaxObs), which scripts grep for, then the JSON Path to use.
            var key = $"`jwt-role-claim-key={config.JwtRoleClaimPath.DumpText}`";
            warn($"WARNING: The config {key} is using the deprecated JSPath syntax.");
            warn($"Update {key} to the new JSONPath syntax as support for JSPath will be removed in a future release. "
                + "See the migration guide on how to update: https://github.com/PostgREST/postgrest/blob/main/CHANGELOG.md#migration-to-v16");
            if (config.JwtRoleClaimPath.JsonPathEquivalent is { } jp)
                warn($"restgres: the JSON Path equivalent of jwt-role-claim-key '{config.JwtRoleClaimPath.Text}' is '{jp}'");
        }
        WarnNotImplemented(r, config, warn);
        return config;
    }

    /// <summary>PostgREST's decodeLoadFiles, after all options are read: <c>@file</c> values, the base64 secret,
    /// and the secret's checks.</summary>
    private static AppConfig DecodeLoadFiles(AppConfig config)
    {
        var dbUri = config.DbUri;
        if (dbUri.StartsWith('@')) dbUri = ReadOptionFile("db-uri", dbUri[1..]).Trim();
        var listenerUri = config.DbListenerUri;
        if (listenerUri is not null && listenerUri.StartsWith('@')) listenerUri = ReadOptionFile("db-listener-uri", listenerUri[1..]).Trim();
        if (listenerUri is not null)
        {
            // Checked here rather than when the listener first connects: a typo would otherwise show only as a
            // listener retrying forever while requests succeed through the pooler.
            try
            {
                Execution.DbUri.Parse(listenerUri);
            }
            catch (ArgumentException e)
            {
                throw Invalid("db-listener-uri", "Invalid db-listener-uri: " + e.Message);
            }
        }
        var jwtSecret = config.JwtSecret;
        byte[]? secretBytes = null;
        if (jwtSecret is not null)
        {
            if (jwtSecret.StartsWith('@'))
            {
                // The file's bytes are the key as they are: a binary secret (any bytes, not UTF-8) signs tokens as
                // PostgREST reads it. Only one trailing newline, which editors add, is not part of it.
                var raw = ReadOptionFileBytes("jwt-secret", jwtSecret[1..]);
                if (raw.Length > 0 && raw[^1] == (byte)'\n') raw = raw[..^1];
                jwtSecret = Encoding.UTF8.GetString(raw);
                secretBytes = config.JwtSecretIsBase64 ? DecodeBase64Secret(jwtSecret) : raw;
            }
            else
            {
                secretBytes = config.JwtSecretIsBase64 ? DecodeBase64Secret(jwtSecret) : Encoding.UTF8.GetBytes(jwtSecret);
            }
            if (Auth.JwtKeySet.Problem(secretBytes) is { } problem) throw Invalid("jwt-secret", problem);
            if (secretBytes.Length < 32 && !LooksLikeJwk(secretBytes))
                throw Invalid("jwt-secret", "The JWT secret must be at least 32 characters long. (jwt-secret)");
        }
        return config with
        {
            DbUri = dbUri,
            DbListenerUri = listenerUri,
            JwtSecret = jwtSecret,
            JwtSecretBytes = secretBytes is null ? [] : ImmutableArray.Create(secretBytes),
        };
    }

    private static string ReadOptionFile(string option, string file) => ReadOptionFile(option, file, File.ReadAllText);

    private static byte[] ReadOptionFileBytes(string option, string file) => ReadOptionFile(option, file, File.ReadAllBytes);

    private static T ReadOptionFile<T>(string option, string file, Func<string, T> read)
    {
        try
        {
            return read(file);
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

    private static void WarnUnknownKeys(OptionReader r, Action<string> warn)
    {
        foreach (var key in r.File.Keys.Order(StringComparer.Ordinal))
        {
            if (KnownNames.Contains(key)) continue;
            if (key.StartsWith(OptionReader.AppSettingsPrefix, StringComparison.Ordinal)
                && key.IndexOf('.', OptionReader.AppSettingsPrefix.Length) < 0) continue;
            warn($"restgres: unknown option '{key}' ignored");
        }
    }

    // An unknown PGRST_ variable is only reported at log-level debug: the environment is shared with other programs,
    // PostgREST ignores such variables silently, and scripts read its startup lines by position.
    private static void WarnUnknownVariables(OptionReader r, Action<string> warn)
    {
        foreach (var name in r.Env.Keys.Where(k => k.StartsWith(ConfigOption.EnvPrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            if (KnownEnvNames.Contains(name) || name.StartsWith(OptionReader.EnvAppSettingsPrefix, StringComparison.Ordinal)) continue;
            warn($"restgres: unknown option '{name}' ignored");
        }
    }

    private static void WarnNotImplemented(OptionReader r, AppConfig config, Action<string> warn)
    {
        foreach (var option in ConfigOptions.All)
        {
            if (option.Implemented) continue;
            // A boolean left at its default asks for what Restgres already does; anything else set has no effect.
            var set = option.Kind == OptionKind.Boolean
                ? option.Format(config) != option.Default
                : r.TryGet(option.Name, out var raw) && raw.Text.Length > 0;
            if (set) warn($"restgres: option '{option.Name}' is accepted but not implemented yet; it has no effect");
        }
    }
}

/// <summary>
/// The raw values of one load: PostgREST's overrideFromDbOrEnvironment, the in-database value first, then the
/// environment variable if it exists (even empty), then the file.
/// </summary>
internal sealed class OptionReader(Dictionary<string, ConfigValue> file, IReadOnlyDictionary<string, string> env,
    IReadOnlyDictionary<string, string>? db = null)
{
    internal const string AppSettingsPrefix = "app.settings.";
    internal const string EnvAppSettingsPrefix = "PGRST_APP_SETTINGS_";

    public Dictionary<string, ConfigValue> File { get; } = file;
    public IReadOnlyDictionary<string, string> Env { get; } = env;

    /// <param name="key">An option's name, or one of its old names.</param>
    /// <param name="value">The raw value.</param>
    public bool TryGet(string key, out ConfigValue value)
    {
        if (db is not null && db.Count > 0 && db.TryGetValue(key.Replace('-', '_'), out var d))
        {
            value = ConfigValue.Str(d);
            return true;
        }
        if (Env.TryGetValue(ConfigOption.EnvNameOf(key), out var e))
        {
            value = ConfigValue.Str(e);
            return true;
        }
        return File.TryGetValue(key, out value);
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
            settings[key] = OptionTypes.CoerceText(key, value);
        }
        foreach (var (name, value) in Env)
        {
            if (name.StartsWith(EnvAppSettingsPrefix, StringComparison.Ordinal) && name.Length > EnvAppSettingsPrefix.Length)
                settings[AppSettingsPrefix + name[EnvAppSettingsPrefix.Length..]] = value;
        }
        return [.. settings];
    }
}
