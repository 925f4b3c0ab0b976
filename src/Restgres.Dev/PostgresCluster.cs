using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Restgres.Dev;

/// <summary>
/// A PostgreSQL cluster of our own, run from the machine's server binaries: <c>restgres dev</c> keeps one in
/// <c>./.restgres</c>, and the tests make throw-away ones. It listens on 127.0.0.1 only, with trust authentication,
/// so it is a development tool, never a way to run production data.
/// </summary>
public sealed partial class PostgresCluster : IAsyncDisposable
{
    /// <summary>The superuser initdb creates; also the OS user the server runs as when we are root.</summary>
    public const string SuperUser = "postgres";

    /// <summary>Our settings, rewritten on every start and included from postgresql.conf.</summary>
    internal const string SettingsFile = "restgres.conf";

    internal const string TemporaryPrefix = "restgres-pg-";

    /// <summary>sun_path holds 107 bytes; the socket file name ".s.PGSQL.65535" needs 15 of them with the slash.</summary>
    private const int MaxSocketDirLength = 90;

    private static readonly Lock TemporaryLock = new();
    private static readonly HashSet<PostgresCluster> LiveTemporaries = [];
    private static bool s_exitHookInstalled;
    private static bool s_osUserChecked;

    private readonly string? _temporaryRoot;
    private readonly bool _ownsServer;
    private bool _stopped;
    private bool _disposed;

    private PostgresCluster(
        string dataDir, int port, string socketDir, PostgresBinaries binaries, string? runAsUser, bool wasAlreadyRunning,
        string? temporaryRoot)
    {
        DataDir = dataDir;
        Port = port;
        SocketDir = socketDir;
        Binaries = binaries;
        RunAsUser = runAsUser;
        WasAlreadyRunning = wasAlreadyRunning;
        _ownsServer = !wasAlreadyRunning;
        _temporaryRoot = temporaryRoot;
    }

    /// <summary>The cluster's data directory (absolute).</summary>
    public string DataDir { get; }

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Where the Unix socket lives, for <c>psql -h SocketDir -p Port</c>.</summary>
    public string SocketDir { get; }

    public PostgresBinaries Binaries { get; }

    /// <summary>
    /// The OS user the server runs as when it is not us: PostgreSQL refuses to run as root, so a root process runs
    /// initdb and pg_ctl through <c>runuser -u postgres</c>. Null when we run them directly.
    /// </summary>
    public string? RunAsUser { get; }

    /// <summary>The server was already running from <see cref="DataDir"/> and was reused rather than started.</summary>
    public bool WasAlreadyRunning { get; }

    /// <summary>The server log (<c>pg_ctl -l</c>).</summary>
    public string LogFile => Path.Combine(DataDir, "server.log");

    /// <summary>Npgsql connection string for the superuser and the <c>postgres</c> database.</summary>
    public string ConnectionString => ConnectionStringFor("postgres");

