using System.Globalization;
using System.Text.Json;
using Restgres.Tests.Auth;
using Restgres.Tests.Http;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Examples;

/// <summary>
/// The Floyo backend (examples/floyo) served by Restgres from its own restgres.conf and routes.conf over its
/// Supabase-layout migrations and seed (a demo user with 300 file events): the Next.js client's contract (README.md),
/// its JSON and statuses, over real HTTP.
/// </summary>
public sealed class Floyo() : ExampleAppServers("floyo", "floyo_authenticator", "anon, authenticated")
{
    public const string Secret = "floyo-tests-secret-floyo-tests-secret-floyo";

    /// <summary>The seed's demo user (dev.sql).</summary>
    public const string DemoUser = "d3e00000-0000-4000-8000-000000000001";

    /// <summary>Requests per batch on the grouping server, whose window is long enough that only this bound flushes.</summary>
    public const int BatchSize = 4;

    public override string JwtSecret => Secret;

    protected override IEnumerable<string> SeedFiles => [Path.Combine(AppDir, "dev.sql")];

    /// <summary>The app's config with a ten-minute group-commit window and batches of <see cref="BatchSize"/>: which
    /// requests share a transaction is decided by the test, never by timing.</summary>
    public Task<TestServer> GroupingServerAsync(PgClusterFixture pg) =>
        ServerAsync(pg, "grouping", c => c with { DbGroupCommitWindow = 600_000, DbGroupCommitMaxRequests = BatchSize });
}

[Collection("pg")]
public sealed class FloyoTests(PgClusterFixture pg, Floyo app) : IClassFixture<Floyo>
{
    private static readonly (string, string) Json = ("Content-Type", "application/json");

    private static (string, string) Bearer(string sub) =>
        ("Authorization", "Bearer " + Tokens.Hs($$"""{"sub":"{{sub}}","role":"authenticated"}""", Floyo.Secret));

    private static string NewUser() => Guid.NewGuid().ToString();

    private static JsonElement Parse(Reply r)
    {
        using var doc = JsonDocument.Parse(r.Body);
        return doc.RootElement.Clone();
    }

    private static string[] Keys(JsonElement e) => [.. e.EnumerateObject().Select(p => p.Name)];

    private static void AssertError(Reply r, int status, string error)
    {
        Assert.True(r.Status == status, r.ToString());
        Assert.Equal(JsonSerializer.Serialize(new { error }), JsonSerializer.Serialize(Parse(r)));
    }

    private async Task<long> ScalarAsync(string sql) =>
        Convert.ToInt64(await app.Database.ScalarAsync(sql), CultureInfo.InvariantCulture);

    [Fact]
    public async Task Ingest_answers_ok_and_stores_the_event_with_app_web_and_secrets_redacted()
    {
        var s = await app.ServerAsync(pg);
        var user = NewUser();
        var r = await s.SendAsync(HttpMethod.Post, "/api/telemetry/ingest",
            """{"user_id":"USER","type":"page_view","path":"/insights","meta":{"ms":12,"auth":{"access_token":"abc","cards":[{"credit_card":"4111"}]}}}"""
                .Replace("USER", user, StringComparison.Ordinal), Json);
        Assert.True(r.Status == 200, r.ToString());
        Assert.Equal("""{"ok":true}""", JsonSerializer.Serialize(Parse(r)));
        Assert.Equal(1L, await ScalarAsync($$$"""
            select count(*) from api.telemetry_events where user_id = '{{{user}}}' and type = 'page_view' and app = 'web' and path = '/insights'
              and meta = '{"ms": 12, "auth": {"access_token": "[REDACTED]", "cards": [{"credit_card": "[REDACTED]"}]}}'
            """));
    }

    [Theory]
    [InlineData("""{"type":"click"}""")]
    [InlineData("""{"user_id":"00000000-0000-4000-8000-000000000000"}""")]
    [InlineData("""{"user_id":"","type":"click"}""")]
    [InlineData("""[]""")]
    public async Task Ingest_without_user_id_and_type_is_400_with_the_clients_error(string body)
    {
        var s = await app.ServerAsync(pg);
        AssertError(await s.SendAsync(HttpMethod.Post, "/api/telemetry/ingest", body, Json), 400, "Missing required fields: user_id and type");
    }

