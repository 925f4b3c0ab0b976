using System.Globalization;
using System.Text.Json;
using Restgres.Tests.Http;
using Restgres.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Restgres.Tests.Examples;

/// <summary>
/// The AI generations app (examples/ai-generations) served by Restgres from its own restgres.conf over its migrations,
/// Restgres's own schema and its mock provider (a short latency: CI time), as `./run.sh --app ai-generations` serves
/// it.
/// </summary>
public class AiGenerations() : ExampleAppServers("ai-generations", Authenticator, "anon, authenticated")
{
    public const string Authenticator = "aigen_authenticator";

    public const string Secret = "aigen-tests-secret-aigen-tests-secret";

    private MockProviderProcess? _mock;

    public override string JwtSecret => Secret;

    public MockProviderProcess Mock => _mock ?? throw new InvalidOperationException("no mock provider yet");

    protected override bool UsesRestgresSchema => true;

    protected override IEnumerable<string> SeedFiles => [Path.Combine(AppDir, "dev.sql")];

    /// <summary>What the jobs engine sends as the provider key (the queue's header reads it from the environment).</summary>
    public const string ProviderKey = "test-provider-key";

    /// <summary>The mock's random failure rate (the modes that are retried).</summary>
    protected virtual double FailureRate => 0.2;

    /// <summary>The mock's answer time: short, for CI time (the demo's is 2 s).</summary>
    protected virtual int LatencyMs => 20;

    protected override async Task<TestDatabase> CreateDatabaseAsync(PgClusterFixture pg)
    {
        // The in-process servers' workers read ${env:AI_PROVIDER_KEY} from this process's environment.
        Environment.SetEnvironmentVariable("AI_PROVIDER_KEY", ProviderKey);
        _mock = await MockProviderProcess.StartAsync(LatencyMs, FailureRate);
        var db = await base.CreateDatabaseAsync(pg);
        // Attempts time out after 2 s (a hanging reply) and are retried after 20-40 ms, 40-80 ms: CI time.
        await db.ExecuteSqlAsync($"""
            select ai.grant_runtime('{Authenticator}');
            select ai.configure_provider('{Mock.BaseAddress}', 'mock-model', concurrency => 8, timeout_ms => 2000,
              max_attempts => 3, backoff_ms => 20);
            """);
        return db;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_mock is not null)
            await _mock.DisposeAsync();
    }
}

[Collection("pg")]
public sealed class AiGenerationsTests(PgClusterFixture pg, AiGenerations app, ITestOutputHelper output) : IClassFixture<AiGenerations>
{
    private static readonly (string, string) Json = ("Content-Type", "application/json");

    private static (string, string) Bearer(string token) => ("Authorization", "Bearer " + token);

    private static JsonElement Parse(Reply r)
    {
        using var doc = JsonDocument.Parse(r.Body);
        return doc.RootElement.Clone();
    }

    private async Task<(string Token, long Id)> RegisterAsync()
    {
        var s = await app.ServerAsync(pg);
        var email = $"u{Guid.NewGuid():N}@example.com";
        var r = await s.SendAsync(HttpMethod.Post, "/rpc/register", $$"""{"email":"{{email}}","password":"secret1"}""", Json);
        Assert.True(r.Status == 200, r.ToString());
        var j = Parse(r);
        return (j.GetProperty("access_token").GetString()!, j.GetProperty("user").GetProperty("id").GetInt64());
    }

    private async Task<long> ScalarAsync(string sql) => Convert.ToInt64(await app.Database.ScalarAsync(sql), CultureInfo.InvariantCulture);

    private async Task<Reply> RequestAsync(string token, string prompt, string? key = null)
    {
        var s = await app.ServerAsync(pg);
        var headers = new List<(string, string)> { Json, Bearer(token) };
        if (key is not null) headers.Add(("Idempotency-Key", key));
        return await s.SendAsync(HttpMethod.Post, "/rpc/request_generation",
            JsonSerializer.Serialize(new { prompt, @params = new { temperature = 0.5 } }), [.. headers]);
    }

