using System.Globalization;
using System.Text.Json;
using Npgsql;
using Restgres.Tests.Http;
using Restgres.Tests.Infrastructure;
using Restgres.Tests.Process;
using Xunit;
using Xunit.Abstractions;

namespace Restgres.Tests.Examples;

/// <summary>The app for the crash tests: a database of its own, whose jobs only the restgres processes a test starts
/// (and kills) work on; the in-process API server used to register and enqueue runs no workers.</summary>
public sealed class AiGenerationsCrash : AiGenerations
{
    protected override int LatencyMs => 100;

    public Task<TestServer> ApiOnlyServerAsync(PgClusterFixture pg) => ServerAsync(pg, "api-only", c => c with { JobsEnabled = false });
}

/// <summary>What a test checks once a user's generations have all finished (the load and the crash tests).</summary>
internal static class GenerationChecks
{
    public static async Task<long> ScalarAsync(TestDatabase db, string sql) =>
        Convert.ToInt64(await db.ScalarAsync(sql), CultureInfo.InvariantCulture);

    /// <summary>Waits (up to <paramref name="limit"/>) until none of the user's generations is pending or processing.</summary>
    public static async Task WaitUntilFinishedAsync(TestDatabase db, long user, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        const string Unfinished = "ai_status in ('pending', 'processing')";
        while (await ScalarAsync(db, $"select count(*) from api.generations where user_id = {user} and {Unfinished}") > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"generations still unfinished after {limit}: " + await db.ScalarAsync(
                $"select string_agg(id || ' ' || ai_status || ' ' || attempts, ', ') from api.generations where user_id = {user} and {Unfinished}"));
            await Task.Delay(200);
        }
    }

    /// <summary>
    /// Every generation of the user ended completed or failed after its last attempt; its logs account for every
    /// attempt (one row each, numbered 1..attempts, none left open, as the engine recorded them); none completed
    /// twice; the provider was sent each job only under the job's id as Idempotency-Key, never more often than it had
    /// attempts. Returns the figures (retried: jobs the provider saw more than once, under the same key).
    /// </summary>
    public static async Task<(long Completed, long Failed, long Attempts, long Retried)> CheckAsync(TestDatabase db, MockProviderProcess mock, long user, int expected)
    {
        Assert.Equal(expected, await ScalarAsync(db, $"select count(*) from api.generations where user_id = {user}"));
        Assert.Equal(0, await ScalarAsync(db,
            $"select count(*) from api.generations where user_id = {user} and ai_status not in ('completed', 'failed')"));
        // Failed only after the last attempt (no request here is refused), completed with the provider's answer.
        Assert.Equal(0, await ScalarAsync(db, $"""
            select count(*) from api.generations g join restgres.jobs j on j.id = g.job_id
            where g.user_id = {user} and ((g.ai_status = 'failed' and (g.attempts <> j.max_attempts or j.state <> 'discarded'))
              or (g.ai_status = 'completed' and (g.result_text is null or j.state <> 'completed')))
            """));
        Assert.Equal(0, await ScalarAsync(db, $"""
            select count(*) from api.generations g
            where g.user_id = {user} and (
              (select count(*) from api.generation_logs l where l.generation_id = g.id) <> g.attempts
              or (select max(attempt) from api.generation_logs l where l.generation_id = g.id) <> g.attempts
              or exists (select from api.generation_logs l where l.generation_id = g.id and l.status = 'running')
              or (select count(*) from api.generation_logs l where l.generation_id = g.id and l.status = 'completed')
                 <> (g.ai_status = 'completed')::int)
            """));
        // The engine's own record of each attempt has its log row, with the same outcome.
        Assert.Equal(0, await ScalarAsync(db, $"""
            select count(*) from restgres.job_attempts a join api.generations g on g.job_id = a.job_id
            left join api.generation_logs l on l.generation_id = g.id and l.attempt = a.attempt
            where g.user_id = {user} and (l.id is null or l.status <> a.state)
            """));
        Assert.Equal(0, await ScalarAsync(db, $"""
            select count(*) from (select a.job_id from restgres.job_attempts a join api.generations g on g.job_id = a.job_id
              where g.user_id = {user} and a.state = 'completed' group by a.job_id having count(*) > 1) twice
            """));

        var attemptsByJob = new Dictionary<string, int>(StringComparer.Ordinal);
        await using (var conn = new NpgsqlConnection(db.ConnectionString))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"select job_id::text, attempts from api.generations where user_id = {user}", conn);
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) attemptsByJob[reader.GetString(0)] = reader.GetInt32(1);
        }
        var byKey = (await mock.RequestsAsync())
            .Where(r => r.IdempotencyKey is not null && attemptsByJob.ContainsKey(r.IdempotencyKey))
            .GroupBy(r => r.IdempotencyKey!)
            .ToList();
        foreach (var group in byKey)
            Assert.True(group.Count() <= attemptsByJob[group.Key], $"job {group.Key}: {group.Count()} requests for {attemptsByJob[group.Key]} attempts");
        return (await ScalarAsync(db, $"select count(*) from api.generations where user_id = {user} and ai_status = 'completed'"),
            await ScalarAsync(db, $"select count(*) from api.generations where user_id = {user} and ai_status = 'failed'"),
            await ScalarAsync(db, $"select sum(attempts) from api.generations where user_id = {user}"),
            byKey.LongCount(g => g.Count() > 1));
    }
}

