using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Text;

namespace Restgres.Observability;

/// <summary>
/// Durable jobs' metrics (docs/jobs.md), per queue: depth, running jobs and the age of the oldest due job (read from
/// the database by the workers' maintenance loop), attempts by outcome, failures, and a run-time histogram of the
/// attempts this process made. Nothing is written until this process runs workers.
/// </summary>
internal sealed class JobMetrics
{
    private static readonly ImmutableArray<double> RunBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    private readonly ConcurrentDictionary<string, QueueSeries> _queues = new(StringComparer.Ordinal);
    private ImmutableArray<QueueDepth> _depth = [];
    private bool _active;

    /// <summary>What the database says about one queue.</summary>
    public readonly record struct QueueDepth(string Queue, long Available, long Running, double OldestAvailableAgeSeconds);

    /// <summary>Workers run in this process: write the families.</summary>
    public void Activate() => Volatile.Write(ref _active, true);

    /// <summary>One attempt ended (<paramref name="state"/>: completed, retrying, discarded; null when the job was
    /// no longer this attempt's) after <paramref name="seconds"/>.</summary>
    public void Attempt(string queue, string? state, double seconds)
    {
        var series = _queues.GetOrAdd(queue, _ => new QueueSeries());
        switch (state)
        {
            case "completed": Interlocked.Increment(ref series.Completed); break;
            case "retrying": Interlocked.Increment(ref series.Retrying); break;
            case "discarded": Interlocked.Increment(ref series.Discarded); break;
            default: Interlocked.Increment(ref series.Lost); break;
        }
        series.RunTime.Add(seconds);
    }

    public void SetDepth(ImmutableArray<QueueDepth> depth) => ImmutableInterlocked.InterlockedExchange(ref _depth, depth);

    public void WriteTo(StringBuilder sb)
    {
        if (!Volatile.Read(ref _active)) return;
        var depth = ImmutableInterlocked.InterlockedCompareExchange(ref _depth, [], []);
        PrometheusText.Header(sb, "restgres_jobs_available", "gauge", "Jobs waiting in a queue (state available, due or not)");
        foreach (var d in depth) PrometheusText.Sample(sb, "restgres_jobs_available", d.Available, ("queue", d.Queue));
        PrometheusText.Header(sb, "restgres_jobs_running", "gauge", "Jobs of a queue being run by some worker");
        foreach (var d in depth) PrometheusText.Sample(sb, "restgres_jobs_running", d.Running, ("queue", d.Queue));
        PrometheusText.Header(sb, "restgres_jobs_oldest_available_age_seconds", "gauge", "Seconds the oldest due job of a queue has been waiting (0: none)");
        foreach (var d in depth) PrometheusText.Sample(sb, "restgres_jobs_oldest_available_age_seconds", d.OldestAvailableAgeSeconds, ("queue", d.Queue));
        var queues = _queues.OrderBy(q => q.Key, StringComparer.Ordinal).ToArray();
        PrometheusText.Header(sb, "restgres_job_attempts_total", "counter", "Job attempts this process made, by queue and outcome");
        foreach (var (queue, s) in queues)
        {
            PrometheusText.Sample(sb, "restgres_job_attempts_total", Interlocked.Read(ref s.Completed), ("queue", queue), ("outcome", "completed"));
            PrometheusText.Sample(sb, "restgres_job_attempts_total", Interlocked.Read(ref s.Retrying), ("queue", queue), ("outcome", "retrying"));
            PrometheusText.Sample(sb, "restgres_job_attempts_total", Interlocked.Read(ref s.Discarded), ("queue", queue), ("outcome", "discarded"));
            PrometheusText.Sample(sb, "restgres_job_attempts_total", Interlocked.Read(ref s.Lost), ("queue", queue), ("outcome", "lost"));
        }
        PrometheusText.Header(sb, "restgres_job_failures_total", "counter", "Failed job attempts this process made (retried or discarded)");
        foreach (var (queue, s) in queues)
            PrometheusText.Sample(sb, "restgres_job_failures_total", Interlocked.Read(ref s.Retrying) + Interlocked.Read(ref s.Discarded), ("queue", queue));
        PrometheusText.Header(sb, "restgres_job_run_seconds", "histogram", "Run time of job attempts (handler call) by queue");
        foreach (var (queue, s) in queues) s.RunTime.WriteSamples(sb, "restgres_job_run_seconds", ("queue", queue));
    }

    private sealed class QueueSeries
    {
        public long Completed;
        public long Retrying;
        public long Discarded;
        public long Lost;

        public Histogram RunTime { get; } = new(RunBuckets);
    }
}
