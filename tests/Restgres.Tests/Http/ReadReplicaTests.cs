using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Globalization;
using Npgsql;
using Restgres.Config;
using Restgres.Dev;
using Restgres.Execution;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Http;

/// <summary>
/// A primary and two streaming standbys made by pg_basebackup on loopback: one replaying at once, one with
/// recovery_min_apply_delay, so that replication lag is visible on one machine. The servers started on them are
/// stopped after the class.
/// </summary>
public sealed class ReplicaClusters : IAsyncLifetime
{
    public const string Authenticator = "rr_authenticator";
    public const string Anon = "rr_anon";
    public const string Database = "app";

    /// <summary>The delayed standby's apply delay: far longer than a request, so a read right after a write misses it.</summary>
    public static readonly TimeSpan ApplyDelay = TimeSpan.FromSeconds(4);

    private static readonly string Sql = PgClusterFixture.RolesSql(Authenticator, Anon) + $$"""
        create schema api;
        grant usage on schema api to {{Anon}};
        create table api.notes (id bigint generated always as identity primary key, body text not null);
        grant select, insert on api.notes to {{Anon}};
        -- which server answered: a view and functions that ask
        create view api.server as select pg_is_in_recovery() as standby;
        grant select on api.server to {{Anon}};
        create function api.in_recovery() returns boolean stable language sql as $$ select pg_is_in_recovery() $$;
        create function api.in_recovery_volatile() returns boolean volatile language sql as $$ select pg_is_in_recovery() $$;
        """;

    private readonly List<TestServer> _servers = [];

    public PostgresCluster Primary { get; private set; } = null!;
    public PostgresCluster Standby { get; private set; } = null!;
    public PostgresCluster Delayed { get; private set; } = null!;

    public string Uri(PostgresCluster cluster) => cluster.ConnectionUri(Database, Authenticator);

    public async Task InitializeAsync()
    {
        Primary = await PostgresCluster.CreateTemporaryAsync();
        await Primary.ExecuteSqlAsync($"create database {Database}");
        await Primary.ExecuteSqlAsync(Sql, Database);
        Standby = await Primary.CreateStandbyAsync();
        Delayed = await Primary.CreateStandbyAsync(ApplyDelay);
    }

    /// <summary>A server on the primary with <paramref name="replicas"/>; its log lines go to <paramref name="log"/>.</summary>
    internal async Task<TestServer> ServerAsync(ImmutableArray<string> replicas, int maxLag = 30, ConcurrentQueue<string>? log = null,
        Func<AppConfig, AppConfig>? configure = null)
    {
        configure ??= c => c;
        var server = await TestServer.StartAsync(configure(new AppConfig
        {
            DbUri = Uri(Primary),
            DbSchemas = ["api"],
            DbAnonRole = Anon,
            DbTxEnd = TxEnd.CommitAllowOverride,
            DbReadReplicas = replicas,
            DbReadReplicaMaxLag = maxLag,
        }), line => log?.Enqueue(line));
        lock (_servers) _servers.Add(server);
        return server;
    }

    public async Task DisposeAsync()
    {
        foreach (var s in _servers) await s.DisposeAsync();
        await Delayed.DisposeAsync();
        await Standby.DisposeAsync();
        await Primary.DisposeAsync();
    }
}

/// <summary>
/// db-read-replicas on real parts: which server answers is read from PostgreSQL itself (<c>pg_is_in_recovery()</c>),
/// health changes are waited for as conditions (never a sleep), and lag comes from a real apply delay.
/// </summary>
public sealed class ReadReplicaTests(ReplicaClusters pg) : IClassFixture<ReplicaClusters>
{
    private static readonly TimeSpan ConditionTimeout = TimeSpan.FromSeconds(60);