/// <summary>
/// Crash tests of issue 15 §4: `kill -9` of a `restgres worker` process, and separately of the whole restgres serving
/// the app with its workers, mid-run; a second process finishes every generation, none completes twice, and jobs cut
/// short reach the provider again under the same Idempotency-Key. A 1.5 s lease (jobs-lease) keeps CI time short.
/// </summary>
[Collection("pg")]
public sealed class AiGenerationsCrashTests(PgClusterFixture pg, AiGenerationsCrash app, ITestOutputHelper output) : IClassFixture<AiGenerationsCrash>
{
    private const int N = 60;

    private static readonly (string, string) Json = ("Content-Type", "application/json");

    private string ConfigFile => Path.Combine(app.AppDir, "restgres.conf");

    /// <summary>The environment of a restgres process on the app's database, as ./run.sh gives it.</summary>
    private Dictionary<string, string> Env(int port) => new()
    {
        ["PGRST_DB_URI"] = app.Database.Uri(AiGenerations.Authenticator),
        ["JWT_SECRET"] = AiGenerations.Secret,
        ["PGRST_SERVER_PORT"] = port.ToString(CultureInfo.InvariantCulture),
        ["PGRST_SERVER_STATIC_DIR"] = Path.Combine(app.AppDir, "web"),
        ["PGRST_JOBS_LEASE"] = "1500",
        ["PGRST_JOBS_POLL_INTERVAL"] = "200",
        ["AI_PROVIDER_KEY"] = AiGenerations.ProviderKey,
    };

    private async Task<(string Token, long User)> RegisterAsync()
    {
        var s = await app.ApiOnlyServerAsync(pg);
        var r = await s.SendAsync(HttpMethod.Post, "/rpc/register", $$"""{"email":"c{{Guid.NewGuid():N}}@example.com","password":"secret1"}""", Json);
        Assert.True(r.Status == 200, r.ToString());
        using var doc = JsonDocument.Parse(r.Body);
        return (doc.RootElement.GetProperty("access_token").GetString()!, doc.RootElement.GetProperty("user").GetProperty("id").GetInt64());
    }

    private Task<long> ScalarAsync(string sql) => GenerationChecks.ScalarAsync(app.Database, sql);

    private Task<long> RunningJobsAsync(long user) => ScalarAsync(
        $"select count(*) from restgres.jobs j join api.generations g on g.job_id = j.id where g.user_id = {user} and j.state = 'running'");

