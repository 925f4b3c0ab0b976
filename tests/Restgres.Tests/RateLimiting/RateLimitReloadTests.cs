using System.Collections.Concurrent;
using Restgres.Config;
using Restgres.Tests.Admin;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.RateLimiting;

/// <summary>server-rate-limits as in-database config (a pgrst.* role setting), and across config reloads: an unchanged
/// rule keeps its buckets, a changed one starts afresh.</summary>
[Collection("pg")]
public sealed class RateLimitReloadTests(PgClusterFixture pg) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("restgres-ratelimit-").FullName;
    private readonly ConcurrentQueue<string> _log = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task An_in_database_rule_applies_and_a_reload_keeps_or_renews_the_buckets()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        await db.ExecuteSqlAsync($"alter role {AdminKit.Authenticator} in database \"{db.Name}\" set pgrst.server_rate_limits = '{AdminKit.Anon}=2/min per ip'");
        var config = AdminKit.LoadFile(Path.Combine(_dir, "restgres.conf"), AdminKit.ConfigText(db, "server-rate-limit-headers = true"));
        await using var server = await AdminKit.StartAsync(config, _log.Enqueue);
        await AdminKit.ListeningAsync(server);
        Assert.Equal($"{AdminKit.Anon}=2/min per ip", server.State.Config.ServerRateLimits?.Text);
        Assert.Equal(200, (await AdminKit.GetAsync(server.BaseAddress, "/items")).Status);
        Assert.Equal(200, (await AdminKit.GetAsync(server.BaseAddress, "/items")).Status);
        Assert.Equal(429, (await AdminKit.GetAsync(server.BaseAddress, "/items")).Status);

        // The same rule after a reload: still limited (the buckets are the rule's, not the snapshot's).
        var reloads = server.State.Observer.Metrics.ConfigReloads;
        await db.ExecuteSqlAsync("NOTIFY pgrst, 'reload config'");
        Assert.True(await AdminKit.EventuallyAsync(() => Task.FromResult(server.State.Observer.Metrics.ConfigReloads > reloads)));
        Assert.Equal(429, (await AdminKit.GetAsync(server.BaseAddress, "/items")).Status);

        // A changed rule: new buckets.
        await db.ExecuteSqlAsync($"alter role {AdminKit.Authenticator} in database \"{db.Name}\" set pgrst.server_rate_limits = '{AdminKit.Anon}=5/min per ip'; NOTIFY pgrst, 'reload config'");
        Assert.True(await AdminKit.EventuallyAsync(() => Task.FromResult(server.State.Config.ServerRateLimits?.Text == $"{AdminKit.Anon}=5/min per ip")));
        Assert.Equal(200, (await AdminKit.GetAsync(server.BaseAddress, "/items")).Status);

        // An invalid in-database value is refused at reload: the old rules stay, and the log says why.
        await db.ExecuteSqlAsync($"alter role {AdminKit.Authenticator} in database \"{db.Name}\" set pgrst.server_rate_limits = '{AdminKit.Anon}=-1/min'; NOTIFY pgrst, 'reload config'");
        Assert.True(await AdminKit.EventuallyAsync(() => Task.FromResult(_log.Any(l => l.Contains("cannot be negative", StringComparison.Ordinal)))));
        Assert.Equal($"{AdminKit.Anon}=5/min per ip", server.State.Config.ServerRateLimits?.Text);
    }
}
