using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Npgsql;
using Restgres.Auth;
using Restgres.Config;
using Restgres.Errors;

namespace Restgres.RateLimiting;

/// <summary>Where buckets live: in this process, or leased from the database (shared by instances).</summary>
internal enum RateLimitStore { Local, Database }

/// <summary>
/// Built-in rate limits (docs/rate-limits.md). The request handler asks once per request, after the authenticator
/// (the role is known) and before anything touches the database: which policy applies (the route's
/// <c>rate-limit</c>, else <c>server-rate-limits</c> by role), the key (client IP, a claim, or the role), and the
/// bucket's answer. Over the limit is a 429 in PostgREST's error shape with code <see cref="Code"/>,
/// <c>Retry-After</c> and the draft-10 <c>RateLimit-Policy</c> / <c>RateLimit</c> fields.
/// </summary>
internal sealed class RateLimiter : IDisposable
{
    /// <summary>The error code of a limited request: Restgres's own, not a PGRST code.</summary>
    public const string Code = "RGST429";

    private static readonly ConditionalWeakTable<AuthResult, ClaimKey> ClaimKeys = new();
    private readonly NpgsqlDataSource _db;
    private readonly Action<string> _log;
    private readonly ITimer _sweeper;

    public RateLimiter(NpgsqlDataSource db, Action<string> log, int maxKeys, TimeProvider? time = null)
    {
        _db = db;
        _log = log;
        var clock = time ?? TimeProvider.System;
        Local = new BucketTable(maxKeys, clock);
        Shared = new SharedLeases(maxKeys, clock);
        // Full buckets are the same as none: dropping them every 30 s gives memory back once traffic is gone.
        _sweeper = TimeProvider.System.CreateTimer(_ => Sweep(), null, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30));
    }

    public BucketTable Local { get; }

    public SharedLeases Shared { get; }

    public RateLimitMetrics Metrics { get; } = new();

    /// <summary>True when any limit could apply: with no rule anywhere the handler skips the limiter entirely.</summary>
    public static bool Configured(AppConfig config, Routing.Route? route) =>
        config.ServerRateLimits is not null || route?.RateLimit is not null;

    /// <summary>The policy for a role on a route: the route's rules first, then server-rate-limits; null: unlimited.</summary>
    public static RateLimitPolicy? PolicyFor(AppConfig config, Routing.Route? route, string role)
    {
        if (route?.RateLimit is { } routeRules && routeRules.TryFor(role, out var p)) return p;
        return config.ServerRateLimits is { } rules && rules.TryFor(role, out p) ? p : null;
    }

    /// <summary>
    /// Checks the request: null when it is allowed (with the RateLimit fields added when
    /// <c>server-rate-limit-headers</c> is on), else the 429 to answer (returned, not thrown: a flood of refused
    /// requests should cost little).
    /// </summary>
    /// <param name="cache">The schema cache, for the metrics' route label of a request no route matched.</param>
    /// <param name="http">Where that label is worked out (a resource name, never the raw path).</param>
    public async ValueTask<ApiError?> CheckAsync(HttpContext ctx, AppConfig config, Routing.Route? route, AuthResult auth,
        Catalog.SchemaCache cache, Observability.HttpMetrics http)
    {
        var policy = PolicyFor(config, route, auth.Role);
        if (policy is null) return null;
        var label = route?.Template ?? http.Resource(cache, ctx.Request.Path.Value ?? "/", config.ServerPathPrefixes);
        var key = policy.Key switch
        {
            KeyKind.Role => "",
            KeyKind.Claim => ClaimValue(auth, policy.Claim!) ?? "ip " + ClientKey(ctx, config),
            _ => ClientKey(ctx, config),
        };
        RateDecision decision;
        if (config.ServerRateLimitStore == RateLimitStore.Database
            && await Shared.CheckAsync(_db, policy, key, _log, ctx.RequestAborted) is { } shared)
            decision = shared;
        else
            decision = Local.Check(policy, key);
        Metrics.Count(auth.Role, label, decision.Allowed);
        if (!decision.Allowed)
        {
            var retry = Math.Max(1, decision.ResetSeconds).ToString(CultureInfo.InvariantCulture);
            return new ApiError(429, Code,
                string.Create(CultureInfo.InvariantCulture,
                    $"Rate limit exceeded: {policy.Quota} requests per {Window(policy.WindowSeconds)}. Retry after {retry} s."),
                headers:
                [
                    new("Retry-After", retry),
                    new("RateLimit-Policy", policy.PolicyHeader),
                    new("RateLimit", Field(policy, decision)),
                ]);
        }
        if (config.ServerRateLimitHeaders)
        {
            var headers = ctx.Response.Headers;
            headers["RateLimit-Policy"] = policy.PolicyHeader;
            headers["RateLimit"] = Field(policy, decision);
        }
        return null;
    }

    private static string Window(int seconds) => seconds switch
    {
        1 => "second",
        60 => "minute",
        3600 => "hour",
        86400 => "day",
        _ => string.Create(CultureInfo.InvariantCulture, $"{seconds} seconds"),
    };

    /// <summary><c>RateLimit</c>'s value: <c>"name";r=REMAINING;t=SECONDS</c>.</summary>
    private static string Field(RateLimitPolicy policy, RateDecision d) =>
        string.Create(CultureInfo.InvariantCulture, $"{policy.QuotedName};r={d.Remaining};t={d.ResetSeconds}");

    private static string ClientKey(HttpContext ctx, AppConfig config) =>
        config.ServerTrustedProxies.ClientKey(ctx.Connection.RemoteIpAddress, ctx.Request.Headers["X-Forwarded-For"]);

    /// <summary>The claim's value as text (a string unquoted, anything else as JSON), worked out once per validated
    /// token: the authenticator caches its results, so a repeated token finds the value here.</summary>
    private static string? ClaimValue(AuthResult auth, RoleClaimPath path)
    {
        var box = ClaimKeys.GetValue(auth, static _ => new ClaimKey());
        var cached = box.Value;
        if (cached is not null && ReferenceEquals(cached.Path, path)) return cached.Text;
        string? text = null;
        try
        {
            using var doc = JsonDocument.Parse(auth.ClaimsJson);
            if (path.TryEvaluate(doc.RootElement, out var v))
                text = v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText();
        }
        catch (JsonException)
        {
            text = null;
        }
        if (text is { Length: > 256 }) text = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        box.Value = new ClaimKeyValue(path, text);
        return text;
    }

    private sealed class ClaimKey
    {
        public volatile ClaimKeyValue? Value;
    }

    private sealed record ClaimKeyValue(RoleClaimPath Path, string? Text);

    public void Sweep()
    {
        Local.SweepIdle();
        Shared.Sweep();
    }

    public void Dispose() => _sweeper.Dispose();
}