    [Fact]
    public async Task Login_of_the_demo_user_returns_a_token_and_a_wrong_password_is_401()
    {
        var s = await app.ServerAsync(pg);
        var ok = await s.SendAsync(HttpMethod.Post, "/rpc/login", """{"email":"demo@example.com","password":"demo1234"}""", Json);
        Assert.True(ok.Status == 200, ok.ToString());
        Assert.StartsWith("eyJ", Parse(ok).GetProperty("access_token").GetString(), StringComparison.Ordinal);
        var bad = await s.SendAsync(HttpMethod.Post, "/rpc/login", """{"email":"demo@example.com","password":"nope!!"}""", Json);
        Assert.True(bad.Status == 401, bad.ToString());
        Assert.Equal("AI401", Parse(bad).GetProperty("code").GetString());
    }

    [Fact]
    public async Task The_same_Idempotency_Key_returns_the_same_generation_and_never_a_second_job()
    {
        var (token, user) = await RegisterAsync();
        var key = Guid.NewGuid().ToString();
        var first = await RequestAsync(token, "Write a haiku [mock:ok]", key);
        Assert.True(first.Status == 200, first.ToString());
        var id = Parse(first).GetProperty("id").GetInt64();
        Assert.Equal("pending", Parse(first).GetProperty("ai_status").GetString());

        var again = await RequestAsync(token, "Write a haiku [mock:ok]", key);
        Assert.True(again.Status == 200, again.ToString());
        Assert.Equal("true", again.Header("Idempotent-Replayed"));
        Assert.Equal(first.Body, again.Body);

        // The same key with another request: 422, nothing created.
        var other = await RequestAsync(token, "Something else [mock:ok]", key);
        Assert.True(other.Status == 422, other.ToString());

        Assert.Equal(1, await ScalarAsync($"select count(*) from api.generations where user_id = {user}"));
        Assert.Equal(1, await ScalarAsync($"select count(*) from restgres.jobs j join api.generations g on g.job_id = j.id where g.user_id = {user}"));
        Assert.Equal(1, await ScalarAsync($"select count(*) from restgres.jobs where unique_key = 'generation:{id}'"));

        // Another key: another generation and job.
        var second = await RequestAsync(token, "Write a haiku [mock:ok]", Guid.NewGuid().ToString());
        Assert.NotEqual(id, Parse(second).GetProperty("id").GetInt64());
        Assert.Equal(2, await ScalarAsync($"select count(*) from api.generations where user_id = {user}"));
    }

    [Fact]
    public async Task A_user_reads_only_their_own_generations_and_logs()
    {
        var s = await app.ServerAsync(pg);
        var (alice, _) = await RegisterAsync();
        var (bob, _) = await RegisterAsync();
        var id = Parse(await RequestAsync(alice, "Alice's secret [mock:ok]")).GetProperty("id").GetInt64();
        var mine = await s.GetAsync($"/generations?id=eq.{id}&select=id,prompt", Bearer(alice));
        Assert.Equal($$"""[{"id":{{id}},"prompt":"Alice's secret [mock:ok]"}]""", mine.Body);
        Assert.Equal("[]", (await s.GetAsync($"/generations?id=eq.{id}", Bearer(bob))).Body);
        Assert.Equal("[]", (await s.GetAsync($"/generation_logs?generation_id=eq.{id}", Bearer(bob))).Body);
        // Without a token: no rows and no way to request.
        var anon = await s.GetAsync("/generations");
        Assert.True(anon.Status == 401, anon.ToString());
        var anonRequest = await s.SendAsync(HttpMethod.Post, "/rpc/request_generation", """{"prompt":"x"}""", Json);
        Assert.True(anonRequest.Status == 401, anonRequest.ToString());
    }

    [Theory]
    [InlineData("""{"prompt":""}""", "prompt is required")]
    [InlineData("""{"prompt":"x","params":[1]}""", "params must be an object")]
    [InlineData("""{"prompt":"x","params":{"api_key":"k"}}""", "unknown parameter 'api_key'")]
    public async Task A_bad_request_is_400_and_creates_nothing(string body, string message)
    {
        var s = await app.ServerAsync(pg);
        var (token, user) = await RegisterAsync();
        var r = await s.SendAsync(HttpMethod.Post, "/rpc/request_generation", body, Json, Bearer(token), ("Idempotency-Key", Guid.NewGuid().ToString()));
        Assert.True(r.Status == 400, r.ToString());
        Assert.StartsWith(message, Parse(r).GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, await ScalarAsync($"select count(*) from api.generations where user_id = {user}"));
    }

