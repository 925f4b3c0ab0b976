using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Restgres.App;
using Restgres.Catalog;
using Restgres.Config;
using Restgres.Plan;
using Restgres.Response;

namespace Restgres.Http;

/// <summary>
/// <c>server-response-cache</c>: finished 200 responses to GET and HEAD kept in memory for a time to live, so that a
/// repeated request is answered without parsing, planning or the database (docs/response-cache.md).
/// <para>
/// Keyed by the plan cache's key (method, raw target, Accept, Range, profiles, Content-Type, Prefer) plus the role and
/// the whole JWT claims, so two users never share an entry. An entry holds the status, the headers and the identity
/// body (its ETag too, when <c>server-etag</c> is on); <see cref="RequestHandler"/>'s write path adds Cache-Control,
/// compression and the 304 check on every hit, as on a miss.
/// </para>
/// <para>
/// Invalidation: each relation an entry read (the plan's relations and, for views, every relation they read,
/// <see cref="SchemaCache.ViewSources"/>) has a generation counter; an entry remembers the generations it saw
/// <em>before</em> its transaction started and is stale as soon as one moves. A write through Restgres moves the
/// counters of its target (and, for a view, of what it writes through) after the transaction, and sends a NOTIFY so
/// other instances do the same; a response read before the write but stored after it is therefore never served. Stale
/// entries are swept off the request path. One instance belongs to one (schema cache, config) pair, like the plan
/// cache: a reload starts an empty one.
/// </para>
/// <para>
/// Bounded by <c>server-response-cache-size</c> bytes (keys, headers and bodies, plus a fixed overhead per entry). Hits
/// take no lock: they stamp the entry's last use; an insert that goes over the budget evicts the least recently used
/// entries down to 90 % of it (one sort per eviction round, so eviction is amortised).
/// </para>
/// </summary>
internal sealed class ResponseCache
{
    /// <summary>The name this cache gives itself in <c>Cache-Status</c> (RFC 9211).</summary>
    public const string Name = "restgres";

    /// <summary>The NOTIFY payload prefix on db-channel; the relations follow, one <c>schema.name</c> per line.</summary>
    public const string NotifyPrefix = "restgres-cache-invalidate ";

    private const int EntryOverhead = 256;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<QualifiedIdentifier, Generation> _generations = new();
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly Observability.ResponseCacheMetrics _metrics;
    private long _bytes;
    private int _count;
    private int _sweepPending;

    public ResponseCache(SchemaCache cache, AppConfig config, TimeProvider time, Observability.ResponseCacheMetrics metrics)
    {
        (Cache, Config, _time, _metrics) = (cache, config, time, metrics);
        Budget = config.ServerResponseCacheSize;
    }

    public SchemaCache Cache { get; }

    public AppConfig Config { get; }

    public long Budget { get; }

    public long Bytes => Interlocked.Read(ref _bytes);

    public int Count => Volatile.Read(ref _count);

    /// <summary>The key of a request whose plan-cache key is <paramref name="planKey"/>, run as <paramref name="auth"/>.</summary>
    public static string Key(string planKey, Auth.AuthResult auth) =>
        string.Concat(planKey, "\n\u0001", auth.Role, "\n\u0001", auth.ClaimsJson);

    /// <summary>
    /// The response for <paramref name="key"/> when one is stored and fresh, with <c>Age</c> and <c>Cache-Status</c>
    /// added; null otherwise (a stale entry is dropped).
    /// </summary>
    public PgrstResponse? TryGet(string key)
    {
        if (!_entries.TryGetValue(key, out var e)) return null;
        var now = _time.GetTimestamp();
        if (!e.IsFresh(now))
        {
            Remove(e);
            return null;
        }
        e.LastUsed = Stopwatch.GetTimestamp();
        var resp = new PgrstResponse { Status = e.Status, Body = e.Body, SuppressContentLength = e.SuppressContentLength };
        resp.Headers.AddRange(e.Headers);
        var freq = _time.TimestampFrequency;
        var age = (now - e.StoredAt) / freq;
        var ttl = (e.ExpiresAt - now) / freq;
        resp.Headers.Add(new("Age", age.ToString(CultureInfo.InvariantCulture)));
        resp.Headers.Add(new("Cache-Status", Name + "; hit; ttl=" + ttl.ToString(CultureInfo.InvariantCulture)));
        return resp;
    }

    /// <summary>Whether a fresh entry is stored for <paramref name="key"/> (for <c>Cache-Status: fwd=request</c>).</summary>
    public bool HasFresh(string key) => _entries.TryGetValue(key, out var e) && e.IsFresh(_time.GetTimestamp());

