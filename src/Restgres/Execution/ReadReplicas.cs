using System.Collections.Immutable;
using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;
using Restgres.Config;
using Restgres.Errors;
using Restgres.Requests;

namespace Restgres.Execution;

/// <summary>What the last health check found about a read replica.</summary>
internal enum ReplicaHealth
{
    /// <summary>Not checked yet (startup): not used.</summary>
    Unknown,
    Healthy,
    /// <summary>Unreachable, or it failed a request.</summary>
    Down,
    /// <summary>Behind the primary by more than db-read-replica-max-lag.</summary>
    Lagging,
    /// <summary><c>pg_is_in_recovery()</c> is false: a primary, never read from (its data may differ from db-uri's).</summary>
    NotStandby,
}

/// <summary>
/// One streaming standby of db-read-replicas: its own pool (one <see cref="NpgsqlDataSource"/> as db-uri's, the same
/// settings) and what its background health check last saw.
/// </summary>
internal sealed class ReadReplica : IAsyncDisposable
{
    private long _replayLsn;
    private long _lagBits;
    private long _requests;
    private int _health;

    public ReadReplica(AppConfig config, string uri)
    {
        var csb = DbUri.Parse(uri);
        Name = $"{csb.Host}:{csb.Port}/{csb.Database}";
        DataSource = DataSources.Create(config with { DbUri = uri });
    }

    /// <summary>host:port/database: the replica in logs and metrics, never its password.</summary>
    public string Name { get; }

    public NpgsqlDataSource DataSource { get; }

    public ReplicaHealth Health => (ReplicaHealth)Volatile.Read(ref _health);

    /// <summary>How far it has replayed, as last seen (health check or a read-your-writes wait); only grows.</summary>
    public NpgsqlLogSequenceNumber ReplayLsn => new((ulong)Interlocked.Read(ref _replayLsn));

    /// <summary>Seconds since the primary had flushed WAL this replica has not replayed yet (0: caught up).</summary>
    public double LagSeconds => BitConverter.Int64BitsToDouble(Interlocked.Read(ref _lagBits));

    /// <summary>Transactions it served.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    internal void Served() => Interlocked.Increment(ref _requests);

    internal void Replayed(NpgsqlLogSequenceNumber lsn)
    {
        var value = (long)(ulong)lsn;
        long seen;
        while ((seen = Interlocked.Read(ref _replayLsn)) < value && Interlocked.CompareExchange(ref _replayLsn, value, seen) != seen) { }
    }

    internal void Lag(double seconds) => Interlocked.Exchange(ref _lagBits, BitConverter.DoubleToInt64Bits(seconds));

    /// <summary>Sets the health; true when it changed.</summary>
    internal bool SetHealth(ReplicaHealth health) => (ReplicaHealth)Interlocked.Exchange(ref _health, (int)health) != health;

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}

/// <summary>
/// db-read-replicas (docs/read-replicas.md): the replicas' pools, their health checks, and the choice of one for a
/// read. A replica serves a read only while its check says it is a standby within db-read-replica-max-lag of the
/// primary; otherwise the read goes to the primary, so a lost replica never fails a request.
/// </summary>
internal sealed class ReadReplicas : IAsyncDisposable
{
    /// <summary>How often each replica (and the primary's WAL position) is checked.</summary>
    internal static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a read carrying a <c>Restgres-LSN</c> token waits for a replica to replay that far before the primary
    /// serves it. Longer than WAL usually takes to reach a standby on a LAN, short enough to be unnoticeable.
    /// </summary>
    internal static readonly TimeSpan TokenWait = TimeSpan.FromMilliseconds(250);

    private static readonly TimeSpan WaitPoll = TimeSpan.FromMilliseconds(5);

    private readonly Func<AppConfig> _config;
    private readonly NpgsqlDataSource _primary;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly PrimaryPositions _positions = new();
    private readonly Task[] _checks;
    private ImmutableArray<ReadReplica> _healthy = [];
    private int _next;
    private long _primaryRequests;

