using System.Collections.Concurrent;
using Restgres.Config;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Admin;

/// <summary>
/// PostgREST's diagnostic lines a script may look for: the pool observations at log-level debug (reloadable) and the
/// deprecation warning of url-use-legacy-target-names.
/// </summary>
[Collection("pg")]
public sealed class DiagnosticLogTests(PgClusterFixture pg) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("restgres-diaglog-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string Schema = AdminKit.Schema + $$"""

        create table api.directors (id int primary key, name text);
        create table api.films (id int primary key, director_id int references api.directors, title text);
        create table api.awards (id int primary key, director_id int references api.directors, name text, year int);
        insert into api.directors values (1, 'Kubrick');
        insert into api.films values (1, 1, 'Paths of Glory'), (2, 1, 'Barry Lyndon');
        insert into api.awards values (1, 1, 'A', 2026), (2, 1, 'B', 1975);
        grant select on api.directors, api.films, api.awards to {{AdminKit.Anon}};
        -- Ends the request's own session, as pg_terminate_backend from an operator or a shutdown would.
        create function api.end_my_session() returns boolean language sql security definer
          as $$ select pg_terminate_backend(pg_backend_pid()) $$;
        grant execute on function api.end_my_session() to {{AdminKit.Anon}};
        """;

    private const string LegacyQuery = "/directors?select=name,all_films:films(title),awards_2026:awards(name)&films.order=title&awards.year=eq.2026";

    [Fact]
    public async Task Legacy_target_names_answer_and_log_the_deprecation_with_each_replacement_and_the_request()
    {
        var db = await pg.CreateDatabaseAsync(Schema);
        var log = new ConcurrentQueue<string>();
        await using var server = await AdminKit.StartAsync(AdminKit.Config(db) with { UrlUseLegacyTargetNames = true }, log.Enqueue);

        var response = await AdminKit.GetAsync(server.BaseAddress, LegacyQuery);

        Assert.Equal(200, response.Status);
        Assert.Equal("""[{"name":"Kubrick","all_films":[{"title": "Barry Lyndon"}, {"title": "Paths of Glory"}],"awards_2026":[{"name": "A"}]}]""", response.Body);
        Assert.Contains("WARNING: Embedded resource was referenced by relation name even though it has an alias. This is deprecated and will stop working in a future release.", log);
        Assert.Contains($"Update filters, orders or limits that use `films` to `all_films`, `awards` to `awards_2026` in `GET {LegacyQuery}`", log);

        // By alias: nothing to warn about.
        var before = log.Count;
        Assert.Equal(200, (await AdminKit.GetAsync(server.BaseAddress, "/directors?select=name,all_films:films(title)&all_films.order=title")).Status);
        Assert.DoesNotContain(log.Skip(before), l => l.Contains("WARNING", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_legacy_target_names_the_relation_name_is_refused_and_nothing_is_logged()
    {
        var db = await pg.CreateDatabaseAsync(Schema);
        var log = new ConcurrentQueue<string>();
        await using var server = await AdminKit.StartAsync(AdminKit.Config(db) with { UrlUseLegacyTargetNames = false }, log.Enqueue);

        Assert.Equal(400, (await AdminKit.GetAsync(server.BaseAddress, LegacyQuery)).Status);
        Assert.DoesNotContain(log, l => l.Contains("WARNING", StringComparison.Ordinal) || l.Contains("Update filters", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Pool_observations_are_logged_only_at_debug_and_follow_a_log_level_reload()
    {
        var db = await pg.CreateDatabaseAsync(Schema);
        var file = Path.Combine(_dir, "restgres.conf");
        var text = $"""
            db-uri = "{db.Uri(AdminKit.Authenticator)}"
            db-schemas = "api"
            db-anon-role = "{AdminKit.Anon}"
            server-host = "127.0.0.1"
            server-port = 0
            log-level = "error"
            """;
        var config = AdminKit.LoadFile(file, text);
        var log = new ConcurrentQueue<string>();
        await using var server = await AdminKit.StartAsync(config, log.Enqueue);

        Assert.Equal(200, (await AdminKit.GetAsync(server.BaseAddress, "/directors")).Status);
        Assert.DoesNotContain(log, l => l.Contains("borrow", StringComparison.OrdinalIgnoreCase));

        File.WriteAllText(file, text.Replace("log-level = \"error\"", "log-level = \"debug\"", StringComparison.Ordinal));
        Assert.True(await server.State.Reloader.ReloadAsync(explicitRequest: true, beforeSchemaLoad: false, CancellationToken.None));
        Assert.Equal(LogLevel.Debug, server.State.Config.LogLevel);
        // A fresh pool, as after a schema cache load: the next request establishes its connection.
        server.State.DataSource.Clear();
        var before = log.Count;
        Assert.Equal(200, (await AdminKit.GetAsync(server.BaseAddress, "/directors")).Status);

        var lines = log.Skip(before).ToList();
        var connection = Assert.Single(lines, l => l.EndsWith(" is used", StringComparison.Ordinal))["Connection ".Length..^" is used".Length];
        // The id is the backend's pid: it finds the connection in pg_stat_activity.
        Assert.Equal(1L, await db.ScalarAsync(
            $"select count(*) from pg_stat_activity where pid = {Convert.ToInt32(connection[^12..], 16)} and usename = '{AdminKit.Authenticator}'"));
        Assert.Equal(
            [
                "Trying to borrow a connection from pool",
                $"Connection {connection} is being established",
                $"Connection {connection} is available due to connection establishment",
                $"Connection {connection} is used",
                $"Connection {connection} is available due to session success",
                "Borrowed a connection from the pool",
            ],
            lines.Where(l => l.Contains("onnection", StringComparison.Ordinal) || l.Contains("borrow", StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public async Task A_session_ended_under_a_request_is_a_503_client_error_in_libpq_words_logged_and_recovered_from()
    {
        var db = await pg.CreateDatabaseAsync(Schema);
        var log = new ConcurrentQueue<string>();
        await using var server = await AdminKit.StartAsync(AdminKit.Config(db), log.Enqueue);

        var response = await AdminKit.GetAsync(server.BaseAddress, "/rpc/end_my_session");

        Assert.Equal(503, response.Status);
        const string Error = """{"code":"PGRST001","details":"no connection to the server\n","hint":null,"message":"Database client error. Retrying the connection."}""";
        Assert.Equal(Error, response.Body);
        Assert.Contains(Error, log);
        Assert.True(await AdminKit.EventuallyAsync(async () => (await AdminKit.GetAsync(server.BaseAddress, "/directors")).Status == 200));
    }
}
