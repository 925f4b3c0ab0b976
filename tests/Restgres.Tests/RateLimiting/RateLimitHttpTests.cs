using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Restgres.Config;
using Restgres.RateLimiting;
using Restgres.Routing;
using Restgres.Tests.Http;
using Restgres.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Restgres.Tests.RateLimiting;

/// <summary>One database for the rate-limit tests: roles anon/analyst/admin, a table, a login function, and the shared
/// store's schema (installed as the superuser, granted to the authenticator, as docs/rate-limits.md says).</summary>
public sealed class RateLimitDb : IAsyncLifetime
{
    public const string Authenticator = "rl_authenticator";
    public const string Anon = "rl_anon";
    public const string Analyst = "rl_analyst";
    public const string Admin = "rl_admin";
    public const string Secret = "reallyreallyreallyreallyverysafe";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private TestDatabase? _db;

    public async Task<TestDatabase> GetAsync(PgClusterFixture pg)
    {
        await _gate.WaitAsync();
        try
        {
            return _db ??= await pg.CreateDatabaseAsync(
                PgClusterFixture.RolesSql(Authenticator, Anon) + PgClusterFixture.RolesSql(Authenticator, Analyst)
                + PgClusterFixture.RolesSql(Authenticator, Admin) + $$"""
                create schema api;
                grant usage on schema api to {{Anon}}, {{Analyst}}, {{Admin}};
                create table api.items (id int primary key, name text);
                insert into api.items values (1, 'one'), (2, 'two');
                grant select on api.items to {{Anon}}, {{Analyst}}, {{Admin}};
                create function api.login(email text, pass text) returns text language sql as $f$ select 'token' $f$;
                grant execute on function api.login(text, text) to {{Anon}};
                """ + RateLimitSchema.Sql + $"""

                grant usage on schema restgres to {Authenticator};
                grant execute on function restgres.rate_limit_lease(text, text, integer, bigint, integer) to {Authenticator};
                """);
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_db is not null) await _db.DropAsync();
    }
}

/// <summary>
/// Rate limits over real HTTP against PostgreSQL: per IP, per user (sub), unlimited roles, X-Forwarded-For from
/// trusted and untrusted peers, a route's override (and its FastAPI error shape), the RateLimit fields, the metrics,
/// and two instances sharing one limit through the database.
/// </summary>
[Collection("pg")]
public sealed class RateLimitHttpTests(PgClusterFixture pg, RateLimitDb rdb, ITestOutputHelper output) : IClassFixture<RateLimitDb>
{
    private async Task<AppConfig> ConfigAsync(string? rules, Func<AppConfig, AppConfig>? more = null)
    {
        var db = await rdb.GetAsync(pg);
        var config = new AppConfig
        {
            DbUri = db.Uri(RateLimitDb.Authenticator),
            DbSchemas = ["api"],
            DbAnonRole = RateLimitDb.Anon,
            DbChannelEnabled = false,
            JwtSecret = RateLimitDb.Secret,
            JwtSecretBytes = [.. Encoding.UTF8.GetBytes(RateLimitDb.Secret)],
            ServerRateLimits = rules is null ? null : RateLimitRules.Parse(rules, "server-rate-limits", "test"),
        };
        return more is null ? config : more(config);
    }

    private static string Token(string role, string sub) =>
        "Bearer " + Auth.Tokens.Hs($$"""{"role":"{{role}}","sub":"{{sub}}"}""", RateLimitDb.Secret);

    private static JsonElement Json(string body)
    {
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.Clone();
    }

