using System.Net;
using Microsoft.Extensions.Primitives;
using Restgres.Config;
using Restgres.RateLimiting;
using Restgres.Routing;
using Xunit;
using Xunit.Abstractions;

namespace Restgres.Tests.RateLimiting;

/// <summary>A clock the test moves: timestamps in milliseconds, stepped forward or back at will.</summary>
internal sealed class SteppedClock : TimeProvider
{
    public long Now { get; set; } = 1_000_000_000;

    public override long TimestampFrequency => 1000;

    public override long GetTimestamp() => Now;
}

/// <summary>The rule parser, the GCRA buckets (clock steps, the key cap), X-Forwarded-For, and the config errors.</summary>
public sealed class RateLimitUnitTests(ITestOutputHelper output)
{
    private static RateLimitPolicy Policy(string rule) =>
        RateLimitRules.Parse(rule, "server-rate-limits", "test", "p")!.Policies.Single();

    [Fact]
    public void Rules_by_role_with_a_fallback_and_unlimited()
    {
        var rules = RateLimitRules.Parse("anon=60/min per ip, analyst=600/min per sub, admin=unlimited, *=100/10s per role, "
            + "svc=5/h per claim:$.client['id']", "server-rate-limits", "x")!;
        Assert.True(rules.TryFor("anon", out var anon));
        Assert.Equal((60, 60, KeyKind.Ip, "\"anon\";q=60;w=60"), (anon!.Quota, anon.WindowSeconds, anon.Key, anon.PolicyHeader));
        Assert.True(rules.TryFor("analyst", out var analyst));
        Assert.Equal((600, KeyKind.Claim, "sub"), (analyst!.Quota, analyst.Key, analyst.KeyText));
        Assert.True(rules.TryFor("admin", out var admin));
        Assert.Null(admin);
        Assert.True(rules.TryFor("someone", out var other));
        Assert.Equal((100, 10, KeyKind.Role, "default"), (other!.Quota, other.WindowSeconds, other.Key, other.Name));
        Assert.True(rules.TryFor("svc", out var svc));
        Assert.Equal((3600, KeyKind.Claim), (svc!.WindowSeconds, svc.Key));
        Assert.Equal(KeyKind.Ip, Policy("10/day").Key);
        Assert.False(RateLimitRules.Parse("anon=1/s", "o", "x")!.TryFor("bob", out _));
        Assert.Null(RateLimitRules.Parse("  ", "o", "x"));
    }