    /// <summary>Waits until some of the user's generations completed while others are running: mid-run.</summary>
    private async Task WaitUntilMidRunAsync(long user)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (await ScalarAsync($"select count(*) from api.generations where user_id = {user} and ai_status = 'completed'") < 5
            || await RunningJobsAsync(user) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the workers did not get going");
            await Task.Delay(20);
        }
    }

    private static async Task KillAsync(RestgresProcess process)
    {
        await process.SignalAsync("KILL");
        Assert.NotNull(await process.WaitForExitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Killing_the_worker_process_mid_run_loses_no_generation_and_completes_none_twice()
    {
        var s = await app.ApiOnlyServerAsync(pg);
        var (token, user) = await RegisterAsync();
        for (var i = 1; i <= N; i++)
        {
            var r = await s.SendAsync(HttpMethod.Post, "/rpc/request_generation", $$"""{"prompt":"crash {{i}}"}""", Json,
                ("Authorization", "Bearer " + token), ("Idempotency-Key", Guid.NewGuid().ToString()));
            Assert.True(r.Status == 200, r.ToString());
        }
        long orphaned;
        await using (var worker = RestgresProcess.Start(["worker", ConfigFile], Env(RestgresProcess.FreePort())))
        {
            await WaitUntilMidRunAsync(user);
            await KillAsync(worker);
            orphaned = await RunningJobsAsync(user);
        }
        await using (RestgresProcess.Start(["worker", ConfigFile], Env(RestgresProcess.FreePort())))
            await GenerationChecks.WaitUntilFinishedAsync(app.Database, user, TimeSpan.FromMinutes(2));
        var (completed, failed, attempts, retried) = await GenerationChecks.CheckAsync(app.Database, app.Mock, user, N);
        output.WriteLine($"worker killed with {orphaned} jobs running: {completed} completed, {failed} failed, {attempts} attempts, "
            + $"{retried} jobs sent to the provider more than once, always under the same key");
        Assert.True(orphaned > 0, "jobs were running when the worker was killed");
        Assert.True(await ScalarAsync($"select count(*) from api.generation_logs l join api.generations g on g.id = l.generation_id where g.user_id = {user} and l.error like 'lease expired%'") > 0,
            "the attempts cut short are logged as such");
    }

    [Fact]
    public async Task Killing_restgres_mid_run_loses_no_generation_and_a_resubmission_after_restart_returns_the_same_generation()
    {
        var keys = Enumerable.Range(0, N).Select(_ => Guid.NewGuid().ToString()).ToList();
        using var http = new HttpClient();
        async Task<(int Status, string Body)> PostAsync(int port, string token, int i)
        {
            using var req = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/rpc/request_generation")
            {
                Content = new StringContent($$"""{"prompt":"restart {{i}}"}""", System.Text.Encoding.UTF8, "application/json"),
            };
            req.Headers.Add("Authorization", "Bearer " + token);
            req.Headers.Add("Idempotency-Key", keys[i]);
            using var res = await http.SendAsync(req);
            return ((int)res.StatusCode, await res.Content.ReadAsStringAsync());
        }
        var (token, user) = await RegisterAsync();
        var first = new string[N];
        long orphaned;
        var port = RestgresProcess.FreePort();
        await using (var server = RestgresProcess.Start([ConfigFile], Env(port)))
        {
            await server.WaitUntilListeningAsync(port);
            for (var i = 0; i < N; i++)
            {
                var (status, body) = await PostAsync(port, token, i);
                Assert.True(status == 200, body);
                first[i] = body;
            }
            await WaitUntilMidRunAsync(user);
            await KillAsync(server);
            orphaned = await RunningJobsAsync(user);
        }
        port = RestgresProcess.FreePort();
        await using (var server = RestgresProcess.Start([ConfigFile], Env(port)))
        {
            await server.WaitUntilListeningAsync(port);
            // A client that lost its answers sends every request again with its key: the same generations, no new job.
            for (var i = 0; i < N; i++)
            {
                var (status, body) = await PostAsync(port, token, i);
                Assert.True(status == 200, body);
                Assert.Equal(first[i], body);
            }
            await GenerationChecks.WaitUntilFinishedAsync(app.Database, user, TimeSpan.FromMinutes(2));
        }
        var (completed, failed, attempts, retried) = await GenerationChecks.CheckAsync(app.Database, app.Mock, user, N);
        output.WriteLine($"restgres killed with {orphaned} jobs running: {completed} completed, {failed} failed, {attempts} attempts, "
            + $"{retried} jobs sent to the provider more than once, always under the same key");
        Assert.True(orphaned > 0, "jobs were running when restgres was killed");
    }
}