    private static ReadReplica Replica(TestServer s) => s.Server.State.Replicas!.All[0];

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + ConditionTimeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("waited in vain for: " + what);
            await Task.Delay(50);
        }
    }

    private static Task UntilHealth(TestServer s, ReplicaHealth health) =>
        Until(() => Replica(s).Health == health, $"replica {Replica(s).Name} {health}");

    private static async Task<string> Served(TestServer s, params (string, string)[] headers)
    {
        var r = await s.GetAsync("/server", headers);
        Assert.Equal(200, r.Status);
        return r.Body == """[{"standby":true}]""" ? "replica" : r.Body == """[{"standby":false}]""" ? "primary" : r.Body;
    }

    private static Task<Reply> PostNote(TestServer s, string body, params (string, string)[] headers) =>
        s.SendAsync(HttpMethod.Post, "/notes", $$"""{"body":"{{body}}"}""", [("Content-Type", "application/json"), .. headers]);

    private static string Tag() => "n" + Random.Shared.Next(1_000_000, 9_999_999).ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task Reads_and_stable_calls_go_to_the_replica_while_writes_volatile_calls_and_tx_commit_go_to_the_primary()
    {
        var s = await pg.ServerAsync([pg.Uri(pg.Standby)]);
        await UntilHealth(s, ReplicaHealth.Healthy);

        Assert.Equal("replica", await Served(s));
        Assert.Equal("true", (await s.GetAsync("/rpc/in_recovery")).Body);
        Assert.Equal("false", (await s.GetAsync("/rpc/in_recovery_volatile")).Body);
        Assert.Equal("false", (await s.SendAsync(HttpMethod.Post, "/rpc/in_recovery", "{}", ("Content-Type", "application/json"))).Body);
        Assert.Equal("primary", await Served(s, ("Prefer", "tx=commit")));
        var write = await PostNote(s, Tag());
        Assert.Equal(201, write.Status);
        Assert.Matches("^[0-9A-F]+/[0-9A-F]+$", write.Header("Restgres-LSN"));
        Assert.Null(write.Header("Set-Cookie"));

        var metrics = s.Server.State.Observer.Metrics.Render(s.Server.State);
        Assert.Matches($@"restgres_db_pool_requests_total\{{pool=""{Replica(s).Name}""\}} [2-9]", metrics);
        Assert.Matches(@"restgres_db_pool_requests_total\{pool=""primary""\} [4-9]", metrics);
        Assert.Contains($"restgres_db_replica_healthy{{pool=\"{Replica(s).Name}\"}} 1", metrics, StringComparison.Ordinal);
        Assert.Contains($"restgres_db_replica_lag_seconds{{pool=\"{Replica(s).Name}\"}}", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_group_committed_insert_and_an_insert_with_a_result_check_carry_their_Restgres_LSN()
    {
        var s = await pg.ServerAsync([pg.Uri(pg.Standby)], configure: c => c with { DbGroupCommit = ["notes"], DbGroupCommitMaxRequests = 1 });
        var grouped = await PostNote(s, Tag());
        Assert.Equal(201, grouped.Status);
        Assert.Matches("^[0-9A-F]+/[0-9A-F]+$", grouped.Header("Restgres-LSN"));
        // A singular response is checked before COMMIT, which then ends the transaction in a round trip of its own.
        var checkedWrite = await PostNote(s, Tag(), ("Accept", "application/vnd.pgrst.object+json"), ("Prefer", "return=representation"));
        Assert.Equal(201, checkedWrite.Status);
        Assert.Matches("^[0-9A-F]+/[0-9A-F]+$", checkedWrite.Header("Restgres-LSN"));
        var rolledBack = await PostNote(s, Tag(), ("Prefer", "tx=rollback"));
        Assert.Null(rolledBack.Header("Restgres-LSN"));
    }

    [Fact]
    public async Task Without_replicas_a_write_carries_no_Restgres_LSN_and_CORS_exposes_PostgRESTs_list()
    {
        var plain = await pg.ServerAsync([]);
        var write = await PostNote(plain, Tag(), ("Origin", "http://example.com"));
        Assert.Equal(201, write.Status);
        Assert.Null(write.Header("Restgres-LSN"));
        Assert.Equal(Restgres.Http.Cors.ExposedHeaders, write.Header("Access-Control-Expose-Headers"));

        var s = await pg.ServerAsync([pg.Uri(pg.Standby)]);
        var exposed = await PostNote(s, Tag(), ("Origin", "http://example.com"));
        Assert.Equal(Restgres.Http.Cors.ExposedHeaders + ", Restgres-LSN", exposed.Header("Access-Control-Expose-Headers"));
        var read = await s.GetAsync("/notes?limit=1", ("Origin", "http://example.com"));
        Assert.Equal(Restgres.Http.Cors.ExposedHeaders, read.Header("Access-Control-Expose-Headers"));
    }

    [Fact]
    public async Task The_db_channel_listener_runs_on_the_primary()
    {
        var s = await pg.ServerAsync([pg.Uri(pg.Standby)]);
        // LISTEN fails on a standby ("cannot execute LISTEN during recovery"): listening proves the primary.
        await Until(() => s.Server.State.ListenerOn, "the db-channel listener");
    }

    [Fact]
    public async Task A_stopped_replica_sends_reads_to_the_primary_without_an_error_and_is_used_again_once_started()
    {
        var s = await pg.ServerAsync([pg.Uri(pg.Standby)]);
        await UntilHealth(s, ReplicaHealth.Healthy);
        Assert.Equal("replica", await Served(s));
        await pg.Standby.StopAsync();
        try
        {
            // The pooled connection is broken: the first read fails on the replica and is run again on the primary.
            for (var i = 0; i < 20; i++)
                Assert.Equal("primary", await Served(s));
            await UntilHealth(s, ReplicaHealth.Down);
            Assert.Equal("primary", await Served(s));
        }
        finally
        {
            await pg.Standby.StartAgainAsync();
        }
        await UntilHealth(s, ReplicaHealth.Healthy);
        Assert.Equal("replica", await Served(s));
    }

    [Fact]
    public async Task Reads_under_load_while_the_replica_stops_and_starts_all_succeed()
    {
        var log = new ConcurrentQueue<string>();
        var s = await pg.ServerAsync([pg.Uri(pg.Standby)], log: log);
        await UntilHealth(s, ReplicaHealth.Healthy);
        using var stop = new CancellationTokenSource();
        var failures = new ConcurrentQueue<string>();
        var served = new ConcurrentDictionary<string, int>();
        async Task Load()
        {
            while (!stop.IsCancellationRequested)
            {
                var r = await s.GetAsync("/server");
                if (r.Status != 200) failures.Enqueue(r.ToString().Replace('\n', ' '));
                else served.AddOrUpdate(r.Body, 1, (_, n) => n + 1);
            }
        }
        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(Load)).ToArray();
        await pg.Standby.StopAsync();
        await UntilHealth(s, ReplicaHealth.Down);
        await pg.Standby.StartAgainAsync();
        await UntilHealth(s, ReplicaHealth.Healthy);
        var before = Replica(s).Requests;
        await Until(() => Replica(s).Requests > before + 10, "reads on the restarted replica");
        await stop.CancelAsync();
        await Task.WhenAll(load);
        Assert.True(failures.IsEmpty, string.Join(" | ", failures) + string.Join("\n", log.Where(l => l.Contains("Internal error", StringComparison.Ordinal))));
        Assert.True(served.ContainsKey("""[{"standby":false}]"""), "the primary served reads while the replica was down");
        Assert.True(served.ContainsKey("""[{"standby":true}]"""), "the replica served reads");
    }

    [Fact]
    public async Task A_lagging_replica_is_taken_out_and_put_back_when_it_catches_up()
    {
        var s = await pg.ServerAsync([pg.Uri(pg.Delayed)], maxLag: 1);
        await UntilHealth(s, ReplicaHealth.Healthy);
        Assert.Equal(201, (await PostNote(s, Tag())).Status);
        await UntilHealth(s, ReplicaHealth.Lagging);
        Assert.True(Replica(s).LagSeconds > 1);
        Assert.Equal("primary", await Served(s));
        await UntilHealth(s, ReplicaHealth.Healthy);
        Assert.Equal("replica", await Served(s));
    }

    [Fact]
    public async Task A_read_after_a_write_misses_it_on_a_delayed_replica_and_sees_it_with_the_Restgres_LSN_token()
    {
        var s = await pg.ServerAsync([pg.Uri(pg.Delayed)], maxLag: 60);
        await UntilHealth(s, ReplicaHealth.Healthy);
        var tag = Tag();
        var write = await PostNote(s, tag);
        Assert.Equal(201, write.Status);
        var token = write.Header("Restgres-LSN")!;

        // Without the token the replica answers, without the write: what read-your-writes is for.
        Assert.Equal("[]", (await s.GetAsync($"/notes?select=body&body=eq.{tag}")).Body);
        Assert.Equal(ReplicaHealth.Healthy, Replica(s).Health);
        // With it, the replica has not replayed that far within the wait: the primary answers, with the write.
        Assert.Equal($$"""[{"body":"{{tag}}"}]""", (await s.GetAsync($"/notes?select=body&body=eq.{tag}", ("Restgres-LSN", token))).Body);

        // Once the replica has replayed the write, the token is served by the replica.
        await Until(() => Replica(s).ReplayLsn >= NpgsqlTypes.NpgsqlLogSequenceNumber.Parse(token), "the replica replaying the write");
        var before = Replica(s).Requests;
        Assert.Equal($$"""[{"body":"{{tag}}"}]""", (await s.GetAsync($"/notes?select=body&body=eq.{tag}", ("Restgres-LSN", token))).Body);
        Assert.Equal(before + 1, Replica(s).Requests);
    }

    [Fact]
    public async Task A_write_asked_for_the_cookie_sets_it_and_a_read_sending_it_sees_the_write()
    {
        var s = await pg.ServerAsync([pg.Uri(pg.Delayed)], maxLag: 60);
        await UntilHealth(s, ReplicaHealth.Healthy);
        var tag = Tag();
        var write = await PostNote(s, tag, ("Restgres-LSN", "cookie"));
        var lsn = write.Header("Restgres-LSN");
        Assert.Equal($"restgres_lsn={lsn}; Path=/; HttpOnly; SameSite=Lax", write.Header("Set-Cookie"));
        Assert.Equal($$"""[{"body":"{{tag}}"}]""", (await s.GetAsync($"/notes?select=body&body=eq.{tag}", ("Cookie", $"restgres_lsn={lsn}"))).Body);
        // A write that sends the cookie gets it refreshed.
        var next = await PostNote(s, Tag(), ("Cookie", $"restgres_lsn={lsn}"));
        Assert.StartsWith("restgres_lsn=" + next.Header("Restgres-LSN") + ";", next.Header("Set-Cookie"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Restgres-LSN", "not-a-position")]
    [InlineData("Restgres-LSN", "12/34/56")]
    [InlineData("Restgres-LSN", "")]
    [InlineData("Cookie", "restgres_lsn=%00garbage")]
    [InlineData("Restgres-LSN", "FFFFFFFF/FFFFFFFF")]
    public async Task A_malformed_or_stale_token_is_served_by_the_primary(string header, string value)
    {
        var s = await pg.ServerAsync([pg.Uri(pg.Standby)]);
        await UntilHealth(s, ReplicaHealth.Healthy);
        Assert.Equal("primary", await Served(s, (header, value)));
    }

    [Fact]
    public async Task A_replica_that_is_a_primary_is_refused_with_a_log_line_and_reads_go_to_the_primary()
    {
        var log = new ConcurrentQueue<string>();
        var s = await pg.ServerAsync([pg.Uri(pg.Primary)], log: log);
        await UntilHealth(s, ReplicaHealth.NotStandby);
        Assert.Contains(log, l => l.Contains("is refused: it is not a standby (pg_is_in_recovery() is false)", StringComparison.Ordinal));
        var before = Replica(s).Requests;
        Assert.Equal("primary", await Served(s));
        Assert.Equal(before, Replica(s).Requests);
    }

    [Fact]
    public async Task An_unreachable_replica_at_startup_does_not_stop_the_server_and_is_reported_down()
    {
        var log = new ConcurrentQueue<string>();
        var port = Restgres.Dev.PostgresCluster.FreePort();
        var s = await pg.ServerAsync([$"postgresql://{ReplicaClusters.Authenticator}@127.0.0.1:{port}/app"], log: log);
        Assert.Equal("primary", await Served(s));
        await UntilHealth(s, ReplicaHealth.Down);
        Assert.Contains(log, l => l.Contains($"Read replica 127.0.0.1:{port}/app is down", StringComparison.Ordinal));
        Assert.Contains($"restgres_db_replica_healthy{{pool=\"127.0.0.1:{port}/app\"}} 0",
            s.Server.State.Observer.Metrics.Render(s.Server.State), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_standby_made_by_pg_basebackup_is_a_hot_standby_streaming_from_the_primary()
    {
        await using var conn = new NpgsqlConnection(pg.Primary.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("select count(*) from pg_stat_replication where state = 'streaming'", conn);
        Assert.True((long)(await cmd.ExecuteScalarAsync())! >= 2);
    }
}