    private ReadReplicas(AppConfig config, Func<AppConfig> current, NpgsqlDataSource primary, Action<string> log)
    {
        _config = current;
        _primary = primary;
        _log = log;
        All = [.. config.DbReadReplicas.Select(uri => new ReadReplica(config, uri))];
        _checks = [SamplePrimaryAsync(_stop.Token), .. All.Select(r => CheckAsync(r, _stop.Token))];
    }

    /// <summary>The replicas of <paramref name="config"/>, their checks started; null without db-read-replicas.</summary>
    public static ReadReplicas? Start(AppConfig config, Func<AppConfig> current, NpgsqlDataSource primary, Action<string> log) =>
        config.DbReadReplicas.IsEmpty ? null : new ReadReplicas(config, current, primary, log);

    public ImmutableArray<ReadReplica> All { get; }

    /// <summary>Transactions the primary ran (everything not served by a replica).</summary>
    public long PrimaryRequests => Interlocked.Read(ref _primaryRequests);

    internal void ServedByPrimary() => Interlocked.Increment(ref _primaryRequests);

    /// <summary>
    /// Whether a planned transaction may run on a standby: a GET or HEAD, read-only (on a relation, or a call of a
    /// STABLE or IMMUTABLE function; a POST call stays on the primary whatever the function) that asks nothing only a
    /// primary gives. A volatile function may do what a
    /// read-only transaction allows on a primary but a standby refuses (temporary tables, txid_current, NOTIFY);
    /// <c>Prefer: tx=commit</c> asks for a commit; SERIALIZABLE is refused by a hot standby.
    /// </summary>
    public static bool Eligible(App.DbActionPlan plan, TxSettings tx, ApiRequest req) =>
        req.Method is "GET" or "HEAD"
        && plan.ReadOnly
        && plan is App.ReadActionPlan or App.CallActionPlan { Plan.Routine.Volatility: not Catalog.Volatility.Volatile }
        && req.Preferences.Transaction != PreferTransaction.Commit
        && tx.IsolationLevel != "SERIALIZABLE";

    /// <summary>
    /// A healthy replica for a read, round robin; with a <c>Restgres-LSN</c> token (header or cookie) one that has
    /// replayed that far, waiting up to <see cref="TokenWait"/>. Null: the primary serves it (no healthy replica, none
    /// caught up in time, or a token that does not parse).
    /// </summary>
    public async ValueTask<ReadReplica?> ChooseAsync(ApiRequest req, CancellationToken ct)
    {
        var healthy = _healthy;
        if (healthy.IsEmpty) return null;
        var start = (uint)Interlocked.Increment(ref _next);
        var token = ReadYourWrites.Token(req);
        if (token is not { } lsn) return healthy[(int)(start % (uint)healthy.Length)];
        if (lsn == ReadYourWrites.Malformed) return null;
        for (var i = 0; i < healthy.Length; i++)
        {
            var r = healthy[(int)((start + (uint)i) % (uint)healthy.Length)];
            if (r.ReplayLsn >= lsn) return r;
        }
        var waitOn = healthy[(int)(start % (uint)healthy.Length)];
        return await WaitForAsync(waitOn, lsn, ct) ? waitOn : null;
    }

    /// <summary>
    /// Polls the replica's replay position until it reaches <paramref name="lsn"/> or <see cref="TokenWait"/> is over.
    /// PostgreSQL 15 has no server-side wait for a replay position, so this asks every few milliseconds.
    /// </summary>
    private async Task<bool> WaitForAsync(ReadReplica replica, NpgsqlLogSequenceNumber lsn, CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(TokenWait.TotalSeconds * Stopwatch.Frequency);
        try
        {
            await using var conn = await replica.DataSource.OpenConnectionAsync(ct);
            await using var cmd = new NpgsqlCommand("select pg_last_wal_replay_lsn()", conn);
            while (true)
            {
                if (await cmd.ExecuteScalarAsync(ct) is NpgsqlLogSequenceNumber replayed)
                {
                    replica.Replayed(replayed);
                    if (replayed >= lsn) return true;
                }
                if (Stopwatch.GetTimestamp() >= deadline) return false;
                await Task.Delay(WaitPoll, ct);
            }
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            MarkDown(replica, e.Message);
            return false;
        }
    }

