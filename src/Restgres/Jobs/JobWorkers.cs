using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;
using Restgres.Config;
using Restgres.Execution;
using Restgres.Observability;

namespace Restgres.Jobs;

/// <summary>
/// The durable-job workers of one process (docs/jobs.md): inside the server with <c>jobs-enabled</c>, or alone as
/// <c>restgres worker</c>. Per queue, <c>concurrency</c> slots each claim one job at a time (<c>FOR UPDATE SKIP
/// LOCKED</c> in <c>restgres.job_claim</c>); a listener on <c>restgres_jobs</c> wakes the slots of the queue a job was
/// enqueued to, and every <c>jobs-poll-interval</c> a maintenance step takes back expired leases, prunes completed
/// jobs, re-reads the queues and wakes every slot (delayed jobs and retries are found that way). Running http jobs'
/// leases are renewed every third of <c>jobs-lease</c>; an sql job holds its row lock until it commits, so it needs
/// no renewal.
/// </summary>
internal sealed class JobWorkers : IAsyncDisposable
{
    private readonly AppConfig _config;
    private readonly NpgsqlDataSource _dataSource;
    private readonly Action<string> _log;
    private readonly JobMetrics _metrics;
    private readonly HttpClient _http;
    private readonly Func<string, string?> _env;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, QueueRunner> _runners = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, CancellationTokenSource> _running = new();
    private readonly List<Task> _loops = [];
    private readonly Lock _lock = new();
    private bool _schemaMissingLogged;

