using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Npgsql;
using Restgres.Config;
using Restgres.Tests.Http;
using Restgres.Tests.Infrastructure;
using Restgres.Tests.Process;
using Xunit;

namespace Restgres.Tests.Jobs;

/// <summary>
/// A database with Restgres's schema installed by 'restgres schema install', the grants docs/jobs.md gives, the
/// handlers and attempt function of the tests, a mock provider, and a server running job workers (jobs-enabled) for
/// every queue but <see cref="CrashQueue"/> (which only 'restgres worker' processes run).
/// </summary>
public sealed class JobsApi : ServersOnOneDatabase
{
    public const string Authenticator = "jobs_authenticator";
    public const string Anon = "jobs_anon";
    public const string CrashQueue = "crash_q";
    public const string CrashSqlQueue = "crash_sql";

    /// <summary>The advisory lock <c>api.held</c> waits for: held by a test, it keeps an sql job mid-handler.</summary>
    public const int HeldLock = 7007;
    public const string Secret = "s3cret-key";
    public const string SecretEnv = "RESTGRES_JOBS_TEST_SECRET";
    public const string KeyEnv = "RESTGRES_JOBS_TEST_KEY";

    public static readonly string[] InProcessQueues =
    [
        "sql_once", "sql_reject", "sql_retry", "http_ok", "http_flaky", "http_bad", "http_dead", "http_html", "http_hang",
        "http_close", "admin_q", "api_q", "http_gate",
    ];

    private static readonly string Sql = PgClusterFixture.RolesSql(Authenticator, Anon) + $$"""
        grant usage on schema restgres to {{Authenticator}}, {{Anon}};
        grant select, insert, update, delete on restgres.job_queues, restgres.jobs, restgres.job_attempts to {{Authenticator}};
        grant usage on all sequences in schema restgres to {{Authenticator}};
        grant execute on function restgres.enqueue(text, jsonb, timestamptz, integer, integer, text) to {{Anon}};
        create schema api;
        grant usage on schema api to {{Anon}}, {{Authenticator}};
        create table api.effects (n int primary key, job_payload jsonb);
        grant insert, select on api.effects to {{Authenticator}};
        -- Inserts its row, then fails when the payload says so: a failed attempt must leave no row behind.
        create function api.handle(payload jsonb) returns void language plpgsql as $$
          begin
            insert into api.effects values ((payload->>'n')::int, payload);
            if payload ? 'fail' then raise exception 'handler failed on purpose'; end if;
          end $$;
        create table api.outcomes (job jsonb, outcome jsonb, at timestamptz default clock_timestamp());
        create function api.record_outcome(job jsonb, outcome jsonb) returns void language sql security definer as $$
          insert into api.outcomes (job, outcome) values (job, outcome) $$;
        create function api.held(payload jsonb) returns void language plpgsql as $$
          begin
            perform pg_advisory_xact_lock({{HeldLock}});
            insert into api.effects values ((payload->>'n')::int, payload);
          end $$;
        create function api.enqueue_to(q text) returns bigint language sql as $$
          select restgres.enqueue(q, '{"n": 1}') $$;
        grant execute on function api.enqueue_to(text) to {{Anon}};
        """;

    public MockProvider Provider { get; private set; } = null!;

    internal override AppConfig BaseConfig => new()
    {
        DbUri = Database.Uri(Authenticator),
        DbSchemas = ["api"],
        DbAnonRole = Anon,
        DbChannelEnabled = false,
        AdminServerPort = 0,
        JobsEnabled = true,
        JobsQueues = [.. InProcessQueues],
        JobsLease = 2000,
        JobsPollInterval = 100,
    };

    protected override async Task<TestDatabase> CreateDatabaseAsync(PgClusterFixture pg)
    {
        ArgumentNullException.ThrowIfNull(pg);
        Environment.SetEnvironmentVariable(SecretEnv, Secret);
        Environment.SetEnvironmentVariable(KeyEnv, "provider-key");
        Provider = await MockProvider.StartAsync();
        var db = await pg.CreateDatabaseAsync("select 1");
        var (code, _, stderr) = await RestgresProcess.RunAsync(["schema", "install", "--db-uri", db.Uri()]);
        Assert.True(code == 0, stderr);
        await db.ExecuteSqlAsync(Sql);
        return db;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Provider is not null) await Provider.DisposeAsync();
    }
}

