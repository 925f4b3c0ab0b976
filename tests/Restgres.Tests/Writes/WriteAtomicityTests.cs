using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Npgsql;
using Restgres.Config;
using Restgres.Http;
using Restgres.Tests.Admin;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Writes;

/// <summary>
/// Writes against a real PostgreSQL: a failing bulk write, a failed check (PGRST115 / PGRST124) and a request whose
/// _client leaves mid-transaction all leave the tables as they were, including what _db-pre-request wrote in the same
/// transaction; a successful one commits (_db-tx-end = commit).
/// </summary>
[Collection("pg")]
public sealed class WriteAtomicityTests(PgClusterFixture pg) : IAsyncLifetime
{
    /// <summary>The advisory lock api.insert_then_wait blocks on, so a test can hold a transaction open.</summary>
    private const int GateLock = 4242;

    private static readonly string Schema = $$"""
        create schema api;
        create table api.items (id int primary key, v text not null);
        insert into api.items values (100, 'kept'), (101, 'kept');
        -- _db-pre-request: records the X-Note header in the request's own transaction (only when there is one: GETs
        -- run read-only).
        create table api.request_log (note text not null);
        create function api.log_request() returns void language plpgsql as $f$
        declare note text := current_setting('request.headers', true)::json ->> 'x-note';
        begin
          if note is not null then insert into api.request_log values (note); end if;
        end $f$;
        create function api.insert_then_wait(new_id int) returns void language plpgsql as $f$
        begin
          insert into api.items values (new_id, 'abandoned');
          perform pg_advisory_xact_lock({{GateLock}});
        end $f$;
        """;

    private TestDatabase? _db;
    private ApiServer? _server;
    private HttpClient? _client;
    private AppConfig? _config;