    /// <summary>
    /// Whether a replica's failure is the replica's, not the request's: it could not be reached or went away mid-way
    /// (PGRST000/001/003), it is shutting down (57P01-57P03), or it cancelled the read for a conflict with recovery
    /// (40001, 40P01), or the connection broke in a way Npgsql reports as something else than a database error (an
    /// I/O or state exception of a connection closed under it). The read is then run again on the primary: nothing of
    /// it has been sent to the client yet. Never a client that left (its cancellation), nor the request's own errors.
    /// </summary>
    public static bool IsReplicaFailure(Exception e) => e switch
    {
        OperationCanceledException => false,
        ApiError api => api.ConnectionLost
            || api.Code is "PGRST000" or "PGRST001" or "PGRST003" or "57P01" or "57P02" or "57P03" or "40001" or "40P01",
        _ => e is NpgsqlException or IOException or InvalidOperationException or ObjectDisposedException or TimeoutException,
    };

    /// <summary>Takes a replica out after a failed read, until its next check finds it well.</summary>
    public void MarkDown(ReadReplica replica, string reason)
    {
        if (SetHealth(replica, ReplicaHealth.Down))
            _log($"Read replica {replica.Name} is down ({reason}); its reads go to the other replicas or the primary");
        replica.DataSource.Clear();
    }

    private bool SetHealth(ReadReplica replica, ReplicaHealth health)
    {
        if (!replica.SetHealth(health)) return false;
        ImmutableInterlocked.Update(ref _healthy, _ => [.. All.Where(r => r.Health == ReplicaHealth.Healthy)]);
        return true;
    }

    /// <summary>The primary's flushed WAL position every <see cref="CheckInterval"/>: the clock replicas' lag is read on.</summary>
    private async Task SamplePrimaryAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(CheckInterval);
        do
        {
            try
            {
                await using var conn = await _primary.OpenConnectionAsync(ct);
                await using var cmd = new NpgsqlCommand("select pg_current_wal_flush_lsn()", conn);
                if (await cmd.ExecuteScalarAsync(ct) is NpgsqlLogSequenceNumber lsn) _positions.Add(lsn);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                // The primary is unreachable: no new positions, so a replica that replayed everything known stays in.
            }
        }
        while (await WaitAsync(timer, ct));
    }

    private async Task CheckAsync(ReadReplica replica, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(CheckInterval);
        do
        {
            try
            {
                await using var conn = await replica.DataSource.OpenConnectionAsync(ct);
                await using var cmd = new NpgsqlCommand("select pg_is_in_recovery(), pg_last_wal_replay_lsn()", conn);
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                await reader.ReadAsync(ct);
                var standby = reader.GetBoolean(0);
                if (!standby)
                {
                    if (SetHealth(replica, ReplicaHealth.NotStandby))
                        _log($"Read replica {replica.Name} is refused: it is not a standby (pg_is_in_recovery() is false), "
                            + "so its data need not be db-uri's; its reads go to the other replicas or the primary");
                    continue;
                }
                if (!reader.IsDBNull(1)) replica.Replayed(reader.GetFieldValue<NpgsqlLogSequenceNumber>(1));
                var lag = _positions.LagSeconds(replica.ReplayLsn);
                replica.Lag(lag);
                var maxLag = _config().DbReadReplicaMaxLag;
                if (lag > maxLag)
                {
                    if (SetHealth(replica, ReplicaHealth.Lagging))
                        _log($"Read replica {replica.Name} lags {lag:0.0} s (db-read-replica-max-lag {maxLag}): taken out until it catches up");
                }
                else if (SetHealth(replica, ReplicaHealth.Healthy))
                {
                    _log($"Read replica {replica.Name} is healthy (lag {lag:0.0} s): serving reads");
                }
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidCastException)
            {
                MarkDown(replica, e.Message);
            }
        }
        while (await WaitAsync(timer, ct));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await Task.WhenAll(_checks);
        }
        catch (OperationCanceledException)
        {
            // Stopped mid-check.
        }
        foreach (var r in All) await r.DisposeAsync();
        _stop.Dispose();
    }

    /// <summary>
    /// The primary's recent WAL positions with the time each was seen, so that a replica's replay position reads as
    /// a time: its lag is the age of the oldest position it has not replayed (0 when it has them all). This needs no
    /// clock agreement between servers, and an idle primary does not make a caught-up replica look late (as
    /// <c>now() - pg_last_xact_replay_timestamp()</c> does).
    /// </summary>
    private sealed class PrimaryPositions
    {
        // An hour of samples: a replica further behind than that reads as an hour behind.
        private const int Capacity = 3600;
        private readonly Lock _gate = new();
        private readonly Queue<(long At, NpgsqlLogSequenceNumber Lsn)> _samples = new();

        public void Add(NpgsqlLogSequenceNumber lsn)
        {
            lock (_gate)
            {
                if (_samples.Count == Capacity) _samples.Dequeue();
                _samples.Enqueue((Stopwatch.GetTimestamp(), lsn));
            }
        }

        public double LagSeconds(NpgsqlLogSequenceNumber replayed)
        {
            lock (_gate)
            {
                foreach (var (at, lsn) in _samples)
                    if (lsn > replayed) return Stopwatch.GetElapsedTime(at).TotalSeconds;
                return 0;
            }
        }
    }
}

