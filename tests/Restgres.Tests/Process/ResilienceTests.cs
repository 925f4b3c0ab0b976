using System.Diagnostics;
using System.Text.Json;
using Restgres.Config;
using Restgres.Dev;
using Restgres.Tests.Http;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Process;

/// <summary>
/// PostgreSQL going away and coming back (PostgREST docs: references/connection_pool.rst, "Automatic Recovery"): the
/// server stays up, answers 503 with Retry-After, retries with exponential backoff and reloads the schema cache when
/// the database is back. Runs on a cluster of its own, since it stops it.
/// </summary>
public sealed class ResilienceTests
{
    private static readonly TimeSpan BackWithin = TimeSpan.FromSeconds(45);

    private static AppConfig ConfigFor(PostgresCluster cluster, string db, bool listener) => new()
    {
        DbUri = cluster.ConnectionUri(db, "restgres_authenticator"),
        DbSchemas = ["api"],
        DbAnonRole = "web_anon",
        DbChannelEnabled = listener,
    };

    private static string Code(Reply r)
    {
        using var doc = JsonDocument.Parse(r.Body);
        return doc.RootElement.GetProperty("code").GetString() ?? "";
    }

    [Fact]
    public async Task The_server_survives_a_database_restart_and_recovers_with_backoff()
    {
        var cluster = await PostgresCluster.CreateTemporaryAsync();
        var servers = new List<TestServer>();
        try
        {
            await cluster.ExecuteSqlAsync("create database app");
            await cluster.ExecuteSqlAsync(ProcessDatabase.Schema, "app");
            var listening = await TestServer.StartAsync(ConfigFor(cluster, "app", listener: true));
            servers.Add(listening);
            var polling = await TestServer.StartAsync(ConfigFor(cluster, "app", listener: false));
            servers.Add(polling);
            await ProcessDatabase.ListeningAsync(listening);
            foreach (var s in servers)
                Expect.Ok(await s.GetAsync("/items?order=id"), Expect.Rows("""{"id":1}""", """{"id":2}""", """{"id":3}"""));
            var cachesBefore = servers.Select(s => s.Server.State.SchemaCache).ToList();

            await cluster.StopAsync();

            // Down: every answer is a quick 503 in PostgREST's shape with Retry-After, never a 500 or a hang.
            foreach (var s in servers)
            {
                var sw = Stopwatch.StartNew();
                var r = await s.GetAsync("/items");
                Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
                Assert.Equal(503, r.Status);
                Assert.Contains(Code(r), new[] { "PGRST000", "PGRST001", "57P01" });
                Assert.Matches(@"^\d+$", r.Header("Retry-After") ?? "");
            }
            // Once the stale pooled connections are gone, it is PGRST000 with the connection failure as details.
            Reply? down = null;
            Assert.True(await ProcessDatabase.EventuallyAsync(async () =>
            {
                down = await polling.GetAsync("/items");
                return Code(down) == "PGRST000" ? 1 : 0;
            }, 1, TimeSpan.FromSeconds(10)), down?.ToString());
            Assert.Equal(503, down!.Status);
            using (var doc = JsonDocument.Parse(down.Body))
            {
                Assert.Equal("Database connection error.", doc.RootElement.GetProperty("message").GetString());
                Assert.Contains(cluster.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    doc.RootElement.GetProperty("details").GetString() ?? "", StringComparison.Ordinal);
            }
            Assert.Equal("PostgREST; error=PGRST000", down.Header("Proxy-Status"));

            // The retry delay grows: after a few seconds down it is more than the first second.
            Assert.True(await ProcessDatabase.EventuallyAsync(async () =>
            {
                var r = await listening.GetAsync("/items");
                return int.Parse(r.Header("Retry-After") ?? "0", System.Globalization.CultureInfo.InvariantCulture) >= 2 ? 1 : 0;
            }, 1, TimeSpan.FromSeconds(10)));

            // A server started while the database is down serves 503 PGRST002 until it can load the schema cache.
            var late = await TestServer.StartAsync(ConfigFor(cluster, "app", listener: false));
            servers.Add(late);
            var empty = await late.GetAsync("/items");
            Expect.Error(empty, 503, "PGRST002", "Could not query the database for the schema cache. Retrying.");
            Assert.Matches(@"^[1-9]\d*$", empty.Header("Retry-After") ?? "");

            var restarted = await PostgresCluster.StartAsync(cluster.DataDir, cluster.Port);
            Assert.Equal(cluster.Port, restarted.Port);

            foreach (var s in servers)
            {
                Assert.True(await ProcessDatabase.EventuallyAsync(async () => (await s.GetAsync("/items")).Status, 200, BackWithin));
                Expect.Ok(await s.GetAsync("/items?order=id"), Expect.Rows("""{"id":1}""", """{"id":2}""", """{"id":3}"""));
                Assert.True(await ProcessDatabase.EventuallyAsync(() => Task.FromResult(s.Server.State.Recovery.IsConnected ? 1 : 0), 1, BackWithin));
                Assert.Equal(0, s.Server.State.Recovery.RetryAfterSeconds);
            }
            // The schema cache was reloaded on recovery.
            for (var i = 0; i < cachesBefore.Count; i++)
                Assert.NotSame(cachesBefore[i], servers[i].Server.State.SchemaCache);
            Assert.True(await ProcessDatabase.EventuallyAsync(() => Task.FromResult(listening.Server.State.ListenerOn ? 1 : 0), 1, BackWithin));
        }
        finally
        {
            foreach (var s in servers)
                await s.DisposeAsync();
            await cluster.DisposeAsync();
        }
    }
}

/// <summary>db-pool and db-pool-acquisition-timeout: a request that cannot get a connection in time is 504 PGRST003.</summary>
[Collection("pg")]
public sealed class PoolTests(PgClusterFixture pg, ReadPathApi api) : IClassFixture<ReadPathApi>
{
    [Fact]
    public async Task Waiting_longer_than_the_acquisition_timeout_for_a_pooled_connection_is_PGRST003()
    {
        var s = await api.ServerAsync(pg, "pool-of-one", c => c with { DbPool = 1, DbPoolAcquisitionTimeout = 1 });
        // api.slow holds the only connection for 3 s; wait until its query runs.
        var slow = s.GetAsync("/slow");
        Assert.True(await ProcessDatabase.EventuallyAsync(async () => Convert.ToInt32(await api.Database.ScalarAsync(
            "select count(*) from pg_stat_activity where datname = current_database() and wait_event = 'PgSleep'"),
            System.Globalization.CultureInfo.InvariantCulture), 1, TimeSpan.FromSeconds(10)));
        var sw = Stopwatch.StartNew();
        var r = await s.GetAsync("/books?select=id&id=eq.1");
        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10));
        Expect.Error(r, 504, "PGRST003", "Timed out acquiring connection from connection pool.");
        Assert.Null(r.Header("Retry-After"));
        Assert.True(s.Server.State.Recovery.IsConnected);

        Expect.Ok(await slow, """[{"done":1}]""");
        Expect.Ok(await s.GetAsync("/books?select=id&id=eq.1"), """[{"id":1}]""");
    }
}
