using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Npgsql;
using Restgres.Execution;
using Restgres.Http;
using Restgres.Observability;

namespace Restgres.Schedules;

/// <summary>
/// Runs the jobs of <c>server-schedules-file</c> (docs/schedules.md). Every instance competes for one advisory lock on
/// a connection of its own; the holder is the leader. The leader registers the SQL jobs pg_cron can run (five-field
/// cron) with pg_cron when the extension is installed in the database, and runs every other job itself. A
/// leader whose connection dies loses the lock with it, and another instance takes over within
/// <see cref="CheckInterval"/>. A config reload that changes the file restarts the jobs.
/// </summary>
internal sealed class Scheduler : IAsyncDisposable
{
    /// <summary>"restgres" + 1: not the migrator's key (a migration may run while servers schedule).</summary>
    public const long LeaderLockKey = 0x7265737467726574;

    /// <summary>How often a follower tries for the lock and a leader checks its connection and the config.</summary>
    internal static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(2);

    /// <summary>pg_cron job names of ours carry this prefix, so that jobs removed from the file are unscheduled.</summary>
    public const string PgCronPrefix = "restgres:";

    private static readonly TimeSpan LateAfter = TimeSpan.FromSeconds(1);

    private readonly AppState _state;
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpClient _http;
    /// <summary>Who ran a job, in the run log: the host, the process and this server instance (tests run several in one).</summary>
    private readonly string _runner = $"restgres {Environment.MachineName} pid {Environment.ProcessId} #{Guid.NewGuid().ToString("N")[..6]}";
    private Task _loop = Task.CompletedTask;

