using System.Net;
using System.Net.Sockets;
using Restgres.Http;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Http;

/// <summary>
/// server-unix-socket, admin-server-unix-socket (with their modes) and server-reuseport: a config meant to listen only
/// on a socket never also exposes the API on a TCP port.
/// </summary>
[Collection("pg")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ListenerTests(PgClusterFixture pg, ReadPathApi api) : IClassFixture<ReadPathApi>
{
    private static HttpClient UnixClient(string path) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, ct) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
            return new NetworkStream(socket, ownsSocket: true);
        },
    })
    { BaseAddress = new Uri("http://localhost/") };

    private static bool TcpRefused(int port)
    {
        using var tcp = new TcpClient();
        try
        {
            tcp.Connect(IPAddress.Loopback, port);
            return false;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode == SocketError.ConnectionRefused;
        }
    }

    [Theory]
    [InlineData("http://127.0.0.1:3000/", "127.0.0.1:3000")]
    [InlineData("http://[::1]:3000/", "[::1]:3000")]
    [InlineData("http://127.0.0.1:80/", "127.0.0.1:80")]
    [InlineData("unix:/tmp/api.sock", "unix:/tmp/api.sock")]
    // A wildcard host is logged as bound (it once said 127.0.0.1 for a server listening on every address).
    [InlineData("http://0.0.0.0:3000", "0.0.0.0:3000")]
    [InlineData("http://[::]:3000", "[::]:3000")]
    public void The_listening_address_is_logged_as_PostgREST_writes_it(string started, string shown)
    {
        Assert.Equal(shown, Listener.Display(new Uri(started)));
    }

    [Theory]
    [InlineData("http://0.0.0.0:3000", "http://127.0.0.1:3000/")]
    // Over IPv6 loopback, as the server's own requests (ReachableAt): an IPv6-only socket has no 127.0.0.1.
    [InlineData("http://[::]:3000", "http://[::1]:3000/")]
    [InlineData("http://[::1]:3000", "http://[::1]:3000/")]
    [InlineData("http://127.0.0.1:3000", "http://127.0.0.1:3000/")]
    [InlineData("unix:/tmp/api.sock", "unix:/tmp/api.sock")]
    public void A_server_on_a_wildcard_address_is_reached_over_loopback(string started, string reached)
    {
        Assert.Equal(reached, new Listener("*", 3000, null, 0, false).Connectable(new Uri(started)).ToString());
    }

    [Fact]
    public async Task The_api_and_the_admin_server_listen_on_their_sockets_with_their_modes_and_on_no_port()
    {
        await api.DefaultAsync(pg);
        var dir = Directory.CreateTempSubdirectory("restgres-sock-").FullName;
        try
        {
            var sock = Path.Combine(dir, "api.sock");
            var adminSock = Path.Combine(dir, "admin.sock");
            // A file left at the path (e.g. by a killed process) is replaced, as PostgREST does.
            await File.WriteAllTextAsync(sock, "stale");
            var port = Restgres.Dev.PostgresCluster.FreePort();
            var config = api.BaseConfig with
            {
                ServerHost = "127.0.0.1", ServerPort = port, ServerUnixSocket = sock, ServerUnixSocketMode = Convert.ToInt32("600", 8),
                AdminServerUnixSocket = adminSock, AdminServerUnixSocketMode = Convert.ToInt32("666", 8),
            };
            await using var server = await ApiServer.StartAsync(config, CancellationToken.None, _ => { });
            Assert.Equal(new Uri("unix:" + sock), server.BaseAddress);

            using var client = UnixClient(sock);
            Assert.Equal("""[{"id":1}]""", await client.GetStringAsync("/books?select=id&id=eq.1"));
            using var admin = UnixClient(adminSock);
            Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/live")).StatusCode);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(sock));
            Assert.Equal(Convert.ToInt32("666", 8), (int)File.GetUnixFileMode(adminSock));
            Assert.True(TcpRefused(port), $"the API also listens on TCP port {port}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_socket_another_server_listens_on_is_not_taken_over()
    {
        await api.DefaultAsync(pg);
        var dir = Directory.CreateTempSubdirectory("restgres-sock-").FullName;
        try
        {
            var sock = Path.Combine(dir, "api.sock");
            await using var first = await ApiServer.StartAsync(api.BaseConfig with { ServerUnixSocket = sock }, CancellationToken.None, _ => { });
            await Assert.ThrowsAnyAsync<IOException>(() => ApiServer.StartAsync(api.BaseConfig with { ServerUnixSocket = sock }, CancellationToken.None, _ => { }));
            using var client = UnixClient(sock);
            Assert.Equal("""[{"id":1}]""", await client.GetStringAsync("/books?select=id&id=eq.1"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task With_reuseport_two_servers_share_a_port_and_without_it_the_second_cannot_bind()
    {
        await api.DefaultAsync(pg);
        var port = Restgres.Dev.PostgresCluster.FreePort();
        var config = api.BaseConfig with { ServerHost = "127.0.0.1", ServerPort = port, ServerReusePort = true };
        await using var first = await ApiServer.StartAsync(config, CancellationToken.None, _ => { });
        await using var second = await ApiServer.StartAsync(config, CancellationToken.None, _ => { });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        Assert.Equal("""[{"id":1}]""", await http.GetStringAsync("/books?select=id&id=eq.1"));
        await Assert.ThrowsAnyAsync<IOException>(() => ApiServer.StartAsync(config with { ServerReusePort = false }, CancellationToken.None, _ => { }));
    }

    [Fact]
    public async Task A_draining_instance_sharing_its_port_answers_with_Connection_close_so_clients_move_to_the_others()
    {
        await api.DefaultAsync(pg);
        var port = Restgres.Dev.PostgresCluster.FreePort();
        var config = api.BaseConfig with { ServerHost = "127.0.0.1", ServerPort = port, ServerReusePort = true };
        await using var old = await ApiServer.StartAsync(config, CancellationToken.None, _ => { });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        var before = await http.GetAsync("/books?select=id&id=eq.1");
        Assert.False(before.Headers.ConnectionClose ?? false);
        // SIGTERM's first step (ApiServer.RunAsync): still serving, every answer closes its connection.
        var drain = old.DrainAsync();
        var during = await http.GetAsync("/books?select=id&id=eq.1");
        Assert.Equal("""[{"id":1}]""", await during.Content.ReadAsStringAsync());
        Assert.True(during.Headers.ConnectionClose);
        await drain;
    }

    [Fact]
    public async Task Only_while_another_process_shares_the_port_is_there_anywhere_to_drain_to()
    {
        await api.DefaultAsync(pg);
        var port = Restgres.Dev.PostgresCluster.FreePort();
        var config = api.BaseConfig with { ServerHost = "127.0.0.1", ServerPort = port, ServerReusePort = true };
        await using var server = await ApiServer.StartAsync(config, CancellationToken.None, _ => { });
        var spec = new Listener("127.0.0.1", port, null, 0, ReusePort: true);
        // This process's own socket does not count: the last instance stops at once, as PostgREST does.
        Assert.False(spec.OthersListening());
        var start = new System.Diagnostics.ProcessStartInfo("python3") { RedirectStandardInput = true, RedirectStandardOutput = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1); "
            + $"s.bind(('127.0.0.1', {port})); s.listen(); print('listening', flush=True); sys.stdin.read()");
        using var other = System.Diagnostics.Process.Start(start)!;
        try
        {
            Assert.Equal("listening", await other.StandardOutput.ReadLineAsync());
            Assert.True(spec.OthersListening());
        }
        finally
        {
            other.Kill();
            await other.WaitForExitAsync();
        }
        Assert.False(spec.OthersListening());
    }
}