    private JobWorkers(AppConfig config, Action<string> log, JobMetrics metrics, Func<string, string?> env)
    {
        _config = config;
        _log = log;
        _metrics = metrics;
        _env = env;
        // Connections of their own, so that jobs never take the API's: one per slot is plenty, plus the maintenance
        // and heartbeat steps. The pool grows as queues are defined (Npgsql opens connections on demand).
        _dataSource = DataSources.Create(config with { DbPool = 64 });
        _http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        Worker = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..6]}";
    }

    /// <summary>The workers' own pool (the worker process's admin /jobs endpoints use it too).</summary>
    public NpgsqlDataSource DataSource => _dataSource;

    /// <summary>How this process names itself in <c>restgres.jobs.worker</c> and <c>job_attempts.worker</c>.</summary>
    public string Worker { get; }

    /// <summary>Starts the workers; they find their queues in the database (and keep looking until the schema is
    /// installed).</summary>
    public static JobWorkers Start(AppConfig config, Action<string> log, JobMetrics metrics, Func<string, string?>? env = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(metrics);
        var workers = new JobWorkers(config, log, metrics, env ?? Environment.GetEnvironmentVariable);
        metrics.Activate();
        var ct = workers._stop.Token;
        workers._loops.Add(Task.Run(() => workers.MaintainAsync(ct), CancellationToken.None));
        workers._loops.Add(Task.Run(() => workers.ListenAsync(ct), CancellationToken.None));
        workers._loops.Add(Task.Run(() => workers.HeartbeatAsync(ct), CancellationToken.None));
        log($"Job workers started as {workers.Worker} (queues: {(config.JobsQueues.IsEmpty ? "all" : string.Join(", ", config.JobsQueues))})");
        return workers;
    }

    /// <summary>Re-reads the queues, then wakes every slot.</summary>
    private async Task RefreshQueuesAsync(CancellationToken ct)
    {
        ImmutableArray<JobQueue> queues;
        try
        {
            queues = await JobQueue.LoadAsync(_dataSource, _config.JobsQueues, ct);
            _schemaMissingLogged = false;
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName)
        {
            if (!_schemaMissingLogged) _log("Job workers: restgres.job_queues does not exist; run 'restgres schema install' (docs/jobs.md)");
            _schemaMissingLogged = true;
            return;
        }
        lock (_lock)
        {
            foreach (var queue in queues)
            {
                var runner = _runners.GetOrAdd(queue.Name, _ => new QueueRunner());
                runner.Queue = queue;
                while (runner.Slots < queue.Concurrency)
                {
                    var slot = runner.Slots++;
                    _loops.Add(Task.Run(() => SlotAsync(runner, slot, _stop.Token), CancellationToken.None));
                }
            }
            foreach (var (name, runner) in _runners)
            {
                if (!queues.Any(q => q.Name == name)) runner.Queue = null;
            }
        }
        foreach (var runner in _runners.Values) runner.Wake();
    }

    private async Task MaintainAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await RefreshQueuesAsync(ct);
                if (!_runners.IsEmpty)
                {
                    await using (var reap = _dataSource.CreateCommand("select restgres.job_reap()"))
                    {
                        if (await reap.ExecuteScalarAsync(ct) is int taken && taken > 0)
                            foreach (var runner in _runners.Values) runner.Wake();
                    }
                    await ReadDepthAsync(ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException)
            {
                _log("Job workers: " + e.Message);
            }
            try { await Task.Delay(_config.JobsPollInterval, ct); } catch (OperationCanceledException) { return; }
        }
    }

    private async Task ReadDepthAsync(CancellationToken ct)
    {
        await using var cmd = _dataSource.CreateCommand("""
            select q.name,
                   count(*) filter (where j.state = 'available'),
                   count(*) filter (where j.state = 'running'),
                   coalesce(extract(epoch from clock_timestamp() - min(j.run_at) filter (where j.state = 'available' and j.run_at <= clock_timestamp())), 0)::float8
              from restgres.job_queues q left join restgres.jobs j on j.queue = q.name and j.state in ('available', 'running')
             group by q.name order by q.name
            """);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var depth = ImmutableArray.CreateBuilder<JobMetrics.QueueDepth>();
        while (await reader.ReadAsync(ct))
            depth.Add(new(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetDouble(3)));
        _metrics.SetDepth(depth.ToImmutable());
    }

    /// <summary>LISTEN restgres_jobs: a queue's name wakes its slots; an empty payload (define_queue) re-reads the
    /// queues. A lost connection is retried; meanwhile polling finds the jobs.</summary>
    private async Task ListenAsync(CancellationToken ct)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var conn = new NpgsqlConnection(DataSources.ListenerConnectionString(_config));
                await conn.OpenAsync(ct);
                conn.Notification += (_, e) =>
                {
                    if (e.Payload.Length == 0) _ = RefreshQueuesQuietlyAsync(ct);
                    else if (_runners.TryGetValue(e.Payload, out var runner)) runner.Wake();
                };
                await using (var cmd = new NpgsqlCommand("LISTEN " + JobsSchema.Channel, conn))
                    await cmd.ExecuteNonQueryAsync(ct);
                delay = TimeSpan.FromSeconds(1);
                // Jobs enqueued while not listening.
                foreach (var runner in _runners.Values) runner.Wake();
                while (!ct.IsCancellationRequested) await conn.WaitAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException or System.Net.Sockets.SocketException)
            {
                _log($"Job workers: listener connection lost: {e.Message}; retrying in {delay.TotalSeconds:0}s");
                try { await Task.Delay(delay, ct); } catch (OperationCanceledException) { return; }
                delay = TimeSpan.FromSeconds(Math.Min(32, delay.TotalSeconds * 2));
            }
        }
    }

    private async Task RefreshQueuesQuietlyAsync(CancellationToken ct)
    {
        try
        {
            await RefreshQueuesAsync(ct);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException or OperationCanceledException)
        {
            // The maintenance loop reads them again within jobs-poll-interval.
        }
    }

    /// <summary>Renews the leases of this process's running http jobs; a job it no longer holds (cancelled, or taken
    /// over after a lease ran out) has its attempt stopped.</summary>
    private async Task HeartbeatAsync(CancellationToken ct)
    {
        var every = TimeSpan.FromMilliseconds(Math.Max(50, _config.JobsLease / 3));
        while (!ct.IsCancellationRequested)
        {
            try { await Task.Delay(every, ct); } catch (OperationCanceledException) { return; }
            var ids = _running.Keys.ToArray();
            if (ids.Length == 0) continue;
            try
            {
                await using var cmd = _dataSource.CreateCommand("select restgres.job_heartbeat($1, $2, $3)");
                cmd.Parameters.Add(new NpgsqlParameter { Value = Worker });
                cmd.Parameters.Add(new NpgsqlParameter { Value = ids });
                cmd.Parameters.Add(new NpgsqlParameter { Value = _config.JobsLease });
                if (await cmd.ExecuteScalarAsync(ct) is long[] lost)
                {
                    foreach (var id in lost)
                        if (_running.TryGetValue(id, out var cts)) await cts.CancelAsync();
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException)
            {
                _log("Job workers: heartbeat failed: " + e.Message);
            }
        }
    }

    private async Task SlotAsync(QueueRunner runner, int slot, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            // Taken before looking, so that a NOTIFY arriving during the claim is not missed.
            var wake = runner.WakeTask;
            var queue = runner.Queue;
            var worked = false;
            if (queue is not null && slot < queue.Concurrency)
            {
                try
                {
                    worked = queue.Handler == JobHandler.Sql ? await RunSqlAsync(queue, ct) : await RunHttpAsync(queue, ct);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException or InvalidOperationException)
                {
                    _log($"Job workers: queue {queue.Name}: {e.Message}");
                    try { await Task.Delay(_config.JobsPollInterval, ct); } catch (OperationCanceledException) { return; }
                }
            }
            if (worked) continue;
            try
            {
                await wake.WaitAsync(ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One sql job (or up to the queue's batch_size), claimed, run and recorded in one transaction
    /// (restgres.job_run_sql) under the queue's timeout as statement_timeout. False when no job was due.</summary>
    private async Task<bool> RunSqlAsync(JobQueue queue, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await using var batch = new NpgsqlBatch(conn)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("begin"),
                new NpgsqlBatchCommand("select set_config('statement_timeout', $1, true)") { Parameters = { new() { Value = queue.TimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture) } } },
                new NpgsqlBatchCommand("select id, state, latency_ms from restgres.job_run_sql($1, $2, $3, $4)")
                {
                    Parameters = { new() { Value = queue.Name }, new() { Value = Worker }, new() { Value = _config.JobsLease }, new() { Value = queue.BatchSize } },
                },
                new NpgsqlBatchCommand("commit"),
            },
        };
        var ran = false;
        try
        {
            // Not cancelled by ct: a job under way finishes (or times out) before the workers stop.
            await using var reader = await batch.ExecuteReaderAsync(CancellationToken.None);
            await reader.NextResultAsync(CancellationToken.None);
            while (await reader.ReadAsync(CancellationToken.None))
            {
                ran = true;
                _metrics.Attempt(queue.Name, reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? 0 : reader.GetInt32(2) / 1000.0);
            }
        }
        catch (PostgresException)
        {
            // The batch failed (e.g. the attempt function raised): the claim rolled back with it.
            await RollbackQuietlyAsync(conn);
            throw;
        }
        return ran;
    }

    private static async Task RollbackQuietlyAsync(NpgsqlConnection conn)
    {
        try
        {
            await using var rollback = new NpgsqlCommand("rollback", conn);
            await rollback.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException)
        {
            // The connection is broken; the pool discards it.
        }
    }

    /// <summary>One http job: claimed (committed, with its lease), POSTed outside any transaction, its outcome
    /// recorded. False when no job was due.</summary>
    private async Task<bool> RunHttpAsync(JobQueue queue, CancellationToken ct)
    {
        ClaimedJob? job = null;
        await using (var claim = _dataSource.CreateCommand("select id, payload::text, attempt, max_attempts from restgres.job_claim($1, 1, $2, $3)"))
        {
            claim.Parameters.Add(new NpgsqlParameter { Value = queue.Name });
            claim.Parameters.Add(new NpgsqlParameter { Value = _config.JobsLease });
            claim.Parameters.Add(new NpgsqlParameter { Value = Worker });
            await using var reader = await claim.ExecuteReaderAsync(ct);
            if (await reader.ReadAsync(ct)) job = new ClaimedJob(reader.GetInt64(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt32(3));
        }
        if (job is null) return false;
        // Stopping the workers stops the attempt (recorded as failed, so retried at once by another worker).
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _running[job.Id] = attempt;
        JobOutcome outcome;
        try
        {
            outcome = await HttpJobCall.RunAsync(_http, queue, job, _env, attempt.Token);
        }
        finally
        {
            _running.TryRemove(job.Id, out _);
        }
        // Recorded even while stopping: the attempt happened.
        await using var finish = _dataSource.CreateCommand("select restgres.job_finish($1, $2, $3, $4, $5, $6, $7, $8)");
        finish.Parameters.Add(new NpgsqlParameter { Value = job.Id });
        finish.Parameters.Add(new NpgsqlParameter { Value = job.Attempt });
        finish.Parameters.Add(new NpgsqlParameter { Value = outcome.Result });
        finish.Parameters.Add(new NpgsqlParameter { Value = (object?)outcome.Status ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        finish.Parameters.Add(new NpgsqlParameter { Value = (object?)outcome.BodyJson ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Jsonb });
        finish.Parameters.Add(new NpgsqlParameter { Value = outcome.LatencyMs, NpgsqlDbType = NpgsqlDbType.Integer });
        finish.Parameters.Add(new NpgsqlParameter { Value = (object?)outcome.Error ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        finish.Parameters.Add(new NpgsqlParameter { Value = (object?)outcome.RetryAfterMs ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        var state = await finish.ExecuteScalarAsync(CancellationToken.None) as string;
        _metrics.Attempt(queue.Name, state, outcome.LatencyMs / 1000.0);
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        Task[] loops;
        lock (_lock) loops = [.. _loops];
        try
        {
            await Task.WhenAll(loops);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        _http.Dispose();
        await _dataSource.DisposeAsync();
        _stop.Dispose();
    }

    /// <summary>A queue's slots and the signal that wakes them.</summary>
    private sealed class QueueRunner
    {
        private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The current definition; null once the queue is gone (its slots then idle).</summary>
        public volatile JobQueue? Queue;

        public int Slots;

        public Task WakeTask => Volatile.Read(ref _wake).Task;

        public void Wake() =>
            Interlocked.Exchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}
