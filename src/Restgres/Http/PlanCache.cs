using System.Collections.Concurrent;
using Restgres.App;
using Restgres.Config;
using Restgres.Requests;
using Restgres.Sql;

namespace Restgres.Http;

/// <summary>
/// Parsing, planning and SQL generation are pure functions of the request line, a few headers, the config and the
/// schema cache snapshot (and, for a function call, the names of the arguments in the body), so a request that was
/// planned once is not planned again: the cache is keyed by the method, the raw request target and the headers that
/// shape the plan (Accept, Prefer, Range, Accept-Profile, Content-Profile, Content-Type), and belongs to one
/// (schema cache, config) pair — a reload starts a fresh one (<see cref="AppState.PlanCacheFor"/>). Bounded: cleared
/// when full; only requests seen twice are cached. Reads (GET/HEAD on tables and views) and function calls
/// (GET/HEAD/POST /rpc) are cached; writes are not.
/// </summary>
internal sealed class PlanCache
{
    private const int MaxEntries = 4096;
    /// <summary>Longer request targets are not cached: they are rarely repeated and would make entries large.</summary>
    private const int MaxKeyLength = 2048;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private int _count;
    private long _hits;
    // Admission: a request is cached the second time it is seen, so one-off URLs (e.g. random ids) don't churn the
    // cache. A lock-free table of key hashes (a hash collision only admits a key one sighting early):
    // ConcurrentDictionary's per-bucket locks and its all-locks Count were measured as ~15 % of restgres's CPU under
    // get_event load, spinning in Monitor contention (docs/perf-notes.md, item 7).
    private readonly int[] _seenOnce = new int[MaxEntries];

    public PlanCache(Catalog.SchemaCache cache, AppConfig config) => (Cache, Config) = (cache, config);

    /// <summary>The snapshots the cached plans were made against.</summary>
    public Catalog.SchemaCache Cache { get; }

    public AppConfig Config { get; }

    /// <summary>Requests answered from a cached plan (observable by tests and metrics).</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>
    /// The cache key of a GET or HEAD request, or of a POST that calls a function (<paramref name="callsRoutine"/>);
    /// null for other requests, which are never cached, so inserts do not pay for a key. The headers are read exactly
    /// as the request parser reads them (the first Accept, Range, profile and Content-Type header; every Prefer
    /// header), so two requests with one key always parse alike.
    /// </summary>
    public static string? Key(RawRequest raw, string prefix, string rawTarget, bool callsRoutine)
    {
        var m = raw.Method;
        if (m != "GET" && m != "HEAD" && !(callsRoutine && m == "POST")) return null;
        if (rawTarget.Length > MaxKeyLength) return null;
        var sb = new System.Text.StringBuilder(rawTarget.Length + 128);
        sb.Append(m).Append('\n').Append(prefix).Append('\n').Append(rawTarget);
        foreach (var name in (ReadOnlySpan<string>)["Accept", "Range", "Accept-Profile", "Content-Profile", "Content-Type"])
            sb.Append('\n').Append(raw.Header(name));
        foreach (var prefer in raw.HeaderValues("Prefer"))
            sb.Append('\n').Append("Prefer: ").Append(prefer);
        return sb.ToString();
    }

    /// <summary>
    /// The cached plan for <paramref name="key"/> and the request it was made for, with this request's headers,
    /// cookies and body. A call whose body names arguments not planned yet for this URL is a miss.
    /// </summary>
    public bool TryGet(string key, RawRequest raw, out ApiRequest request, out ActionPlan plan)
    {
        request = null!;
        plan = null!;
        if (!_entries.TryGetValue(key, out var entry)) return false;
        var headers = ApiRequest.RequestHeaders(raw);
        var cookies = ApiRequest.RequestCookies(raw);
        switch (entry)
        {
            case ReadEntry read:
                request = read.Request with { Headers = headers, Cookies = cookies };
                plan = read.Plan;
                break;
            case CallEntry call:
                // Only the body changes: parsed afresh (a bad body is still PGRST102), and the statement re-bound to it.
                request = call.Request.WithBody(raw.Body) with { Headers = headers, Cookies = cookies };
                if (CallStatements.PayloadShape(request.CallPayload) is not { } shape || !call.TryGet(shape, out var planned))
                    return false;
                plan = planned with { Main = CallStatements.WithPayload(planned.Main, planned.Plan.CallPlan, request.CallPayload) };
                break;
        }
        Interlocked.Increment(ref _hits);
        return true;
    }

    /// <summary>Remembers a read's or a call's plan when <paramref name="key"/> is seen for the second time.</summary>
    public void Add(string key, ApiRequest request, ActionPlan plan)
    {
        switch (plan)
        {
            case ReadActionPlan read:
                Admit(key, () => new ReadEntry(request with { Headers = [], Cookies = [] }, read));
                break;
            case CallActionPlan call when call.Media.Kind != MediaKind.Plan && CallStatements.CanRebind(call.Plan.CallPlan)
                && CallStatements.PayloadShape(request.CallPayload) is { } shape:
                if (_entries.TryGetValue(key, out var known) && known is CallEntry entry) entry.Add(shape, call);
                else Admit(key, () =>
                {
                    var fresh = new CallEntry(request with { Headers = [], Cookies = [], Body = ReadOnlyMemory<byte>.Empty, CallPayload = null });
                    fresh.Add(shape, call);
                    return fresh;
                });
                break;
        }
    }

    private void Admit(string key, Func<Entry> create)
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
        _entries[key] = create();
    }

    private abstract record Entry;

    /// <summary>A planned read: the parsed request (without per-request headers) and its plan.</summary>
    private sealed record ReadEntry(ApiRequest Request, ReadActionPlan Plan) : Entry;

    /// <summary>
    /// A function call's parsed request (without per-request headers, cookies and body) and its plans by payload shape
    /// (<see cref="CallStatements.PayloadShape"/>): the same URL posted with other argument names is another overload,
    /// another plan. GET/HEAD calls carry their arguments in the URL, so they have one shape.
    /// </summary>
    private sealed record CallEntry(ApiRequest Request) : Entry
    {
        /// <summary>More argument-name sets than this for one URL are planned every time.</summary>
        private const int MaxShapes = 16;
        private readonly ConcurrentDictionary<string, CallActionPlan> _shapes = new(StringComparer.Ordinal);
        // A counter rather than ConcurrentDictionary.Count, which takes every lock (see the cache's admission).
        private int _added;

        public bool TryGet(string shape, out CallActionPlan planned) => _shapes.TryGetValue(shape, out planned!);

        public void Add(string shape, CallActionPlan planned)
        {
            if (Volatile.Read(ref _added) < MaxShapes && Interlocked.Increment(ref _added) <= MaxShapes) _shapes.TryAdd(shape, planned);
        }
    }
}
