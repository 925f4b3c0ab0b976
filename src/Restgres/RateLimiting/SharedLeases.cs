using System.Collections.Concurrent;
using Npgsql;

namespace Restgres.RateLimiting;

/// <summary>
/// Limits shared by several instances through PostgreSQL (<c>server-rate-limit-store = database</c>): the database
/// counts each (policy, key)'s requests in fixed windows (<c>restgres.rate_limit_lease</c>, docs/rate-limits.md), and
/// each instance leases tokens from it in batches of a twentieth of the quota, fetching the next batch in the background
/// when half of the current one is spent. A request costs a lock and a decrement; only when its instance holds no token
/// does it wait for a lease, and when the database says the window is used up it gets 429 until the window ends. The
/// database never grants more than the quota per window, so the instances together stay within it; tokens an instance
/// leased but did not use are lost at the window's end (at most a batch and a half per instance).
/// <para>If the database cannot be asked (the function is missing, the connection is lost), the local limiter decides
/// instead, and the failure is logged at most once a minute.</para>
/// </summary>
internal sealed class SharedLeases
{
    private const string LeaseSql = "select granted, remaining, reset_ms from restgres.rate_limit_lease($1, $2, $3, $4, $5)";

    /// <summary>The longest a request waits for a lease before the local limiter decides it.</summary>
    private static readonly TimeSpan LeaseWait = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<BucketKey, Lease> _leases = new();
    private readonly TimeProvider _time;
    private readonly long _frequency;
    private readonly int _maxKeys;
    private long _lastErrorLog = long.MinValue;
    private int _count;
    private int _sweeping;
    private long _leaseCount;

    public SharedLeases(int maxKeys, TimeProvider? time = null)
    {
        _maxKeys = Math.Max(1, maxKeys);
        _time = time ?? TimeProvider.System;
        _frequency = _time.TimestampFrequency;
    }

    /// <summary>Round trips made to the database (leases asked for).</summary>
    public long Leases => Interlocked.Read(ref _leaseCount);

    public int Count => Volatile.Read(ref _count);

    private sealed class Lease
    {
        public int Tokens;
        // The end of the database's window, in local timestamps; 0 before the first lease.
        public long WindowEnd;
        public long Remaining;
        public bool Exhausted;
        public Task<bool>? Pending;
    }

    /// <summary>The lease batch for a quota: a twentieth, at least one.</summary>
    public static int BatchSize(int quota) => Math.Max(1, quota / 20);

    /// <summary>Decides for one request; null when the database could not be asked (the caller decides locally).</summary>
    public async ValueTask<RateDecision?> CheckAsync(NpgsqlDataSource db, RateLimitPolicy policy, string key, Action<string> log, CancellationToken ct)
    {
        var bucket = new BucketKey(policy, key);
        if (!_leases.TryGetValue(bucket, out var lease))
        {
            var fresh = new Lease();
            if (_leases.TryAdd(bucket, fresh))
            {
                lease = fresh;
                if (Interlocked.Increment(ref _count) > _maxKeys) Sweep();
            }
            else lease = _leases.GetOrAdd(bucket, fresh);
        }
        for (var attempt = 0; attempt < 3; attempt++)
        {
            Task<bool> pending;
            lock (lease)
            {
                var now = _time.GetTimestamp();
                if (lease.WindowEnd != 0 && now >= lease.WindowEnd)
                {
                    // The window is over: its unused tokens are gone, the next window starts with the next lease.
                    lease.Tokens = 0;
                    lease.Exhausted = false;
                    lease.WindowEnd = 0;
                }
                if (lease.Tokens > 0)
                {
                    lease.Tokens--;
                    if (lease.Tokens <= BatchSize(policy.Quota) / 2 && !lease.Exhausted && lease.Pending is null)
                        lease.Pending = FetchAsync(db, bucket, lease, log);
                    return new RateDecision(true, lease.Tokens + lease.Remaining, Seconds(lease.WindowEnd - now));
                }
                if (lease.Exhausted) return new RateDecision(false, 0, Math.Max(1, Seconds(lease.WindowEnd - now)));
                pending = lease.Pending ??= FetchAsync(db, bucket, lease, log);
            }
            try
            {
                // A database slower than this decides nothing: the local limiter does (the lease still lands later).
                if (!await pending.WaitAsync(LeaseWait, ct)) return null;
            }
            catch (TimeoutException)
            {
                return null;
            }
        }
        return null;
    }

    private long Seconds(long ticks) => ticks <= 0 ? 0 : (ticks + _frequency - 1) / _frequency;

    private async Task<bool> FetchAsync(NpgsqlDataSource db, BucketKey bucket, Lease lease, Action<string> log)
    {
        await Task.Yield();
        var policy = bucket.Policy;
        try
        {
            Interlocked.Increment(ref _leaseCount);
            await using var cmd = db.CreateCommand(LeaseSql);
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = policy.Signature });
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = bucket.Key });
            cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = policy.Quota });
            cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = policy.WindowSeconds * 1000L });
            cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = BatchSize(policy.Quota) });
            await using var reader = await cmd.ExecuteReaderAsync();
            await reader.ReadAsync();
            var granted = reader.GetInt32(0);
            var remaining = reader.GetInt64(1);
            var resetMs = reader.GetInt64(2);
            lock (lease)
            {
                var now = _time.GetTimestamp();
                var end = now + resetMs * _frequency / 1000;
                // A lease of another window than the one held: the old window's tokens are void.
                if (lease.WindowEnd != 0 && Math.Abs(end - lease.WindowEnd) > _frequency / 2) lease.Tokens = 0;
                lease.WindowEnd = end;
                lease.Tokens += granted;
                lease.Remaining = remaining;
                lease.Exhausted = granted == 0;
                lease.Pending = null;
            }
            return true;
        }
#pragma warning disable CA1031 // Any failure to lease falls back to the local limiter; it is logged, never thrown to a request.
        catch (Exception e)
        {
            lock (lease) lease.Pending = null;
            var now = _time.GetTimestamp();
            var last = Interlocked.Read(ref _lastErrorLog);
            if (last == long.MinValue || now - last > 60 * _frequency)
            {
                Interlocked.Exchange(ref _lastErrorLog, now);
                log($"Rate limits: cannot lease from the database (restgres.rate_limit_lease; see docs/rate-limits.md), limiting locally: {e.Message}");
            }
            return false;
        }
#pragma warning restore CA1031
    }

    /// <summary>Drops leases whose window is over and that hold no tokens (the timer's sweep, and at the key cap).</summary>
    public int Sweep()
    {
        if (Interlocked.Exchange(ref _sweeping, 1) == 1) return 0;
        try
        {
            var now = _time.GetTimestamp();
            var removed = 0;
            var force = Count > _maxKeys;
            foreach (var (key, lease) in _leases)
            {
                bool idle;
                lock (lease) idle = lease.Pending is null && (lease.WindowEnd == 0 || now >= lease.WindowEnd || force);
                if (idle && _leases.TryRemove(new KeyValuePair<BucketKey, Lease>(key, lease)))
                {
                    Interlocked.Decrement(ref _count);
                    removed++;
                }
            }
            return removed;
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }
}

