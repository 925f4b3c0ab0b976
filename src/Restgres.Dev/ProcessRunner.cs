using System.ComponentModel;
using System.Diagnostics;

namespace Restgres.Dev;

internal sealed record ProcessResult(int ExitCode, string StdOut, string StdErr)
{
    /// <summary>Both streams, for error messages: PostgreSQL tools write errors to stderr but hints to stdout.</summary>
    public string Output => (StdErr.Trim() + "\n" + StdOut.Trim()).Trim();
}

/// <summary>Runs a program to completion, capturing its output, without a shell (no quoting pitfalls).</summary>
internal static class ProcessRunner
{
    public static async Task<ProcessResult> RunAsync(
        string file, IEnumerable<string> args, string? stdin = null, string? workingDirectory = null,
        CancellationToken ct = default)
    {
        using var process = Start(file, args, stdin is not null, workingDirectory);
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        try
        {
            if (stdin is not null)
            {
                // Written concurrently with the reads above so a chatty child cannot deadlock on a full pipe.
                await process.StandardInput.WriteAsync(stdin.AsMemory(), ct);
                process.StandardInput.Close();
            }
            await process.WaitForExitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            TryKill(process);
            throw;
        }
        catch (IOException) when (process.HasExited)
        {
            // The child exited before reading all of stdin (e.g. psql stopping at the first error): its exit code
            // and stderr, read below, say why.
            await process.WaitForExitAsync(CancellationToken.None);
        }
        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Blocking variant, for the locator and for process-exit clean-up where nothing async can run.</summary>
    public static ProcessResult Run(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        using var process = Start(file, args, redirectStdin: false, workingDirectory: null);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            TryKill(process);
            throw new PostgresClusterException($"{file} did not finish within {timeout.TotalSeconds:0} s");
        }
        return new ProcessResult(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    private static Process Start(string file, IEnumerable<string> args, bool redirectStdin, string? workingDirectory)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectStdin,
            UseShellExecute = false,
            // "/" rather than our own cwd: under runuser the postgres user may not be allowed into it (e.g. /root),
            // and initdb/pg_ctl complain when they cannot chdir back.
            WorkingDirectory = workingDirectory ?? "/",
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        try
        {
            return Process.Start(psi) ?? throw new PostgresClusterException($"could not start {file}");
        }
        catch (Win32Exception e)
        {
            throw new PostgresClusterException($"could not run {file}: {e.Message}", e);
        }
    }

    private static void TryKill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }
}