/// <summary>
/// Durable jobs (docs/jobs.md) against a real PostgreSQL and real HTTP: the sql handler's exactly-once effects, the
/// http handler's retries, backoff, discards, signature and Idempotency-Key, bad providers, unique keys, unknown
/// queues, the admin endpoints, and a killed 'restgres worker' whose job another worker takes over.
/// </summary>
[Collection("pg")]
public sealed class JobsTests(PgClusterFixture pg, JobsApi api) : IClassFixture<JobsApi>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private Task<TestServer> WorkersAsync() => api.ServerAsync(pg, "workers");

    private async Task<T> Scalar<T>(string sql) => (T)(await api.Database.ScalarAsync(sql))!;

    /// <summary>Defines a queue (a target starting with '/' is a path of the mock provider).</summary>
    private async Task DefineAsync(string name, string handler, string target, string options = "{}")
    {
        await WorkersAsync();
        if (target.StartsWith('/')) target = api.Provider.Address + target;
        await api.Database.ExecuteSqlAsync(
            $"select restgres.define_queue('{name}', '{handler}', '{target}', '{options}'::jsonb || '{{\"attempt_function\": \"api.record_outcome\"}}')");
    }

    private async Task<long> EnqueueAsync(string queue, string payload, string extra = "") =>
        await Scalar<long>($"select restgres.enqueue('{queue}', '{payload}'{extra})");

    /// <summary>Waits (bounded) until the job is in a final state; returns it.</summary>
    private async Task<string> FinalStateAsync(long id)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var state = await Scalar<string>($"select state from restgres.jobs where id = {id}");
            if (state is "completed" or "discarded" or "cancelled") return state;
            Assert.True(sw.Elapsed < Patience, $"job {id} still {state} after {Patience}");
            await Task.Delay(50);
        }
    }

    private async Task<List<(string State, int? Status, string? Error, string? Excerpt)>> AttemptsAsync(long id)
    {
        await using var conn = new NpgsqlConnection(api.Database.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"select state, status, error, excerpt from restgres.job_attempts where job_id = {id} order by attempt, id", conn);
        await using var reader = await cmd.ExecuteReaderAsync();
        var list = new List<(string, int?, string?, string?)>();
        while (await reader.ReadAsync())
            list.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3)));
        return list;
    }

    private async Task<List<string>> OutcomeStatesAsync(long id) =>
        [.. ((string)(await api.Database.ScalarAsync(
            $"select coalesce(string_agg(outcome->>'state', ',' order by at), '') from api.outcomes where (job->>'id')::bigint = {id}"))!)
            .Split(',', StringSplitOptions.RemoveEmptyEntries)];

    [Fact]
    public async Task An_sql_handler_runs_each_job_once_and_commits_its_effects_with_the_completion()
    {
        await DefineAsync("sql_once", "sql", "api.handle", """{"concurrency": 3, "batch_size": 5}""");
        var first = await Scalar<long>("select min(restgres.enqueue('sql_once', jsonb_build_object('n', g))) from generate_series(1, 200) g");
        for (var id = first; id < first + 200; id++) Assert.Equal("completed", await FinalStateAsync(id));
        Assert.Equal(200L, await Scalar<long>("select count(*) from api.effects where n between 1 and 200"));
        Assert.Equal(200L, await Scalar<long>($"select count(*) from restgres.job_attempts where job_id between {first} and {first + 199}"));
        Assert.Equal(0L, await Scalar<long>($"select count(*) from restgres.jobs where id between {first} and {first + 199} and attempts <> 1"));
        Assert.Equal(["running", "completed"], await OutcomeStatesAsync(first));
    }

    [Fact]
    public async Task An_sql_handler_that_rejects_a_payload_leaves_no_effect_and_is_discarded_without_retry()
    {
        await DefineAsync("sql_reject", "sql", "api.handle", """{"backoff_ms": 0}""");
        // A payload the handler cannot read (class 22: invalid text for an int): retrying cannot help.
        var id = await EnqueueAsync("sql_reject", """{"n": "not a number"}""");
        Assert.Equal("discarded", await FinalStateAsync(id));
        var attempts = await AttemptsAsync(id);
        Assert.Single(attempts);
        Assert.Contains("22P02", attempts[0].Error, StringComparison.Ordinal);
        Assert.Equal(["running", "discarded"], await OutcomeStatesAsync(id));
    }

    [Fact]
    public async Task An_sql_handler_that_raises_is_rolled_back_retried_and_kept_as_discarded_after_its_last_attempt()
    {
        await DefineAsync("sql_retry", "sql", "api.handle", """{"backoff_ms": 10, "max_attempts": 3}""");
        var id = await EnqueueAsync("sql_retry", """{"n": 1001, "fail": true}""");
        Assert.Equal("discarded", await FinalStateAsync(id));
        // Each attempt inserted its row and raised: rolled back to the handler's savepoint every time.
        Assert.Equal(0L, await Scalar<long>("select count(*) from api.effects where n = 1001"));
        var attempts = await AttemptsAsync(id);
        Assert.Equal(["retrying", "retrying", "discarded"], attempts.Select(a => a.State));
        Assert.All(attempts, a => Assert.Contains("handler failed on purpose", a.Error, StringComparison.Ordinal));
        Assert.Equal(3, await Scalar<int>($"select attempts from restgres.jobs where id = {id}"));
        Assert.Equal(["running", "retrying", "running", "retrying", "running", "discarded"], await OutcomeStatesAsync(id));
    }

    [Fact]
    public async Task An_http_job_is_posted_with_its_headers_signature_and_job_id_as_idempotency_key()
    {
        await DefineAsync("http_ok", "http", "/ok",
            $$$"""{"secret_env": "{{{JobsApi.SecretEnv}}}", "body_key": "request", "headers": {"Authorization": "Bearer ${env:{{{JobsApi.KeyEnv}}}}"}}""");
        var id = await EnqueueAsync("http_ok", """{"generation": 7, "request": {"model": "m", "messages": [{"role": "user", "content": "hi"}]}}""");
        Assert.Equal("completed", await FinalStateAsync(id));
        var request = Assert.Single(api.Provider.To("/ok"), r => r.IdempotencyKey == id.ToString(CultureInfo.InvariantCulture));
        using (var sent = JsonDocument.Parse(request.Body))
            Assert.Equal("m", sent.RootElement.GetProperty("model").GetString());
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(JobsApi.Secret), Encoding.UTF8.GetBytes(request.Body)));
        Assert.Equal(expected, request.Signature);
        Assert.Equal("Bearer provider-key", request.Authorization);
        Assert.Equal("1", request.Attempt);
        var attempt = Assert.Single(await AttemptsAsync(id));
        Assert.Equal(("completed", 200), (attempt.State, attempt.Status));
        // The attempt function saw the parsed response.
        Assert.Equal("done", await Scalar<string>(
            $"select outcome->'body'->'choices'->0->'message'->>'content' from api.outcomes where (job->>'id')::bigint = {id} and outcome->>'state' = 'completed'"));
    }

    [Fact]
    public async Task Server_errors_are_retried_after_a_backoff_with_the_same_idempotency_key_until_the_job_completes()
    {
        await DefineAsync("http_flaky", "http", "/flaky/2", """{"backoff_ms": 200, "max_attempts": 5}""");
        var id = await EnqueueAsync("http_flaky", """{"n": 1}""");
        Assert.Equal("completed", await FinalStateAsync(id));
        var attempts = await AttemptsAsync(id);
        Assert.Equal([("retrying", (int?)503), ("retrying", 503), ("completed", 200)], attempts.Select(a => (a.State, a.Status)));
        var key = id.ToString(CultureInfo.InvariantCulture);
        Assert.Equal(["1", "2", "3"], api.Provider.To("/flaky/2").Where(r => r.IdempotencyKey == key).Select(r => r.Attempt));
        // The retry waited for its backoff: at least half of 200 ms after the first attempt (jitter takes up to half).
        var gap = await Scalar<double>($"""
            select (extract(epoch from b.started_at - a.finished_at) * 1000)::float8 from restgres.job_attempts a, restgres.job_attempts b
             where a.job_id = {id} and b.job_id = {id} and a.attempt = 1 and b.attempt = 2
            """);
        Assert.True(gap >= 100, $"second attempt started {gap} ms after the first ended");
    }

    [Fact]
    public async Task A_client_error_is_discarded_at_once_with_its_response_recorded()
    {
        await DefineAsync("http_bad", "http", "/bad");
        var id = await EnqueueAsync("http_bad", """{"n": 1}""");
        Assert.Equal("discarded", await FinalStateAsync(id));
        var attempt = Assert.Single(await AttemptsAsync(id));
        Assert.Equal(("discarded", 400), (attempt.State, attempt.Status));
        Assert.Contains("invalid prompt", attempt.Excerpt, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_job_that_keeps_failing_is_kept_as_discarded_after_its_last_attempt()
    {
        await DefineAsync("http_dead", "http", "/always503", """{"backoff_ms": 10}""");
        var id = await EnqueueAsync("http_dead", """{"n": 1}""", ", max_attempts => 3");
        Assert.Equal("discarded", await FinalStateAsync(id));
        Assert.Equal(["retrying", "retrying", "discarded"], (await AttemptsAsync(id)).Select(a => a.State));
        Assert.Equal("HTTP 503 Service Unavailable", await Scalar<string>($"select last_error from restgres.jobs where id = {id}"));
    }

    [Fact]
    public async Task A_provider_answering_html_hanging_or_closing_the_socket_ends_in_recorded_retried_attempts()
    {
        await DefineAsync("http_html", "http", "/html", """{"backoff_ms": 10, "max_attempts": 2}""");
        await DefineAsync("http_hang", "http", "/hang", """{"backoff_ms": 10, "max_attempts": 2, "timeout_ms": 300}""");
        await DefineAsync("http_close", "http", "/close", """{"backoff_ms": 10, "max_attempts": 2}""");
        var html = await EnqueueAsync("http_html", """{"n": 1}""");
        var hang = await EnqueueAsync("http_hang", """{"n": 1}""");
        var close = await EnqueueAsync("http_close", """{"n": 1}""");

        Assert.Equal("discarded", await FinalStateAsync(html));
        var htmlAttempts = await AttemptsAsync(html);
        Assert.Equal([("retrying", (int?)502), ("discarded", 502)], htmlAttempts.Select(a => (a.State, a.Status)));
        Assert.All(htmlAttempts, a => Assert.Contains("<h1>502 Bad Gateway</h1>", a.Excerpt, StringComparison.Ordinal));
        // Not JSON: the attempt function got the excerpt as a JSON string.
        Assert.Equal("string", await Scalar<string>(
            $"select jsonb_typeof(outcome->'body') from api.outcomes where (job->>'id')::bigint = {html} and outcome->>'state' = 'discarded'"));

        Assert.Equal("discarded", await FinalStateAsync(hang));
        var hangAttempts = await AttemptsAsync(hang);
        Assert.Equal(["retrying", "discarded"], hangAttempts.Select(a => a.State));
        Assert.All(hangAttempts, a => Assert.Equal(("timed out after 300 ms", (int?)null), (a.Error, a.Status)));

        Assert.Equal("discarded", await FinalStateAsync(close));
        var closeAttempts = await AttemptsAsync(close);
        Assert.Equal(["retrying", "discarded"], closeAttempts.Select(a => a.State));
        Assert.All(closeAttempts, a => Assert.StartsWith("connection error", a.Error, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_unique_key_admits_one_live_job_even_for_concurrent_enqueues_and_returns_its_id()
    {
        await DefineAsync("admin_q", "sql", "api.handle");
        // In an hour: the workers leave it alone.
        var first = await EnqueueAsync("admin_q", """{"n": 5001}""", ", run_at => now() + interval '1 hour', unique_key => 'gen-1'");
        Assert.Equal(first, await EnqueueAsync("admin_q", """{"n": 5002}""", ", unique_key => 'gen-1'"));

        // Two transactions enqueue the same new key: the second waits on the index and gets the first's id.
        await using var a = new NpgsqlConnection(api.Database.ConnectionString);
        await using var b = new NpgsqlConnection(api.Database.ConnectionString);
        await a.OpenAsync();
        await b.OpenAsync();
        await using var txA = await a.BeginTransactionAsync();
        await using var enqueueA = new NpgsqlCommand(
            "select restgres.enqueue('admin_q', '{\"n\": 5003}', now() + interval '1 hour', unique_key => 'gen-2')", a, txA);
        var idA = (long)(await enqueueA.ExecuteScalarAsync())!;
        await using var enqueueB = new NpgsqlCommand(
            "select restgres.enqueue('admin_q', '{\"n\": 5004}', now() + interval '1 hour', unique_key => 'gen-2')", b);
        var pending = enqueueB.ExecuteScalarAsync();
        await txA.CommitAsync();
        Assert.Equal(idA, (long)(await pending)!);
        Assert.Equal(1L, await Scalar<long>("select count(*) from restgres.jobs where unique_key = 'gen-2'"));

        // Once the job is no longer live the key is free again.
        await api.Database.ExecuteSqlAsync($"select restgres.job_cancel({first})");
        Assert.NotEqual(first, await EnqueueAsync("admin_q", """{"n": 5005}""", ", run_at => now() + interval '1 hour', unique_key => 'gen-1'"));
    }

    [Fact]
    public async Task An_unknown_queue_is_a_clear_error_in_sql_and_a_400_through_the_api()
    {
        var server = await WorkersAsync();
        var e = await Assert.ThrowsAsync<PostgresException>(() => EnqueueAsync("no_such_queue", "{}"));
        Assert.Equal(("22023", "unknown job queue \"no_such_queue\""), (e.SqlState, e.MessageText));
        var reply = await server.SendAsync(HttpMethod.Post, "/rpc/enqueue_to", """{"q": "no_such_queue"}""", ("Content-Type", "application/json"));
        Assert.Equal(400, reply.Status);
        Assert.Contains("unknown job queue", reply.Body, StringComparison.Ordinal);
        var handler = await Assert.ThrowsAsync<PostgresException>(() => api.Database.ScalarAsync("select restgres.define_queue('x', 'ftp', 'f')"));
        Assert.Contains("unknown handler \"ftp\"", handler.MessageText, StringComparison.Ordinal);
        var target = await Assert.ThrowsAsync<PostgresException>(() => api.Database.ScalarAsync("select restgres.define_queue('x', 'sql', 'api.no_such_function')"));
        Assert.Contains("no function api.no_such_function(jsonb)", target.MessageText, StringComparison.Ordinal);
        var option = await Assert.ThrowsAsync<PostgresException>(() => api.Database.ScalarAsync("select restgres.define_queue('x', 'sql', 'api.handle', '{\"concurency\": 2}')"));
        Assert.Contains("unknown option \"concurency\"", option.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_admin_server_lists_cancels_and_retries_jobs_and_reports_job_metrics()
    {
        var server = await WorkersAsync();
        await DefineAsync("admin_q", "sql", "api.handle");
        var id = await EnqueueAsync("admin_q", """{"n": 6001}""", ", run_at => now() + interval '1 hour'");
        using var admin = new HttpClient { BaseAddress = server.Server.AdminAddress };

        using (var list = JsonDocument.Parse(await admin.GetStringAsync(new Uri("/jobs?queue=admin_q&state=available", UriKind.Relative))))
        {
            var queue = Assert.Single(list.RootElement.GetProperty("queues").EnumerateArray());
            Assert.Equal("admin_q", queue.GetProperty("queue").GetString());
            Assert.Contains(list.RootElement.GetProperty("jobs").EnumerateArray(), j => j.GetProperty("id").GetInt64() == id);
        }
        using (var bad = await admin.GetAsync(new Uri("/jobs?state=lost", UriKind.Relative)))
            Assert.Equal(400, (int)bad.StatusCode);

        using (var cancel = await admin.PostAsync(new Uri($"/jobs/{id}/cancel", UriKind.Relative), null))
        {
            Assert.Equal(200, (int)cancel.StatusCode);
            using var job = JsonDocument.Parse(await cancel.Content.ReadAsStringAsync());
            Assert.Equal("cancelled", job.RootElement.GetProperty("state").GetString());
        }
        using (var again = await admin.PostAsync(new Uri($"/jobs/{id}/cancel", UriKind.Relative), null))
            Assert.Equal(409, (int)again.StatusCode);
        using (var missing = await admin.PostAsync(new Uri("/jobs/987654321/retry", UriKind.Relative), null))
            Assert.Equal(404, (int)missing.StatusCode);
        using (var get = await admin.GetAsync(new Uri($"/jobs/{id}/retry", UriKind.Relative)))
            Assert.Equal(405, (int)get.StatusCode);

        // Retried: available now, so the workers run it.
        using (var retry = await admin.PostAsync(new Uri($"/jobs/{id}/retry", UriKind.Relative), null))
            Assert.Equal(200, (int)retry.StatusCode);
        Assert.Equal("completed", await FinalStateAsync(id));
        using (var one = JsonDocument.Parse(await admin.GetStringAsync(new Uri($"/jobs/{id}", UriKind.Relative))))
            Assert.Equal("completed", Assert.Single(one.RootElement.GetProperty("attempt_log").EnumerateArray()).GetProperty("state").GetString());

        var metrics = await admin.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("restgres_job_attempts_total{queue=\"admin_q\",outcome=\"completed\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("restgres_job_run_seconds_bucket{queue=\"admin_q\",le=\"+Inf\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("restgres_jobs_available{queue=\"admin_q\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("restgres_jobs_oldest_available_age_seconds{queue=\"admin_q\"}", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_killed_worker_process_loses_its_lease_and_another_worker_finishes_the_job_with_the_same_key()
    {
        await DefineAsync(JobsApi.CrashQueue, "http", "/hold", """{"backoff_ms": 10}""");
        var env = new Dictionary<string, string>
        {
            ["PGRST_DB_URI"] = api.Database.Uri(JobsApi.Authenticator),
            ["PGRST_JOBS_QUEUES"] = JobsApi.CrashQueue,
            ["PGRST_JOBS_LEASE"] = "1000",
            ["PGRST_JOBS_POLL_INTERVAL"] = "100",
        };
        var id = await EnqueueAsync(JobsApi.CrashQueue, """{"n": 1}""");
        await using (var first = RestgresProcess.Start(["worker"], env))
        {
            // The provider holds the first request: the job is running in that worker when it is killed.
            await api.Provider.HoldArrived.Task.WaitAsync(Patience);
            Assert.Equal("running", await Scalar<string>($"select state from restgres.jobs where id = {id}"));
            System.Diagnostics.Process.GetProcessById(first.Id).Kill();
            Assert.NotNull(await first.WaitForExitAsync(Patience));
        }
        var adminPort = RestgresProcess.FreePort();
        await using var second = RestgresProcess.Start(["worker"],
            new Dictionary<string, string>(env) { ["PGRST_ADMIN_SERVER_PORT"] = adminPort.ToString(CultureInfo.InvariantCulture) });
        Assert.Equal("completed", await FinalStateAsync(id));
        var attempts = await AttemptsAsync(id);
        Assert.Equal(["retrying", "completed"], attempts.Select(a => a.State));
        Assert.StartsWith("lease expired", attempts[0].Error, StringComparison.Ordinal);
        // The worker process's own admin server: its metrics and the job endpoints.
        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}") };
        Assert.Contains($"restgres_job_attempts_total{{queue=\"{JobsApi.CrashQueue}\",outcome=\"completed\"}} 1",
            await admin.GetStringAsync(new Uri("/metrics", UriKind.Relative)), StringComparison.Ordinal);
        using (var job = JsonDocument.Parse(await admin.GetStringAsync(new Uri($"/jobs/{id}", UriKind.Relative))))
            Assert.Equal(2, job.RootElement.GetProperty("attempt_log").GetArrayLength());
        var key = id.ToString(CultureInfo.InvariantCulture);
        Assert.Equal(["1", "2"], api.Provider.To("/hold").Where(r => r.IdempotencyKey == key).Select(r => r.Attempt));
        Assert.Equal(["running", "retrying", "running", "completed"], await OutcomeStatesAsync(id));
    }

    [Fact]
    public async Task A_worker_killed_in_the_middle_of_an_sql_job_leaves_its_effects_exactly_once()
    {
        await DefineAsync(JobsApi.CrashSqlQueue, "sql", "api.held");
        var env = new Dictionary<string, string>
        {
            ["PGRST_DB_URI"] = api.Database.Uri(JobsApi.Authenticator),
            ["PGRST_JOBS_QUEUES"] = JobsApi.CrashSqlQueue,
            ["PGRST_JOBS_LEASE"] = "1000",
            ["PGRST_JOBS_POLL_INTERVAL"] = "100",
        };
        await using var holder = new NpgsqlConnection(api.Database.ConnectionString);
        await holder.OpenAsync();
        await using (var hold = new NpgsqlCommand($"select pg_advisory_lock({JobsApi.HeldLock})", holder))
            await hold.ExecuteNonQueryAsync();
        var id = await EnqueueAsync(JobsApi.CrashSqlQueue, """{"n": 7001}""");
        await using (var first = RestgresProcess.Start(["worker"], env))
        {
            // The handler waits for the lock: the job is inside its transaction when the worker is killed.
            var sw = Stopwatch.StartNew();
            while (await Scalar<long>($"select count(*) from pg_locks where locktype = 'advisory' and objid = {JobsApi.HeldLock} and not granted") == 0)
            {
                Assert.True(sw.Elapsed < Patience, "the handler never waited for the lock");
                await Task.Delay(50);
            }
            System.Diagnostics.Process.GetProcessById(first.Id).Kill();
            Assert.NotNull(await first.WaitForExitAsync(Patience));
        }
        await using var second = RestgresProcess.Start(["worker"], env);
        await using (var release = new NpgsqlCommand($"select pg_advisory_unlock({JobsApi.HeldLock})", holder))
            await release.ExecuteNonQueryAsync();
        Assert.Equal("completed", await FinalStateAsync(id));
        // Whichever transaction finished it (the dead worker's, already sent with its COMMIT, or the second's after
        // the first rolled back), the handler's effect and the completion committed together, once.
        Assert.Equal(1L, await Scalar<long>("select count(*) from api.effects where n = 7001"));
        Assert.Equal(1L, await Scalar<long>($"select count(*) from restgres.job_attempts where job_id = {id} and state = 'completed'"));
    }

    [Fact]
    public async Task The_database_going_away_mid_job_ends_in_a_recorded_attempt_and_the_job_still_completes_once()
    {
        await DefineAsync("http_gate", "http", "/gate", """{"backoff_ms": 10}""");
        var id = await EnqueueAsync("http_gate", """{"n": 1}""");
        await api.Provider.GateArrived.Task.WaitAsync(Patience);
        // Every connection of the worker role goes while the request is out (the workers' pool and listener).
        await api.Database.ScalarAsync(
            $"select count(pg_terminate_backend(pid)) from pg_stat_activity where usename = '{JobsApi.Authenticator}'");
        api.Provider.Gate.TrySetResult();
        Assert.Equal("completed", await FinalStateAsync(id));
        var attempts = await AttemptsAsync(id);
        Assert.Equal("completed", attempts[^1].State);
        Assert.Single(attempts, a => a.State == "completed");
        var key = id.ToString(CultureInfo.InvariantCulture);
        Assert.All(api.Provider.To("/gate"), r => Assert.Equal(key, r.IdempotencyKey));
    }
}
