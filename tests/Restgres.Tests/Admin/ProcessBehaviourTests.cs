using System.Collections.Concurrent;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Admin;

/// <summary>
/// What PostgREST's process-level io tests check of a running server (docs/configuration.md, "PostgREST's io test
/// suite"): a busy pool answers 504 PGRST003, the <c>Server</c> header, <c>/live</c> following the API server's
/// socket, role settings re-read on a config reload.
/// </summary>
[Collection("pg")]
public sealed class ProcessBehaviourTests(PgClusterFixture pg)
{
    private static readonly string Schema = AdminKit.Schema;

    [Fact]
    public async Task A_busy_pool_answers_504_PGRST003_after_the_acquisition_timeout_and_logs_it()
    {
        var db = await pg.CreateDatabaseAsync(Schema);
        var log = new ConcurrentQueue<string>();
        await using var server = await AdminKit.StartAsync(
            AdminKit.Config(db) with { DbPool = 1, DbPoolAcquisitionTimeout = 1 }, log.Enqueue);

        // The one connection stays busy with a request in its pg_sleep.
        using var client = new HttpClient();
        using var content = new StringContent("{\"s\": 6}", System.Text.Encoding.UTF8, "application/json");
        var slow = client.PostAsync(new Uri(server.BaseAddress, "/rpc/slow"), content);
        Assert.True(await AdminKit.EventuallyAsync(async () =>
            Convert.ToInt64(await db.ScalarAsync("select count(*) from pg_stat_activity where wait_event = 'PgSleep' and usename = '"
                + AdminKit.Authenticator + "'"), System.Globalization.CultureInfo.InvariantCulture) > 0),
            "the slow request did not start");
        var (status, body, _) = await AdminKit.GetAsync(server.BaseAddress, "/items");

        Assert.Equal(504, status);
        Assert.Equal("""{"code":"PGRST003","details":null,"hint":null,"message":"Timed out acquiring connection from connection pool."}""", body);
        Assert.Contains(log, l => l.Contains("Timed out acquiring connection from connection pool.", StringComparison.Ordinal));
        Assert.Equal(200, (int)(await slow).StatusCode);
    }