    [Fact]
    public async Task Per_ip_the_limit_answers_429_with_the_code_retry_after_and_the_draft_headers()
    {
        await using var s = await TestServer.StartAsync(await ConfigAsync($"{RateLimitDb.Anon}=3/min per ip"));
        for (var i = 0; i < 3; i++)
        {
            var ok = await s.GetAsync("/items");
            Assert.Equal(200, ok.Status);
            // server-rate-limit-headers is off: allowed responses say nothing.
            Assert.Null(ok.Header("RateLimit"));
            Assert.Null(ok.Header("RateLimit-Policy"));
        }
        var limited = await s.GetAsync("/items");
        Assert.Equal(429, limited.Status);
        Assert.StartsWith("application/json", limited.Header("Content-Type"), StringComparison.Ordinal);
        var body = Json(limited.Body);
        Assert.Equal(["code", "details", "hint", "message"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("RGST429", body.GetProperty("code").GetString());
        Assert.StartsWith("Rate limit exceeded: 3 requests per minute.", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        var retry = int.Parse(limited.Header("Retry-After")!, CultureInfo.InvariantCulture);
        Assert.InRange(retry, 1, 20);
        Assert.Equal($"\"{RateLimitDb.Anon}\";q=3;w=60", limited.Header("RateLimit-Policy"));
        Assert.Equal($"\"{RateLimitDb.Anon}\";r=0;t={retry}", limited.Header("RateLimit"));

        // The metrics count by role and resource (the table, not the raw path).
        var metrics = s.Server.State.Observer.Metrics.Render(s.Server.State);
        Assert.Contains($"restgres_rate_limit_requests_total{{role=\"{RateLimitDb.Anon}\",route=\"items\",outcome=\"allowed\"}} 3", metrics, StringComparison.Ordinal);
        Assert.Contains($"restgres_rate_limit_requests_total{{role=\"{RateLimitDb.Anon}\",route=\"items\",outcome=\"limited\"}} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("restgres_rate_limit_keys 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_the_headers_option_allowed_responses_carry_RateLimit()
    {
        await using var s = await TestServer.StartAsync(await ConfigAsync($"{RateLimitDb.Anon}=3/min per ip", c => c with { ServerRateLimitHeaders = true }));
        var first = await s.GetAsync("/items?id=eq.1");
        Assert.Equal(200, first.Status);
        Assert.Equal($"\"{RateLimitDb.Anon}\";q=3;w=60", first.Header("RateLimit-Policy"));
        // t: seconds until the bucket is full again (one interval of 20 s per request spent, rounded up).
        Assert.Equal($"\"{RateLimitDb.Anon}\";r=2;t=20", first.Header("RateLimit"));
        var second = await s.GetAsync("/items?id=eq.404");
        Assert.Matches($"^\"{RateLimitDb.Anon}\";r=1;t=(39|40)$", second.Header("RateLimit"));
    }

    [Fact]
    public async Task With_no_rule_nothing_changes()
    {
        await using var s = await TestServer.StartAsync(await ConfigAsync(null, c => c with { ServerRateLimitHeaders = true }));
        for (var i = 0; i < 20; i++)
        {
            var r = await s.GetAsync("/items");
            Assert.Equal(200, r.Status);
            Assert.Null(r.Header("RateLimit"));
        }
        Assert.Equal(0, s.Server.State.RateLimiter.Local.Count);
    }

    [Fact]
    public async Task Per_sub_two_users_have_their_own_buckets_and_admin_is_unlimited()
    {
        await using var s = await TestServer.StartAsync(await ConfigAsync(
            $"{RateLimitDb.Analyst}=2/min per sub, {RateLimitDb.Admin}=unlimited, *=1/min per ip"));
        var alice = Token(RateLimitDb.Analyst, "alice");
        var bob = Token(RateLimitDb.Analyst, "bob");
        Assert.Equal(200, (await s.GetAsync("/items", ("Authorization", alice))).Status);
        Assert.Equal(200, (await s.GetAsync("/items", ("Authorization", alice))).Status);
        Assert.Equal(429, (await s.GetAsync("/items", ("Authorization", alice))).Status);
        // Same address, another user: not limited by alice's requests.
        Assert.Equal(200, (await s.GetAsync("/items", ("Authorization", bob))).Status);
        Assert.Equal(200, (await s.GetAsync("/items", ("Authorization", bob))).Status);
        Assert.Equal(429, (await s.GetAsync("/items", ("Authorization", bob))).Status);
        // Another token for alice (another claim set) is still alice.
        var alice2 = "Bearer " + Auth.Tokens.Hs($$"""{"role":"{{RateLimitDb.Analyst}}","sub":"alice","x":1}""", RateLimitDb.Secret);
        Assert.Equal(429, (await s.GetAsync("/items", ("Authorization", alice2))).Status);

        var admin = Token(RateLimitDb.Admin, "root");
        for (var i = 0; i < 30; i++) Assert.Equal(200, (await s.GetAsync("/items", ("Authorization", admin))).Status);

        // Any other role (anon here) falls to '*'.
        Assert.Equal(200, (await s.GetAsync("/items")).Status);
        var anon = await s.GetAsync("/items");
        Assert.Equal(429, anon.Status);
        Assert.Equal("\"default\";q=1;w=60", anon.Header("RateLimit-Policy"));
        var metrics = s.Server.State.RateLimiter.Metrics;
        Assert.Equal((4, 3), (metrics.Get(RateLimitDb.Analyst, "items", true), metrics.Get(RateLimitDb.Analyst, "items", false)));
        Assert.Equal(0, metrics.Get(RateLimitDb.Admin, "items", true));
    }

    [Fact]
    public async Task Per_claim_users_of_one_organisation_share_a_bucket_and_a_request_without_it_is_keyed_by_address()
    {
        await using var s = await TestServer.StartAsync(await ConfigAsync($"{RateLimitDb.Analyst}=2/min per claim:$.org.id"));
        static string Member(string sub, string org) =>
            "Bearer " + Auth.Tokens.Hs($$$"""{"role":"{{{RateLimitDb.Analyst}}}","sub":"{{{sub}}}","org":{"id":"{{{org}}}"}}""", RateLimitDb.Secret);
        Assert.Equal(200, (await s.GetAsync("/items", ("Authorization", Member("ann", "acme")))).Status);
        Assert.Equal(200, (await s.GetAsync("/items", ("Authorization", Member("ben", "acme")))).Status);
        Assert.Equal(429, (await s.GetAsync("/items", ("Authorization", Member("cat", "acme")))).Status);
        Assert.Equal(200, (await s.GetAsync("/items", ("Authorization", Member("ann", "globex")))).Status);
        // No org claim: the client address is the key, a bucket apart from every organisation's.
        var noOrg = "Bearer " + Auth.Tokens.Hs($$"""{"role":"{{RateLimitDb.Analyst}}","sub":"dan"}""", RateLimitDb.Secret);
        Assert.Equal(200, (await s.GetAsync("/items", ("Authorization", noOrg))).Status);
        Assert.Equal(200, (await s.GetAsync("/items", ("Authorization", noOrg))).Status);
        Assert.Equal(429, (await s.GetAsync("/items", ("Authorization", noOrg))).Status);
    }

    [Fact]
    public async Task Forwarded_for_is_ignored_from_an_untrusted_peer_and_honoured_from_a_trusted_one()
    {
        var rules = $"{RateLimitDb.Anon}=1/min per ip";
        await using (var untrusted = await TestServer.StartAsync(await ConfigAsync(rules)))
        {
            Assert.Equal(200, (await untrusted.GetAsync("/items", ("X-Forwarded-For", "198.51.100.1"))).Status);
            // A new forged address does not buy a new bucket: the peer (127.0.0.1) is the key.
            Assert.Equal(429, (await untrusted.GetAsync("/items", ("X-Forwarded-For", "198.51.100.2"))).Status);
        }
        await using var trusted = await TestServer.StartAsync(await ConfigAsync(rules,
            c => c with { ServerTrustedProxies = TrustedProxies.Parse("server-trusted-proxies", "127.0.0.0/8") }));
        Assert.Equal(200, (await trusted.GetAsync("/items", ("X-Forwarded-For", "198.51.100.1"))).Status);
        Assert.Equal(429, (await trusted.GetAsync("/items", ("X-Forwarded-For", "198.51.100.1"))).Status);
        Assert.Equal(200, (await trusted.GetAsync("/items", ("X-Forwarded-For", "198.51.100.2"))).Status);
        // The client's own leftmost entry does not matter: the proxy's appended one does.
        Assert.Equal(429, (await trusted.GetAsync("/items", ("X-Forwarded-For", "203.0.113.7, 198.51.100.2"))).Status);
    }

    private const string Routes = """
        POST /api/v1/auth/login
          to /rpc/login
          rate-limit 2/min per ip
          errors fastapi

        GET /api/v1/items
          to /items?select=id
          rate-limit rl_admin=1/min per role
        """;

    [Fact]
    public async Task A_route_overrides_the_role_rules_and_keeps_its_error_shape()
    {
        var routes = RouteFile.Parse("routes.conf", Routes);
        await using var s = await TestServer.StartAsync(await ConfigAsync($"{RateLimitDb.Anon}=100/min per ip", c => c with { ServerRoutes = routes }));
        const string body = """{"email":"a@b.c","pass":"x"}""";
        Assert.Equal(200, (await s.SendAsync(HttpMethod.Post, "/api/v1/auth/login", body, ("Content-Type", "application/json"))).Status);
        Assert.Equal(200, (await s.SendAsync(HttpMethod.Post, "/api/v1/auth/login", body, ("Content-Type", "application/json"))).Status);
        var limited = await s.SendAsync(HttpMethod.Post, "/api/v1/auth/login", body, ("Content-Type", "application/json"));
        Assert.Equal(429, limited.Status);
        Assert.Equal(["detail"], Json(limited.Body).EnumerateObject().Select(p => p.Name));
        Assert.StartsWith("Rate limit exceeded: 2 requests per minute.", Json(limited.Body).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.NotNull(limited.Header("Retry-After"));
        Assert.Equal("\"/api/v1/auth/login\";q=2;w=60", limited.Header("RateLimit-Policy"));
        // The rest of the API keeps the role's 100/min.
        Assert.Equal(200, (await s.GetAsync("/items")).Status);
        // A route rule naming one role: others keep the server's rules; that role gets the route's.
        var admin = Token(RateLimitDb.Admin, "root");
        Assert.Equal(200, (await s.GetAsync("/api/v1/items", ("Authorization", admin))).Status);
        Assert.Equal(429, (await s.GetAsync("/api/v1/items", ("Authorization", admin))).Status);
        Assert.Equal(200, (await s.GetAsync("/api/v1/items")).Status);
        Assert.Equal(200, (await s.GetAsync("/api/v1/items")).Status);
        // Metrics are labelled by the route template.
        var metrics = s.Server.State.RateLimiter.Metrics;
        Assert.Equal((2, 1), (metrics.Get(RateLimitDb.Anon, "/api/v1/auth/login", true), metrics.Get(RateLimitDb.Anon, "/api/v1/auth/login", false)));
    }

    [Fact]
    public async Task Two_instances_share_one_limit_through_the_database()
    {
        const int limit = 200;
        var db = await rdb.GetAsync(pg);
        // Fixed windows of an hour on the database's clock: start well inside one.
        var left = Convert.ToInt64(await db.ScalarAsync("select 3600 - (extract(epoch from clock_timestamp())::bigint % 3600)"), CultureInfo.InvariantCulture);
        if (left < 40) await Task.Delay(TimeSpan.FromSeconds(left + 1));
        // A per-test policy name keeps reruns apart in the table.
        var role = RateLimitDb.Anon;
        Func<AppConfig, AppConfig> shared = c => c with { ServerRateLimitStore = RateLimitStore.Database };
        var rules = $"{role}=200/h per role";
        await db.ExecuteSqlAsync("truncate restgres.rate_limit_leases");
        await using var a = await TestServer.StartAsync(await ConfigAsync(rules, shared));
        await using var b = await TestServer.StartAsync(await ConfigAsync(rules, shared));
        var allowed = 0;
        var limited = 0;
        var sw = Stopwatch.StartNew();
        async Task Hammer(TestServer s)
        {
            for (var i = 0; i < 150; i++)
            {
                var r = await s.GetAsync("/items?id=eq.1");
                if (r.Status == 200) Interlocked.Increment(ref allowed);
                else if (r.Status == 429) Interlocked.Increment(ref limited);
                else throw new InvalidOperationException(r.ToString());
            }
        }
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Hammer(i % 2 == 0 ? a : b)));
        var leases = a.Server.State.RateLimiter.Shared.Leases + b.Server.State.RateLimiter.Shared.Leases;
        var used = Convert.ToInt64(await db.ScalarAsync("select coalesce(sum(used), 0) from restgres.rate_limit_leases"), CultureInfo.InvariantCulture);
        output.WriteLine($"two instances, limit {limit}/h, 1200 requests in {sw.ElapsedMilliseconds} ms: allowed {allowed} "
            + $"(a {a.Server.State.RateLimiter.Metrics.Get(role, "items", true)}, b {b.Server.State.RateLimiter.Metrics.Get(role, "items", true)}), "
            + $"limited {limited}, database leases {leases}, tokens granted {used}");
        Assert.Equal(1200, allowed + limited);
        Assert.InRange(allowed, limit * 9 / 10, limit);
        Assert.True(a.Server.State.RateLimiter.Metrics.Get(role, "items", true) > 0);
        Assert.True(b.Server.State.RateLimiter.Metrics.Get(role, "items", true) > 0);
        // Amortised: far fewer round trips than requests (batches of a twentieth of the limit).
        Assert.True(leases <= 60, $"{leases} leases");
    }

    [Fact]
    public async Task Without_the_database_function_the_shared_store_falls_back_to_local_limits()
    {
        var log = new List<string>();
        var config = await ConfigAsync($"{RateLimitDb.Anon}=2/min per ip", c => c with
        {
            ServerRateLimitStore = RateLimitStore.Database,
        });
        var db = await rdb.GetAsync(pg);
        await db.ExecuteSqlAsync($"revoke execute on function restgres.rate_limit_lease(text, text, integer, bigint, integer) from {RateLimitDb.Authenticator}");
        try
        {
            await using var s = await TestServer.StartAsync(config, l => { lock (log) log.Add(l); });
            Assert.Equal(200, (await s.GetAsync("/items")).Status);
            Assert.Equal(200, (await s.GetAsync("/items")).Status);
            Assert.Equal(429, (await s.GetAsync("/items")).Status);
            lock (log) Assert.Contains(log, l => l.Contains("cannot lease from the database", StringComparison.Ordinal));
        }
        finally
        {
            await db.ExecuteSqlAsync($"grant execute on function restgres.rate_limit_lease(text, text, integer, bigint, integer) to {RateLimitDb.Authenticator}");
        }
    }
}
