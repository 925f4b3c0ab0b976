using System.Net;
using Restgres.App;
using Restgres.Catalog;
using Restgres.Config;
using Restgres.Http;
using Restgres.Response;
using Restgres.Tests.Auth;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Http;

/// <summary>The pure parts of server-response-cache: its rules, the client's directives, the byte budget's LRU.</summary>
public sealed class ResponseCacheUnitTests
{
    [Fact]
    public void Rules_name_paths_like_server_cache_control_with_a_time_to_live()
    {
        var rules = PathTtlRules.Parse("server-response-cache", "variant_overview: 30s; /rpc/statistics: 5m; fast: 250ms; x: 2; *: 1h")!;
        Assert.Equal(TimeSpan.FromSeconds(30), rules.For("variant_overview"));
        Assert.Equal(TimeSpan.FromMinutes(5), rules.For("rpc/statistics"));
        Assert.Equal(TimeSpan.FromMilliseconds(250), rules.For("fast"));
        Assert.Equal(TimeSpan.FromSeconds(2), rules.For("x"));
        Assert.Equal(TimeSpan.FromHours(1), rules.For("other"));
        Assert.Null(PathTtlRules.Parse("server-response-cache", "a: 1d")!.For("b"));
        Assert.Equal("variant_overview: 30s; rpc/statistics: 5m; fast: 250ms; x: 2; *: 1h", rules.ToString());
    }

    [Theory]
    [InlineData(null, true, true)]
    [InlineData("no-cache", false, true)]
    [InlineData("max-age=0", false, true)]
    [InlineData("No-Store", false, false)]
    [InlineData("max-age=60, no-transform", true, true)]
    public void The_clients_cache_control_decides_use_and_store(string? header, bool use, bool store) =>
        Assert.Equal((use, store), ResponseCache.ClientDirectives(header is null ? default : new Microsoft.Extensions.Primitives.StringValues(header)));

    [Fact]
    public void Over_the_byte_budget_the_least_recently_used_entry_goes_first()
    {
        // Each entry: 256 overhead + 2 × 3-character key + 1000-byte body = 1262 bytes; the budget holds five, and an
        // eviction round goes down to 90 % of it (6702 bytes): one entry.
        var config = new AppConfig { ServerResponseCacheSize = 1262 * 5 + 1136 };
        var metrics = new Restgres.Observability.ResponseCacheMetrics();
        var cache = new ResponseCache(SchemaCache.Empty, config, TimeProvider.System, metrics);
        var deps = cache.Capture(new InfoPlan(""));
        PgrstResponse Body() => new() { Status = 200, Body = new byte[1000] };
        foreach (var k in new[] { "k:a", "k:b", "k:c", "k:d", "k:e" })
            Assert.True(cache.Store(k, Body(), TimeSpan.FromMinutes(1), deps));
        Assert.Equal(5, cache.Count);
        Assert.NotNull(cache.TryGet("k:a"));
        Assert.True(cache.Store("k:f", Body(), TimeSpan.FromMinutes(1), deps));
        Assert.Null(cache.TryGet("k:b"));
        foreach (var k in new[] { "k:a", "k:c", "k:d", "k:e", "k:f" })
            Assert.NotNull(cache.TryGet(k));
        Assert.Equal(1, metrics.Evictions);
        Assert.Equal(5 * 1262, cache.Bytes);
        // An entry over a quarter of the budget is not stored.
        Assert.False(cache.Store("k:g", new PgrstResponse { Status = 200, Body = new byte[2000] }, TimeSpan.FromMinutes(1), deps));
    }

    [Fact]
    public void Notify_payloads_name_relations_one_per_line()
    {
        Assert.Null(ResponseCache.ParseNotify("reload schema"));
        var rels = ResponseCache.ParseNotify(ResponseCache.NotifyPayload([new("api", "items"), new("private", "base")]))!;
        Assert.Equal([new QualifiedIdentifier("api", "items"), new QualifiedIdentifier("private", "base")], rels);
        Assert.Equal([new QualifiedIdentifier("", "stats")], ResponseCache.ParseNotify("restgres-cache-invalidate stats")!);
    }
}

