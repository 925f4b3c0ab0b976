using System.Diagnostics;
using Restgres.Auth;
using Restgres.Config;

namespace Restgres.Http;

/// <summary>Everything an action needs for one request. Timings (when Server-Timing is on) are jwt, parse, plan, transaction, response.</summary>
public sealed record RequestContext(
    AppState State,
    AppConfig Config,
    SchemaCache.SchemaCache Cache,
    ApiRequest.ApiRequest Request,
    AuthResult Auth,
    double[]? Timings,
    CancellationToken Aborted)
{
    /// <summary>The read plan cache key of this request (GET/HEAD), set when the plan may be cached.</summary>
    public string? PlanCacheKey { get; init; }

    /// <summary>Records the time since <paramref name="since"/> into slot <paramref name="slot"/> and returns now.</summary>
    public long Mark(int slot, long since)
    {
        var now = Stopwatch.GetTimestamp();
        if (Timings is not null) Timings[slot] = Stopwatch.GetElapsedTime(since, now).TotalMilliseconds;
        return now;
    }
}