    [Fact]
    public async Task Each_kind_of_provider_failure_ends_in_a_logged_attempt_that_is_retried_or_fails_the_generation()
    {
        var (token, user) = await RegisterAsync();
        // prompt → the generation's end and each attempt's (log status, provider status); "-" where the provider
        // gave no status (a hanging reply cut by the queue's 2 s timeout, a socket closed without an answer).
        var cases = new (string Prompt, string Expected)[]
        {
            ("[mock:hang-times:1] hangs once", "completed: retrying -, completed 200"),
            ("[mock:close-times:1] closes once", "completed: retrying -, completed 200"),
            ("[mock:html-times:2] an HTML page twice", "completed: retrying 502, retrying 502, completed 200"),
            ("[mock:429-times:1] rate limited once", "completed: retrying 429, completed 200"),
            ("[mock:400] refused", "failed: discarded 400"),
            ("[mock:500] always down", "failed: retrying 500, retrying 500, discarded 500"),
        };
        foreach (var (prompt, _) in cases)
            Assert.Equal(200, (await RequestAsync(token, prompt, Guid.NewGuid().ToString())).Status);
        await GenerationChecks.WaitUntilFinishedAsync(app.Database, user, TimeSpan.FromMinutes(1));
        foreach (var (prompt, expected) in cases)
        {
            var actual = await app.Database.ScalarAsync($"""
                select g.ai_status || ': ' || string_agg(l.status || ' ' || coalesce(l.provider_status::text, '-'), ', ' order by l.attempt)
                from api.generations g join api.generation_logs l on l.generation_id = g.id
                where g.user_id = {user} and g.prompt = '{prompt}' group by g.id, g.ai_status
                """);
            Assert.Equal(expected, actual);
        }
        // Every attempt without an answer says why; a failed generation keeps its last error.
        Assert.Equal(0, await ScalarAsync($"select count(*) from api.generation_logs l join api.generations g on g.id = l.generation_id where g.user_id = {user} and l.status <> 'completed' and l.error is null"));
        Assert.Equal(0, await ScalarAsync($"select count(*) from api.generations where user_id = {user} and ai_status = 'failed' and error is null"));
    }

    [Fact]
    public async Task Two_hundred_generations_with_20_percent_provider_failures_all_end_completed_or_failed_with_every_attempt_logged()
    {
        var s = await app.ServerAsync(pg);
        var (token, user) = await RegisterAsync();
        const int N = 200;
        // Twenty clients at a time, each request with its own key.
        await Parallel.ForEachAsync(Enumerable.Range(1, N), new ParallelOptions { MaxDegreeOfParallelism = 20 }, async (i, _) =>
        {
            var r = await RequestAsync(token, $"Generation {i}", Guid.NewGuid().ToString());
            Assert.True(r.Status == 200, r.ToString());
        });
        await GenerationChecks.WaitUntilFinishedAsync(app.Database, user, TimeSpan.FromMinutes(3));
        var (completed, failed, attempts, retried) = await GenerationChecks.CheckAsync(app.Database, app.Mock, user, N);
        Assert.Equal(N, completed + failed);
        Assert.True(retried > 0, "some jobs were retried");

        // The metrics views, as the user sees them.
        var daily = Parse(await s.GetAsync("/generation_daily", Bearer(token)))[0];
        Assert.Equal(N, daily.GetProperty("finished").GetInt64());
        Assert.Equal(completed, daily.GetProperty("completed").GetInt64());
        var durations = Parse(await s.GetAsync("/generation_durations", Bearer(token)))[0];
        var perAttempts = Parse(await s.GetAsync("/generation_attempts?order=attempts", Bearer(token)));
        Assert.Equal(N, perAttempts.EnumerateArray().Sum(a => a.GetProperty("jobs").GetInt64()));
        output.WriteLine($"{N} generations: {completed} completed, {failed} failed, {attempts} attempts, {retried} jobs retried with the same key; "
            + $"success rate {daily.GetProperty("success_rate")}, avg {durations.GetProperty("avg_duration_ms")} ms, p95 {durations.GetProperty("p95_duration_ms")} ms, "
            + $"attempts per job {perAttempts}");
    }
}
