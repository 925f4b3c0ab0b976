using System.Collections.Concurrent;
using System.Text;

namespace Restgres.Observability;

/// <summary>
/// The schedules' metrics (docs/schedules.md), per job: runs by outcome, runs that started late (more than a second
/// after they were due), and due times skipped because the job was still running or no instance was leading.
/// Only runs of this instance are counted; pg_cron's runs are in the run-log table.
/// </summary>
internal sealed class ScheduleMetrics
{
    private readonly ConcurrentDictionary<string, Counters> _jobs = new(StringComparer.Ordinal);
    private int _leader;

    public bool IsLeader
    {
        get => Volatile.Read(ref _leader) == 1;
        set => Volatile.Write(ref _leader, value ? 1 : 0);
    }

    public void Ran(string job, bool ok)
    {
        var c = Of(job);
        if (ok) Interlocked.Increment(ref c.Ok);
        else Interlocked.Increment(ref c.Failed);
    }

    public void Late(string job) => Interlocked.Increment(ref Of(job).Late);

    public void Missed(string job, long count) => Interlocked.Add(ref Of(job).Missed, count);

    public (long Ok, long Failed, long Late, long Missed) For(string job) =>
        _jobs.TryGetValue(job, out var c) ? (Interlocked.Read(ref c.Ok), Interlocked.Read(ref c.Failed), Interlocked.Read(ref c.Late), Interlocked.Read(ref c.Missed)) : default;

    private Counters Of(string job) => _jobs.GetOrAdd(job, _ => new Counters());

    public void WriteTo(StringBuilder sb)
    {
        PrometheusText.Single(sb, "restgres_schedule_leader", "gauge", "1 when this instance runs the schedules (holds the advisory lock)", IsLeader ? 1 : 0);
        if (_jobs.IsEmpty) return;
        var jobs = _jobs.OrderBy(j => j.Key, StringComparer.Ordinal).ToList();
        PrometheusText.Header(sb, "restgres_schedule_runs_total", "counter", "Scheduled job runs by this instance, by job and outcome");
        foreach (var (job, c) in jobs)
        {
            PrometheusText.Sample(sb, "restgres_schedule_runs_total", Interlocked.Read(ref c.Failed), ("job", job), ("status", "failed"));
            PrometheusText.Sample(sb, "restgres_schedule_runs_total", Interlocked.Read(ref c.Ok), ("job", job), ("status", "ok"));
        }
        PrometheusText.Header(sb, "restgres_schedule_late_runs_total", "counter", "Scheduled job runs that started more than a second after they were due");
        foreach (var (job, c) in jobs) PrometheusText.Sample(sb, "restgres_schedule_late_runs_total", Interlocked.Read(ref c.Late), ("job", job));
        PrometheusText.Header(sb, "restgres_schedule_missed_runs_total", "counter", "Due times of a job skipped because its previous run was still going");
        foreach (var (job, c) in jobs) PrometheusText.Sample(sb, "restgres_schedule_missed_runs_total", Interlocked.Read(ref c.Missed), ("job", job));
    }

    private sealed class Counters
    {
        public long Ok;
        public long Failed;
        public long Late;
        public long Missed;
    }
}