    [Fact]
    public async Task Ingest_with_a_token_of_another_user_is_403_and_stores_nothing()
    {
        var s = await app.ServerAsync(pg);
        var user = NewUser();
        AssertError(await s.SendAsync(HttpMethod.Post, "/api/telemetry/ingest", $$"""{"user_id":"{{user}}","type":"click"}""", Json, Bearer(NewUser())),
            403, "Forbidden");
        var own = await s.SendAsync(HttpMethod.Post, "/api/telemetry/ingest", $$"""{"user_id":"{{user}}","type":"click","app":"desktop"}""", Json, Bearer(user));
        Assert.True(own.Status == 200, own.ToString());
        Assert.Equal(1L, await ScalarAsync($"select count(*) from api.telemetry_events where user_id = '{user}' and app = 'desktop'"));
    }

    [Fact]
    public async Task Concurrent_ingests_share_one_transaction_and_each_gets_its_own_answer()
    {
        var s = await app.GroupingServerAsync(pg);
        var users = Enumerable.Range(0, Floyo.BatchSize).Select(_ => NewUser()).ToArray();
        // The last request of the batch lacks its type: answered 400 on its own, the others committed together.
        var replies = await Task.WhenAll(users.Select((u, i) => s.SendAsync(HttpMethod.Post, "/api/telemetry/ingest",
            i < users.Length - 1 ? $$"""{"user_id":"{{u}}","type":"grouped"}""" : $$"""{"user_id":"{{u}}"}""", Json)));
        for (var i = 0; i < users.Length - 1; i++)
            Assert.True(replies[i].Status == 200 && replies[i].Body.Contains("\"ok\"", StringComparison.Ordinal), replies[i].ToString());
        AssertError(replies[^1], 400, "Missing required fields: user_id and type");
        var inList = string.Join(", ", users.Select(u => $"'{u}'"));
        Assert.Equal(users.Length - 1L, await ScalarAsync($"select count(*) from api.telemetry_events where user_id in ({inList})"));
        // Rows written by one transaction share its xmin.
        Assert.Equal(1L, await ScalarAsync($"select count(distinct xmin::text) from api.telemetry_events where user_id in ({inList})"));
    }

    [Fact]
    public async Task The_apps_config_serves_its_two_schedules_daily_at_2_and_every_6_hours()
    {
        var schedules = (await app.ServerAsync(pg)).Server.State.Config.ServerSchedules;

        Assert.NotNull(schedules);
        Assert.Equal(Path.Combine(app.AppDir, "schedules.conf"), schedules.Path);
        Assert.Equal(["privacy_cleanup 0 2 * * * select app.privacy_cleanup()", "collect_metrics 0 */6 * * * select app.collect_metrics()"],
            schedules.Jobs.Select(j => $"{j.Name} {j.CronText} {((Restgres.Schedules.SqlAction)j.Action).Sql}"));
        Assert.All(schedules.Jobs, j => Assert.Equal("floyo_scheduler", ((Restgres.Schedules.SqlAction)j.Action).Role));
    }

    [Fact]
    public async Task Health_answers_the_clients_shape()
    {
        var s = await app.ServerAsync(pg);
        var r = await s.GetAsync("/api/health");
        Assert.True(r.Status == 200, r.ToString());
        var j = Parse(r);
        Assert.Equal(["status", "timestamp", "uptime", "checks", "latency_ms", "version"], Keys(j));
        Assert.Equal("healthy", j.GetProperty("status").GetString());
        Assert.True(DateTimeOffset.TryParse(j.GetProperty("timestamp").GetString(), CultureInfo.InvariantCulture, DateTimeStyles.None, out _));
        Assert.Equal("""{"database":"ok","environment":"ok"}""", JsonSerializer.Serialize(j.GetProperty("checks")));
        Assert.Equal(JsonValueKind.Number, j.GetProperty("uptime").ValueKind);
        Assert.Equal(JsonValueKind.Number, j.GetProperty("latency_ms").ValueKind);
        Assert.Equal("1.0.0", j.GetProperty("version").GetString());
    }