    public async Task InitializeAsync()
    {
        _db = await pg.CreateDatabaseAsync(Schema);
        var config = _config = new AppConfig
        {
            DbUri = _db.Uri(),
            DbSchemas = ["api"],
            DbAnonRole = Restgres.Dev.PostgresCluster.SuperUser,
            DbChannelEnabled = false,
            DbPreRequest = new QualifiedName("api", "log_request"),
            // One pooled connection, so a request after an aborted one runs on the same session.
            DbPool = 1,
            ServerHost = "127.0.0.1",
            ServerPort = 0,
        };
        _server = await ApiServer.StartAsync(config, CancellationToken.None, _ => { });
        _client = new HttpClient { BaseAddress = _server.BaseAddress };
    }

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        if (_server is not null) await _server.DisposeAsync();
    }

    private async Task<(int Status, string Body)> SendAsync(HttpMethod method, string url, string? json, params (string, string)[] headers)
    {
        using var req = new HttpRequestMessage(method, url);
        if (json is not null) req.Content = new StringContent(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        foreach (var (k, v) in headers) req.Headers.TryAddWithoutValidation(k, v);
        using var resp = await _client!.SendAsync(req);
        return ((int)resp.StatusCode, await resp.Content.ReadAsStringAsync());
    }

    private async Task<long> CountAsync() => (long)(await _db!.ScalarAsync("select count(*) from api.items"))!;

    /// <summary>Backends of this database waiting for <see cref="GateLock"/>.</summary>
    private async Task<long> GateWaitersAsync() => (long)(await _db!.ScalarAsync($"""
        select count(*) from pg_locks l join pg_stat_activity a using (pid)
        where a.datname = current_database() and l.locktype = 'advisory' and l.objid = {GateLock} and not l.granted
        """))!;

    [Fact]
    public async Task A_bulk_insert_with_one_bad_row_inserts_nothing()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/items", """[{"id":1,"v":"a"},{"id":2,"v":null},{"id":3,"v":"c"}]""");
        Assert.Equal(400, status);
        Assert.Contains("23502", body, StringComparison.Ordinal);
        (status, body) = await SendAsync(HttpMethod.Post, "/items", """[{"id":4,"v":"a"},{"id":100,"v":"dup"}]""");
        Assert.Equal(409, status);
        Assert.Contains("23505", body, StringComparison.Ordinal);
        Assert.Equal(2, await CountAsync());
    }

    [Fact]
    public async Task A_bulk_insert_commits_all_rows_in_one_request()
    {
        var rows = string.Join(",", Enumerable.Range(1000, 500).Select(i => $"{{\"id\":{i},\"v\":\"r{i}\"}}"));
        var (status, _) = await SendAsync(HttpMethod.Post, "/items", "[" + rows + "]");
        Assert.Equal(201, status);
        Assert.Equal(500L, await _db!.ScalarAsync("select count(*) from api.items where id >= 1000"));
        await _db.ExecuteSqlAsync("delete from api.items where id >= 1000");
    }

    [Fact]
    public async Task Failed_checks_roll_the_write_back()
    {
        var (status, body) = await SendAsync(HttpMethod.Put, "/items?id=eq.200", """{"id":201,"v":"x"}""");
        Assert.Equal(400, status);
        Assert.Contains("PGRST115", body, StringComparison.Ordinal);
        (status, body) = await SendAsync(HttpMethod.Delete, "/items?id=gte.100", null, ("Prefer", "handling=strict, max-affected=1"));
        Assert.Equal(400, status);
        Assert.Contains("PGRST124", body, StringComparison.Ordinal);
        (status, _) = await SendAsync(HttpMethod.Patch, "/items?id=gte.100", """{"v":"changed"}""", ("Accept", "application/vnd.pgrst.object+json"));
        Assert.Equal(406, status);
        Assert.Equal(2, await CountAsync());
        Assert.Equal(0L, await _db!.ScalarAsync("select count(*) from api.items where v <> 'kept'"));
    }

    [Fact]
    public async Task A_failing_write_also_rolls_back_what_the_pre_request_wrote()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/items", """[{"id":600,"v":"a"},{"id":100,"v":"dup"}]""",
            ("X-Note", "failed insert"));
        Assert.Equal(409, status);
        Assert.Contains("23505", body, StringComparison.Ordinal);
        // The same pre-request does write when the request succeeds, so an empty log is not for want of a write.
        (status, _) = await SendAsync(HttpMethod.Post, "/items", """[{"id":601,"v":"a"}]""", ("X-Note", "good insert"));
        Assert.Equal(201, status);

        Assert.Equal("good insert", await _db!.ScalarAsync("select string_agg(note, ',') from api.request_log"));
        await _db.ExecuteSqlAsync("delete from api.request_log; delete from api.items where id = 601");
    }

    /// <summary>Sends a call that inserts row <paramref name="id"/> and then waits at the gate, and leaves once its
    /// transaction is there (the gate is held by the caller).</summary>
    private async Task LeaveMidTransactionAsync(ApiServer server, int id)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        var body = Encoding.UTF8.GetBytes($$"""{"new_id":{{id}}}""");
        var head = Encoding.ASCII.GetBytes($"POST /rpc/insert_then_wait HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n");
        var stream = tcp.GetStream();
        await stream.WriteAsync(head);
        await stream.WriteAsync(body);
        Assert.True(await AdminKit.EventuallyAsync(async () => await GateWaitersAsync() == 1),
            "the request's transaction never reached the gate");
    }

    [Fact]
    public async Task With_server_cancel_on_disconnect_a_request_whose_client_leaves_mid_transaction_is_rolled_back()
    {
        await using var server = await ApiServer.StartAsync(_config! with { ServerCancelOnDisconnect = true }, CancellationToken.None, _ => { });
        // Holding the gate keeps the request's transaction open after its insert, until the test lets it go.
        await using var gate = new NpgsqlConnection(_db!.ConnectionString);
        await gate.OpenAsync();
        await using (var lockIt = new NpgsqlCommand($"select pg_advisory_lock({GateLock})", gate))
            await lockIt.ExecuteNonQueryAsync();

        await LeaveMidTransactionAsync(server, 500);

        // The server must cancel the statement once the client has gone; otherwise it would wait for the gate and
        // then commit the insert for nobody.
        var cancelled = await AdminKit.EventuallyAsync(async () => await GateWaitersAsync() == 0, TimeSpan.FromSeconds(10));
        await using (var unlock = new NpgsqlCommand($"select pg_advisory_unlock({GateLock})", gate))
            await unlock.ExecuteNonQueryAsync();
        Assert.True(cancelled, "the request's transaction was still waiting 10 s after its client left");
        Assert.Equal(0L, await _db.ScalarAsync("select count(*) from api.items where id = 500"));

        // The connection went back to the pool clean: the next write on it commits.
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        using var content = new StringContent("""[{"id":501,"v":"after"}]""", Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        Assert.Equal(201, (int)(await client.PostAsync("/items", content)).StatusCode);
        await _db.ExecuteSqlAsync("delete from api.items where id = 501");
        Assert.Equal(2, await CountAsync());
    }

    [Fact]
    public async Task By_default_as_in_PostgREST_a_request_whose_client_leaves_runs_to_its_end_and_commits()
    {
        await using var gate = new NpgsqlConnection(_db!.ConnectionString);
        await gate.OpenAsync();
        await using (var lockIt = new NpgsqlCommand($"select pg_advisory_lock({GateLock})", gate))
            await lockIt.ExecuteNonQueryAsync();

        await LeaveMidTransactionAsync(_server!, 502);
        // The client is gone and the transaction still waits at the gate: nothing cancelled it.
        Assert.Equal(1L, await GateWaitersAsync());
        await using (var unlock = new NpgsqlCommand($"select pg_advisory_unlock({GateLock})", gate))
            await unlock.ExecuteNonQueryAsync();

        Assert.True(await AdminKit.EventuallyAsync(async () => (long)(await _db.ScalarAsync("select count(*) from api.items where id = 502"))! == 1L),
            "the write of the client that left was not committed");
        await _db.ExecuteSqlAsync("delete from api.items where id = 502");
        Assert.Equal(2, await CountAsync());
    }

    [Fact]
    public async Task Upsert_reports_201_for_inserts_and_200_for_updates_only()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/items", """[{"id":100,"v":"kept"}]""",
            ("Prefer", "resolution=merge-duplicates, return=representation"));
        Assert.Equal(200, status);
        Assert.Equal("""[{"id":100,"v":"kept"}]""", body);
        (status, _) = await SendAsync(HttpMethod.Post, "/items", """[{"id":100,"v":"kept"},{"id":400,"v":"new"}]""",
            ("Prefer", "resolution=merge-duplicates"));
        Assert.Equal(201, status);
        await _db!.ExecuteSqlAsync("delete from api.items where id = 400");
    }
}
