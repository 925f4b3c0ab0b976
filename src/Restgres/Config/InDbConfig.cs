using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using Npgsql;
using NpgsqlTypes;
using Restgres.Http;

namespace Restgres.Config;

/// <summary>
/// PostgREST's in-database configuration (docs: references/configuration.rst, "In-Database Configuration"; source:
/// Config/Database.hs queryDbSettings): <c>pgrst.*</c> settings of the authenticator role
/// (<c>ALTER ROLE authenticator [IN DATABASE db] SET pgrst.db_schemas = '...'</c>) and those the <c>db-pre-config</c>
/// function sets with <c>set_config(..., true)</c>. They override the environment and the config file.
/// </summary>
internal static class InDbConfig
{
    /// <summary>The options that can be set in the database (Database.hs dbSettingsNames), with '_' for '-'.</summary>
    public static readonly ImmutableArray<string> SettingNames =
        [.. ConfigOptions.All.Where(o => o.InDatabase).Select(o => o.DbSettingName)];

    private const string Prefix = "pgrst.";

    /// <summary>
    /// Database.hs queryDbSettings, unchanged: per setting, a database-specific role setting wins over a role setting,
    /// which wins over the pre-config function's value. A setting on the database alone has no effect.
    /// </summary>
    public static string Sql(QualifiedName? preConfig)
    {
        var preConfigUnion = preConfig is null
            ? ""
            : $"""
                  UNION
                  SELECT
                    null as database,
                    x as k,
                    current_setting(x, true) as v
                  FROM unnest($1) x
                  JOIN {Restgres.Sql.SqlText.QuoteQualified(preConfig.Schema, preConfig.Name)}() _ ON TRUE
              """;
        return $"""
            WITH
            role_setting AS (
              SELECT setdatabase as database,
                     unnest(setconfig) as setting
              FROM pg_catalog.pg_db_role_setting
              WHERE setrole = quote_ident(CURRENT_USER)::regrole::oid
                AND setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = CURRENT_CATALOG))
            ),
            kv_settings AS (
              SELECT database,
                     substr(setting, 1, strpos(setting, '=') - 1) as k,
                     substr(setting, strpos(setting, '=') + 1) as v
              FROM role_setting
            {preConfigUnion}
            )
            SELECT DISTINCT ON (key)
                   replace(k, '{Prefix}', '') AS key,
                   v AS value
            FROM kv_settings
            WHERE k = ANY($1) AND v IS NOT NULL
            ORDER BY key, database DESC NULLS LAST
            """;
    }

    /// <summary>
    /// Runs the query in a read-only transaction on a pooled connection (the authenticator role), so that the
    /// pre-config function's transaction-local <c>set_config</c> calls are visible to it and then discarded.
    /// </summary>
    /// <returns>Option names with '_' (e.g. <c>db_schemas</c>) to values.</returns>
    public static async Task<IReadOnlyDictionary<string, string>> QueryAsync(NpgsqlDataSource dataSource, QualifiedName? preConfig, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted, ct);
        await using (var ro = new NpgsqlCommand("SET TRANSACTION READ ONLY", conn, tx))
            await ro.ExecuteNonQueryAsync(ct);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var cmd = new NpgsqlCommand(Sql(preConfig), conn, tx))
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = SettingNames.Select(n => Prefix + n).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                result[reader.GetString(0)] = reader.GetString(1);
        }
        await tx.RollbackAsync(ct);
        return result;
    }
}

/// <summary>Where a config snapshot came from, so that a reload can read the same sources again.</summary>
/// <param name="Path">The config file, or null.</param>
/// <param name="Env">The environment it was read with (the process environment cannot change from outside, so
/// re-reading it would give the same values, as PostgREST's docs note for reloads).</param>
internal sealed record ConfigSource(string? Path, IReadOnlyDictionary<string, string> Env);

/// <summary>
/// Config reloading (PostgREST's readInDbConfig, AppState/Reload.hs): on SIGUSR2, on <c>NOTIFY pgrst, 'reload
/// config'</c>, and before every schema cache load when <c>db-config</c> is on, the config file and environment are read
/// again with the in-database settings on top, and the new snapshot replaces the old one atomically. An invalid
/// config is reported and the old one kept. Options that only take effect at startup (<see cref="ConfigOption.Reloadable"/>)
/// keep their startup values.
/// </summary>
internal sealed class ConfigReloader : IDisposable
{
    private readonly AppState _state;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly CancellationTokenSource _life = new();
    private int _pending;

    public ConfigReloader(AppState state) => _state = state;