/// <summary>A clock the tests move by hand.</summary>
internal sealed class ManualClock : TimeProvider
{
    private long _ticks = 1_000_000_000;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>One database for the response cache tests and the servers started on it (one per configuration name).</summary>
public sealed class ResponseCacheApi : ServersOnOneDatabase
{
    public const string Authenticator = "rc_authenticator";
    public const string Anon = "rc_anon";
    public const string User = "rc_user";

    private static readonly string Sql = PgClusterFixture.RolesSql(Authenticator, Anon) + PgClusterFixture.RolesSql(Authenticator, User) + $$"""
        create schema api;
        grant usage on schema api to {{Anon}}, {{User}};
        create schema private;
        create table private.items (id int primary key, name text not null);
        insert into private.items values (1, 'one'), (2, 'two');
        create table api.items (id int primary key, name text not null);
        insert into api.items values (1, 'one'), (2, 'two');
        grant select, insert, update, delete on api.items to {{Anon}}, {{User}};
        -- a view, a view over it, and a view over a table of a schema that is not exposed
        create view api.item_names as select id, upper(name) as name from api.items;
        create view api.item_count as select count(*) as n from api.item_names;
        create view api.hidden_names as select id, name from private.items;
        create materialized view api.item_stats as select count(*) as n from api.items;
        grant select on api.item_names, api.item_count, api.hidden_names, api.item_stats to {{Anon}}, {{User}};
        -- RLS on the JWT's sub
        create table api.notes (id int primary key, owner text not null, body text not null);
        insert into api.notes values (1, 'alice', 'alice note'), (2, 'bob', 'bob note');
        alter table api.notes enable row level security;
        create policy own on api.notes using (owner = current_setting('request.jwt.claims', true)::json->>'sub');
        grant select on api.notes to {{User}};
        create function api.tick() returns text language sql stable as $$ select clock_timestamp()::text $$;
        create function api.with_cookie() returns int language plpgsql as $f$
          begin perform set_config('response.headers', '[{"Set-Cookie": "a=b"}]', true); return 1; end $f$;
        create function api.no_store() returns int language plpgsql as $f$
          begin perform set_config('response.headers', '[{"Cache-Control": "no-store"}]', true); return 1; end $f$;
        create function api.accepted() returns int language plpgsql as $f$
          begin perform set_config('response.status', '202', true); return 1; end $f$;
        grant execute on all functions in schema api to {{Anon}}, {{User}};
        """;


    internal override AppConfig BaseConfig => new()
    {
        DbUri = Database.Uri(Authenticator),
        DbSchemas = ["api"],
        DbAnonRole = Anon,
        DbChannelEnabled = false,
        JwtSecret = Tokens.Secret,
        ServerResponseCache = PathTtlRules.Parse("server-response-cache",
            "items: 1m; item_names: 1m; item_count: 1m; hidden_names: 1m; item_stats: 1m; notes: 1m; rpc/tick: 1m; "
            + "rpc/with_cookie: 1m; rpc/no_store: 1m; rpc/accepted: 1m"),
    };

    protected override Task<string> SqlAsync() => Task.FromResult(Sql);
}

/// <summary>server-response-cache over real HTTP against a real PostgreSQL.</summary>
[Collection("pg")]
public sealed class ResponseCacheTests(PgClusterFixture pg, ResponseCacheApi api) : IClassFixture<ResponseCacheApi>
{
    private const string Hit = "restgres; hit";
    private const string MissStored = "restgres; fwd=miss; stored";

    private static string User(string sub) => "Bearer " + Tokens.Hs($$"""{"role":"{{ResponseCacheApi.User}}","sub":"{{sub}}"}""");

