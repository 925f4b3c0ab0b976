using System.Text;

namespace Restgres.Observability;

/// <summary>
/// Counters of server-response-cache, kept across the cache instances that reloads replace (so they stay monotonic):
/// lookups by outcome, entries stored, evicted by the byte budget and dropped by invalidation.
/// </summary>
internal sealed class ResponseCacheMetrics
{
    private long _hits;
    private long _misses;
    private long _bypasses;
    private long _stored;
    private long _evicted;
    private long _invalidated;

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    public long Evictions => Interlocked.Read(ref _evicted);

    public void Hit() => Interlocked.Increment(ref _hits);

    public void Miss() => Interlocked.Increment(ref _misses);

    /// <summary>The client's Cache-Control (no-cache, no-store, max-age=0) did not let a stored response be used.</summary>
    public void Bypass() => Interlocked.Increment(ref _bypasses);

    public void Stored() => Interlocked.Increment(ref _stored);

    public void Evicted(int n) => Interlocked.Add(ref _evicted, n);

    public void Invalidated(int n) => Interlocked.Add(ref _invalidated, n);

    /// <summary>The statistics as one JSON object (the admin server's <c>/response_cache</c>, and routes to it).</summary>
    public byte[] ToJson(Http.ResponseCache? current, long budget)
    {
        long hits = Hits, misses = Misses;
        return System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?>
        {
            ["enabled"] = current is not null,
            ["entries"] = current?.Count ?? 0,
            ["bytes"] = current?.Bytes ?? 0,
            ["max_bytes"] = budget,
            ["hits"] = hits,
            ["misses"] = misses,
            ["bypasses"] = Interlocked.Read(ref _bypasses),
            ["hit_rate"] = hits + misses == 0 ? null : Math.Round((double)hits / (hits + misses), 4),
            ["stored"] = Interlocked.Read(ref _stored),
            ["evictions"] = Evictions,
            ["invalidations"] = Interlocked.Read(ref _invalidated),
        });
    }

    public void WriteTo(StringBuilder sb, Http.ResponseCache? current)
    {
        PrometheusText.Header(sb, "restgres_response_cache_requests_total", "counter", "Lookups in server-response-cache, by outcome");
        PrometheusText.Sample(sb, "restgres_response_cache_requests_total", Hits, ("result", "hit"));
        PrometheusText.Sample(sb, "restgres_response_cache_requests_total", Misses, ("result", "miss"));
        PrometheusText.Sample(sb, "restgres_response_cache_requests_total", Interlocked.Read(ref _bypasses), ("result", "bypass"));
        PrometheusText.Single(sb, "restgres_response_cache_stored_total", "counter", "Responses stored in server-response-cache", Interlocked.Read(ref _stored));
        PrometheusText.Single(sb, "restgres_response_cache_evictions_total", "counter", "Entries evicted by server-response-cache-size (least recently used first)", Evictions);
        PrometheusText.Single(sb, "restgres_response_cache_invalidations_total", "counter", "Entries dropped because a write or NOTIFY changed a relation they read", Interlocked.Read(ref _invalidated));
        PrometheusText.Single(sb, "restgres_response_cache_entries", "gauge", "Entries in server-response-cache", current?.Count ?? 0);
        PrometheusText.Single(sb, "restgres_response_cache_bytes", "gauge", "Bytes held by server-response-cache (of server-response-cache-size)", current?.Bytes ?? 0);
    }
}