    [Fact]
    public async Task Health_is_503_when_the_environment_is_not_named()
    {
        var s = await app.ServerAsync(pg, "noenv", c => c with { AppSettings = [.. c.AppSettings.Where(kv => !kv.Key.EndsWith(".environment", StringComparison.Ordinal))] });
        var r = await s.GetAsync("/api/health");
        Assert.True(r.Status == 503, r.ToString());
        Assert.Equal("unhealthy", Parse(r).GetProperty("status").GetString());
        Assert.Equal("missing", Parse(r).GetProperty("checks").GetProperty("environment").GetString());
    }

    [Fact]
    public async Task Patterns_answer_the_clients_shape_from_the_users_file_events()
    {
        var s = await app.ServerAsync(pg);
        var r = await s.GetAsync("/api/patterns?days_back=365", Bearer(Floyo.DemoUser));
        Assert.True(r.Status == 200, r.ToString());
        var j = Parse(r);
        Assert.Equal(["patterns", "count", "period_days"], Keys(j));
        Assert.Equal(365, j.GetProperty("period_days").GetInt32());
        Assert.Equal(7, j.GetProperty("count").GetInt32());
        var first = j.GetProperty("patterns")[0];
        Assert.Equal(["id", "file_extension", "count", "event_count", "last_used", "tools"], Keys(first));
        Assert.Equal(300, j.GetProperty("patterns").EnumerateArray().Sum(p => p.GetProperty("event_count").GetInt32()));
        // Another user sees nothing of the demo user's (RLS and the function's own filter).
        var other = Parse(await s.GetAsync("/api/patterns", Bearer(NewUser())));
        Assert.Equal("""{"patterns":[],"count":0,"period_days":30}""", JsonSerializer.Serialize(other));
    }

    [Fact]
    public async Task Stats_answer_the_clients_shape_and_default_to_30_days()
    {
        var s = await app.ServerAsync(pg);
        var j = Parse(await s.GetAsync("/api/stats", Bearer(Floyo.DemoUser)));
        Assert.Equal(["event_count", "pattern_count", "unique_tools", "unique_extensions", "tools", "extensions", "period_days", "period_start", "period_end"], Keys(j));
        Assert.Equal(30, j.GetProperty("period_days").GetInt32());
        Assert.Equal(await ScalarAsync($"select count(*) from api.file_events where user_id = '{Floyo.DemoUser}' and created_at >= now() - interval '30 days'"),
            j.GetProperty("event_count").GetInt64());
        Assert.Equal(j.GetProperty("unique_tools").GetInt32(), j.GetProperty("tools").EnumerateObject().Count());
    }

    [Fact]
    public async Task Insights_answer_the_clients_shape()
    {
        var s = await app.ServerAsync(pg);
        var j = Parse(await s.GetAsync("/api/insights?days_back=90", Bearer(Floyo.DemoUser)));
        Assert.Equal(["insights", "recommendations", "count", "generated_at"], Keys(j));
        Assert.Equal(j.GetProperty("insights").GetArrayLength(), j.GetProperty("count").GetInt32());
        Assert.Equal(["data", "description", "title", "type"], Keys(j.GetProperty("insights")[0]).Order(StringComparer.Ordinal));
        Assert.Equal(JsonValueKind.Array, j.GetProperty("recommendations").ValueKind);
    }

    [Theory]
    [InlineData("/api/insights?days_back=0")]
    [InlineData("/api/patterns?days_back=366")]
    [InlineData("/api/stats?days_back=week")]
    public async Task A_days_back_outside_1_to_365_is_400(string path)
    {
        var s = await app.ServerAsync(pg);
        AssertError(await s.GetAsync(path, Bearer(Floyo.DemoUser)), 400, "days_back must be an integer between 1 and 365");
    }

    [Theory]
    [InlineData("/api/insights")]
    [InlineData("/api/patterns")]
    [InlineData("/api/stats")]
    public async Task Insights_patterns_and_stats_without_a_token_are_401(string path)
    {
        var s = await app.ServerAsync(pg);
        AssertError(await s.GetAsync(path), 401, "Unauthorized");
    }
}
