using System.Text.RegularExpressions;
using Restgres.Tests.Admin;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Examples;

/// <summary>
/// The Floyo backend with its schedules running: Restgres's run log installed (as `restgres dev` and the README's
/// set-up do), its server role a member of floyo_scheduler, and a database of its own, since the jobs delete and
/// record rows while they run. Before any server starts, telemetry and file events past their retention are added
/// next to ones that must stay.
/// </summary>
public sealed class FloyoScheduled() : ExampleAppServers("floyo", Authenticator, "anon, authenticated, floyo_scheduler")
{
    public const string Authenticator = "floyo_sched_authenticator";

    /// <summary>A user without privacy settings: telemetry is kept 14 days.</summary>
    public const string User = "5c000000-0000-4000-8000-00000000005c";

    public override string JwtSecret => Floyo.Secret;

    protected override bool UsesRestgresSchema => true;

    protected override IEnumerable<string> SeedFiles => [Path.Combine(AppDir, "dev.sql")];

    protected override string SeedSql => $"""
        grant usage on schema restgres to {Authenticator};
        grant execute on function restgres.run_scheduled(text, text, text, timestamptz, text),
          restgres.record_scheduled_run(text, text, timestamptz, timestamptz, text, bigint, text) to {Authenticator};
        insert into api.telemetry_events (user_id, type, created_at) values
          ('{User}', 'expired', now() - interval '20 days'), ('{User}', 'kept', now() - interval '2 days');
        insert into api.file_events (user_id, file_path, tool, created_at) values
          ('{User}', 'expired.txt', 'vim', now() - interval '200 days'), ('{User}', 'kept.txt', 'vim', now() - interval '2 days');
        """;

    /// <summary>The app's own schedules file with every job due each second (six fields, seconds first): the jobs,
    /// roles and statements the app ships, on a schedule a test can wait for.</summary>
    internal static Restgres.Schedules.ScheduleTable EverySecond(string appDir)
    {
        var path = Path.Combine(appDir, "schedules.conf");
        var text = Regex.Replace(File.ReadAllText(path), @"^(?<indent>[ \t]+)cron .*$", "${indent}cron * * * * * *", RegexOptions.Multiline);
        return Restgres.Schedules.ScheduleFile.Parse(path, text);
    }
}

[Collection("pg")]
public sealed class FloyoScheduleTests(PgClusterFixture pg, FloyoScheduled app) : IClassFixture<FloyoScheduled>
{
    // Only this test's server runs on this database: the first server to start leads the schedules (one advisory lock
    // per database), so one with the app's own file (due at 02:00) would keep this one from running anything.
    private async Task<long> CountAsync(string sql) => (long)(await app.Database.ScalarAsync(sql))!;

    [Fact]
    public async Task On_a_fast_schedule_the_server_runs_both_jobs_as_floyo_scheduler_logs_each_run_and_they_take_effect()
    {
        await app.ServerAsync(pg, "every-second", c => c with { ServerSchedules = FloyoScheduled.EverySecond(app.AppDir) });

        Assert.True(await AdminKit.EventuallyAsync(async () =>
                await CountAsync("select count(distinct job) from restgres.schedule_runs where status = 'ok'") == 2),
            "both jobs ran successfully within 20 s: " + await app.Database.ScalarAsync("select string_agg(job || ' ' || status || ' ' || coalesce(error, ''), '; ') from restgres.schedule_runs"));

        Assert.Equal(0L, await CountAsync("select count(*) from restgres.schedule_runs where status <> 'ok' or runner not like 'restgres %'"));
        // Privacy cleanup: what is past its retention is gone, the rest stays.
        Assert.Equal("kept", await app.Database.ScalarAsync($"select string_agg(type, ',') from api.telemetry_events where user_id = '{FloyoScheduled.User}'"));
        Assert.Equal("kept.txt", await app.Database.ScalarAsync($"select string_agg(file_path, ',') from api.file_events where user_id = '{FloyoScheduled.User}'"));
        // Metrics collection: the seed's page loads are 40 % slower in the last day, recorded as a regression.
        Assert.Equal("regression page_load_ms", await app.Database.ScalarAsync(
            "select status || ' ' || (regressions -> 0 ->> 'metric') from app.metric_reports order by id limit 1"));
        // Each function logs its own runs too.
        Assert.Equal(2L, await CountAsync("select count(distinct job) from app.job_runs where status = 'succeeded'"));
    }
}
