using System.Collections.Concurrent;
using Restgres.Config;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Admin;

/// <summary>
/// Config reloads of a running server (PostgREST's readInDbConfig): NOTIFY 'reload config' re-reads the file, the
/// environment and the in-database settings (pgrst.* role settings, db-pre-config), swaps the snapshot atomically,
/// keeps the old config when the new one is invalid, and leaves startup-only options alone.
/// </summary>
[Collection("pg")]
public sealed class ConfigReloadTests(PgClusterFixture pg) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("restgres-reload-").FullName;
    private readonly ConcurrentQueue<string> _log = new();

    private string ConfigPath => Path.Combine(_dir, "restgres.conf");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Task<Restgres.Http.ApiServer> StartAsync(AppConfig config) => AdminKit.StartAsync(config, _log.Enqueue);

    private static async Task<int> RowsAsync(Restgres.Http.ApiServer server, string path)
    {
        var (status, body, _) = await AdminKit.GetAsync(server.BaseAddress, path);
        Assert.Equal(200, status);
        using var doc = System.Text.Json.JsonDocument.Parse(body);
        return doc.RootElement.GetArrayLength();
    }

    [Fact]
    public async Task A_reload_turns_the_listener_on_and_off_with_db_channel_enabled()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        var text = AdminKit.ConfigText(db);
        await using var server = await StartAsync(AdminKit.LoadFile(ConfigPath, text + "\ndb-channel-enabled = false\n"));
        async Task<long> ListenersAsync() => Convert.ToInt64(await db.ScalarAsync(
            "select count(*) from pg_stat_activity where query like 'LISTEN %' and usename = '" + AdminKit.Authenticator + "'"),
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.False(server.State.ListenerOn);
        Assert.Equal(0, await ListenersAsync());

        await File.WriteAllTextAsync(ConfigPath, text + "\ndb-channel-enabled = true\n");
        server.State.Reloader.Request();
        Assert.True(await AdminKit.EventuallyAsync(async () => server.State.ListenerOn && await ListenersAsync() == 1));
        Assert.Contains(_log, l => l.StartsWith("Listener connected to PostgreSQL ", StringComparison.Ordinal)
            && l.EndsWith("and listening for database notifications on the \"pgrst\" channel", StringComparison.Ordinal));

        await File.WriteAllTextAsync(ConfigPath, text + "\ndb-channel-enabled = false\n");
        server.State.Reloader.Request();
        Assert.True(await AdminKit.EventuallyAsync(async () => !server.State.ListenerOn && await ListenersAsync() == 0));
    }

    [Fact]
    public async Task NOTIFY_reload_config_rereads_the_config_file()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        var text = AdminKit.ConfigText(db);
        await using var server = await StartAsync(AdminKit.LoadFile(ConfigPath, text));
        await AdminKit.ListeningAsync(server);
        Assert.Equal(3, await RowsAsync(server, "/items"));
        var reloads = server.State.Observer.Metrics.ConfigReloads;

        await File.WriteAllTextAsync(ConfigPath, text + "\ndb-max-rows = 1\n");
        await db.ExecuteSqlAsync("NOTIFY pgrst, 'reload config'");

        Assert.True(await AdminKit.EventuallyAsync(async () => await RowsAsync(server, "/items") == 1));
        Assert.Equal(1, server.State.Config.DbMaxRows);
        Assert.Contains("Received a config reload message on the \"pgrst\" channel", _log);
        Assert.Contains("Config reloaded", _log);
        Assert.Equal(reloads + 1, server.State.Observer.Metrics.ConfigReloads);
    }

    [Fact]
    public async Task An_invalid_config_is_reported_and_the_old_one_kept()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        var text = AdminKit.ConfigText(db, "db-max-rows = 2");
        await using var server = await StartAsync(AdminKit.LoadFile(ConfigPath, text));
        await AdminKit.ListeningAsync(server);
        var before = server.State.Config;

        await File.WriteAllTextAsync(ConfigPath, text + "\nlog-level = \"loud\"\n");
        await db.ExecuteSqlAsync("NOTIFY pgrst, 'reload config'");

        Assert.True(await AdminKit.EventuallyAsync(() => Task.FromResult(server.State.Observer.Metrics.ConfigReloadFailures == 1)));
        Assert.Contains(_log, l => l.StartsWith("Failed reloading config: Error in config Invalid logging level", StringComparison.Ordinal));
        Assert.Same(before, server.State.Config);
        Assert.Equal(2, await RowsAsync(server, "/items"));
    }

    [Fact]
    public async Task A_reload_rereads_the_routes_file_and_a_broken_one_keeps_the_old_routes()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        var routes = Path.Combine(_dir, "routes.conf");
        await File.WriteAllTextAsync(routes, "GET /old/items\n  to /items?id=lte.1\n");
        var text = AdminKit.ConfigText(db, $"server-routes-file = \"{routes}\"");
        await using var server = await StartAsync(AdminKit.LoadFile(ConfigPath, text));
        await AdminKit.ListeningAsync(server);
        Assert.Equal(1, await RowsAsync(server, "/old/items"));

        await File.WriteAllTextAsync(routes, "GET /old/items\n  to /items?id=lte.2\n");
        await db.ExecuteSqlAsync("NOTIFY pgrst, 'reload config'");
        Assert.True(await AdminKit.EventuallyAsync(async () => await RowsAsync(server, "/old/items") == 2));

        var before = server.State.Config;
        await File.WriteAllTextAsync(routes, "GET /old/items\n  to /items?id=lte.3\n  errors maybe\n");
        await db.ExecuteSqlAsync("NOTIFY pgrst, 'reload config'");
        Assert.True(await AdminKit.EventuallyAsync(() => Task.FromResult(server.State.Observer.Metrics.ConfigReloadFailures == 1)));
        Assert.Contains(_log, l => l.Contains($"Error in routes file '{routes}' line 3 (server-routes-file): unknown value 'maybe'", StringComparison.Ordinal));
        Assert.Same(before, server.State.Config);
        Assert.Equal(2, await RowsAsync(server, "/old/items"));
    }

    [Fact]
    public void A_broken_routes_file_stops_the_startup_naming_the_file_line_and_option()
    {
        var routes = Path.Combine(_dir, "routes.conf");
        File.WriteAllText(routes, "GET /a/{id}\n  to /items\n");
        var e = Assert.Throws<ConfigException>(() => AdminKit.LoadFile(ConfigPath, $"server-routes-file = \"{routes}\"\n"));
        Assert.Equal($"Error in routes file '{routes}' line 1 (server-routes-file): the capture '{{id}}' of /a/{{id}} is never used in 'to'", e.Message);
        var missing = Assert.Throws<ConfigException>(() => AdminKit.LoadFile(ConfigPath, $"server-routes-file = \"{routes}.nope\"\n"));
        Assert.StartsWith($"Error in routes file '{routes}.nope' (server-routes-file): cannot read it", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_database_settings_of_the_authenticator_override_the_file_and_the_environment()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        await db.ExecuteSqlAsync($"alter role {AdminKit.Authenticator} in database \"{db.Name}\" set pgrst.db_schemas = 'other'");
        var env = new Dictionary<string, string> { ["PGRST_DB_SCHEMAS"] = "api" };
        await using var server = await StartAsync(AdminKit.LoadFile(ConfigPath, AdminKit.ConfigText(db), env));

        // Read before the first schema cache load, as PostgREST's retryingSchemaCacheLoad does.
        Assert.Equal(["other"], server.State.Config.DbSchemas.ToArray());
        Assert.Equal(1, await RowsAsync(server, "/things"));

        await AdminKit.ListeningAsync(server);
        await db.ExecuteSqlAsync($"alter role {AdminKit.Authenticator} in database \"{db.Name}\" reset pgrst.db_schemas; NOTIFY pgrst, 'reload config'");
        // Back to the environment's value; the schema cache follows the new schemas.
        Assert.True(await AdminKit.EventuallyAsync(async () => (await AdminKit.GetAsync(server.BaseAddress, "/items")).Status == 200));
        Assert.Equal(["api"], server.State.Config.DbSchemas.ToArray());
    }

    [Fact]
    public async Task The_pre_config_function_configures_and_role_settings_win_over_it()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema + $"""
            create function cfg.pre_config() returns void language sql as $$
              select set_config('pgrst.db_schemas', 'other', true), set_config('pgrst.jwt_aud', 'from-pre-config', true),
                     set_config('pgrst.db_max_rows', '1', true);
            $$;
            """);
        await db.ExecuteSqlAsync($"alter role {AdminKit.Authenticator} in database \"{db.Name}\" set pgrst.db_schemas = 'api'");
        await using var server = await StartAsync(AdminKit.LoadFile(ConfigPath, AdminKit.ConfigText(db, "db-pre-config = \"cfg.pre_config\"")));

        var config = server.State.Config;
        Assert.Equal(["api"], config.DbSchemas.ToArray());
        Assert.Equal("from-pre-config", config.JwtAud);
        Assert.Equal(1, config.DbMaxRows);
        Assert.Equal(1, await RowsAsync(server, "/items"));
    }

    [Fact]
    public async Task With_db_config_false_the_database_settings_are_ignored()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        await db.ExecuteSqlAsync($"alter role {AdminKit.Authenticator} in database \"{db.Name}\" set pgrst.db_schemas = 'other'");
        await using var server = await StartAsync(AdminKit.LoadFile(ConfigPath, AdminKit.ConfigText(db, "db-config = false")));
        Assert.Equal(["api"], server.State.Config.DbSchemas.ToArray());
        Assert.Equal(3, await RowsAsync(server, "/items"));
    }

    [Fact]
    public async Task A_new_jwt_secret_replaces_the_token_cache_and_counters_stay_monotonic()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        var text = AdminKit.ConfigText(db);
        await using var server = await StartAsync(AdminKit.LoadFile(ConfigPath, text));
        await AdminKit.ListeningAsync(server);
        var oldToken = ("Authorization", "Bearer " + AdminKit.Token($$"""{"role":"{{AdminKit.Anon}}"}"""));
        Assert.Equal(200, (await AdminKit.GetAsync(server.BaseAddress, "/items", oldToken)).Status);
        Assert.Equal(200, (await AdminKit.GetAsync(server.BaseAddress, "/items", oldToken)).Status);

        await File.WriteAllTextAsync(ConfigPath, text.Replace(AdminKit.JwtSecret, "another-secret-of-at-least-32-characters", StringComparison.Ordinal));
        await db.ExecuteSqlAsync("NOTIFY pgrst, 'reload config'");

        Assert.True(await AdminKit.EventuallyAsync(async () => (await AdminKit.GetAsync(server.BaseAddress, "/items", oldToken)).Status == 401));
        var metrics = server.State.Observer.Metrics.Render(server.State);
        Assert.True(AdminKit.Sample(metrics, "pgrst_jwt_cache_hits_total") >= 1, metrics);
        Assert.True(AdminKit.Sample(metrics, "pgrst_jwt_cache_requests_total") >= 3, metrics);
    }

    [Fact]
    public async Task Startup_only_options_keep_their_startup_values()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        var text = AdminKit.ConfigText(db, "db-pool = 3");
        await using var server = await StartAsync(AdminKit.LoadFile(ConfigPath, text));
        await AdminKit.ListeningAsync(server);

        await File.WriteAllTextAsync(ConfigPath, text.Replace("db-pool = 3", "db-pool = 9", StringComparison.Ordinal)
            + "\nserver-port = 1\ndb-tx-end = \"rollback\"\nserver-timing-enabled = true\n");
        await db.ExecuteSqlAsync("NOTIFY pgrst, 'reload config'");

        Assert.True(await AdminKit.EventuallyAsync(() => Task.FromResult(server.State.Config.ServerTimingEnabled)));
        Assert.Equal(3, server.State.Config.DbPool);
        Assert.Equal(0, server.State.Config.ServerPort);
        Assert.Equal(TxEnd.Commit, server.State.Config.DbTxEnd);
        Assert.NotNull((await AdminKit.GetAsync(server.BaseAddress, "/items")).Response.Headers.GetValues("Server-Timing"));
    }

    [Fact]
    public async Task A_config_built_in_code_is_not_replaced_by_a_reload()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        var config = AdminKit.Config(db) with { DbConfig = true, DbMaxRows = 2 };
        await using var server = await StartAsync(config);
        Assert.False(await server.State.Reloader.ReloadAsync(explicitRequest: true, beforeSchemaLoad: false, CancellationToken.None));
        Assert.Same(config, server.State.Config);
        Assert.Equal(2, await RowsAsync(server, "/items"));
    }

    [Fact]
    public void Database_settings_override_the_environment_which_overrides_the_file()
    {
        File.WriteAllText(ConfigPath, "db-schemas = \"file\"\ndb-anon-role = \"file\"\njwt-aud = \"file\"\n");
        var env = new Dictionary<string, string> { ["PGRST_DB_SCHEMAS"] = "env", ["PGRST_DB_ANON_ROLE"] = "env" };
        var db = new Dictionary<string, string> { ["db_schemas"] = "db" };
        var config = ConfigLoader.Load(ConfigPath, env, _ => { }, db);
        Assert.Equal(["db"], config.DbSchemas.ToArray());
        Assert.Equal("env", config.DbAnonRole);
        Assert.Equal("file", config.JwtAud);
        Assert.Equal(ConfigPath, config.Source?.Path);
        Assert.Same(env, config.Source?.Env);
    }

    [Fact]
    public void The_in_database_query_is_PostgREST_s_with_the_pre_config_function_quoted()
    {
        Assert.DoesNotContain("JOIN", InDbConfig.Sql(null), StringComparison.Ordinal);
        Assert.Contains("JOIN \"cfg\".\"pre config\"() _ ON TRUE", InDbConfig.Sql(QualifiedName.Parse("cfg.pre config")), StringComparison.Ordinal);
        Assert.Contains("ORDER BY key, database DESC NULLS LAST", InDbConfig.Sql(null), StringComparison.Ordinal);
        Assert.Contains("db_schemas", InDbConfig.SettingNames);
        Assert.DoesNotContain("db_uri", InDbConfig.SettingNames);
    }
}