    [Fact]
    public async Task Startup_logs_PostgREST_s_lines_in_its_order_and_opens_the_API_after_the_schema_cache_load()
    {
        var db = await pg.CreateDatabaseAsync(Schema);
        var log = new ConcurrentQueue<string>();
        await using var server = await AdminKit.StartAsync(AdminKit.Config(db) with { DbPool = 3, LogLevel = Restgres.Config.LogLevel.Debug }, log.Enqueue);

        var lines = log.ToList();
        int Index(string prefix) => lines.FindIndex(l => l.StartsWith(prefix, StringComparison.Ordinal));
        Assert.True(Index("Successfully connected to PostgreSQL ") > 0, string.Join('\n', lines));
        Assert.Contains("Connection Pool initialized with a maximum size of 3 connections", lines);
        Assert.Matches(@"^Schema cache queried in \d+\.\d milliseconds$", lines[Index("Schema cache queried in")]);
        Assert.Matches(@"^tables: [\d.]+ ms, keydeps: [\d.]+ ms, rels: [\d.]+ ms, funcs: [\d.]+ ms, comprels: [\d.]+ ms, dreps: [\d.]+ ms, mhandlers: [\d.]+ ms",
            lines[Index("tables: ")]);
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l,
            @"^Schema cache loaded 2 Relations, \d+ Relationships, \d+ RPCs, 0 Domain Representations, \d+ Media Type Handlers$"));
        Assert.Matches(@"^Schema cache loaded in \d+\.\d milliseconds$", lines[Index("Schema cache loaded in")]);
        // PostgREST's order: connect, query, load, and only then the API socket.
        Assert.True(Index("Successfully connected") < Index("Schema cache queried in"));
        Assert.True(Index("Schema cache loaded in") < Index("API server listening on "));
        Assert.True(Index("Listener connected to PostgreSQL ") >= 0, string.Join('\n', lines));
    }

    [Fact]
    public async Task A_failed_startup_load_is_retried_after_the_recovery_delay_and_ready_answers_once_the_api_listens()
    {
        var db = await pg.CreateDatabaseAsync(Schema);
        var log = new ConcurrentQueue<(DateTime At, string Line)>();
        await using var server = await AdminKit.StartAsync(
            AdminKit.Config(db) with { DbSchemas = ["no_such_schema"], AdminServerPort = 0 }, l => log.Enqueue((DateTime.UtcNow, l)));

        // The API socket is bound after the failed load (503 PGRST002), and /ready says 503 with it there.
        var (ready, _, _) = await AdminKit.GetAsync(server.AdminAddress!, "/ready");
        Assert.Equal(503, ready);
        Assert.Equal(503, (await AdminKit.GetAsync(server.BaseAddress, "/items")).Status);

        // PostgREST's recovery: "Attempting to reconnect to the database in 1 seconds..." and only then the next load;
        // the listener's first connection no longer repeats the failed load at once.
        Assert.True(await AdminKit.EventuallyAsync(() => Task.FromResult(log.Count(l => l.Line.StartsWith("Failed to load the schema cache", StringComparison.Ordinal)) >= 2)));
        var failures = log.Where(l => l.Line.StartsWith("Failed to load the schema cache", StringComparison.Ordinal)).Select(l => l.At).ToList();
        Assert.True(failures[1] - failures[0] >= TimeSpan.FromMilliseconds(900), $"second load {(failures[1] - failures[0]).TotalMilliseconds:0} ms after the first:\n"
            + string.Join('\n', log.Select(l => $"{l.At:HH:mm:ss.fff} {l.Line}")));
    }

    [Fact]
    public async Task With_one_pool_connection_the_in_database_config_and_the_schema_cache_load_one_after_the_other()
    {
        // Each startup step borrows the pool's one connection and gives it back; holding it while the in-database
        // config is queried would wait for itself until the acquisition timeout, leaving the server without a cache.
        var db = await pg.CreateDatabaseAsync(Schema);
        var dir = Directory.CreateTempSubdirectory("restgres-pool1-");
        try
        {
            var config = AdminKit.LoadFile(Path.Combine(dir.FullName, "restgres.conf"), AdminKit.ConfigText(db) + "\ndb-pool = 1\ndb-config = true\n");
            var log = new ConcurrentQueue<string>();
            await using var server = await AdminKit.StartAsync(config, log.Enqueue);

            Assert.NotNull(server.State.SchemaCache);
            Assert.Contains("Config reloaded", log);
            Assert.Equal(200, (await AdminKit.GetAsync(server.BaseAddress, "/items")).Item1);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_database_error_answered_with_a_5xx_is_logged_as_its_JSON_before_the_access_line()
    {
        var db = await pg.CreateDatabaseAsync(Schema + $$"""
            create function api.too_big() returns int language plpgsql as $f$ begin raise exception 'over the limit' using errcode = '54000'; end $f$;
            grant execute on function api.too_big() to {{AdminKit.Anon}};
            """);
        var log = new ConcurrentQueue<string>();
        await using var server = await AdminKit.StartAsync(AdminKit.Config(db), log.Enqueue);
        log.Clear();

        var (status, _, _) = await AdminKit.GetAsync(server.BaseAddress, "/rpc/too_big");
        var (clientError, _, _) = await AdminKit.GetAsync(server.BaseAddress, "/items?id=eq.x");

        Assert.Equal(500, status);
        Assert.Equal(400, clientError);
        // The 400 (invalid input syntax, the client's fault) is not logged; the 500 is, once.
        Assert.Equal(["{\"code\":\"54000\",\"details\":null,\"hint\":null,\"message\":\"over the limit\"}"], log.ToArray());
    }

    [Fact]
    public async Task Responses_carry_PostgREST_s_Server_header_with_the_version_also_in_application_name()
    {
        var db = await pg.CreateDatabaseAsync(Schema + $$"""
            create function api.app_name() returns text language sql as $f$ select current_setting('application_name') $f$;
            grant execute on function api.app_name() to {{AdminKit.Anon}};
            """);
        await using var server = await AdminKit.StartAsync(AdminKit.Config(db));

        var (status, body, response) = await AdminKit.GetAsync(server.BaseAddress, "/rpc/app_name");

        Assert.Equal(200, status);
        var header = response.Headers.NonValidated["Server"].ToString();
        Assert.StartsWith("postgrest/16 (Restgres ", header, StringComparison.Ordinal);
        // PostgREST's io tests: the header's "postgrest/" read as "PostgREST " is the application_name.
        Assert.Equal("\"" + header.Replace("postgrest/", "PostgREST ", StringComparison.Ordinal) + "\"", body);
    }

    [Fact]
    public async Task Live_and_ready_are_500_when_the_API_unix_socket_is_gone()
    {
        var db = await pg.CreateDatabaseAsync(Schema);
        var socket = Path.Combine(Path.GetTempPath(), $"restgres-live-{Guid.NewGuid():N}.sock");
        await using var server = await AdminKit.StartAsync(AdminKit.Config(db) with { ServerUnixSocket = socket });
        var admin = server.AdminAddress!;
        Assert.Equal(200, await AdminKit.StatusAsync(admin, "/live"));
        Assert.Equal(200, await AdminKit.StatusAsync(admin, "/ready"));

        File.Delete(socket);

        Assert.Equal(500, await AdminKit.StatusAsync(admin, "/live"));
        Assert.Equal(500, await AdminKit.StatusAsync(admin, "/ready"));
    }

    [Fact]
    public async Task A_config_reload_reads_the_role_settings_again()
    {
        // Roles of its own: ALTER ROLE is cluster-wide, and other tests use AdminKit's roles at the same time.
        const string authenticator = "psb_authenticator", anon = "psb_anon";
        var db = await pg.CreateDatabaseAsync(PgClusterFixture.RolesSql(authenticator, anon) + $$"""
            alter role {{anon}} set statement_timeout = '5s';
            create schema api;
            grant usage on schema api to {{anon}};
            create function api.timeout() returns text language sql as $f$ select current_setting('statement_timeout') $f$;
            grant execute on function api.timeout() to {{anon}};
            """);
        var config = AdminKit.LoadFile(Path.Combine(Path.GetTempPath(), $"restgres-roles-{Guid.NewGuid():N}.conf"), $"""
            db-uri = "{db.Uri(authenticator)}"
            db-schemas = "api"
            db-anon-role = "{anon}"
            db-config = false
            server-host = "127.0.0.1"
            server-port = 0
            """);
        await using var server = await AdminKit.StartAsync(config);
        Assert.Equal("\"5s\"", (await AdminKit.GetAsync(server.BaseAddress, "/rpc/timeout")).Body);

        await db.ExecuteSqlAsync($"alter role {anon} set statement_timeout = '8s'");
        Assert.True(await server.State.Reloader.ReloadAsync(explicitRequest: true, beforeSchemaLoad: false, CancellationToken.None));

        Assert.Equal("\"8s\"", (await AdminKit.GetAsync(server.BaseAddress, "/rpc/timeout")).Body);
        await db.ExecuteSqlAsync($"alter role {anon} set statement_timeout = '5s'");
    }
}
