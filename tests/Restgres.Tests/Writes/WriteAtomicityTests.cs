using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Restgres.Config;
using Restgres.Http;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Writes;

/// <summary>
/// Writes against a real PostgreSQL: a failing bulk write, a failed check (PGRST115 / PGRST124) and a body cut
/// off mid-way all leave the table as it was; a successful one commits (db-tx-end = commit).
/// </summary>
[Collection("pg")]
public sealed class WriteAtomicityTests(PgClusterFixture pg) : IAsyncLifetime
{
    private const string Schema = """
        create schema api;
        create table api.items (id int primary key, v text not null);
        insert into api.items values (100, 'kept'), (101, 'kept');
        """;

    private TestDatabase? db;
    private ApiServer? server;
    private HttpClient? client;

    public async Task InitializeAsync()
    {
        db = await pg.CreateDatabaseAsync(Schema);
        var config = new AppConfig
        {
            DbUri = db.Uri(),
            DbSchemas = ["api"],
            DbAnonRole = Restgres.Dev.PostgresCluster.SuperUser,
            DbChannelEnabled = false,
            ServerHost = "127.0.0.1",
            ServerPort = 0,
        };
        server = await ApiServer.StartAsync(config, CancellationToken.None, _ => { });
        client = new HttpClient { BaseAddress = server.BaseAddress };
    }

    public async Task DisposeAsync()
    {
        client?.Dispose();
        if (server is not null) await server.DisposeAsync();
    }

    private async Task<(int Status, string Body)> SendAsync(HttpMethod method, string url, string? json, params (string, string)[] headers)
    {
        using var req = new HttpRequestMessage(method, url);
        if (json is not null) req.Content = new StringContent(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        foreach (var (k, v) in headers) req.Headers.TryAddWithoutValidation(k, v);
        using var resp = await client!.SendAsync(req);
        return ((int)resp.StatusCode, await resp.Content.ReadAsStringAsync());
    }

    private async Task<long> CountAsync() => (long)(await db!.ScalarAsync("select count(*) from api.items"))!;

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
        Assert.Equal(500L, await db!.ScalarAsync("select count(*) from api.items where id >= 1000"));
        await db.ExecuteSqlAsync("delete from api.items where id >= 1000");
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
        Assert.Equal(0L, await db!.ScalarAsync("select count(*) from api.items where v <> 'kept'"));
    }

    [Fact]
    public async Task A_request_cut_off_mid_body_writes_nothing()
    {
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(server!.BaseAddress.Host, server.BaseAddress.Port);
            var body = Encoding.UTF8.GetBytes("""[{"id":300,"v":"a"},{"id":301,"v":"b"},""");
            var head = Encoding.ASCII.GetBytes($"POST /items HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\nContent-Type: application/json\r\nContent-Length: {body.Length + 100}\r\n\r\n");
            var stream = tcp.GetStream();
            await stream.WriteAsync(head);
            await stream.WriteAsync(body);
            await stream.FlushAsync();
        }
        // The server must see the reset and give up; then it still serves requests and nothing was written.
        await Task.Delay(300);
        var (status, _) = await SendAsync(HttpMethod.Get, "/items?select=id", null);
        Assert.Equal(200, status);
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
        await db!.ExecuteSqlAsync("delete from api.items where id = 400");
    }
}
