using System.Text;

namespace Restgres.Observability;

/// <summary>
/// Process and .NET runtime metrics, the counterpart of PostgREST's optional <c>ghc_*</c> RTS metrics (docs:
/// references/observability.rst, "GHC Runtime Metrics"). The <c>process_*</c> names are the ones every Prometheus
/// client library exports, so existing dashboards work; the rest use a <c>dotnet_</c> prefix. All values are read
/// from runtime APIs at scrape time: nothing is counted on the request path.
/// </summary>
internal static class RuntimeMetrics
{
    private static readonly double StartTimeSeconds = ProcessStartTime();

    private static double ProcessStartTime()
    {
        using var p = System.Diagnostics.Process.GetCurrentProcess();
        return new DateTimeOffset(p.StartTime).ToUnixTimeMilliseconds() / 1000.0;
    }

    public static void WriteTo(StringBuilder sb)
    {
        ArgumentNullException.ThrowIfNull(sb);
        var cpu = Environment.CpuUsage;
        PrometheusText.Single(sb, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpu.TotalTime.TotalSeconds);
        PrometheusText.Single(sb, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", Environment.WorkingSet);
        PrometheusText.Single(sb, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", StartTimeSeconds);
        if (OpenFileDescriptors() is { } fds)
            PrometheusText.Single(sb, "process_open_fds", "gauge", "Number of open file descriptors.", fds);

        PrometheusText.Header(sb, "dotnet_gc_collections_total", "counter", "Garbage collections since the process started, by generation");
        for (var gen = 0; gen <= GC.MaxGeneration; gen++)
            PrometheusText.Sample(sb, "dotnet_gc_collections_total", GC.CollectionCount(gen), ("generation", gen.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var info = GC.GetGCMemoryInfo();
        PrometheusText.Single(sb, "dotnet_gc_heap_size_bytes", "gauge", "Managed heap size after the last garbage collection", info.HeapSizeBytes);
        PrometheusText.Single(sb, "dotnet_gc_committed_bytes", "gauge", "Memory committed by the garbage collector", info.TotalCommittedBytes);
        PrometheusText.Single(sb, "dotnet_gc_allocated_bytes_total", "counter", "Bytes allocated on the managed heap since the process started", GC.GetTotalAllocatedBytes());
        PrometheusText.Single(sb, "dotnet_gc_pause_seconds_total", "counter", "Time the garbage collector paused the process", GC.GetTotalPauseDuration().TotalSeconds);
        PrometheusText.Single(sb, "dotnet_threadpool_threads", "gauge", "Thread pool threads", ThreadPool.ThreadCount);
        PrometheusText.Single(sb, "dotnet_threadpool_queue_length", "gauge", "Work items queued to the thread pool", ThreadPool.PendingWorkItemCount);
        PrometheusText.Single(sb, "dotnet_threadpool_completed_items_total", "counter", "Work items the thread pool has completed", ThreadPool.CompletedWorkItemCount);
        PrometheusText.Single(sb, "dotnet_monitor_lock_contentions_total", "counter", "Times a thread waited for a contended lock", Monitor.LockContentionCount);
    }

    private static int? OpenFileDescriptors()
    {
        try
        {
            return Directory.Exists("/proc/self/fd") ? Directory.GetFileSystemEntries("/proc/self/fd").Length : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
