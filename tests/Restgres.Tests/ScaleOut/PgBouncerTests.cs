using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Restgres.Config;
using Restgres.RateLimiting;
using Restgres.Response;
using Restgres.Tests.Admin;
using Restgres.Tests.Auth;
using Restgres.Tests.Http;
using Restgres.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Restgres.Tests.ScaleOut;

/// <summary>
/// One database behind PgBouncer in transaction mode (issue 17, docs/scale-out.md): servers whose db-uri is the
/// pooler, db-listener-uri PostgreSQL itself and db-prepared-statements off, with the response cache and shared rate
/// limits on, so that two of them on one database behave as one.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PgBouncerApi : ServersOnOneDatabase
{
    public const string Authenticator = "pgb_authenticator";
    public const string Anon = "pgb_anon";
    public const string Limited = "pgb_limited";
    public const string Channel = "pgb_channel";
    public const int Limit = 40;

    private PgBouncer? _bouncer;

    public PgBouncer Bouncer => _bouncer ?? throw new InvalidOperationException("no pgbouncer yet");

    protected override async Task<TestDatabase> CreateDatabaseAsync(PgClusterFixture pg)
    {
        ArgumentNullException.ThrowIfNull(pg);
        var db = await pg.CreateDatabaseAsync(PgClusterFixture.RolesSql(Authenticator, Anon) + PgClusterFixture.RolesSql(Authenticator, Limited) + $$"""
            create schema api;
            grant usage on schema api to {{Anon}}, {{Limited}};
            create table api.items (id int primary key, name text not null);
            insert into api.items values (1, 'one'), (2, 'two');
            grant select, insert, update, delete on api.items to {{Anon}};
            create table api.limited (id int primary key);
            insert into api.limited values (1);
            grant select on api.limited to {{Limited}};
            create function api.add(a int, b int) returns int language sql immutable as $$ select a + b $$;
            grant execute on function api.add(int, int) to {{Anon}};
            """ + RateLimitSchema.Sql + $"""

            grant usage on schema restgres to {Authenticator};
            grant execute on function restgres.rate_limit_lease(text, text, integer, bigint, integer) to {Authenticator};
            """);
        // After the roles exist: the pooler's auth file is the cluster's login roles when it starts.
        _bouncer = await PgBouncer.StartAsync(pg.Cluster);
        return db;
    }

    internal override AppConfig BaseConfig => new()
    {
        DbUri = Bouncer.Uri(Database.Name, Authenticator),
        DbListenerUri = Database.Uri(Authenticator),
        DbPreparedStatements = false,
        DbSchemas = ["api"],
        DbAnonRole = Anon,
        DbChannel = Channel,
        JwtSecret = Tokens.Secret,
        ServerResponseCache = PathTtlRules.Parse("server-response-cache", "items: 1m"),
        ServerRateLimits = RateLimitRules.Parse($"{Limited}={Limit}/h per role", "server-rate-limits", "test"),
        ServerRateLimitStore = RateLimitStore.Database,
    };

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_bouncer is not null) await _bouncer.DisposeAsync();
    }
}