    private Scheduler(AppState state)
    {
        _state = state;
        // Requests go to this server's own listener (TCP or unix socket), wherever it is bound.
        _http = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectCallback = async (_, ct) =>
            {
                var endPoint = _state.MainEndPoint ?? throw new HttpRequestException("the API server is not listening yet");
                var socket = new Socket(endPoint.AddressFamily, SocketType.Stream,
                    endPoint is UnixDomainSocketEndPoint ? ProtocolType.Unspecified : ProtocolType.Tcp);
                try
                {
                    await socket.ConnectAsync(endPoint, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        })
        {
            BaseAddress = new Uri("http://localhost/"),
            Timeout = TimeSpan.FromMinutes(5),
        };
    }

    public ScheduleMetrics Metrics => _state.Observer.Metrics.Schedules;

    /// <summary>Jobs this instance handed to pg_cron at its last start as leader.</summary>
    public IReadOnlyList<string> PgCronJobs { get; private set; } = [];

    public static Scheduler Start(AppState state)
    {
        var scheduler = new Scheduler(state);
        // On the thread pool, as the other background loops: started from a caller with a synchronization context
        // (xunit's, limited to its test threads), every await of the loop would go back to it and jobs would wait
        // for whatever blocks those threads (the two-instance test missed its runs for 20 s in the full suite).
        scheduler._loop = Task.Run(() => scheduler.RunAsync(scheduler._stop.Token));
        return scheduler;
    }

    private async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var table = _state.Config.ServerSchedules;
            if (table is null || table.Jobs.IsEmpty)
            {
                await Task.Delay(CheckInterval, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }
            try
            {
                await LeadAsync(table, ct);
            }
            catch (Exception e) when (!ct.IsCancellationRequested && e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException or InvalidOperationException)
            {
                _state.Log($"Schedules: {e.Message}; retrying in {CheckInterval.TotalSeconds:0}s");
            }
            finally
            {
                Metrics.IsLeader = false;
            }
            await Task.Delay(CheckInterval, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Waits for the lock, then runs <paramref name="table"/> until the connection fails, the config's
    /// schedules change or the server stops.</summary>
    private async Task LeadAsync(ScheduleTable table, CancellationToken ct)
    {
        await using var conn = new NpgsqlConnection(DataSources.ListenerConnectionString(_state.Config));
        await conn.OpenAsync(ct);
        while (!await TryLockAsync(conn, ct))
        {
            await Task.Delay(CheckInterval, ct);
            if (!Equals(_state.Config.ServerSchedules, table)) return;
        }
        Metrics.IsLeader = true;
        var own = await RegisterWithPgCronAsync(conn, table, ct);
        _state.Log($"Schedules: leading; {table.Jobs.Length - own.Count} job(s) run by pg_cron, {own.Count} by this instance ({table.Path})");
        using var jobs = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var running = own.Select(job => JobLoopAsync(job, jobs.Token)).ToList();
        try
        {
            while (Equals(_state.Config.ServerSchedules, table))
            {
                await Task.Delay(CheckInterval, ct);
                await using var ping = new NpgsqlCommand("select 1", conn);
                await ping.ExecuteScalarAsync(ct);
                // A job's loop ends only when the jobs are cancelled or its schedule has no next time; one that ended
                // otherwise (a fault) is said and the jobs restart, never a job silently gone while this instance leads.
                if (running.FindIndex(t => t.IsFaulted) is var faulted and >= 0)
                {
                    _state.Log($"Schedules: job {own[faulted].Name} stopped: {running[faulted].Exception?.GetBaseException().Message}; restarting the jobs");
                    return;
                }
            }
        }
        finally
        {
            await jobs.CancelAsync();
            await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static async Task<bool> TryLockAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"select pg_try_advisory_lock({LeaderLockKey})", conn);
        return await cmd.ExecuteScalarAsync(ct) is true;
    }

    /// <summary>
    /// Hands the jobs pg_cron can run to pg_cron (<c>cron.schedule</c> replaces a job of the same name, so this is
    /// idempotent) and unschedules ours that left the file. Returns the jobs left to this instance: all of them when
    /// pg_cron is not installed here or may not be used by this role.
    /// </summary>
    private async Task<List<ScheduledJob>> RegisterWithPgCronAsync(NpgsqlConnection conn, ScheduleTable table, CancellationToken ct)
    {
        PgCronJobs = [];
        await using (var check = new NpgsqlCommand("select exists (select from pg_extension where extname = 'pg_cron')", conn))
            if (await check.ExecuteScalarAsync(ct) is not true) return [.. table.Jobs];
        var forCron = table.Jobs.Where(j => j.FitsPgCron).ToList();
        try
        {
            await using var tx = await conn.BeginTransactionAsync(ct);
            foreach (var job in forCron)
            {
                await using var schedule = new NpgsqlCommand(
                    "select cron.schedule($1, $2, format('select restgres.run_scheduled(%L, %L, %L)', $3::text, $4::text, $5::text))", conn, tx)
                {
                    Parameters =
                    {
                        new() { Value = PgCronPrefix + job.Name }, new() { Value = job.CronText }, new() { Value = job.Name },
                        new() { Value = ((SqlAction)job.Action).Sql }, new() { Value = (object?)((SqlAction)job.Action).Role ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text },
                    },
                };
                await schedule.ExecuteNonQueryAsync(ct);
            }
            await using (var stale = new NpgsqlCommand(
                "select cron.unschedule(jobname) from cron.job where jobname like 'restgres:%' and jobname <> all($1) and username = current_user", conn, tx)
            {
                Parameters = { new() { Value = forCron.Select(j => PgCronPrefix + j.Name).ToArray() } },
            })
                await stale.ExecuteNonQueryAsync(ct);
            await tx.CommitAsync(ct);
        }
        catch (PostgresException e)
        {
            _state.Log($"Schedules: pg_cron is installed but could not be used ({e.MessageText}); this instance runs every job itself");
            return [.. table.Jobs];
        }
        PgCronJobs = [.. forCron.Select(j => j.Name)];
        return [.. table.Jobs.Where(j => !j.FitsPgCron)];
    }

    private async Task JobLoopAsync(ScheduledJob job, CancellationToken ct)
    {
        var due = job.Cron.GetNextOccurrence(DateTime.UtcNow);
        while (due is { } at && !ct.IsCancellationRequested)
        {
            // A timer counts whole milliseconds of a coarse monotonic clock and may end a little before the wall clock
            // reaches the due time: wait again rather than run early (an early run once computed its missed due times
            // from a range that ended before it began, which throws, and the job's loop ended).
            while (at - DateTime.UtcNow is var wait && wait > TimeSpan.Zero)
            {
                await Task.Delay(wait + TimeSpan.FromMilliseconds(1), ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                if (ct.IsCancellationRequested) return;
            }
            if (DateTime.UtcNow - at > LateAfter) Metrics.Late(job.Name);
            await RunOnceAsync(job, at, ct);
            (var missed, due) = AfterRun(job.Cron, at, DateTime.UtcNow);
            if (missed > 0) Metrics.Missed(job.Name, missed);
        }
    }

    /// <summary>After a run due at <paramref name="at"/> ends at <paramref name="now"/>: how many due times passed
    /// meanwhile (skipped, not run in a burst; counted) and the next one. <paramref name="now"/> may be a little before
    /// <paramref name="at"/> (clocks); the next due time is then the one after <paramref name="at"/>.</summary>
    internal static (int Missed, DateTime? Next) AfterRun(Cronos.CronExpression cron, DateTime at, DateTime now) =>
        now > at
            ? (cron.GetOccurrences(at, now, fromInclusive: false, toInclusive: true).Take(10_000).Count(), cron.GetNextOccurrence(now))
            : (0, cron.GetNextOccurrence(at));

    /// <summary>One run, logged in restgres.schedule_runs and counted; a failure is logged, never thrown.</summary>
    internal async Task RunOnceAsync(ScheduledJob job, DateTime scheduledFor, CancellationToken ct)
    {
        bool ok;
        string? error;
        try
        {
            (ok, error) = job.Action switch
            {
                SqlAction sql => await RunSqlAsync(job, sql, scheduledFor, ct),
                RequestAction request => await RunRequestAsync(job, request, scheduledFor, ct),
                _ => throw new UnreachableException(),
            };
        }
#pragma warning disable CA1031 // Whatever one run throws is that run's failure: the job's loop must go on.
        catch (Exception e) when (!ct.IsCancellationRequested)
#pragma warning restore CA1031
        {
            (ok, error) = (false, e is PostgresException { SqlState: "42883" or "3F000" }
                ? "the schedules' run log is not installed: run the SQL of 'restgres --schema-sql' (docs/schedules.md)"
                : e is NpgsqlException or HttpRequestException or TimeoutException or TaskCanceledException ? e.Message : $"{e.GetType().Name}: {e.Message}");
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return;
        }
        Metrics.Ran(job.Name, ok);
        if (!ok) _state.Log($"Schedules: job {job.Name} failed: {error}");
    }

    private async Task<(bool, string?)> RunSqlAsync(ScheduledJob job, SqlAction sql, DateTime scheduledFor, CancellationToken ct)
    {
        await using var conn = await _state.DataSource.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand("select status, error from restgres.run_scheduled($1, $2, $3, $4, $5)", conn)
        {
            Parameters =
            {
                new() { Value = job.Name }, new() { Value = sql.Sql }, new() { Value = (object?)sql.Role ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text },
                new() { Value = scheduledFor }, new() { Value = _runner },
            },
        };
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetString(0) == "ok", reader.IsDBNull(1) ? null : reader.GetString(1));
    }

    private async Task<(bool, string?)> RunRequestAsync(ScheduledJob job, RequestAction request, DateTime scheduledFor, CancellationToken ct)
    {
        var started = DateTime.UtcNow;
        bool ok;
        long? rows = null;
        string? error = null;
        try
        {
            using var message = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(request.PathAndQuery, UriKind.Relative));
            if (request.Body is not null) message.Content = new StringContent(request.Body, MediaTypeHeaderValue.Parse("application/json"));
            foreach (var (name, value) in request.Headers)
                if (!message.Headers.TryAddWithoutValidation(name, value)) message.Content?.Headers.TryAddWithoutValidation(name, value);
            using var response = await _http.SendAsync(message, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            ok = response.IsSuccessStatusCode;
            if (!ok) error = $"{(int)response.StatusCode}: {(body.Length > 1000 ? body[..1000] : body)}";
            rows = Rows(response, body);
        }
        catch (HttpRequestException e)
        {
            (ok, error) = (false, e.Message);
        }
        await using var conn = await _state.DataSource.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand("select restgres.record_scheduled_run($1, $2, $3, $4, $5, $6, $7)", conn)
        {
            Parameters =
            {
                new() { Value = job.Name }, new() { Value = _runner }, new() { Value = scheduledFor }, new() { Value = started },
                new() { Value = ok ? "ok" : "failed" }, new() { Value = (object?)rows ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint },
                new() { Value = (object?)error ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text },
            },
        };
        await cmd.ExecuteNonQueryAsync(ct);
        return (ok, error);
    }

    /// <summary>Rows of an API answer: Content-Range's count of rows sent, else a JSON array's length.</summary>
    private static long? Rows(HttpResponseMessage response, string body)
    {
        if (response.Content.Headers.TryGetValues("Content-Range", out var ranges) || response.Headers.TryGetValues("Content-Range", out ranges))
        {
            var range = ranges.First().Split('/')[0];
            if (range.Split('-') is [var first, var last] && long.TryParse(first, out var a) && long.TryParse(last, out var b)) return b - a + 1;
        }
        var trimmed = body.AsSpan().TrimStart();
        if (trimmed.Length == 0 || trimmed[0] != '[') return null;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(body);
            return doc.RootElement.GetArrayLength();
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
        _http.Dispose();
    }
}