    /// <summary>Npgsql connection string for another database and/or user.</summary>
    public string ConnectionStringFor(string database, string user = SuperUser, string? password = null)
    {
        var b = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = user,
            Database = database,
        };
        if (password is not null)
            b.Password = password;
        return b.ConnectionString;
    }

    /// <summary>
    /// A <c>postgresql://</c> URI, the form PostgREST's <c>db-uri</c> documents.
    /// </summary>
    public string ConnectionUri(string database = "postgres", string user = SuperUser, string? password = null)
    {
        var credentials = Uri.EscapeDataString(user) + (password is null ? "" : ":" + Uri.EscapeDataString(password));
        return $"postgresql://{credentials}@127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/{Uri.EscapeDataString(database)}";
    }

    /// <summary>
    /// Starts the cluster in <paramref name="dataDir"/>, creating it first when the directory holds none, or reuses it
    /// when a server is already running from it (then <paramref name="port"/> is ignored and <see cref="Port"/> is the
    /// running server's). Without a port, the one used last time is taken again when free, else a free one.
    /// </summary>
    /// <exception cref="PostgresBinariesNotFoundException">No server binaries on this machine.</exception>
    /// <exception cref="PostgresClusterException">initdb or the start failed; the message holds the server log.</exception>
    public static Task<PostgresCluster> StartAsync(
        string dataDir, int? port = null, ClusterOptions? options = null, CancellationToken ct = default) =>
        StartAsync(dataDir, port, options ?? new ClusterOptions(), temporaryRoot: null, ct);

    /// <summary>
    /// A throw-away, ephemeral cluster in a fresh temporary directory on a free port, deleted on dispose (and on
    /// process exit, should the owner forget).
    /// </summary>
    public static async Task<PostgresCluster> CreateTemporaryAsync(ClusterOptions? options = null, CancellationToken ct = default)
    {
        options = (options ?? new ClusterOptions()) with { Ephemeral = true };
        var binaries = PostgresBinaries.Locate(options.BinDir);
        await SweepAbandonedTemporariesAsync(binaries, RootRunAsUser());
        var root = Directory.CreateTempSubdirectory(TemporaryPrefix).FullName;
        // Lets a later run recognise this directory as abandoned if our process dies without disposing it.
        await File.WriteAllTextAsync(Path.Combine(root, "owner.pid"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture), ct);
        try
        {
            return Register(await StartAsync(Path.Combine(root, "data"), FreePort(), options, root, ct));
        }
        catch
        {
            await TryStopAndDeleteAsync(binaries, RootRunAsUser(), root);
            throw;
        }
    }

    private static PostgresCluster Register(PostgresCluster cluster)
    {
        lock (TemporaryLock)
        {
            LiveTemporaries.Add(cluster);
            if (!s_exitHookInstalled)
            {
                AppDomain.CurrentDomain.ProcessExit += (_, _) => StopLiveTemporariesAtExit();
                s_exitHookInstalled = true;
            }
        }
        return cluster;
    }

    /// <summary>
    /// A throw-away streaming standby of this (running) cluster, as a read replica is made: <c>pg_basebackup -R</c>
    /// over loopback (initdb's pg_hba.conf lets the superuser connect for replication from 127.0.0.1; one is added
    /// when missing), started in hot standby on a free port, deleted on dispose.
    /// </summary>
    /// <param name="applyDelay">recovery_min_apply_delay: the standby replays each commit this long after it was
    /// made, so that replication lag can be seen on one machine.</param>
    public async Task<PostgresCluster> CreateStandbyAsync(TimeSpan? applyDelay = null, ClusterOptions? options = null, CancellationToken ct = default)
    {
        options = (options ?? new ClusterOptions()) with { Ephemeral = true };
        await EnsureReplicationAccessAsync(ct);
        var root = Directory.CreateTempSubdirectory(TemporaryPrefix).FullName;
        await File.WriteAllTextAsync(Path.Combine(root, "owner.pid"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture), ct);
        try
        {
            var dataDir = Path.Combine(root, "data");
            Directory.CreateDirectory(dataDir);
            SetMode(dataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            if (RunAsUser is not null)
            {
                await ChownAsync(RunAsUser, dataDir, ct);
                MakeAncestorsTraversable(dataDir, options.Log);
            }
            options.Log?.Invoke($"Copying the cluster on port {Port} into a standby in {dataDir}");
            var backup = await RunPgProgramAsync(Binaries.PgBaseBackup,
            [
                "-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", SuperUser, "-D", dataDir,
                "-R", "-X", "stream", "-c", "fast", "--no-sync", "-w",
            ], ct);
            if (backup.ExitCode != 0)
                throw new PostgresClusterException($"pg_basebackup from port {Port} failed: {backup.Output}");
            // The copy carries the primary's log; the standby's starts afresh.
            File.Delete(Path.Combine(dataDir, "server.log"));
            if (applyDelay is { } delay)
            {
                options = options with
                {
                    Settings = options.Settings.SetItem("recovery_min_apply_delay",
                        ConfQuote(((long)delay.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms")),
                };
            }
            return Register(await StartAsync(dataDir, FreePort(), options, root, ct));
        }
        catch
        {
            await TryStopAndDeleteAsync(Binaries, RunAsUser, root);
            throw;
        }
    }

    /// <summary>Starts again a server stopped by <see cref="StopAsync(CancellationToken)"/>, on the same port.</summary>
    public async Task StartAgainAsync(CancellationToken ct = default)
    {
        if (!_stopped)
            return;
        var failure = await TryStartServerAsync(new ClusterOptions(), ct);
        if (failure is not null)
            throw new PostgresClusterException($"PostgreSQL did not start again from {DataDir} on port {Port}:\n{failure}");
        _stopped = false;
    }

    /// <summary>A standby needs wal_level replica or above and a pg_hba.conf line for replication connections.</summary>
    private async Task EnsureReplicationAccessAsync(CancellationToken ct)
    {
        await using var conn = new NpgsqlConnection(ConnectionString);
        await conn.OpenAsync(ct);
        await using (var level = new NpgsqlCommand("show wal_level", conn))
        {
            if (await level.ExecuteScalarAsync(ct) is "minimal")
                throw new PostgresClusterException($"The cluster on port {Port} has wal_level = minimal: a standby needs replica or logical.");
        }
        var hba = Path.Combine(DataDir, "pg_hba.conf");
        var lines = await File.ReadAllLinesAsync(hba, ct);
        if (lines.Any(l => l.TrimStart().StartsWith("host", StringComparison.Ordinal) && l.Contains("replication", StringComparison.Ordinal)))
            return;
        await File.AppendAllTextAsync(hba, "\n# Added by Restgres for a standby made by pg_basebackup\nhost replication all 127.0.0.1/32 trust\n", ct);
        await using var reload = new NpgsqlCommand("select pg_reload_conf()", conn);
        await reload.ExecuteScalarAsync(ct);
    }

    private static async Task<PostgresCluster> StartAsync(
        string dataDir, int? port, ClusterOptions options, string? temporaryRoot, CancellationToken ct)
    {
        var binaries = PostgresBinaries.Locate(options.BinDir);
        dataDir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataDir));
        var runAs = RootRunAsUser();
        if (runAs is not null)
            await EnsureOsUserAsync(runAs, ct);

        if (ReadRunningServer(dataDir) is { } running)
        {
            if (port is { } wanted && wanted != running.Port)
                options.Log?.Invoke($"PostgreSQL is already running from {dataDir} on port {running.Port}; using it instead of port {wanted}");
            else
                options.Log?.Invoke($"PostgreSQL is already running from {dataDir} on port {running.Port}; reusing it");
            var reused = new PostgresCluster(dataDir, running.Port, running.SocketDir, binaries, runAs, wasAlreadyRunning: true, temporaryRoot);
            await reused.WaitUntilAcceptingAsync(options.StartTimeout, ct);
            return reused;
        }

        if (!File.Exists(Path.Combine(dataDir, "PG_VERSION")))
            await InitDbAsync(dataDir, binaries, runAs, options, ct);
        else if (runAs is not null)
            MakeAncestorsTraversable(dataDir, options.Log);

        var socketDir = await SocketDirFor(dataDir, runAs, ct);
        var remembered = RememberedPort(dataDir);
        var chosen = port ?? (remembered is { } r && IsPortFree(r) ? r : FreePort());
        // A port found free can be taken by someone else before the postmaster binds it; when we chose it we may
        // choose again, when the caller did the failure is theirs to see.
        for (var attempt = 1; ; attempt++)
        {
            WriteSettings(dataDir, chosen, socketDir, binaries, options);
            var cluster = new PostgresCluster(dataDir, chosen, socketDir, binaries, runAs, wasAlreadyRunning: false, temporaryRoot);
            var failure = await cluster.TryStartServerAsync(options, ct);
            if (failure is null)
            {
                options.Log?.Invoke($"PostgreSQL started from {dataDir} on 127.0.0.1:{chosen}");
                return cluster;
            }
            if (port is null && attempt < 3 && failure.Contains("could not bind", StringComparison.Ordinal))
            {
                chosen = FreePort();
                continue;
            }
            throw new PostgresClusterException(
                $"PostgreSQL did not start from {dataDir} on port {chosen}{await VersionMismatchHintAsync(dataDir, binaries, ct)}. " +
                $"Server log ({cluster.LogFile}):\n{failure}");
        }
    }

    /// <summary>Runs SQL through psql (so psql meta-commands work), stopping at the first error.</summary>
    /// <exception cref="PostgresClusterException">With psql's error text (file, line and PostgreSQL's message).</exception>
    public Task ExecuteSqlAsync(string sql, string database = "postgres", CancellationToken ct = default) =>
        RunPsqlAsync(["-f", "-"], sql, workingDirectory: null, database, "SQL", ct);

    /// <summary>Runs a SQL file through psql from the file's directory, so relative <c>\i</c> and <c>\copy</c> work.</summary>
    public Task ExecuteSqlFileAsync(string path, string database = "postgres", CancellationToken ct = default)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new FileNotFoundException($"SQL file not found: {full}", full);
        return RunPsqlAsync(["-f", full], stdin: null, Path.GetDirectoryName(full), database, full, ct);
    }

    private async Task RunPsqlAsync(
        string[] source, string? stdin, string? workingDirectory, string database, string what, CancellationToken ct)
    {
        var conninfo = $"host=127.0.0.1 port={Port.ToString(CultureInfo.InvariantCulture)} user={SuperUser} dbname={ConninfoQuote(database)}";
        string[] args = ["-X", "-q", "-w", "-v", "ON_ERROR_STOP=1", "-d", conninfo, .. source];
        var result = await ProcessRunner.RunAsync(Binaries.Psql, args, stdin, workingDirectory, ct);
        if (result.ExitCode != 0)
            throw new PostgresClusterException($"{what} failed on database \"{database}\" (port {Port}): {result.StdErr.Trim()}");
    }

    /// <summary>Stops the server (<c>pg_ctl stop -m fast</c>: sessions are disconnected, no recovery next start).</summary>
    public Task StopAsync(CancellationToken ct = default) => StopAsync("fast", ct);

    private async Task StopAsync(string mode, CancellationToken ct)
    {
        if (_stopped)
            return;
        var result = await RunPgProgramAsync(
            Binaries.PgCtl, ["stop", "-D", DataDir, "-m", mode, "-w", "-t", "60", "-s"], ct);
        // "PID file does not exist": _stopped by someone else, which is what we wanted.
        if (result.ExitCode != 0 && !result.Output.Contains("does not exist", StringComparison.Ordinal))
            throw new PostgresClusterException($"pg_ctl stop failed for {DataDir}: {result.Output}");
        _stopped = true;
    }

    /// <summary>
    /// Stops a server this instance started (a reused one is left to whoever started it); a temporary cluster is
    /// also deleted.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (_temporaryRoot is not null)
        {
            lock (TemporaryLock)
                LiveTemporaries.Remove(this);
            // Immediate: the data is about to be deleted, so a clean checkpoint would be wasted time.
            await TryStopAndDeleteAsync(Binaries, RunAsUser, _temporaryRoot);
            if (!SocketDir.StartsWith(_temporaryRoot, StringComparison.Ordinal))
                DeleteQuietly(SocketDir);
            _stopped = true;
            return;
        }
        if (_ownsServer)
            await StopAsync();
    }

    private async Task<string?> TryStartServerAsync(ClusterOptions options, CancellationToken ct)
    {
        var logOffset = File.Exists(LogFile) ? new FileInfo(LogFile).Length : 0;
        var timeout = ((int)Math.Ceiling(options.StartTimeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        var result = await RunPgProgramAsync(Binaries.PgCtl, ["start", "-D", DataDir, "-l", LogFile, "-w", "-t", timeout, "-s"], ct);
        if (result.ExitCode == 0)
            return null;
        var log = await ReadFromAsync(LogFile, logOffset);
        return (log.Trim() + "\n" + result.Output).Trim();
    }

    private async Task WaitUntilAcceptingAsync(TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        var cs = new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false, Timeout = 5 }.ConnectionString;
        while (true)
        {
            try
            {
                await using var conn = new NpgsqlConnection(cs);
                await conn.OpenAsync(ct);
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && DateTime.UtcNow < deadline)
            {
                // Still starting up or recovering ("the database system is starting up").
                await Task.Delay(200, ct);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                throw new PostgresClusterException(
                    $"A server is running from {DataDir} on port {Port} but does not accept connections ({e.Message}); " +
                    $"see {LogFile}, or stop it with pg_ctl stop -D {DataDir}.", e);
            }
        }
    }

    private Task<ProcessResult> RunPgProgramAsync(string program, string[] args, CancellationToken ct) =>
        RunAsServerUserAsync(RunAsUser, program, args, ct);

    private static Task<ProcessResult> RunAsServerUserAsync(string? runAs, string program, string[] args, CancellationToken ct) =>
        runAs is null
            ? ProcessRunner.RunAsync(program, args, ct: ct)
            : ProcessRunner.RunAsync(RunUserPath(), ["-u", runAs, "--", program, .. args], ct: ct);

    private static async Task InitDbAsync(
        string dataDir, PostgresBinaries binaries, string? runAs, ClusterOptions options, CancellationToken ct)
    {
        if (Directory.Exists(dataDir) && Directory.EnumerateFileSystemEntries(dataDir).Any())
        {
            throw new PostgresClusterException(
                $"{dataDir} exists but holds no PostgreSQL cluster (no PG_VERSION); remove it or choose another data directory.");
        }
        options.Log?.Invoke($"Creating a PostgreSQL cluster in {dataDir}");
        Directory.CreateDirectory(dataDir);
        // PostgreSQL refuses a data directory others can read.
        SetMode(dataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (runAs is not null)
        {
            await ChownAsync(runAs, dataDir, ct);
            MakeAncestorsTraversable(dataDir, options.Log);
        }
        List<string> args =
        [
            "-D", dataDir, "-U", SuperUser, "-E", "UTF8", "--no-locale", "--auth-local=trust", "--auth-host=trust",
        ];
        if (options.Ephemeral)
            args.Add("--no-sync");
        var result = await RunAsServerUserAsync(runAs, binaries.InitDb, [.. args], ct);
        if (result.ExitCode != 0)
            throw new PostgresClusterException($"initdb failed for {dataDir}: {result.Output}");
        // Our settings go in a file of their own so that each start can rewrite them (the port may change) without
        // touching the user's edits to postgresql.conf; ALTER SYSTEM still overrides both.
        await File.AppendAllTextAsync(
            Path.Combine(dataDir, "postgresql.conf"),
            $"\n# Restgres' settings, rewritten on every start\ninclude_if_exists = '{SettingsFile}'\n", ct);
    }

    private static void WriteSettings(string dataDir, int port, string socketDir, PostgresBinaries binaries, ClusterOptions options)
    {
        var settings = new List<KeyValuePair<string, string>>
        {
            new("listen_addresses", "'127.0.0.1'"),
            new("port", port.ToString(CultureInfo.InvariantCulture)),
            new("unix_socket_directories", ConfQuote(socketDir)),
            new("timezone", "'UTC'"),
            new("log_timezone", "'UTC'"),
        };
        if (binaries.HasModule("pg_stat_statements"))
            settings.Add(new("shared_preload_libraries", "'pg_stat_statements'"));
        if (options.Ephemeral)
        {
            settings.Add(new("fsync", "off"));
            settings.Add(new("synchronous_commit", "off"));
            settings.Add(new("full_page_writes", "off"));
            // Many test servers, each with its own pool, share one cluster.
            settings.Add(new("max_connections", "300"));
        }
        settings.AddRange(options.Settings);

        var text = new StringBuilder("# Written by Restgres on every start; put your own settings in postgresql.conf.\n");
        foreach (var (name, value) in settings)
            text.Append(name).Append(" = ").Append(value).Append('\n');
        var path = Path.Combine(dataDir, SettingsFile);
        File.WriteAllText(path, text.ToString());
        // Readable by the postgres OS user even when we are root with a strict umask; the data directory (0700)
        // keeps everyone else out.
        SetMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    /// <summary>The port written by the previous start, so a dev cluster keeps its address across runs.</summary>
    internal static int? RememberedPort(string dataDir)
    {
        var path = Path.Combine(dataDir, SettingsFile);
        if (!File.Exists(path))
            return null;
        foreach (var line in File.ReadLines(path))
        {
            var parts = line.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && parts[0] == "port" && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var p))
                return p;
        }
        return null;
    }

    /// <summary>
    /// The socket goes in the data directory itself (never /var/run/postgresql, which needs root to create), unless
    /// that path is too long for a Unix socket address; then in a short per-cluster directory under /tmp.
    /// </summary>
    private static async Task<string> SocketDirFor(string dataDir, string? runAs, CancellationToken ct)
    {
        if (dataDir.Length <= MaxSocketDirLength)
            return dataDir;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(dataDir)))[..12];
        var dir = Path.Combine("/tmp", "restgres-sock-" + hash);
        Directory.CreateDirectory(dir);
        SetMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (runAs is not null)
            await ChownAsync(runAs, dir, ct);
        return dir;
    }

    private sealed record RunningServer(int Port, string SocketDir);

    /// <summary>
    /// Reads <c>postmaster.pid</c> (line 1 pid, 4 port, 5 socket directory) and checks that the pid is a live
    /// postgres process; a stale file left by a crash is ignored (pg_ctl start removes it).
    /// </summary>
    private static RunningServer? ReadRunningServer(string dataDir)
    {
        var pidFile = Path.Combine(dataDir, "postmaster.pid");
        string[] lines;
        try
        {
            lines = File.ReadAllLines(pidFile);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (UnauthorizedAccessException e)
        {
            throw new PostgresClusterException(
                $"{pidFile} is not readable by this user; run as the user owning {dataDir} (or as root).", e);
        }
        if (lines.Length < 5
            || !int.TryParse(lines[0], CultureInfo.InvariantCulture, out var pid)
            || !int.TryParse(lines[3], CultureInfo.InvariantCulture, out var port)
            || !IsPostmasterOf(pid, dataDir))
        {
            return null;
        }
        var socketDir = lines[4].Trim();
        return new RunningServer(port, socketDir.Length > 0 ? socketDir : dataDir);
    }

    /// <summary>
    /// Whether <paramref name="pid"/> is the postmaster of <paramref name="dataDir"/>. After a crash the pid in a stale
    /// postmaster.pid can belong to an unrelated process, even another cluster's postgres; the postmaster's working
    /// directory is its data directory, which tells them apart where /proc exists.
    /// </summary>
    private static bool IsPostmasterOf(int pid, string dataDir)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            if (p.HasExited || !p.ProcessName.StartsWith("postgres", StringComparison.Ordinal))
                return false;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
        var proc = $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}";
        if (!Directory.Exists(proc))
            return true;
        try
        {
            var cwd = new DirectoryInfo(Path.Combine(proc, "cwd")).LinkTarget;
            var realDataDir = RealPath(dataDir);
            return cwd is null || cwd == dataDir || cwd == realDataDir;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>The path with every symlinked component resolved, as the kernel reports a process's cwd.</summary>
    private static string RealPath(string path)
    {
        var parent = Path.GetDirectoryName(path);
        var resolvedParent = parent is null ? null : RealPath(parent);
        var full = resolvedParent is null ? path : Path.Combine(resolvedParent, Path.GetFileName(path));
        var target = new DirectoryInfo(full).ResolveLinkTarget(returnFinalTarget: true);
        return target?.FullName ?? full;
    }

    private static async Task<string> VersionMismatchHintAsync(string dataDir, PostgresBinaries binaries, CancellationToken ct)
    {
        try
        {
            var dataVersion = (await File.ReadAllTextAsync(Path.Combine(dataDir, "PG_VERSION"), ct)).Trim();
            var result = await ProcessRunner.RunAsync(binaries.Postgres, ["--version"], ct: ct);
            // "postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)" → "15"
            var words = result.StdOut.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var binVersion = words.Length >= 3 ? words[2].Split('.')[0] : "";
            if (binVersion.Length == 0 || binVersion == dataVersion)
                return "";
            return $" (the data directory was created by PostgreSQL {dataVersion} but the binaries in {binaries.BinDir} are " +
                $"version {binVersion}: set PGBIN to that version's bin directory, or delete {dataDir} to start afresh)";
        }
        catch (Exception e) when (e is IOException or PostgresClusterException)
        {
            return "";
        }
    }

    private static string? RootRunAsUser() => Environment.IsPrivilegedProcess ? SuperUser : null;

    private static string RunUserPath() =>
        new[] { "/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser", "/bin/runuser" }.FirstOrDefault(File.Exists) ?? "runuser";

    /// <summary>Root must hand the server to an unprivileged OS user; containers often lack one.</summary>
    private static async Task EnsureOsUserAsync(string user, CancellationToken ct)
    {
        if (s_osUserChecked)
            return;
        if ((await ProcessRunner.RunAsync("id", ["-u", user], ct: ct)).ExitCode != 0)
        {
            var add = await ProcessRunner.RunAsync(
                "useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", user], ct: ct);
            // Exit 9: created meanwhile by a concurrent test process.
            if (add.ExitCode is not 0 and not 9)
            {
                throw new PostgresClusterException(
                    $"PostgreSQL cannot run as root and the OS user '{user}' is missing; creating it failed ({add.Output}). " +
                    $"Create it (useradd --system {user}) or run as an unprivileged user.");
            }
        }
        s_osUserChecked = true;
    }

    private static async Task ChownAsync(string user, string path, CancellationToken ct)
    {
        // "user:" is the user and its login group.
        var result = await ProcessRunner.RunAsync("chown", ["-R", user + ":", path], ct: ct);
        if (result.ExitCode != 0)
            throw new PostgresClusterException($"chown {user} {path} failed: {result.Output}");
    }

    /// <summary>
    /// The postgres OS user must be able to walk down to the data directory; a temp dir (0700) or /root is not
    /// walkable, so grant search (x, not read) to others on each ancestor that lacks it.
    /// </summary>
    private static void MakeAncestorsTraversable(string dataDir, Action<string>? log)
    {
        for (var dir = Path.GetDirectoryName(dataDir); !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
        {
            var mode = GetMode(dir);
            if ((mode & UnixFileMode.OtherExecute) == 0)
            {
                SetMode(dir, mode | UnixFileMode.OtherExecute);
                log?.Invoke($"Allowed other users to traverse {dir} so that the postgres user can reach {dataDir}");
            }
        }
    }

    internal static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    internal static bool IsPortFree(int port)
    {
        try
        {
            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static async Task<string> ReadFromAsync(string path, long offset)
    {
        if (!File.Exists(path))
            return "";
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        var text = await reader.ReadToEndAsync();
        // The last lines say why; a long recovery log before them does not.
        var lines = text.Split('\n');
        return string.Join('\n', lines.Length > 30 ? lines[^30..] : lines);
    }

    // Windows is out of scope (PostgreSQL's Windows service model differs); these guards keep the analyzer honest.
    private static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, mode);
    }

    private static UnixFileMode GetMode(string path) =>
        OperatingSystem.IsWindows() ? UnixFileMode.OtherExecute : File.GetUnixFileMode(path);

    private static string ConfQuote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static string ConninfoQuote(string value) =>
        "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";

}
