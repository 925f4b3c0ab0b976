using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Restgres.Config;
using Restgres.Plan;
using Restgres.Sql;

namespace Restgres.Http;

/// <summary>A planned request, as kept by <see cref="PlanCache"/>.</summary>
internal abstract record CachedPlan;

/// <summary>A planned read: the parsed request (without per-request headers), its plan and statements.</summary>
internal sealed record CachedRead(ApiRequest.ApiRequest Request, ApiRequest.RelationRead Action, WrappedReadPlan Plan, Statement Main, Statement? Explain) : CachedPlan;

/// <summary>
/// A function call's parsed request (without per-request headers, cookies and body) and its plans by payload shape
/// (<see cref="CallStatements.PayloadShape"/>): the same URL posted with other argument names is another overload,
/// another plan. GET/HEAD calls carry their arguments in the URL, so they have one shape.
/// </summary>
internal sealed record CachedCall(ApiRequest.ApiRequest Request, ApiRequest.RoutineCall Action) : CachedPlan
{
    /// <summary>More argument-name sets than this for one URL are planned every time.</summary>
    private const int MaxShapes = 16;
    private readonly ConcurrentDictionary<string, PlannedCall> _shapes = new(StringComparer.Ordinal);
    // A counter rather than ConcurrentDictionary.Count, which takes every lock (see PlanCache's admission).
    private int _added;

    public bool TryGet(string shape, out PlannedCall planned) => _shapes.TryGetValue(shape, out planned!);

    public void Add(string shape, PlannedCall planned)
    {
        if (Volatile.Read(ref _added) < MaxShapes && Interlocked.Increment(ref _added) <= MaxShapes) _shapes.TryAdd(shape, planned);
    }
}

/// <summary>A call planned for one payload shape; <see cref="Main"/> is bound to the body it was planned with.</summary>
internal sealed record PlannedCall(CallReadPlan Plan, Statement Main, IReadOnlyList<KeyValuePair<string, string>> Hoisted);

/// <summary>
/// Parsing, planning and SQL generation are pure functions of the request line, a few headers, the config and the
/// schema cache snapshot (and, for a function call, the names of the arguments in the body), so a request that was
/// planned once is not planned again: the cache is keyed by the method, the raw request target and the headers that
/// shape the plan (Accept, Prefer, Range, Accept-Profile, Content-Profile, Content-Type), and lives with one
/// (schema cache, config) pair — a reload starts a fresh one. Bounded: cleared when full; only requests seen twice
/// are cached. Reads (GET/HEAD on tables and views) and function calls (GET/HEAD/POST /rpc) are cached; writes are not.
/// </summary>
internal sealed class PlanCache
{
    private const int MaxEntries = 4096;
    /// <summary>Longer request targets are not cached: they are rarely repeated and would make entries large.</summary>
    private const int MaxKeyLength = 2048;
    private static readonly ConditionalWeakTable<SchemaCache.SchemaCache, PlanCache> PerSnapshot = new();

    private readonly ConcurrentDictionary<string, CachedPlan> _entries = new(StringComparer.Ordinal);
    private int _count;
    // Admission: a request is cached the second time it is seen, so one-off URLs (e.g. random ids) don't churn the
    // cache. A lock-free table of key hashes (a hash collision only admits a key one sighting early):
    // ConcurrentDictionary's per-bucket locks and its all-locks Count were measured as ~15 % of restgres's CPU under
    // get_event load, spinning in Monitor contention (docs/perf-notes.md, item 7).
    private readonly int[] _seenOnce = new int[MaxEntries];
    private readonly AppConfig _config;
    private readonly SchemaCache.SchemaCache _cache;

    // The cache of the current (snapshot, config) pair, so the per-request lookup is two reference comparisons.
    private static PlanCache? s_last;

    private PlanCache(SchemaCache.SchemaCache cache, AppConfig config) => (_cache, _config) = (cache, config);

    public static PlanCache For(SchemaCache.SchemaCache cache, AppConfig config)
    {
        var last = Volatile.Read(ref s_last);
        if (last is not null && ReferenceEquals(last._cache, cache) && ReferenceEquals(last._config, config)) return last;
        var c = PerSnapshot.GetValue(cache, _ => new PlanCache(cache, config));
        if (!ReferenceEquals(c._config, config))
        {
            c = new PlanCache(cache, config);
            PerSnapshot.AddOrUpdate(cache, c);
        }
        Volatile.Write(ref s_last, c);
        return c;
    }

    /// <summary>
    /// The cache key of a GET or HEAD request, or of a POST that calls a function (<paramref name="callsRoutine"/>);
    /// null for other requests, which are never cached, so inserts do not pay for a key.
    /// </summary>
    public static string? Key(HttpContext ctx, bool callsRoutine)
    {
        var r = ctx.Request;
        if (!HttpMethods.IsGet(r.Method) && !HttpMethods.IsHead(r.Method) && !(callsRoutine && HttpMethods.IsPost(r.Method))) return null;
        var target = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (target is null) return null;
        var prefix = ctx.Items.TryGetValue("restgres.prefix", out var p) ? (string?)p : null;
        if (target.Length > MaxKeyLength) return null;
        var h = r.Headers;
        return string.Join('\n', r.Method, prefix ?? "", target, h.Accept.ToString(), h["Prefer"].ToString(),
            h.Range.ToString(), h["Accept-Profile"].ToString(), h["Content-Profile"].ToString(), h.ContentType.ToString());
    }

    public bool TryGet(string key, out CachedPlan value) => _entries.TryGetValue(key, out value!);

    /// <summary>Caches <paramref name="value"/> when <paramref name="key"/> is seen for the second time.</summary>
    public void Add(string key, CachedPlan value)
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