/// <summary>Restgres through PgBouncer (pool_mode = transaction), over real HTTP against a real PostgreSQL.</summary>
[Collection("pg")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PgBouncerTests(PgClusterFixture pg, PgBouncerApi api, ITestOutputHelper output) : IClassFixture<PgBouncerApi>
{
    [Fact]
    public async Task Reads_writes_and_calls_pass_through_the_transaction_pooler_without_prepared_statements()
    {
        var s = await api.ServerAsync(pg, "default");
        // Each twice and more: a prepared statement would be created on one backend and not found on the next.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("""[{"id":1,"name":"one"}]""", (await s.GetAsync("/items?id=eq.1")).Body);
            Assert.Equal("5", (await s.GetAsync("/rpc/add?a=2&b=3")).Body);
        }
        var id = Random.Shared.Next(1000, 1_000_000);
        var created = await s.SendAsync(HttpMethod.Post, "/items", $$"""{"id":{{id}},"name":"pooled"}""",
            ("Content-Type", "application/json"), ("Prefer", "return=representation"));
        Assert.Equal(201, created.Status);
        Assert.Equal(204, (await s.SendAsync(HttpMethod.Delete, $"/items?id=eq.{id}")).Status);
    }

    [Fact]
    public async Task NOTIFY_reload_schema_reaches_the_listener_on_the_direct_connection()
    {
        var s = await api.ServerAsync(pg, "default");
        var table = "late_" + Guid.NewGuid().ToString("N")[..8];
        await api.Database.ExecuteSqlAsync($"create table api.{table} (id int); insert into api.{table} values (7); grant select on api.{table} to {PgBouncerApi.Anon}");
        // Not in the schema cache yet.
        Assert.Equal(404, (await s.GetAsync("/" + table)).Status);
        Assert.True(s.Server.State.ListenerOn);
        await api.Database.ExecuteSqlAsync($"notify {PgBouncerApi.Channel}, 'reload schema'");
        var after = await Reply.UntilAsync(() => s.GetAsync("/" + table), r => r.Status == 200);
        Assert.Equal("""[{"id":7}]""", after.Body);
    }

    [Fact]
    public async Task Two_instances_behind_PgBouncer_share_rate_limits_and_drop_each_others_cached_responses()
    {
        var a = await api.ServerAsync(pg, "a");
        var b = await api.ServerAsync(pg, "b");

        // The response cache: b's entry is dropped by a's write (pg_notify through the pooler, heard by b's listener
        // on the direct connection).
        const string url = "/items?select=name&order=id.desc&limit=1";
        await b.GetAsync(url);
        Assert.StartsWith("restgres; hit", (await b.GetAsync(url)).Header("Cache-Status"), StringComparison.Ordinal);
        var id = Random.Shared.Next(2_000_000, 3_000_000);
        Assert.Equal(201, (await a.SendAsync(HttpMethod.Post, "/items", $$"""{"id":{{id}},"name":"from a"}""", ("Content-Type", "application/json"))).Status);
        try
        {
            var fresh = await Reply.UntilAsync(() => b.GetAsync(url), r => r.Body.Contains("from a", StringComparison.Ordinal));
            Assert.Equal("""[{"name":"from a"}]""", fresh.Body);
        }
        finally
        {
            await a.SendAsync(HttpMethod.Delete, $"/items?id=eq.{id}");
        }

        // The rate limit: one quota for both, counted by the database (leases through the pooler). Hourly windows on
        // the database's clock: start well inside one.
        var left = Convert.ToInt64(await api.Database.ScalarAsync("select 3600 - (extract(epoch from clock_timestamp())::bigint % 3600)"), CultureInfo.InvariantCulture);
        if (left < 30) await Task.Delay(TimeSpan.FromSeconds(left + 1));
        var token = "Bearer " + Tokens.Hs($$"""{"role":"{{PgBouncerApi.Limited}}"}""");
        var allowed = new ConcurrentDictionary<string, int>();
        var limited = 0;
        async Task Hammer(TestServer s, string name)
        {
            for (var i = 0; i < 30; i++)
            {
                var r = await s.GetAsync("/limited", ("Authorization", token));
                if (r.Status == 200) allowed.AddOrUpdate(name, 1, (_, n) => n + 1);
                else if (r.Status == 429) Interlocked.Increment(ref limited);
                else throw new InvalidOperationException(r.ToString());
            }
        }
        await Task.WhenAll(Hammer(a, "a"), Hammer(b, "b"), Hammer(a, "a"), Hammer(b, "b"));
        var total = allowed.Values.Sum();
        output.WriteLine($"limit {PgBouncerApi.Limit}/h, 120 requests over two instances: allowed {total} (a {allowed.GetValueOrDefault("a")}, b {allowed.GetValueOrDefault("b")}), limited {limited}");
        Assert.Equal(120, total + limited);
        Assert.InRange(total, PgBouncerApi.Limit * 9 / 10, PgBouncerApi.Limit);
        Assert.True(allowed.GetValueOrDefault("a") > 0 && allowed.GetValueOrDefault("b") > 0);
    }

    [Fact]
    public async Task A_PgBouncer_restart_under_load_answers_503_with_Retry_After_and_the_server_recovers()
    {
        var s = await api.ServerAsync(pg, "restart");
        // Not a cached path: every request needs the database.
        const string url = "/rpc/add?a=1&b=2";
        Assert.Equal(200, (await s.GetAsync(url)).Status);
        var statuses = new ConcurrentQueue<(int Status, string? RetryAfter, string Body)>();
        using var stop = new CancellationTokenSource();
        var restarted = 0;
        var okAfterRestart = 0;
        async Task Load()
        {
            while (!stop.IsCancellationRequested)
            {
                var r = await s.GetAsync(url);
                statuses.Enqueue((r.Status, r.Header("Retry-After"), r.Body));
                if (r.Status == 200 && Volatile.Read(ref restarted) == 1) Interlocked.Increment(ref okAfterRestart);
            }
        }
        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(Load)).ToArray();
        api.Bouncer.Kill();
        // Down: requests fail over to 503 (bounded wait for the first one, not a timing assertion).
        await AdminKit.EventuallyAsync(() => Task.FromResult(statuses.Any(x => x.Status == 503)), TimeSpan.FromSeconds(30));
        var sw = Stopwatch.StartNew();
        await api.Bouncer.StartAsync();
        Volatile.Write(ref restarted, 1);
        // Back: every load loop sees 200 again.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (Volatile.Read(ref okAfterRestart) < 20 && DateTime.UtcNow < deadline) await Task.Delay(50);
        output.WriteLine($"200s again {sw.ElapsedMilliseconds} ms after pgbouncer was back");
        await stop.CancelAsync();
        await Task.WhenAll(load);
        Assert.True(okAfterRestart >= 20, $"only {okAfterRestart} 200s after the restart");
        var byStatus = statuses.GroupBy(x => x.Status).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine("statuses: " + string.Join(", ", byStatus.Select(kv => $"{kv.Key}: {kv.Value}")));
        // Never anything but a success or a 503 that says when to come back, in PostgREST's error shape.
        Assert.All(statuses, x => Assert.Contains(x.Status, new[] { 200, 503 }));
        Assert.All(statuses.Where(x => x.Status == 503), x =>
        {
            Assert.NotNull(x.RetryAfter);
            Assert.Contains("\"code\":\"PGRST", x.Body, StringComparison.Ordinal);
        });
        Assert.True(byStatus.GetValueOrDefault(503) > 0);
    }
}