    /// <summary>
    /// The generations of every relation <paramref name="plan"/> reads, taken before its transaction: an entry stored
    /// from its result is stale if any of them moved in the meantime.
    /// </summary>
    public Dependencies Capture(ActionPlan plan)
    {
        var rels = new HashSet<QualifiedIdentifier>();
        switch (plan)
        {
            case ReadActionPlan read: Collect(read.Plan.Plan, rels); break;
            case CallActionPlan call:
                Collect(call.Plan.ReadPlan, rels);
                // What a function reads is unknown, so its entries live by their TTL; its own name is a dependency so
                // that the database can drop them when it knows better (NOTIFY ... 'restgres-cache-invalidate api.f',
                // e.g. after refreshing the tables the function reads).
                rels.Add(call.Plan.CallPlan.Qi);
                break;
        }
        foreach (var rel in rels.ToArray())
            if (Cache.ViewSources.TryGetValue(rel, out var sources)) rels.UnionWith(sources);
        var gens = new Generation[rels.Count];
        var seen = new long[rels.Count];
        var i = 0;
        foreach (var rel in rels)
        {
            gens[i] = _generations.GetOrAdd(rel, static _ => new Generation());
            seen[i] = Volatile.Read(ref gens[i].Value);
            i++;
        }
        return new Dependencies(gens, seen);
    }

    private static void Collect(ReadPlan node, HashSet<QualifiedIdentifier> rels)
    {
        // The pgrst_source CTE of a call (schema "") is not a relation.
        if (node.From.Schema.Length > 0) rels.Add(node.From);
        foreach (var child in node.Children) Collect(child, rels);
    }

    /// <summary>
    /// Whether <paramref name="resp"/> may be stored: a 200 without Set-Cookie whose <c>Cache-Control</c> (set by the
    /// database through response.headers) does not say <c>no-store</c> or <c>private</c>.
    /// </summary>
    public static bool Storable(PgrstResponse resp)
    {
        if (resp.Status != 200) return false;
        foreach (var (k, v) in resp.Headers)
        {
            if (k.Equals("Set-Cookie", StringComparison.OrdinalIgnoreCase)) return false;
            if (k.Equals("Cache-Control", StringComparison.OrdinalIgnoreCase)
                && (HasDirective(v, "no-store") || HasDirective(v, "private"))) return false;
        }
        return true;
    }

    /// <summary>Whether a Cache-Control field value lists <paramref name="directive"/> (with or without a value).</summary>
    public static bool HasDirective(string header, string directive)
    {
        foreach (var part in header.Split(','))
        {
            var d = part.AsSpan().Trim();
            var eq = d.IndexOf('=');
            if (eq >= 0) d = d[..eq].TrimEnd();
            if (d.Equals(directive, StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }

    /// <summary>
    /// Stores a copy of <paramref name="resp"/> (which the caller still sends and releases) for <paramref name="ttl"/>;
    /// returns false when it is too large for the budget or already stale.
    /// </summary>
    public bool Store(string key, PgrstResponse resp, TimeSpan ttl, Dependencies deps)
    {
        var size = EntryOverhead + key.Length * 2L + resp.Body.Length;
        foreach (var (k, v) in resp.Headers) size += (k.Length + v.Length) * 2L + 32;
        if (size > Budget / 4 || !deps.Unchanged()) return false;
        var now = _time.GetTimestamp();
        var entry = new Entry
        {
            Key = key,
            Status = resp.Status,
            Headers = [.. resp.Headers],
            Body = resp.Body.ToArray(),
            SuppressContentLength = resp.SuppressContentLength,
            StoredAt = now,
            ExpiresAt = now + (long)(ttl.TotalSeconds * _time.TimestampFrequency),
            Deps = deps,
            Size = size,
            LastUsed = Stopwatch.GetTimestamp(),
        };
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var old)) RemoveLocked(old);
            _entries[key] = entry;
            _bytes += size;
            _count++;
            if (_bytes > Budget) EvictLocked();
        }
        // A write that committed while the entry was being stored (between the check above and now) swept before it
        // was there: check again so it is never served.
        if (!deps.Unchanged()) Remove(entry);
        return true;
    }

    /// <summary>Evicts the least recently used entries until the cache holds at most 90 % of its budget.</summary>
    private void EvictLocked()
    {
        var target = Budget - Budget / 10;
        var all = _entries.Values.ToArray();
        Array.Sort(all, static (a, b) => a.LastUsed.CompareTo(b.LastUsed));
        var evicted = 0;
        foreach (var e in all)
        {
            if (_bytes <= target) break;
            if (RemoveLocked(e)) evicted++;
        }
        _metrics.Evicted(evicted);
    }

    private void Remove(Entry e)
    {
        lock (_lock) RemoveLocked(e);
    }

