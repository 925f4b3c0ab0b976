using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Restgres.Dev;

namespace Restgres.Tests.Infrastructure;

/// <summary>
/// Debian's PgBouncer (1.18) in transaction mode on a free loopback port in front of the test cluster, as
/// <c>scripts/pgbouncer.sh</c> starts it for the conformance run: the cluster's login roles are its auth file (trust,
/// as the cluster). <see cref="Kill"/> and <see cref="StartAsync()"/> restart it on the same port, as a crashed and
/// restarted pooler. Missing pgbouncer fails the test with the command that installs it (test.sh runs it).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PgBouncer : IAsyncDisposable
{
    private readonly string _binary;
    private readonly string _dir;
    private readonly string _ini;
    private System.Diagnostics.Process? _process;

    private PgBouncer(string binary, string dir, string ini, int port)
    {
        _binary = binary;
        _dir = dir;
        _ini = ini;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The log, for a failure message.</summary>
    public string Log => File.Exists(Path.Combine(_dir, "pgbouncer.log")) ? File.ReadAllText(Path.Combine(_dir, "pgbouncer.log")) : "";

    /// <summary>A <c>postgresql://</c> URI for <paramref name="database"/> through the pooler.</summary>
    public string Uri(string database, string user) => $"postgresql://{user}@127.0.0.1:{Port}/{database}";

    public static async Task<PgBouncer> StartAsync(PostgresCluster cluster, int poolSize = 10)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var binary = new[] { "/usr/sbin/pgbouncer", "/usr/bin/pgbouncer" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("pgbouncer is not installed: run scripts/ensure-deps.sh pgbouncer (test.sh does)");
        var dir = Directory.CreateTempSubdirectory("restgres-pgbouncer-").FullName;
        var roles = new List<string>();
        await using (var conn = new NpgsqlConnection(cluster.ConnectionString))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand(
                """select '"' || replace(rolname, '"', '""') || '" "' || coalesce(rolpassword, '') || '"' from pg_authid where rolcanlogin""", conn);
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) roles.Add(reader.GetString(0));
        }
        await File.WriteAllLinesAsync(Path.Combine(dir, "userlist.txt"), roles);
        var port = PostgresCluster.FreePort();
        var ini = Path.Combine(dir, "pgbouncer.ini");
        await File.WriteAllTextAsync(ini, string.Create(CultureInfo.InvariantCulture, $"""
            [databases]
            * = host=127.0.0.1 port={cluster.Port}

            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = {port}
            unix_socket_dir =
            auth_type = trust
            auth_file = {dir}/userlist.txt
            pool_mode = transaction
            default_pool_size = {poolSize}
            max_client_conn = 500
            admin_users = postgres
            ignore_startup_parameters = extra_float_digits
            logfile = {dir}/pgbouncer.log

            """));
        // PgBouncer refuses to run as root: it drops to the postgres user (-u), who must write its log here.
        if (Environment.IsPrivilegedProcess)
        {
            File.SetUnixFileMode(dir, (UnixFileMode)Convert.ToInt32("755", 8));
            await ProcessRunner.RunAsync("chown", ["-R", PostgresCluster.SuperUser + ":", dir]);
        }
        var bouncer = new PgBouncer(binary, dir, ini, port);
        await bouncer.StartAsync();
        return bouncer;
    }

    /// <summary>Starts the process (again, after <see cref="Kill"/>) and waits until a query passes through it.</summary>
    public async Task StartAsync()
    {
        var start = new ProcessStartInfo(_binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (Environment.IsPrivilegedProcess)
        {
            start.ArgumentList.Add("-u");
            start.ArgumentList.Add(PostgresCluster.SuperUser);
        }
        start.ArgumentList.Add(_ini);
        _process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException("pgbouncer did not start");
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                await using var conn = new NpgsqlConnection($"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=false;Timeout=2");
                await conn.OpenAsync();
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                if (_process.HasExited || DateTime.UtcNow > deadline)
                    throw new InvalidOperationException($"pgbouncer did not start on port {Port}: {e.Message}\n{Log}", e);
                await Task.Delay(100);
            }
        }
    }

    /// <summary>SIGKILL: every client and server connection is cut at once, as when the pooler crashes.</summary>
    public void Kill()
    {
        if (_process is null) return;
        _process.Kill();
        _process.WaitForExit();
        _process.Dispose();
        _process = null;
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
        return ValueTask.CompletedTask;
    }
}
