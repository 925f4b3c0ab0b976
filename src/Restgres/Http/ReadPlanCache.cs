using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Restgres.Config;
using Restgres.Plan;
using Restgres.Sql;

namespace Restgres.Http;

/// <summary>A planned read: the parsed request (without per-request headers), its plan and statements.</summary>
internal sealed record CachedRead(ApiRequest.ApiRequest Request, ApiRequest.RelationRead Action, WrappedReadPlan Plan, Statement Main, Statement? Explain);

/// <summary>
/// Parsing, planning and SQL generation are pure functions of the request line, a few headers, the config and the
/// schema cache snapshot, so a GET/HEAD read that was planned once is not planned again: the cache is keyed by the
/// raw request target and the headers that shape the plan (Accept, Prefer, Range, Accept-Profile), and lives with
/// one (schema cache, config) pair — a reload starts a fresh one. Bounded: cleared when full; only requests seen
/// twice are cached.
/// </summary>
internal sealed class ReadPlanCache
{
    private const int MaxEntries = 4096;
    /// <summary>Longer request targets are not cached: they are rarely repeated and would make entries large.</summary>
    private const int MaxKeyLength = 2048;
    private static readonly ConditionalWeakTable<SchemaCache.SchemaCache, ReadPlanCache> PerSnapshot = new();

    private readonly ConcurrentDictionary<string, CachedRead> _entries = new(StringComparer.Ordinal);
    private int _count;
    // Admission: a read is cached the second time it is seen, so one-off URLs (e.g. random ids) don't churn the cache.
    // A lock-free table of key hashes (a hash collision only admits a key one sighting early): ConcurrentDictionary's
    // per-bucket locks and its all-locks Count were measured as ~15 % of restgres's CPU under get_event load, spinning in
    // Monitor contention (docs/perf-notes.md, item 7).
    private readonly int[] _seenOnce = new int[MaxEntries];
    private readonly AppConfig _config;
    private readonly SchemaCache.SchemaCache _cache;

    // The cache of the current (snapshot, config) pair, so the per-request lookup is two reference comparisons.
    private static ReadPlanCache? s_last;

    private ReadPlanCache(SchemaCache.SchemaCache cache, AppConfig config) => (_cache, _config) = (cache, config);

    public static ReadPlanCache For(SchemaCache.SchemaCache cache, AppConfig config)
    {
        var last = Volatile.Read(ref s_last);
        if (last is not null && ReferenceEquals(last._cache, cache) && ReferenceEquals(last._config, config)) return last;
        var c = PerSnapshot.GetValue(cache, _ => new ReadPlanCache(cache, config));
        if (!ReferenceEquals(c._config, config))
        {
            c = new ReadPlanCache(cache, config);
            PerSnapshot.AddOrUpdate(cache, c);
        }
        Volatile.Write(ref s_last, c);
        return c;
    }

    /// <summary>The cache key of a GET/HEAD request, or null for other methods.</summary>
    public static string? Key(HttpContext ctx)
    {
        var r = ctx.Request;
        if (!HttpMethods.IsGet(r.Method) && !HttpMethods.IsHead(r.Method)) return null;
        var target = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (target is null) return null;
        var prefix = ctx.Items.TryGetValue("restgres.prefix", out var p) ? (string?)p : null;
        if (target.Length > MaxKeyLength) return null;
        return string.Join('\n', r.Method, prefix ?? "", target, r.Headers.Accept.ToString(), r.Headers["Prefer"].ToString(),
            r.Headers.Range.ToString(), r.Headers["Accept-Profile"].ToString());
    }

    public bool TryGet(string key, out CachedRead value) => _entries.TryGetValue(key, out value!);

    public void Add(string key, CachedRead value)
    {
        var h = key.GetHashCode(StringComparison.Ordinal) | 1; // never 0, the empty slot
        ref var slot = ref _seenOnce[(uint)h % MaxEntries];
        if (Volatile.Read(ref slot) != h)
        {
            Volatile.Write(ref slot, h);
            return;
        }
        if (Interlocked.Increment(ref _count) > MaxEntries)
        {
            _entries.Clear();
            Volatile.Write(ref _count, 1);
        }
        _entries[key] = value;
    }
}
