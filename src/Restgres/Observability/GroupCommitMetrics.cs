using System.Collections.Immutable;
using System.Diagnostics;
using System.Text;

namespace Restgres.Observability;

/// <summary>
/// Group commit's metrics (docs/group-commit.md): batch sizes and the time requests wait for their batch to start, as
/// histograms; committed requests and rows (rate() of the rows counter is rows/s); transactions retried without a
/// request that failed them (isolation retries).
/// </summary>
internal sealed class GroupCommitMetrics
{
    private static readonly ImmutableArray<double> SizeBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
    private static readonly ImmutableArray<double> WaitBuckets = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1];

    private readonly Histogram _size = new(SizeBuckets);
    private readonly Histogram _wait = new(WaitBuckets);
    private long _requests;
    private long _rows;
    private long _retries;

    public long Batches => _size.Count;

    public long IsolationRetries => Interlocked.Read(ref _retries);

    /// <summary>A batch committed with <paramref name="requests"/> requests writing <paramref name="rows"/> rows.</summary>
    public void Committed(int requests, long rows)
    {
        _size.Add(requests);
        Interlocked.Add(ref _requests, requests);
        Interlocked.Add(ref _rows, rows);
    }

    /// <summary>A request's time from joining its batch to the batch's first statement being sent.</summary>
    public void Waited(long ticks) => _wait.Add((double)ticks / Stopwatch.Frequency);

    public void Retried() => Interlocked.Increment(ref _retries);

    public void WriteTo(StringBuilder sb)
    {
        _size.WriteTo(sb, "restgres_group_commit_batch_size", "Requests per committed group-commit transaction");
        _wait.WriteTo(sb, "restgres_group_commit_wait_seconds", "Seconds a request waited for its group-commit batch to be sent");
        PrometheusText.Single(sb, "restgres_group_commit_requests_total", "counter", "Inserts committed by group commit", Interlocked.Read(ref _requests));
        PrometheusText.Single(sb, "restgres_group_commit_rows_total", "counter", "Rows written by group-commit inserts", Interlocked.Read(ref _rows));
        PrometheusText.Single(sb, "restgres_group_commit_isolation_retries_total", "counter",
            "Group-commit transactions run again without a request whose error rolled them back", IsolationRetries);
    }
}
