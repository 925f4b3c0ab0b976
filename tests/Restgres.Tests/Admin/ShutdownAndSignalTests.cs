using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Restgres.Tests.Infrastructure;
using Xunit;
using Proc = System.Diagnostics.Process;

namespace Restgres.Tests.Admin;

/// <summary>
/// The built <c>restgres</c> executable as operators run it: SIGTERM drains in-flight requests and exits 0, SIGUSR2
/// reloads the config file, and the admin server and JSON logs work end to end.
/// </summary>
[Collection("pg")]
public sealed class ShutdownAndSignalTests(PgClusterFixture pg) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("restgres-signals-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The apphost the test project's build copies next to the tests.</summary>
    private static string Executable => Path.Combine(AppContext.BaseDirectory, "restgres");

    private sealed class Server : IAsyncDisposable
    {
        private readonly Proc _process;
        private readonly StringBuilder _stdout = new();
        private readonly StringBuilder _stderr = new();

        public Server(string configPath, int port, int adminPort)
        {
            Port = port;
            AdminPort = adminPort;
            var psi = new ProcessStartInfo(Executable, [configPath])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("PGRST_", StringComparison.Ordinal)).ToList())
                psi.Environment.Remove(key);
            _process = Proc.Start(psi)!;
            _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.Append(e.Data).Append('\n'); };
            _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.Append(e.Data).Append('\n'); };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public int Port { get; }

        public int AdminPort { get; }

        public Uri Api => new($"http://127.0.0.1:{Port}/");

        public Uri Admin => new($"http://127.0.0.1:{AdminPort}/");

        public string StdOut { get { lock (_stdout) return _stdout.ToString(); } }

        public string StdErr { get { lock (_stderr) return _stderr.ToString(); } }

        public async Task ReadyAsync()
        {
            var ok = await AdminKit.EventuallyAsync(async () =>
            {
                if (_process.HasExited) throw new InvalidOperationException($"restgres exited with {_process.ExitCode}: {StdErr}");
                try
                {
                    return await AdminKit.StatusAsync(Admin, "/ready") == 200;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(60));
            Assert.True(ok, "restgres did not become ready: " + StdErr);
        }

        public async Task SignalAsync(string signal)
        {
            using var kill = Proc.Start(new ProcessStartInfo("kill", ["-s", signal, _process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
            await kill.WaitForExitAsync();
            Assert.Equal(0, kill.ExitCode);
        }

        public async Task<int?> ExitCodeAsync(TimeSpan within)
        {
            using var cts = new CancellationTokenSource(within);
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
            _process.WaitForExit();
            return _process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
        }
    }

    private string WriteConfig(TestDatabase db, int port, int adminPort, string extra = "")
    {
        var path = Path.Combine(_dir, "restgres.conf");
        File.WriteAllText(path, $"""
            db-uri = "{db.Uri(AdminKit.Authenticator)}"
            db-schemas = "api"
            db-anon-role = "{AdminKit.Anon}"
            db-pool = 5
            db-pool-acquisition-timeout = 30
            server-host = "127.0.0.1"
            server-port = {port}
            admin-server-host = "127.0.0.1"
            admin-server-port = {adminPort}
            {extra}
            """);
        return path;
    }

    [Fact]
    public async Task SIGTERM_finishes_every_in_flight_request_refuses_new_ones_and_exits_0()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        var (port, adminPort) = (AdminKit.FreePort(), AdminKit.FreePort());
        await using var server = new Server(WriteConfig(db, port, adminPort, "log-level = \"info\""), port, adminPort);
        await server.ReadyAsync();

        // Twenty slow calls on five connections: some run, the others wait for the pool, all are in flight.
        const int count = 20;
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(90) };
        var calls = Enumerable.Range(0, count)
            .Select(_ => client.GetAsync(new Uri(server.Api, "rpc/slow?s=1.5")))
            .ToList();
        Assert.True(await AdminKit.EventuallyAsync(async () =>
            AdminKit.Sample((await AdminKit.GetAsync(server.Admin, "/metrics")).Body, "restgres_http_requests_in_flight") == count),
            "the requests did not all reach the server");

        await server.SignalAsync("TERM");

        // The listening socket closes at once: new connections are refused while the old requests finish.
        Assert.True(await AdminKit.EventuallyAsync(async () =>
        {
            using var tcp = new TcpClient();
            try
            {
                await tcp.ConnectAsync("127.0.0.1", port);
                return false;
            }
            catch (SocketException)
            {
                return true;
            }
        }, TimeSpan.FromSeconds(5)), "the API still accepts connections after SIGTERM");

        var responses = await Task.WhenAll(calls);
        Assert.All(responses, r => Assert.Equal(200, (int)r.StatusCode));
        foreach (var r in responses) Assert.Equal("1", await r.Content.ReadAsStringAsync());
        Assert.Equal(0, await server.ExitCodeAsync(TimeSpan.FromSeconds(60)));
        // Every request was logged, the access log flushed before the exit.
        Assert.Equal(count, server.StdOut.Split('\n').Count(l => l.Contains("\"GET /rpc/slow?s=1.5 HTTP/1.1\" 200", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task SIGUSR2_reloads_the_config_file()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        var (port, adminPort) = (AdminKit.FreePort(), AdminKit.FreePort());
        var path = WriteConfig(db, port, adminPort);
        await using var server = new Server(path, port, adminPort);
        await server.ReadyAsync();
        Assert.Contains("{\"id\":3}", (await AdminKit.GetAsync(server.Api, "/items?select=id")).Body);
        // A Restgres-only option is in the dump only when set (the dump of a PostgREST config is PostgREST's).
        Assert.DoesNotContain("log-format", (await AdminKit.GetAsync(server.Admin, "/config")).Body, StringComparison.Ordinal);

        await File.AppendAllTextAsync(path, "\ndb-max-rows = 1\nlog-level = \"info\"\nlog-format = \"json\"\n");
        await server.SignalAsync("USR2");

        Assert.True(await AdminKit.EventuallyAsync(async () => (await AdminKit.GetAsync(server.Api, "/items?select=id")).Body == "[{\"id\":1}]"),
            server.StdErr);
        Assert.Contains("log-format = \"json\"", (await AdminKit.GetAsync(server.Admin, "/config")).Body);
        Assert.Contains("Config reloaded", server.StdErr, StringComparison.Ordinal);
        // The reloaded log-level and log-format apply to the next requests: JSON lines on stdout.
        Assert.Equal(200, await AdminKit.StatusAsync(server.Api, "/items?id=eq.3"));
        Assert.True(await AdminKit.EventuallyAsync(() => Task.FromResult(server.StdOut.Contains("\"query\":\"id=eq.3\"", StringComparison.Ordinal))),
            server.StdOut);
        await server.SignalAsync("TERM");
        Assert.Equal(0, await server.ExitCodeAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task An_admin_port_in_use_stops_startup_with_a_message()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        using var busy = new TcpListener(System.Net.IPAddress.Loopback, 0);
        busy.Start();
        var adminPort = ((System.Net.IPEndPoint)busy.LocalEndpoint).Port;
        var port = AdminKit.FreePort();
        await using var server = new Server(WriteConfig(db, port, adminPort), port, adminPort);
        Assert.Equal(1, await server.ExitCodeAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains($"restgres: cannot listen on admin-server-host 127.0.0.1, admin-server-port {adminPort}", server.StdErr, StringComparison.Ordinal);
    }
}