    [Theory]
    [InlineData("anon=-5/min", "cannot be negative")]
    [InlineData("anon=0/min", "must be 1 to")]
    [InlineData("anon=60/fortnight", "unknown time unit 'fortnight'")]
    [InlineData("anon=60 per ip", "has no '/'")]
    [InlineData("anon=lots/min", "no number of requests")]
    [InlineData("anon=60/min per cookie", "unknown key 'cookie'")]
    [InlineData("anon=60/min per claim:$$[", "claim path")]
    [InlineData("60/min", "is not 'role=rule'")]
    [InlineData("anon=1/s, anon=2/s", "named twice")]
    [InlineData("=1/s", "no role")]
    public void A_malformed_rule_names_the_option(string text, string why)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText($"server-rate-limits = \"{text}\"", new Dictionary<string, string>(), _ => { }));
        Assert.Equal("server-rate-limits", e.Option);
        Assert.Contains("server-rate-limits", e.Message, StringComparison.Ordinal);
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("server-rate-limit-store = \"redis\"", "server-rate-limit-store")]
    [InlineData("server-rate-limit-max-keys = -1", "server-rate-limit-max-keys")]
    [InlineData("server-rate-limit-headers = \"sometimes\"", "server-rate-limit-headers")]
    [InlineData("server-trusted-proxies = \"10.0.0.0/8, proxy.local\"", "server-trusted-proxies")]
    public void Other_bad_values_name_their_option(string line, string option)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(line, new Dictionary<string, string>(), _ => { }));
        Assert.Contains(option, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_options_are_read_from_the_environment()
    {
        var config = ConfigLoader.LoadText("", new Dictionary<string, string>
        {
            ["PGRST_SERVER_RATE_LIMITS"] = "anon=10/min per ip",
            ["PGRST_SERVER_RATE_LIMIT_HEADERS"] = "true",
            ["PGRST_SERVER_RATE_LIMIT_STORE"] = "database",
            ["PGRST_SERVER_TRUSTED_PROXIES"] = "127.0.0.1, 10.0.0.0/8",
        }, _ => { });
        Assert.Equal("anon=10/min per ip", config.ServerRateLimits!.Text);
        Assert.True(config.ServerRateLimitHeaders);
        Assert.Equal(RateLimitStore.Database, config.ServerRateLimitStore);
        Assert.True(config.ServerTrustedProxies.Trusts(IPAddress.Parse("10.1.2.3")));
        // Defaults: everything off.
        var defaults = ConfigLoader.LoadText("", new Dictionary<string, string>(), _ => { });
        Assert.Null(defaults.ServerRateLimits);
        Assert.False(defaults.ServerRateLimitHeaders);
        Assert.Equal(RateLimitStore.Local, defaults.ServerRateLimitStore);
        Assert.True(defaults.ServerTrustedProxies.IsEmpty);
    }

    [Theory]
    [InlineData("POST /login\n  to /rpc/login\n  rate-limit 10/min per nobody", 3, "unknown key 'nobody'")]
    [InlineData("POST /login\n  to /rpc/login\n  rate-limit -1/min", 3, "cannot be negative")]
    [InlineData("POST /login\n  to /rpc/login\n  rate-limit 1/min\n  rate-limit 2/min", 4, "a second 'rate-limit'")]
    [InlineData("POST /login\n  to /rpc/login\n\n  rate-limit", 4, "needs a rule")]
    public void A_bad_route_rate_limit_names_the_file_and_line(string text, int line, string why)
    {
        var e = Assert.Throws<ConfigException>(() => RouteFile.Parse("routes.conf", text));
        Assert.Contains($"'routes.conf' line {line} (server-routes-file)", e.Message, StringComparison.Ordinal);
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_route_rate_limit_is_a_single_rule_or_one_per_role()
    {
        var table = RouteFile.Parse("r", "POST /api/v1/auth/login\n  to /rpc/login\n  rate-limit 10/min per ip\n"
            + "GET /api/v1/x\n  to /x\n  rate-limit anon=5/s, admin=unlimited\n");
        Assert.True(table.Routes[0].RateLimit!.TryFor("anyone", out var login));
        Assert.Equal(("/api/v1/auth/login", 10, 60), (login!.Name, login.Quota, login.WindowSeconds));
        Assert.True(table.Routes[1].RateLimit!.TryFor("admin", out var admin));
        Assert.Null(admin);
        Assert.False(table.Routes[1].RateLimit!.TryFor("other", out _));
    }

    [Fact]
    public void A_full_bucket_admits_the_quota_then_one_per_interval()
    {
        var clock = new SteppedClock();
        var table = new BucketTable(100, clock);
        var p = Policy("3/min");
        Assert.Equal(new RateDecision(true, 2, 20), table.Check(p, "a"));
        Assert.Equal(new RateDecision(true, 1, 40), table.Check(p, "a"));
        Assert.Equal(new RateDecision(true, 0, 60), table.Check(p, "a"));
        Assert.Equal(new RateDecision(false, 0, 20), table.Check(p, "a"));
        // Another key has its own bucket.
        Assert.True(table.Check(p, "b").Allowed);
        clock.Now += 19_000;
        Assert.Equal(new RateDecision(false, 0, 1), table.Check(p, "a"));
        clock.Now += 1_000;
        Assert.Equal(new RateDecision(true, 0, 60), table.Check(p, "a"));
        Assert.False(table.Check(p, "a").Allowed);
    }

    [Fact]
    public void The_same_rule_parsed_again_shares_its_buckets_and_a_changed_one_does_not()
    {
        var table = new BucketTable(100, new SteppedClock());
        Assert.True(table.Check(Policy("1/min per ip"), "k").Allowed);
        Assert.False(table.Check(Policy("1/min per ip"), "k").Allowed);
        Assert.True(table.Check(Policy("2/min per ip"), "k").Allowed);
        Assert.True(table.Check(Policy("1/min per role"), "k").Allowed);
    }

    [Fact]
    public void A_clock_step_back_or_forward_locks_nobody_out()
    {
        var clock = new SteppedClock();
        var table = new BucketTable(100, clock);
        var p = Policy("2/min");
        Assert.True(table.Check(p, "k").Allowed);
        Assert.True(table.Check(p, "k").Allowed);
        Assert.False(table.Check(p, "k").Allowed);
        // Back an hour: the stored time is far ahead of the clock; it is taken as now, not waited for.
        clock.Now -= 3_600_000;
        Assert.Equal(new RateDecision(true, 1, 30), table.Check(p, "k"));
        Assert.True(table.Check(p, "k").Allowed);
        Assert.False(table.Check(p, "k").Allowed);
        // Forward a day: a full bucket, not more than full.
        clock.Now += 86_400_000;
        Assert.Equal(new RateDecision(true, 1, 30), table.Check(p, "k"));
        Assert.True(table.Check(p, "k").Allowed);
        Assert.False(table.Check(p, "k").Allowed);
        // Back a little (less than a window): still limited as it should be, and free again within the window.
        clock.Now -= 10_000;
        var d = table.Check(p, "k");
        Assert.False(d.Allowed);
        Assert.True(d.ResetSeconds <= 70, d.ToString());
    }

    [Fact]
    public void Ten_million_distinct_keys_stay_within_the_cap()
    {
        const int cap = 100_000;
        var clock = new SteppedClock();
        var table = new BucketTable(cap, clock);
        var p = Policy("60/min per ip");
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = GC.GetTotalMemory(true);
        var maxSeen = 0;
        for (var i = 0; i < 10_000_000; i++)
        {
            Assert.True(table.Check(p, "10." + i).Allowed);
            if (i % 1000 == 0)
            {
                clock.Now += 1; // 10 M keys in under three hours of test clock
                maxSeen = Math.Max(maxSeen, table.Count);
            }
        }
        var after = GC.GetTotalMemory(true);
        output.WriteLine($"10,000,000 keys, cap {cap}: most held {maxSeen}, held at the end {table.Count}, "
            + $"evicted before full {table.Evicted}, managed heap {before / 1048576.0:F1} MB -> {after / 1048576.0:F1} MB");
        Assert.True(maxSeen <= cap + 1, $"held {maxSeen}");
        Assert.True(after - before < 64L * 1024 * 1024, $"heap grew by {(after - before) / 1048576.0:F1} MB");
        // A key seen again after eviction simply starts with a full bucket.
        Assert.True(table.Check(p, "10.0").Allowed);
        // Once every bucket is full again, the sweep drops them all.
        clock.Now += 120_000;
        table.SweepIdle();
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void Memory_per_key_at_the_cap()
    {
        const int keys = 1_000_000;
        var clock = new SteppedClock();
        var table = new BucketTable(keys, clock);
        var p = Policy("60/min per ip");
        var names = new string[keys];
        for (var i = 0; i < keys; i++) names[i] = "192.168." + (i >> 8) + "." + (i & 255);
        GC.Collect();
        var before = GC.GetTotalMemory(true);
        foreach (var n in names) table.Check(p, n);
        var after = GC.GetTotalMemory(true);
        var perKey = (after - before) / (double)keys;
        output.WriteLine($"{keys} keys held: {(after - before) / 1048576.0:F1} MB, {perKey:F0} bytes a key (key strings not counted)");
        Assert.Equal(keys, table.Count);
        Assert.True(perKey < 200, $"{perKey} bytes a key");
        GC.KeepAlive(names);
    }

    [Fact]
    public void Forwarded_for_is_believed_only_from_a_trusted_peer()
    {
        var none = TrustedProxies.None;
        var loopback = TrustedProxies.Parse("server-trusted-proxies", "127.0.0.1, 10.0.0.0/8, ::1");
        var peer = IPAddress.Loopback;
        Assert.Equal("127.0.0.1", none.ClientKey(peer, new StringValues("1.2.3.4")));
        Assert.Equal("1.2.3.4", loopback.ClientKey(peer, new StringValues("1.2.3.4")));
        // Read from the right: the spoofed leftmost entry is not the client when a proxy appended the real one.
        Assert.Equal("5.6.7.8", loopback.ClientKey(peer, new StringValues("9.9.9.9, 5.6.7.8, 10.1.1.1")));
        Assert.Equal("5.6.7.8", loopback.ClientKey(peer, new StringValues(["9.9.9.9", "5.6.7.8:4711", "10.1.1.1"])));
        // IPv6 clients are keyed by their /64.
        Assert.Equal("2001:db8:0:7::/64", loopback.ClientKey(IPAddress.IPv6Loopback, new StringValues("[2001:db8:0:7::1]:80")));
        Assert.Equal("2001:db8:0:7::/64", none.ClientKey(IPAddress.Parse("2001:db8:0:7:abcd::9"), default));
        // Every hop trusted: the leftmost.
        Assert.Equal("10.0.0.2", loopback.ClientKey(peer, new StringValues("10.0.0.2, 10.0.0.3")));
        Assert.Equal("203.0.113.9", loopback.ClientKey(IPAddress.Parse("203.0.113.9"), new StringValues("1.2.3.4")));
        Assert.Equal("127.0.0.1", loopback.ClientKey(IPAddress.Parse("::ffff:127.0.0.1").MapToIPv6(), default));
    }
}