    /// <summary>Debounced reload (a burst of signals or notifications causes one reload).</summary>
    /// <param name="reason">Logged first, e.g. PostgREST's "Received a config reload message on the ... channel".</param>
    public void Request(string? reason = null)
    {
        if (reason is not null) _state.Log(reason);
        if (Interlocked.Exchange(ref _pending, 1) == 1) return;
        var ct = _life.Token;
        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(100, ct);
                Interlocked.Exchange(ref _pending, 0);
                await ReloadAsync(explicitRequest: true, beforeSchemaLoad: false, ct);
            }
            catch (OperationCanceledException)
            {
            }
            catch (ObjectDisposedException)
            {
                // Shutting down.
            }
        }, ct);
    }

    /// <summary>Reloads now; returns whether a new config was applied.</summary>
    /// <param name="explicitRequest">SIGUSR2 or NOTIFY: log "Config reloaded" and the loader's warnings.</param>
    /// <param name="beforeSchemaLoad">Called by the schema cache load, which follows anyway: no extra reload.</param>
    public async Task<bool> ReloadAsync(bool explicitRequest, bool beforeSchemaLoad, CancellationToken ct)
    {
        await _lock.WaitAsync(ct);
        try
        {
            var old = _state.Config;
            if (old.Source is not { } source)
            {
                if (explicitRequest) _state.Log("Config not reloaded: it was not read from a config file or the environment");
                return false;
            }
            IReadOnlyDictionary<string, string> dbSettings = new Dictionary<string, string>();
            if (old.DbConfig)
            {
                try
                {
                    dbSettings = await InDbConfig.QueryAsync(_state.DataSource, old.DbPreConfig, ct);
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException or InvalidOperationException)
                {
                    // PostgREST goes on without the database settings; that would silently drop them while the
                    // database is unreachable, so the current config is kept instead.
                    _state.Log("Failed to query database settings for the config parameters. " + e.Message);
                    _state.Observer.Metrics.ConfigReloaded(false);
                    return false;
                }
            }
            var warnings = new List<string>();
            AppConfig fresh;
            try
            {
                fresh = ConfigLoader.Load(source.Path, source.Env, warnings.Add, dbSettings);
            }
            catch (ConfigException e)
            {
                _state.Log("Failed reloading config: Error in config " + e.Message);
                _state.Observer.Metrics.ConfigReloaded(false);
                return false;
            }
            fresh = KeepStartupOptions(old, fresh);
            try
            {
                Apply(old, fresh);
            }
#pragma warning disable CA1031 // A key the JWT validation cannot use must not take the server down: the old config stays.
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _state.Log($"Failed reloading config: {e.Message}");
                _state.Observer.Metrics.ConfigReloaded(false);
                return false;
            }
#pragma warning restore CA1031
            _state.Observer.Metrics.ConfigReloaded(true);
            if (explicitRequest)
            {
                foreach (var w in warnings) _state.Log(w);
                _state.Log("Config reloaded");
                if (!beforeSchemaLoad) await _state.Schemas.ReloadRoleSettingsAsync(ct);
            }
            // PostgREST's every schema cache load reads the in-database config and says so.
            else if (beforeSchemaLoad) _state.Log("Config reloaded");
            if (!beforeSchemaLoad && SchemaInputsChanged(old, fresh)) _state.Schemas.RequestReload(_life.Token);
            return true;
        }
        finally
        {
            _lock.Release();
        }
    }

    private void Apply(AppConfig old, AppConfig fresh)
    {
        var authenticator = _state.Authenticator;
        // As PostgREST's JwtCache update: a changed secret (or anything else the cached validation depends on) starts
        // a new cache, since entries were validated with the old settings.
        if (JwtInputsChanged(old, fresh))
        {
            var replacement = new Auth.Authenticator(fresh);
            _state.Observer.Metrics.RetireAuthenticator(authenticator);
            authenticator = replacement;
        }
        _state.ApplyConfig(fresh, authenticator);
        _state.Observer.Apply(fresh);
    }

    /// <summary>The options a running server does not re-read (bound sockets, the pool, the listener).</summary>
    internal static AppConfig KeepStartupOptions(AppConfig old, AppConfig fresh)
    {
        foreach (var option in ConfigOptions.All)
        {
            if (!option.Reloadable) fresh = option.CopyValue(old, fresh);
        }
        return fresh with { Source = old.Source };
    }

    private static bool JwtInputsChanged(AppConfig a, AppConfig b) =>
        a.JwtSecret != b.JwtSecret
        || a.JwtSecretIsBase64 != b.JwtSecretIsBase64
        || !a.JwtSecretBytes.AsSpan().SequenceEqual(b.JwtSecretBytes.AsSpan())
        || a.JwtAud != b.JwtAud
        || a.JwtRoleClaimKey != b.JwtRoleClaimKey
        || a.DbAnonRole != b.DbAnonRole
        || a.JwtCacheMaxEntries != b.JwtCacheMaxEntries;

    private static bool SchemaInputsChanged(AppConfig a, AppConfig b) =>
        !a.DbSchemas.SequenceEqual(b.DbSchemas) || !a.DbExtraSearchPath.SequenceEqual(b.DbExtraSearchPath);

    /// <summary>Stops pending reloads. The semaphore and token source are left to the GC: a reload that is still
    /// running may release or read them.</summary>
    public void Dispose() => _life.Cancel();
}
