using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Restgres.Dev;

/// <summary>
/// Throw-away clusters: stopping and deleting them, sweeping the ones a killed test run left behind, and stopping the
/// live ones when the process exits.
/// </summary>
public sealed partial class PostgresCluster
{
    private static async Task TryStopAndDeleteAsync(PostgresBinaries binaries, string? runAs, string root)
    {
        var dataDir = Path.Combine(root, "data");
        if (File.Exists(Path.Combine(dataDir, "postmaster.pid")))
        {
            try
            {
                await RunAsServerUserAsync(runAs, binaries.PgCtl, ["stop", "-D", dataDir, "-m", "immediate", "-w", "-t", "30", "-s"], CancellationToken.None);
            }
            catch (PostgresClusterException)
            {
                // Best effort: the delete below still frees the disk.
            }
        }
        DeleteQuietly(root);
    }

    private static void DeleteQuietly(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A temp dir that resists deletion is not worth failing a test run for.
        }
    }

    /// <summary>
    /// Temporary clusters whose owning process died (killed test run) keep a postmaster running; stop and delete
    /// them so such runs do not pile up.
    /// </summary>
    private static async Task SweepAbandonedTemporariesAsync(PostgresBinaries binaries, string? runAs)
    {
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateDirectories(Path.GetTempPath(), TemporaryPrefix + "*").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        foreach (var root in candidates)
        {
            var ownerFile = Path.Combine(root, "owner.pid");
            if (!File.Exists(ownerFile)
                || !int.TryParse(File.ReadAllText(ownerFile).Trim(), CultureInfo.InvariantCulture, out var owner)
                || ProcessIsAlive(owner))
            {
                continue;
            }
            await TryStopAndDeleteAsync(binaries, runAs, root);
        }
    }

    private static bool ProcessIsAlive(int pid)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    private static void StopLiveTemporariesAtExit()
    {
        PostgresCluster[] live;
        lock (TemporaryLock)
        {
            live = [.. LiveTemporaries];
            LiveTemporaries.Clear();
        }
        foreach (var cluster in live)
        {
            try
            {
                string[] stop = ["stop", "-D", cluster.DataDir, "-m", "immediate", "-w", "-t", "10", "-s"];
                if (cluster.RunAsUser is null)
                    ProcessRunner.Run(cluster.Binaries.PgCtl, stop, TimeSpan.FromSeconds(15));
                else
                    ProcessRunner.Run(RunUserPath(), ["-u", cluster.RunAsUser, "--", cluster.Binaries.PgCtl, .. stop], TimeSpan.FromSeconds(15));
            }
            catch (PostgresClusterException)
            {
                // Exiting anyway; the next run's sweep will catch it.
            }
            if (cluster._temporaryRoot is not null)
                DeleteQuietly(cluster._temporaryRoot);
        }
    }
}