/// <summary>
/// Read-your-writes (docs/read-replicas.md): a write's response names its commit position in <c>Restgres-LSN</c>
/// (and a cookie when asked); a read that sends it back is served by a replica that has replayed that far.
/// </summary>
internal static class ReadYourWrites
{
    public const string Header = "Restgres-LSN";

    public const string Cookie = "restgres_lsn";

    /// <summary>The header value a write sends to ask for the cookie too.</summary>
    public const string AskForCookie = "cookie";

    private const string Column = "restgres_lsn";

    /// <summary>
    /// Run right after COMMIT in the same round trip. The insert position, not the flush position: with
    /// synchronous_commit off the commit record may not be flushed yet, and a standby replaying up to the insert
    /// position has replayed the commit.
    /// </summary>
    public static NpgsqlBatchCommand CommitLsnCommand() => new("select pg_current_wal_insert_lsn()::text as " + Column);

    public static bool IsCommitLsn(NpgsqlDataReader reader) => reader.FieldCount == 1 && reader.GetName(0) == Column;

    /// <summary>
    /// The token a read sent: null when it sent none, a position, or <see cref="Malformed"/> (the header or cookie is
    /// there but is no <c>X/Y</c> position: the primary serves it).
    /// </summary>
    public static NpgsqlLogSequenceNumber? Token(ApiRequest req)
    {
        var text = Find(req.Headers, "restgres-lsn") ?? Find(req.Cookies, Cookie);
        if (text is null) return null;
        return NpgsqlLogSequenceNumber.TryParse(text.Trim(), out var lsn) ? lsn : Malformed;
    }

    /// <summary>Stands for a token that does not parse (0/0 is never a commit position).</summary>
    public static readonly NpgsqlLogSequenceNumber Malformed = NpgsqlLogSequenceNumber.Invalid;

    /// <summary>Whether a write asked for the position in a cookie: <c>Restgres-LSN: cookie</c>, or it has the cookie already.</summary>
    public static bool WantsCookie(ApiRequest req) =>
        string.Equals(Find(req.Headers, "restgres-lsn"), AskForCookie, StringComparison.OrdinalIgnoreCase) || Find(req.Cookies, Cookie) is not null;

    /// <summary>The response headers of a committed write: the position, and the cookie when asked.</summary>
    public static void AddTo(List<KeyValuePair<string, string>> headers, ApiRequest req, string lsn)
    {
        headers.Add(new(Header, lsn));
        if (WantsCookie(req)) headers.Add(new("Set-Cookie", $"{Cookie}={lsn}; Path=/; HttpOnly; SameSite=Lax"));
    }

    private static string? Find(ImmutableArray<KeyValuePair<string, string>> pairs, string name)
    {
        string? found = null;
        foreach (var (k, v) in pairs)
            if (string.Equals(k, name, StringComparison.OrdinalIgnoreCase)) found = v;
        return found;
    }
}
