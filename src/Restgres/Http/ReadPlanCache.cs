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
    // Admission: a read is cached the second time it is seen, so one-off URLs (e.g. random ids) don't churn the cache.
    private readonly ConcurrentDictionary<string, byte> _seenOnce = new(StringComparer.Ordinal);
    private readonly AppConfig _config;

    private ReadPlanCache(AppConfig config) => _config = config;

    public static ReadPlanCache For(SchemaCache.SchemaCache cache, AppConfig config)
    {
        var c = PerSnapshot.GetValue(cache, _ => new ReadPlanCache(config));
        if (ReferenceEquals(c._config, config)) return c;
        c = new ReadPlanCache(config);
        PerSnapshot.AddOrUpdate(cache, c);
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
        if (_seenOnce.TryAdd(key, 0))
        {
            if (_seenOnce.Count >= MaxEntries) _seenOnce.Clear();
            return;
        }
        if (_entries.Count >= MaxEntries) _entries.Clear();
        _entries[key] = value;
    }
}
