namespace Restgres.Config;

/// <summary>An invalid configuration value: startup stops with this one-line message and exit code 1.</summary>
public sealed class ConfigException(string message) : Exception(message);

/// <summary>
/// Reads a PostgREST-style config file and <c>PGRST_*</c> environment variables into an <see cref="AppConfig"/>.
/// </summary>
public static class ConfigLoader
{
    /// <summary>Loads the configuration; environment variables override the file.</summary>
    /// <param name="path">The config file, or null.</param>
    /// <param name="env">The process environment.</param>
    /// <param name="warn">Receives one line per option that is accepted but not implemented yet.</param>
    public static AppConfig Load(string? path, IReadOnlyDictionary<string, string> env, Action<string> warn)
    {
        // Placeholder until the full loader lands: environment only.
        _ = path;
        _ = warn;
        var cfg = new AppConfig();
        if (env.TryGetValue("PGRST_DB_URI", out var uri)) cfg = cfg with { DbUri = uri };
        if (env.TryGetValue("PGRST_DB_SCHEMAS", out var s)) cfg = cfg with { DbSchemas = [.. s.Split(',', StringSplitOptions.TrimEntries)] };
        if (env.TryGetValue("PGRST_DB_ANON_ROLE", out var anon)) cfg = cfg with { DbAnonRole = anon };
        if (env.TryGetValue("PGRST_SERVER_PORT", out var port)) cfg = cfg with { ServerPort = int.Parse(port, System.Globalization.CultureInfo.InvariantCulture) };
        if (env.TryGetValue("PGRST_SERVER_HOST", out var host)) cfg = cfg with { ServerHost = host };
        if (env.TryGetValue("PGRST_DB_PRE_REQUEST", out var pre)) cfg = cfg with { DbPreRequest = QualifiedName.Parse(pre) };
        if (env.TryGetValue("PGRST_DB_EXTRA_SEARCH_PATH", out var esp)) cfg = cfg with { DbExtraSearchPath = [.. esp.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)] };
        if (env.TryGetValue("PGRST_DB_TX_END", out var txEnd)) cfg = cfg with { DbTxEnd = txEnd switch { "rollback" => TxEnd.Rollback, "rollback-allow-override" => TxEnd.RollbackAllowOverride, "commit-allow-override" => TxEnd.CommitAllowOverride, _ => TxEnd.Commit } };
        if (env.TryGetValue("PGRST_SERVER_TIMING_ENABLED", out var st)) cfg = cfg with { ServerTimingEnabled = st == "true" };
        if (env.TryGetValue("PGRST_DB_MAX_ROWS", out var mr) && mr.Length > 0) cfg = cfg with { DbMaxRows = long.Parse(mr, System.Globalization.CultureInfo.InvariantCulture) };
        return cfg;
    }
}