/// <summary>
/// <c>restgres_rate_limit_requests_total{role,route,outcome}</c>: requests a limit applied to, allowed or limited. The
/// route label is a route template or a schema-cache resource (bounded by the schema), and past
/// <see cref="MaxSeries"/> series new roles count as <c>(other)</c>, so clients cannot grow the label set.
/// </summary>
internal sealed class RateLimitMetrics
{
    private const int MaxSeries = 2000;
    private readonly ConcurrentDictionary<(string Role, string Route, bool Allowed), StrongBox<long>> _series = new();

    public void Count(string role, string route, bool allowed)
    {
        var key = (role, route, allowed);
        if (!_series.TryGetValue(key, out var box))
        {
            if (_series.Count >= MaxSeries) key = ("(other)", route, allowed);
            box = _series.GetOrAdd(key, static _ => new StrongBox<long>());
        }
        Interlocked.Increment(ref box.Value);
    }

    /// <summary>The count for one series (tests).</summary>
    public long Get(string role, string route, bool allowed) =>
        _series.TryGetValue((role, route, allowed), out var box) ? Interlocked.Read(ref box.Value) : 0;

    public void WriteTo(StringBuilder sb)
    {
        ArgumentNullException.ThrowIfNull(sb);
        var snapshot = _series.ToArray();
        Array.Sort(snapshot, static (a, b) =>
        {
            var c = string.CompareOrdinal(a.Key.Route, b.Key.Route);
            if (c == 0) c = string.CompareOrdinal(a.Key.Role, b.Key.Role);
            return c != 0 ? c : a.Key.Allowed.CompareTo(b.Key.Allowed);
        });
        Observability.PrometheusText.Header(sb, "restgres_rate_limit_requests_total", "counter",
            "Requests a rate limit applied to, by role, route and outcome (allowed or limited)");
        foreach (var (key, box) in snapshot)
            Observability.PrometheusText.Sample(sb, "restgres_rate_limit_requests_total", Interlocked.Read(ref box.Value),
                ("role", key.Role), ("route", key.Route), ("outcome", key.Allowed ? "allowed" : "limited"));
    }
}
