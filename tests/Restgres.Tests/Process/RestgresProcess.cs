using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Restgres.Tests.Http;

namespace Restgres.Tests.Process;

/// <summary>
/// The real <c>restgres</c> executable (the build output of src/Restgres in the test's configuration) run as a child
/// process with a clean PGRST_* environment; killed on dispose if still running.
/// </summary>
public sealed class RestgresProcess : IAsyncDisposable
{
    private readonly System.Diagnostics.Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private RestgresProcess(System.Diagnostics.Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.Append(e.Data).Append('\n'); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.Append(e.Data).Append('\n'); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public string StdOut { get { lock (_stdout) return _stdout.ToString(); } }

    public string StdErr { get { lock (_stderr) return _stderr.ToString(); } }

    public static string Executable { get; } = Locate();

    private static string Locate()
    {
        // tests/Restgres.Tests/bin/<Configuration>/net10.0/ → src/Restgres/bin/<Configuration>/net10.0/restgres
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent?.Name ?? "Debug";
        var candidates = new[] { configuration, "Debug", "Release" }
            .Select(c => Path.Combine(RepoPaths.Root, "src", "Restgres", "bin", c, "net10.0", "restgres"))
            .Where(File.Exists)
            .ToList();
        return candidates.Count > 0
            ? candidates[0]
            : throw new FileNotFoundException($"restgres is not built for {configuration} under src/Restgres/bin (run dotnet build)");
    }

    public static RestgresProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("PGRST_", StringComparison.Ordinal)).ToList())
            psi.Environment.Remove(key);
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
            psi.Environment[k] = v;
        return new RestgresProcess(System.Diagnostics.Process.Start(psi) ?? throw new InvalidOperationException("could not start restgres"));
    }

    /// <summary>Runs to completion (30 s cap) and returns the exit code.</summary>
    public static async Task<(int ExitCode, string StdOut, string StdErr)> RunAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        await using var p = Start(args, env);
        var code = await p.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return (code ?? throw new TimeoutException("restgres did not exit: " + p.StdErr), p.StdOut, p.StdErr);
    }

    /// <summary>The exit code, or null when the process is still running after <paramref name="timeout"/>.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        // Flushes the asynchronous output readers.
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>Waits until the port accepts connections (or the process dies, or 30 s pass).</summary>
    public async Task WaitUntilListeningAsync(int port)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"restgres exited with {_process.ExitCode}: {StdErr}");
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, port);
                // As PostgREST, the port opens once the first schema cache load has been tried; its outcome's line
                // ("Schema cache loaded ..." or "Failed to load the schema cache ...") is written asynchronously.
                if (StdErr.Contains("Schema cache loaded", StringComparison.Ordinal)
                    || StdErr.Contains("Failed to load the schema cache", StringComparison.Ordinal)
                    || StdErr.Contains("Failed to query the PostgreSQL version", StringComparison.Ordinal)) return;
                await Task.Delay(50);
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }
        throw new TimeoutException($"restgres did not listen on {port}: {StdErr}");
    }

    /// <summary>Sends a signal by name (USR1, TERM, ...) with kill(1).</summary>
    public async Task SignalAsync(string signal)
    {
        using var kill = System.Diagnostics.Process.Start(new ProcessStartInfo("kill", ["-s", signal, Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("could not run kill");
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill -s {signal} {Id} failed");
    }

    public static int FreePort() => Restgres.Dev.PostgresCluster.FreePort();

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
