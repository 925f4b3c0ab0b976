using Restgres.Config;
using Restgres.Execution;
using Restgres.Tests.Admin;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Schedules;

/// <summary>
/// Schedules run by the server itself (server-schedules-file) against a real database: fast six-field schedules
/// (every second), each run observed in restgres.schedule_runs and the metrics, one leader among instances.
/// </summary>
[Collection("pg")]
public sealed class SchedulerTests(PgClusterFixture pg) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("restgres-schedules-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string Schema = AdminKit.Schema + "\n" + RestgresSchema.Sql + $$"""

        grant usage on schema restgres to {{AdminKit.Authenticator}};
        grant execute on function restgres.run_scheduled(text, text, text, timestamptz, text),
          restgres.record_scheduled_run(text, text, timestamptz, timestamptz, text, bigint, text) to {{AdminKit.Authenticator}};
        create table api.ticks (id bigint generated always as identity, at timestamptz not null default now());
        grant insert on api.ticks to {{AdminKit.Anon}};
        """;

    private AppConfig Config(TestDatabase db, string schedules)
    {
        var path = Path.Combine(_dir, "schedules.conf");
        File.WriteAllText(path, schedules);
        return AdminKit.Config(db) with { ServerSchedules = Restgres.Schedules.ScheduleFile.Load(path) };
    }

    private static async Task<long> RunsAsync(TestDatabase db, string job, string status) =>
        (long)(await db.ScalarAsync($"select count(*) from restgres.schedule_runs where job = '{job}' and status = '{status}'"))!;

    [Fact]
    public async Task A_fast_schedule_runs_its_SQL_as_its_role_and_logs_each_run()
    {
        var db = await pg.CreateDatabaseAsync(Schema);
        await using var server = await AdminKit.StartAsync(Config(db, $"""
            tick
              cron * * * * * *
              sql insert into api.ticks default values
              role {AdminKit.Anon}
            """));

        Assert.True(await AdminKit.EventuallyAsync(async () => await RunsAsync(db, "tick", "ok") >= 2), "two runs within 20 s");

        Assert.True((long)(await db.ScalarAsync("select count(*) from api.ticks"))! >= 2);
        Assert.Equal(0L, await db.ScalarAsync("""
            select count(*) from restgres.schedule_runs
            where job = 'tick' and not (rows = 1 and error is null and finished_at >= started_at and scheduled_for is not null
                                         and runner like 'restgres % pid %')
            """));
        Assert.True(server.State.Observer.Metrics.Schedules.IsLeader);
        Assert.True(server.State.Observer.Metrics.Schedules.For("tick").Ok >= 2);
    }

    [Fact]
    public async Task A_failing_job_is_logged_with_its_error_counted_and_the_schedule_goes_on()
    {
        var db = await pg.CreateDatabaseAsync(Schema);
        var config = Config(db, """
            broken
              cron * * * * * *
              sql select 1 / 0
            """) with { AdminServerPort = 0 };
        await using var server = await AdminKit.StartAsync(config);

        Assert.True(await AdminKit.EventuallyAsync(async () => await RunsAsync(db, "broken", "failed") >= 2));

        Assert.Equal("division by zero (SQLSTATE 22012)", await db.ScalarAsync("select error from restgres.schedule_runs where job = 'broken' limit 1"));
        var metrics = (await AdminKit.GetAsync(server.AdminAddress!, "/metrics")).Body;
        Assert.True(AdminKit.Sample(metrics, "restgres_schedule_runs_total{job=\"broken\",status=\"failed\"}") >= 2, metrics);
        Assert.Equal(0, AdminKit.Sample(metrics, "restgres_schedule_runs_total{job=\"broken\",status=\"ok\"}"));
        Assert.Equal(1, AdminKit.Sample(metrics, "restgres_schedule_leader"));
        Assert.NotNull(AdminKit.Sample(metrics, "restgres_schedule_late_runs_total{job=\"broken\"}"));
    }

    [Fact]
    public async Task A_run_longer_than_the_interval_skips_the_due_times_it_overlaps_and_counts_them_missed()
    {
        var db = await pg.CreateDatabaseAsync(Schema);
        await using var server = await AdminKit.StartAsync(Config(db, """
            slow
              cron * * * * * *
              sql select pg_sleep(2.2)
            """));
        var metrics = server.State.Observer.Metrics.Schedules;

        // A run of 2.2 s on an every-second schedule passes at least two due times, whatever the machine's speed; they
        // are counted when the run ends.
        Assert.True(await AdminKit.EventuallyAsync(() => Task.FromResult(metrics.For("slow").Missed >= 2), TimeSpan.FromSeconds(30)));

        Assert.True(metrics.For("slow").Ok >= 1);
        Assert.Equal(0L, await db.ScalarAsync(
            "select count(*) from restgres.schedule_runs a join restgres.schedule_runs b on a.id < b.id and b.started_at < a.finished_at where a.job = 'slow'"));
    }

    [Fact]
    public async Task A_request_job_calls_the_API_and_logs_the_rows_it_answered()
    {
        var db = await pg.CreateDatabaseAsync(Schema);
        await using var server = await AdminKit.StartAsync(Config(db, """
            read_items
              cron * * * * * *
              request GET /items?select=id
              header Prefer: count=exact

            missing
              cron * * * * * *
              request GET /no_such_table
            """));

        Assert.True(await AdminKit.EventuallyAsync(async () => await RunsAsync(db, "read_items", "ok") >= 1 && await RunsAsync(db, "missing", "failed") >= 1));

        Assert.Equal(3L, await db.ScalarAsync("select rows from restgres.schedule_runs where job = 'read_items' limit 1"));
        Assert.StartsWith("404: ", (string)(await db.ScalarAsync("select error from restgres.schedule_runs where job = 'missing' limit 1"))!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Of_two_instances_one_leads_and_the_other_takes_over_when_it_stops()
    {
        var db = await pg.CreateDatabaseAsync(Schema);
        const string Schedules = """
            tick
              cron * * * * * *
              sql insert into api.ticks default values
              role adm_anon
            """;
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var first = await AdminKit.StartAsync(Config(db, Schedules), l => log.Enqueue("1: " + l));
        await using var second = await AdminKit.StartAsync(Config(db, Schedules), l => log.Enqueue("2: " + l));
        var one = first.State.Observer.Metrics.Schedules;
        var two = second.State.Observer.Metrics.Schedules;
        Assert.True(await AdminKit.EventuallyAsync(() => Task.FromResult(one.IsLeader || two.IsLeader), TimeSpan.FromSeconds(60)));
        // Generous, and it says why when it fails: in the full suite on a loaded machine three runs once took over 20 s.
        Assert.True(await AdminKit.EventuallyAsync(async () => await RunsAsync(db, "tick", "ok") >= 3, TimeSpan.FromSeconds(60)),
            "fewer than 3 runs within 60 s; runs: " + await db.ScalarAsync("select string_agg(status || coalesce(': ' || error, ''), '; ') from restgres.schedule_runs")
            + $"; leaders: {one.IsLeader} {two.IsLeader}; log:\n" + string.Join('\n', log));

        Assert.NotEqual(one.IsLeader, two.IsLeader);
        Assert.Equal(1L, await db.ScalarAsync("select count(distinct runner) from restgres.schedule_runs"));
        var (leader, follower) = one.IsLeader ? (first, second) : (second, first);

        await leader.DisposeAsync();
        if (leader != first) await first.DisposeAsync();

        Assert.True(await AdminKit.EventuallyAsync(() => Task.FromResult(follower.State.Observer.Metrics.Schedules.IsLeader)));
        Assert.True(await AdminKit.EventuallyAsync(async () => (long)(await db.ScalarAsync("select count(distinct runner) from restgres.schedule_runs"))! == 2));
    }

    [Fact]
    public async Task A_config_reload_that_leaves_the_file_unchanged_keeps_the_leader_and_its_jobs()
    {
        // Every reload (and the in-database config read before each schema cache load) re-reads the schedules file;
        // an unchanged file must not make the leader step down and hand its jobs to another instance.
        var db = await pg.CreateDatabaseAsync(Schema);
        var schedules = Path.Combine(_dir, "schedules.conf");
        File.WriteAllText(schedules, $"tick\n  cron * * * * * *\n  sql insert into api.ticks default values\n  role {AdminKit.Anon}\n");
        var config = AdminKit.LoadFile(Path.Combine(_dir, "restgres.conf"), $"""
            db-uri = "{db.Uri(AdminKit.Authenticator)}"
            db-schemas = "api"
            db-anon-role = "{AdminKit.Anon}"
            server-host = "127.0.0.1"
            server-port = 0
            server-schedules-file = "{schedules}"
            """);
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var server = await AdminKit.StartAsync(config, log.Enqueue);
        // Generous: in the full suite on a loaded machine the first run once took longer than 20 s; the log says why if not.
        Assert.True(await AdminKit.EventuallyAsync(async () => await RunsAsync(db, "tick", "ok") >= 1, TimeSpan.FromSeconds(60)),
            "no run within 60 s; runs: " + await db.ScalarAsync("select string_agg(status || coalesce(': ' || error, ''), '; ') from restgres.schedule_runs")
            + "; log:\n" + string.Join('\n', log));

        for (var i = 0; i < 3; i++)
            Assert.True(await server.State.Reloader.ReloadAsync(explicitRequest: true, beforeSchemaLoad: i % 2 == 0, CancellationToken.None));
        var before = await RunsAsync(db, "tick", "ok");
        Assert.True(await AdminKit.EventuallyAsync(async () => await RunsAsync(db, "tick", "ok") >= before + 2, TimeSpan.FromSeconds(60)),
            "log:\n" + string.Join('\n', log));

        Assert.Single(log, l => l.StartsWith("Schedules: leading", StringComparison.Ordinal));
        Assert.True(server.State.Observer.Metrics.Schedules.IsLeader);

        // A changed file does restart the jobs.
        File.WriteAllText(schedules, $"tock\n  cron * * * * * *\n  sql insert into api.ticks default values\n  role {AdminKit.Anon}\n");
        Assert.True(await server.State.Reloader.ReloadAsync(explicitRequest: true, beforeSchemaLoad: false, CancellationToken.None));
        Assert.True(await AdminKit.EventuallyAsync(async () => await RunsAsync(db, "tock", "ok") >= 1));
        Assert.Equal(2, log.Count(l => l.StartsWith("Schedules: leading", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Without_the_run_log_installed_a_run_fails_with_a_hint()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var server = await AdminKit.StartAsync(Config(db, "tick\n  cron * * * * * *\n  sql select 1\n"), log.Enqueue);

        Assert.True(await AdminKit.EventuallyAsync(() => Task.FromResult(server.State.Observer.Metrics.Schedules.For("tick").Failed >= 1)));

        Assert.Contains(log, l => l.Contains("job tick failed: the schedules' run log is not installed: run the SQL of 'restgres --schema-sql'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_reload_with_an_invalid_cron_expression_names_the_file_and_line_and_keeps_the_running_schedules()
    {
        var db = await pg.CreateDatabaseAsync(Schema);
        var schedules = Path.Combine(_dir, "schedules.conf");
        const string Good = "tick\n  cron * * * * * *\n  sql insert into api.ticks default values\n  role adm_anon\n";
        await File.WriteAllTextAsync(schedules, Good);
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var server = await AdminKit.StartAsync(
            AdminKit.LoadFile(Path.Combine(_dir, "restgres.conf"), AdminKit.ConfigText(db, $"server-schedules-file = \"{schedules}\"")), log.Enqueue);
        await AdminKit.ListeningAsync(server);
        Assert.True(await AdminKit.EventuallyAsync(async () => await RunsAsync(db, "tick", "ok") >= 1));
        var before = server.State.Config;

        await File.WriteAllTextAsync(schedules, Good.Replace("* * * * * *", "0 25 * * *", StringComparison.Ordinal));
        await db.ExecuteSqlAsync("NOTIFY pgrst, 'reload config'");

        Assert.True(await AdminKit.EventuallyAsync(() => Task.FromResult(server.State.Observer.Metrics.ConfigReloadFailures == 1)));
        Assert.Contains(log, l => l.Contains($"Error in schedules file '{schedules}' (server-schedules-file), line 2: 'cron 0 25 * * *' is not a valid cron expression", StringComparison.Ordinal));
        Assert.Same(before, server.State.Config);
        // The old schedule goes on.
        var runs = await RunsAsync(db, "tick", "ok");
        Assert.True(await AdminKit.EventuallyAsync(async () => await RunsAsync(db, "tick", "ok") > runs));
    }
}