    /// <summary>A URL no other test uses (entries are per URL), so tests stay independent on a shared server.</summary>
    private static string Unique(string path) => path + (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "id=gt." + -Random.Shared.Next(1000, 1_000_000);

    private static void AssertHit(Reply r) => Assert.True(r.Header("Cache-Status")?.StartsWith(Hit, StringComparison.Ordinal) == true, r.ToString());

    [Fact]
    public async Task A_miss_is_stored_and_the_repeat_is_a_hit_from_memory_with_Age_and_Cache_Status()
    {
        var s = await api.ServerAsync(pg, "default");
        var url = Unique("/items?select=id,name&order=id");
        var miss = await s.GetAsync(url);
        Assert.Equal(200, miss.Status);
        Assert.Equal(MissStored, miss.Header("Cache-Status"));
        Assert.Null(miss.Header("Age"));
        // Changed behind Restgres's back (no write through it, no NOTIFY): the hit still has the stored body.
        await api.Database.ExecuteSqlAsync("update api.items set name = 'changed' where id = 1");
        try
        {
            var hit = await s.GetAsync(url);
            AssertHit(hit);
            Assert.Matches(@"^restgres; hit; ttl=\d+$", hit.Header("Cache-Status"));
            Assert.Equal("0", hit.Header("Age"));
            Assert.Equal(miss.Body, hit.Body);
            Assert.Equal(miss.Header("Content-Range"), hit.Header("Content-Range"));
            Assert.Equal(miss.Header("Content-Type"), hit.Header("Content-Type"));
            Assert.Equal(miss.Header("Content-Location"), hit.Header("Content-Location"));
            var metrics = s.Server.State.Observer.Metrics.Render(s.Server.State);
            Assert.Matches(@"restgres_response_cache_requests_total\{result=""hit""\} [1-9]", metrics);
            Assert.Matches(@"restgres_response_cache_requests_total\{result=""miss""\} [1-9]", metrics);
            Assert.Matches(@"restgres_response_cache_bytes [1-9]", metrics);
        }
        finally
        {
            await api.Database.ExecuteSqlAsync("update api.items set name = 'one' where id = 1");
        }
    }

    [Fact]
    public async Task An_entry_expires_after_its_time_to_live_and_Age_counts_up()
    {
        var clock = new ManualClock();
        var s = await api.ServerAsync(pg, "clock");
        s.Server.State.Time = clock;
        const string url = "/rpc/tick";
        var miss = await s.GetAsync(url);
        Assert.Equal(MissStored, miss.Header("Cache-Status"));
        clock.Advance(TimeSpan.FromSeconds(42));
        var hit = await s.GetAsync(url);
        AssertHit(hit);
        Assert.Equal("42", hit.Header("Age"));
        Assert.Equal("restgres; hit; ttl=18", hit.Header("Cache-Status"));
        Assert.Equal(miss.Body, hit.Body);
        clock.Advance(TimeSpan.FromSeconds(18));
        var expired = await s.GetAsync(url);
        Assert.Equal(MissStored, expired.Header("Cache-Status"));
        Assert.NotEqual(miss.Body, expired.Body);
    }

    [Fact]
    public async Task A_client_no_cache_bypasses_the_stored_response_and_refreshes_it()
    {
        var s = await api.ServerAsync(pg, "default");
        var first = await s.GetAsync("/rpc/tick");
        var again = await s.GetAsync("/rpc/tick");
        AssertHit(again);
        var fresh = await s.GetAsync("/rpc/tick", ("Cache-Control", "no-cache"));
        Assert.Equal("restgres; fwd=request; stored", fresh.Header("Cache-Status"));
        Assert.NotEqual(first.Body, fresh.Body);
        var after = await s.GetAsync("/rpc/tick");
        AssertHit(after);
        Assert.Equal(fresh.Body, after.Body);
        // no-store: neither used nor stored.
        var noStore = await s.GetAsync("/rpc/tick", ("Cache-Control", "no-store"));
        Assert.Equal("restgres; fwd=request", noStore.Header("Cache-Status"));
        Assert.Equal(fresh.Body, (await s.GetAsync("/rpc/tick")).Body);
    }

    [Fact]
    public async Task Two_users_with_different_claims_never_share_an_entry_and_RLS_holds_through_the_cache()
    {
        var s = await api.ServerAsync(pg, "default");
        const string url = "/notes?select=owner,body";
        foreach (var round in new[] { "miss", "hit" })
        {
            var alice = await s.GetAsync(url, ("Authorization", User("alice")));
            var bob = await s.GetAsync(url, ("Authorization", User("bob")));
            Assert.Equal("""[{"owner":"alice","body":"alice note"}]""", alice.Body);
            Assert.Equal("""[{"owner":"bob","body":"bob note"}]""", bob.Body);
            if (round == "hit")
            {
                AssertHit(alice);
                AssertHit(bob);
            }
        }
        // Same role, same sub, one more claim: another entry.
        var other = await s.GetAsync(url, ("Authorization", "Bearer " + Tokens.Hs($$"""{"role":"{{ResponseCacheApi.User}}","sub":"alice","x":1}""")));
        Assert.Equal(MissStored, other.Header("Cache-Status"));
        // Anonymous: no rows (no grant at all: 401), never alice's.
        Assert.NotEqual(200, (await s.GetAsync(url)).Status);
    }

    [Theory]
    [InlineData("Accept", "text/csv")]
    [InlineData("Prefer", "count=exact")]
    [InlineData("Range", "0-0")]
    [InlineData("Accept-Profile", "api")]
    public async Task Accept_Prefer_Range_and_profile_variants_are_separate_entries(string header, string value)
    {
        var s = await api.ServerAsync(pg, "default");
        var url = Unique("/items?select=id&order=id");
        await s.GetAsync(url);
        AssertHit(await s.GetAsync(url));
        var variant = await s.GetAsync(url, (header, value));
        Assert.StartsWith("restgres; fwd=miss", variant.Header("Cache-Status"), StringComparison.Ordinal);
        var again = await s.GetAsync(url, (header, value));
        if (variant.Status == 200) AssertHit(again);
        Assert.Equal(variant.Body, again.Body);
        Assert.Equal(variant.Header("Content-Type"), again.Header("Content-Type"));
    }

    [Theory]
    [InlineData("/item_names?select=id,name&order=id")]
    [InlineData("/item_count")]
    [InlineData("/items?select=id,name&order=id")]
    public async Task A_write_through_Restgres_to_a_table_a_cached_view_reads_drops_its_entries_at_once(string url)
    {
        var s = await api.ServerAsync(pg, "writes");
        var before = await s.GetAsync(url);
        AssertHit(await s.GetAsync(url));
        var id = Random.Shared.Next(1000, 1_000_000);
        var post = await s.SendAsync(HttpMethod.Post, "/items", $$"""{"id":{{id}},"name":"new"}""", ("Content-Type", "application/json"));
        Assert.Equal(201, post.Status);
        try
        {
            var after = await s.GetAsync(url);
            Assert.Equal(MissStored, after.Header("Cache-Status"));
            Assert.NotEqual(before.Body, after.Body);
            AssertHit(await s.GetAsync(url));
        }
        finally
        {
            Assert.Equal(204, (await s.SendAsync(HttpMethod.Delete, $"/items?id=eq.{id}")).Status);
        }
        // The DELETE dropped the entry too.
        Assert.Equal(before.Body, (await s.GetAsync(url)).Body);
    }

    [Fact]
    public async Task A_write_to_another_table_keeps_the_entry()
    {
        var s = await api.ServerAsync(pg, "writes");
        const string url = "/hidden_names?order=id";
        await s.GetAsync(url);
        var id = Random.Shared.Next(1000, 1_000_000);
        await s.SendAsync(HttpMethod.Post, "/items", $$"""{"id":{{id}},"name":"x"}""", ("Content-Type", "application/json"));
        await s.SendAsync(HttpMethod.Delete, $"/items?id=eq.{id}");
        AssertHit(await s.GetAsync(url));
    }

    [Fact]
    public async Task A_NOTIFY_from_the_database_drops_entries_by_relation_name()
    {
        var s = await api.ServerAsync(pg, "listening", c => c with { DbChannelEnabled = true, DbChannel = "rc_notify" });
        await Reply.UntilAsync(() => s.GetAsync("/item_stats"), r => r.Status == 200);
        const string url = "/item_stats";
        await s.GetAsync(url);
        var cached = await s.GetAsync(url);
        AssertHit(cached);
        await api.Database.ExecuteSqlAsync("insert into api.items values (999999, 'mv'); refresh materialized view api.item_stats;");
        try
        {
            // Refreshed but not announced: still the cached body.
            Assert.Equal(cached.Body, (await s.GetAsync(url)).Body);
            await api.Database.ExecuteSqlAsync("notify rc_notify, 'restgres-cache-invalidate api.item_stats'");
            var fresh = await Reply.UntilAsync(() => s.GetAsync(url), r => r.Header("Cache-Status")?.StartsWith("restgres; fwd=miss", StringComparison.Ordinal) == true);
            Assert.StartsWith("restgres; fwd=miss", fresh.Header("Cache-Status"), StringComparison.Ordinal);
            Assert.NotEqual(cached.Body, fresh.Body);
        }
        finally
        {
            await api.Database.ExecuteSqlAsync("delete from api.items where id = 999999; refresh materialized view api.item_stats;");
            await api.Database.ExecuteSqlAsync("notify rc_notify, 'restgres-cache-invalidate item_stats'");
        }
    }

    [Fact]
    public async Task A_NOTIFY_naming_a_function_drops_its_cached_answers()
    {
        // What a function reads is unknown: its entries live by their TTL unless the database names the function.
        var s = await api.ServerAsync(pg, "listening", c => c with { DbChannelEnabled = true, DbChannel = "rc_notify" });
        const string url = "/rpc/tick";
        await Reply.UntilAsync(() => s.GetAsync(url), r => r.Status == 200);
        var cached = await s.GetAsync(url);
        AssertHit(cached);
        AssertHit(await Reply.UntilAsync(() => s.GetAsync("/items?select=id&limit=1"), r => r.Header("Cache-Status")?.Contains("; hit", StringComparison.Ordinal) == true));
        await api.Database.ExecuteSqlAsync("notify rc_notify, 'restgres-cache-invalidate api.items'");
        // Once the table's entry is dropped (the notification has arrived), the function's is still there...
        var dropped = await Reply.UntilAsync(() => s.GetAsync("/items?select=id&limit=1"), r => r.Header("Cache-Status")?.StartsWith("restgres; fwd=miss", StringComparison.Ordinal) == true);
        Assert.StartsWith("restgres; fwd=miss", dropped.Header("Cache-Status"), StringComparison.Ordinal);
        AssertHit(await s.GetAsync(url));
        // ...its own name does.
        await api.Database.ExecuteSqlAsync("notify rc_notify, 'restgres-cache-invalidate api.tick'");
        var fresh = await Reply.UntilAsync(() => s.GetAsync(url), r => r.Header("Cache-Status")?.StartsWith("restgres; fwd=miss", StringComparison.Ordinal) == true);
        Assert.StartsWith("restgres; fwd=miss", fresh.Header("Cache-Status"), StringComparison.Ordinal);
        Assert.NotEqual(cached.Body, fresh.Body);
    }

    [Fact]
    public async Task A_NOTIFY_naming_a_table_of_a_schema_that_is_not_exposed_drops_the_views_over_it()
    {
        var s = await api.ServerAsync(pg, "listening", c => c with { DbChannelEnabled = true, DbChannel = "rc_notify" });
        const string url = "/hidden_names?select=name&order=id";
        await Reply.UntilAsync(() => s.GetAsync(url), r => r.Status == 200);
        AssertHit(await s.GetAsync(url));
        // Another view (and an unrelated payload on the channel) keep their entries.
        await s.GetAsync("/item_names?select=id&order=id");
        await api.Database.ExecuteSqlAsync("notify rc_notify, 'restgres-cache-invalidate api.notes'");
        await api.Database.ExecuteSqlAsync("notify rc_notify, 'restgres-cache-invalidate private.items'");
        var fresh = await Reply.UntilAsync(() => s.GetAsync(url), r => r.Header("Cache-Status")?.StartsWith("restgres; fwd=miss", StringComparison.Ordinal) == true);
        Assert.StartsWith("restgres; fwd=miss", fresh.Header("Cache-Status"), StringComparison.Ordinal);
        AssertHit(await s.GetAsync("/item_names?select=id&order=id"));
    }

    [Fact]
    public async Task A_second_instance_drops_its_entry_after_a_write_through_the_first()
    {
        AppConfig Listening(AppConfig c) => c with { DbChannelEnabled = true, DbChannel = "rc_pair" };
        var a = await api.ServerAsync(pg, "pair-a", Listening);
        var b = await api.ServerAsync(pg, "pair-b", Listening);
        const string url = "/item_names?select=name&order=id.desc&limit=1";
        await Reply.UntilAsync(() => b.GetAsync(url), r => r.Status == 200);
        AssertHit(await b.GetAsync(url));
        var id = Random.Shared.Next(2_000_000, 3_000_000);
        Assert.Equal(201, (await a.SendAsync(HttpMethod.Post, "/items", $$"""{"id":{{id}},"name":"from a"}""", ("Content-Type", "application/json"))).Status);
        try
        {
            var fresh = await Reply.UntilAsync(() => b.GetAsync(url), r => r.Body.Contains("FROM A", StringComparison.Ordinal));
            Assert.Equal("""[{"name":"FROM A"}]""", fresh.Body);
        }
        finally
        {
            await a.SendAsync(HttpMethod.Delete, $"/items?id=eq.{id}");
        }
        // The delete through a reaches b too.
        var back = await Reply.UntilAsync(() => b.GetAsync(url), r => !r.Body.Contains("FROM A", StringComparison.Ordinal));
        Assert.DoesNotContain("FROM A", back.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HEAD_is_served_from_the_cache_too()
    {
        var s = await api.ServerAsync(pg, "default");
        var url = Unique("/items?select=id");
        var first = await s.SendAsync(HttpMethod.Head, url);
        Assert.Equal(200, first.Status);
        Assert.Equal(MissStored, first.Header("Cache-Status"));
        var second = await s.SendAsync(HttpMethod.Head, url);
        AssertHit(second);
        Assert.Equal("", second.Body);
        Assert.Equal(first.Header("Content-Range"), second.Header("Content-Range"));
    }

    [Fact]
    public async Task ETag_and_304_stay_correct_on_hits_and_compression_composes()
    {
        var s = await api.ServerAsync(pg, "etag", c => c with { ServerEtag = true, ServerCompression = ["gzip"], ServerCompressionMinSize = 1 });
        var url = Unique("/items?select=id,name&order=id");
        var miss = await s.GetAsync(url);
        var etag = miss.Header("ETag")!;
        Assert.Matches("^\"[0-9a-f]{32}\"$", etag);
        var hit = await s.GetAsync(url);
        AssertHit(hit);
        Assert.Equal(etag, hit.Header("ETag"));
        var notModified = await s.GetAsync(url, ("If-None-Match", etag));
        Assert.Equal(304, notModified.Status);
        Assert.Equal("", notModified.Body);
        Assert.Equal(etag, notModified.Header("ETag"));
        AssertHit(notModified);
        Assert.Equal(200, (await s.GetAsync(url, ("If-None-Match", "\"other\""))).Status);
        var gzip = await s.GetAsync(url, ("Accept-Encoding", "gzip"));
        AssertHit(gzip);
        Assert.Equal("gzip", gzip.Header("Content-Encoding"));
        Assert.Equal(etag[..^1] + "-gzip\"", gzip.Header("ETag"));
        Assert.Equal(304, (await s.GetAsync(url, ("Accept-Encoding", "gzip"), ("If-None-Match", etag[..^1] + "-gzip\""))).Status);
    }

    [Theory]
    [InlineData("/rpc/with_cookie")]
    [InlineData("/rpc/no_store")]
    [InlineData("/rpc/accepted")]
    public async Task Responses_that_set_cookies_say_no_store_or_are_not_200_are_not_stored(string url)
    {
        var s = await api.ServerAsync(pg, "default");
        Assert.Equal("restgres; fwd=miss", (await s.GetAsync(url)).Header("Cache-Status"));
        Assert.Equal("restgres; fwd=miss", (await s.GetAsync(url)).Header("Cache-Status"));
    }

    [Fact]
    public async Task Targets_not_configured_and_POST_are_never_cached_and_get_no_header()
    {
        var s = await api.ServerAsync(pg, "narrow", c => c with
        {
            ServerResponseCache = PathTtlRules.Parse("server-response-cache", "rpc/tick: 1m"),
        });
        var items = await s.GetAsync("/items?select=id");
        Assert.Null(items.Header("Cache-Status"));
        Assert.Null((await s.GetAsync("/items?select=id")).Header("Cache-Status"));
        var post = await s.SendAsync(HttpMethod.Post, "/rpc/tick", "{}", ("Content-Type", "application/json"));
        Assert.Equal(200, post.Status);
        Assert.Null(post.Header("Cache-Status"));
        var post2 = await s.SendAsync(HttpMethod.Post, "/rpc/tick", "{}", ("Content-Type", "application/json"));
        Assert.NotEqual(post.Body, post2.Body);
        // Errors are not stored either.
        var error = await s.GetAsync("/rpc/tick?bad=1");
        Assert.True(error.Status >= 400, error.ToString());
        Assert.Null(error.Header("Cache-Status"));
    }

    [Fact]
    public async Task A_route_is_cached_under_the_API_path_it_rewrites_to_and_shares_its_invalidation()
    {
        var file = Path.Combine(Path.GetTempPath(), "rc-routes-" + Guid.NewGuid().ToString("N") + ".conf");
        await File.WriteAllTextAsync(file, """
            GET /api/v1/names/{id}
              to /item_names?id=eq.{id}
              header Accept: application/vnd.pgrst.object+json
            """);
        try
        {
            var s = await api.ServerAsync(pg, "routes", c => c with { ServerRoutes = Restgres.Routing.RouteFile.Load(file) });
            var miss = await s.GetAsync("/api/v1/names/2");
            Assert.Equal("""{"id":2,"name":"TWO"}""", miss.Body);
            Assert.Equal(MissStored, miss.Header("Cache-Status"));
            AssertHit(await s.GetAsync("/api/v1/names/2"));
            // Another capture is another request, another entry.
            Assert.Equal("""{"id":1,"name":"ONE"}""", (await s.GetAsync("/api/v1/names/1")).Body);
            Assert.Equal(204, (await s.SendAsync(HttpMethod.Patch, "/items?id=eq.2", """{"name":"deux"}""", ("Content-Type", "application/json"))).Status);
            try
            {
                var fresh = await s.GetAsync("/api/v1/names/2");
                Assert.Equal("""{"id":2,"name":"DEUX"}""", fresh.Body);
            }
            finally
            {
                await s.SendAsync(HttpMethod.Patch, "/items?id=eq.2", """{"name":"two"}""", ("Content-Type", "application/json"));
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_schema_cache_reload_starts_an_empty_cache()
    {
        var s = await api.ServerAsync(pg, "reload");
        var url = Unique("/items?select=id");
        await s.GetAsync(url);
        AssertHit(await s.GetAsync(url));
        var loads = s.Server.State.Observer.Metrics.SchemaCacheLoads;
        s.Server.State.Schemas.RequestReload(CancellationToken.None);
        await Reply.UntilAsync(() => s.GetAsync("/rpc/accepted"), _ => s.Server.State.Observer.Metrics.SchemaCacheLoads > loads);
        Assert.Equal(MissStored, (await s.GetAsync(url)).Header("Cache-Status"));
    }
}
