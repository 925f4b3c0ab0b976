using System.Collections.Concurrent;

namespace Restgres.RateLimiting;

/// <summary>What a limit check decided, with what the headers say.</summary>
/// <param name="Remaining">Requests left now (the draft's <c>r</c>).</param>
/// <param name="ResetSeconds">Seconds until the quota is whole again, or, when limited, until the next request is
/// allowed (the draft's <c>t</c>; <c>Retry-After</c> when limited).</param>
internal readonly record struct RateDecision(bool Allowed, long Remaining, long ResetSeconds);

/// <summary>
/// A bucket's identity: its policy and the key (an address, a claim value, or ""). Policies compare by their
/// signature (name, quota, window, key kind), so a config reload that keeps a rule keeps its buckets, and one that
/// changes it starts them afresh.
/// </summary>
internal readonly struct BucketKey(RateLimitPolicy policy, string key) : IEquatable<BucketKey>
{
    public RateLimitPolicy Policy { get; } = policy;

    public string Key { get; } = key;

    public bool Equals(BucketKey other) =>
        string.Equals(Key, other.Key, StringComparison.Ordinal)
        && (ReferenceEquals(Policy, other.Policy) || string.Equals(Policy?.Signature, other.Policy?.Signature, StringComparison.Ordinal));

    public override bool Equals(object? obj) => obj is BucketKey other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Policy?.SignatureHash ?? 0, string.GetHashCode(Key ?? "", StringComparison.Ordinal));

    public static bool operator ==(BucketKey left, BucketKey right) => left.Equals(right);

    public static bool operator !=(BucketKey left, BucketKey right) => !left.Equals(right);
}

/// <summary>
/// Local (per instance) limits: GCRA, the token bucket kept as one number per key, the "theoretical arrival time"
/// (TAT) in <see cref="TimeProvider"/> timestamps, which are monotonic: a wall-clock step does not move them. A
/// request is allowed when, after adding one emission interval (window / quota) to max(TAT, now), the TAT is at most
/// one window ahead of now; so a full bucket admits <c>quota</c> requests at once, then one per interval. A TAT more
/// than a window ahead (a timestamp source that went back, e.g. a test clock) is taken as now, so nobody is locked out.
/// <para>Memory is bounded: at most <c>maxKeys</c> entries (plus the requests in flight while a sweep runs). An entry
/// whose TAT is past is a full bucket, the same as no entry, so sweeps drop those first (a timer sweeps them too); if
/// that is not enough, entries closest to full are dropped (such a key starts over with a full bucket: under a flood of
/// distinct keys a limit loosens rather than memory grows). Checking is a lock-free dictionary read and a CAS.</para>
/// </summary>
internal sealed class BucketTable
{
    private readonly ConcurrentDictionary<BucketKey, Entry> _entries;
    private readonly TimeProvider _time;
    private readonly long _frequency;
    private int _count;
    private int _sweeping;
    private long _evicted;

    public BucketTable(int maxKeys, TimeProvider? time = null)
    {
        MaxKeys = Math.Max(1, maxKeys);
        _time = time ?? TimeProvider.System;
        _frequency = _time.TimestampFrequency;
        _entries = new ConcurrentDictionary<BucketKey, Entry>(Environment.ProcessorCount * 4, 1024);
    }

    public int MaxKeys { get; }

    /// <summary>Keys held now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Entries dropped while not yet full (to keep within <see cref="MaxKeys"/>).</summary>
    public long Evicted => Interlocked.Read(ref _evicted);

    private sealed class Entry
    {
        public long Tat;
    }

    public RateDecision Check(RateLimitPolicy policy, string key)
    {
        var now = _time.GetTimestamp();
        var window = policy.WindowSeconds * _frequency;
        var interval = Math.Max(1, window / policy.Quota);
        var bucket = new BucketKey(policy, key);
        if (!_entries.TryGetValue(bucket, out var entry))
        {
            entry = new Entry { Tat = now };
            if (_entries.TryAdd(bucket, entry))
            {
                if (Interlocked.Increment(ref _count) > MaxKeys) Sweep(now, bucket);
            }
            else if (!_entries.TryGetValue(bucket, out entry)) entry = new Entry { Tat = now };
        }
        while (true)
        {
            var stored = Volatile.Read(ref entry.Tat);
            // A TAT beyond anything this policy can make: the timestamps went back. Start over rather than lock out.
            var tat = stored - now > window + interval ? now : stored;
            var next = Math.Max(tat, now) + interval;
            // Limited: the next request fits once the TAT is back within one window of now.
            if (next - now > window) return new RateDecision(false, 0, CeilSeconds(next - now - window));
            if (Interlocked.CompareExchange(ref entry.Tat, next, stored) == stored)
                return new RateDecision(true, (window - (next - now)) / interval, CeilSeconds(next - now));
        }
    }

    private long CeilSeconds(long ticks) => ticks <= 0 ? 0 : (ticks + _frequency - 1) / _frequency;

    /// <summary>Drops full buckets (the timer's sweep); returns how many.</summary>
    public int SweepIdle()
    {
        if (Interlocked.Exchange(ref _sweeping, 1) == 1) return 0;
        try
        {
            return RemoveWhere(_time.GetTimestamp(), 0, default);
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    private void Sweep(long now, BucketKey keep)
    {
        // One sweeper at a time; other requests go on (the overshoot is at most the requests in flight).
        if (Interlocked.Exchange(ref _sweeping, 1) == 1) return;
        try
        {
            var target = MaxKeys - MaxKeys / 4;
            RemoveWhere(now, 0, keep);
            // Still too many: drop the buckets closest to full, in widening steps of an eighth of the longest window.
            var step = Math.Max(1, _frequency);
            for (var slack = step; Count > target; slack *= 2)
            {
                var dropped = RemoveWhere(now, slack, keep);
                Interlocked.Add(ref _evicted, dropped);
                if (slack > long.MaxValue / 4) break;
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    /// <summary>Removes entries whose TAT is at most <paramref name="slack"/> ticks ahead of now (0: full buckets).</summary>
    private int RemoveWhere(long now, long slack, BucketKey keep)
    {
        var removed = 0;
        foreach (var (key, entry) in _entries)
        {
            if (Volatile.Read(ref entry.Tat) - now > slack || (keep.Policy is not null && key == keep)) continue;
            if (_entries.TryRemove(new KeyValuePair<BucketKey, Entry>(key, entry)))
            {
                Interlocked.Decrement(ref _count);
                removed++;
            }
        }
        return removed;
    }
}