    private bool RemoveLocked(Entry e)
    {
        if (!_entries.TryRemove(new KeyValuePair<string, Entry>(e.Key, e))) return false;
        _bytes -= e.Size;
        _count--;
        return true;
    }

    /// <summary>
    /// The relations a write to <paramref name="target"/> changes, as the response cache names them: the target and,
    /// for a view, everything it reads (an auto-updatable view writes its base table).
    /// </summary>
    public static IReadOnlyList<QualifiedIdentifier> WrittenBy(SchemaCache cache, QualifiedIdentifier target) =>
        cache.ViewSources.TryGetValue(target, out var sources) ? [target, .. sources] : [target];

    /// <summary>Makes every entry that read one of <paramref name="relations"/> stale at once, and sweeps them off.</summary>
    public void Invalidate(IEnumerable<QualifiedIdentifier> relations)
    {
        var moved = false;
        foreach (var rel in relations)
        {
            if (rel.Schema.Length == 0)
            {
                // An unqualified name (from a NOTIFY): that name in every schema.
                foreach (var (known, gen) in _generations)
                    if (known.Name == rel.Name) { Interlocked.Increment(ref gen.Value); moved = true; }
            }
            else if (_generations.TryGetValue(rel, out var gen))
            {
                Interlocked.Increment(ref gen.Value);
                moved = true;
            }
        }
        if (moved && Interlocked.Exchange(ref _sweepPending, 1) == 0)
            ThreadPool.UnsafeQueueUserWorkItem(static c => c.Sweep(), this, preferLocal: false);
    }

    /// <summary>Drops the entries a write made stale (they are never served; this frees their bytes).</summary>
    private void Sweep()
    {
        Volatile.Write(ref _sweepPending, 0);
        var dropped = 0;
        foreach (var (_, e) in _entries)
        {
            if (e.Deps.Unchanged()) continue;
            lock (_lock)
                if (RemoveLocked(e)) dropped++;
        }
        _metrics.Invalidated(dropped);
    }

    /// <summary>
    /// Parses a NOTIFY payload <c>restgres-cache-invalidate schema.name</c> (one relation per line; a name without a
    /// schema means that name in any schema); null when the payload is not one.
    /// </summary>
    public static List<QualifiedIdentifier>? ParseNotify(string payload)
    {
        if (!payload.StartsWith(NotifyPrefix, StringComparison.Ordinal)) return null;
        var rels = new List<QualifiedIdentifier>();
        foreach (var line in payload[NotifyPrefix.Length..].Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var q = QualifiedName.Parse(line);
            rels.Add(new QualifiedIdentifier(q.Schema, q.Name));
        }
        return rels;
    }

    /// <summary>The NOTIFY payload naming <paramref name="relations"/>.</summary>
    public static string NotifyPayload(IEnumerable<QualifiedIdentifier> relations) =>
        NotifyPrefix + string.Join('\n', relations.Select(r => r.Schema + "." + r.Name));

    /// <summary>What the client's <c>Cache-Control</c> allows: use a stored response, store the new one.</summary>
    public static (bool MayUse, bool MayStore) ClientDirectives(Microsoft.Extensions.Primitives.StringValues cacheControl)
    {
        if (cacheControl.Count == 0) return (true, true);
        bool use = true, store = true;
        foreach (var value in cacheControl)
        {
            if (value is null) continue;
            foreach (var part in value.Split(','))
            {
                var d = part.Trim();
                if (d.Equals("no-cache", StringComparison.OrdinalIgnoreCase)) use = false;
                else if (d.Equals("no-store", StringComparison.OrdinalIgnoreCase)) (use, store) = (false, false);
                else if (d.Replace(" ", "", StringComparison.Ordinal).Equals("max-age=0", StringComparison.OrdinalIgnoreCase)) use = false;
            }
        }
        return (use, store);
    }

    /// <summary>A relation's generation: moved by every write to it.</summary>
    internal sealed class Generation
    {
        public long Value;
    }

    /// <summary>The generations a response was read under.</summary>
    internal sealed class Dependencies(Generation[] generations, long[] seen)
    {
        public bool Unchanged()
        {
            for (var i = 0; i < generations.Length; i++)
                if (Volatile.Read(ref generations[i].Value) != seen[i]) return false;
            return true;
        }
    }

    private sealed class Entry
    {
        public required string Key { get; init; }
        public required int Status { get; init; }
        public required KeyValuePair<string, string>[] Headers { get; init; }
        public required byte[] Body { get; init; }
        public required bool SuppressContentLength { get; init; }
        public required long StoredAt { get; init; }
        public required long ExpiresAt { get; init; }
        public required Dependencies Deps { get; init; }
        public required long Size { get; init; }
        public long LastUsed;

        public bool IsFresh(long now) => now < ExpiresAt && Deps.Unchanged();
    }
}
