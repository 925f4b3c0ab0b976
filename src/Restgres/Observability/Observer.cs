using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Restgres.Config;
using Restgres.Http;
using LogLevel = Restgres.Config.LogLevel;

namespace Restgres.Observability;

/// <summary>
/// One server's observability (PostgREST's Observation/Logger/Metrics modules together): the metrics registry, the
/// log sink, and the middleware that times every request, counts it, and writes its access log line.
/// </summary>
internal sealed class Observer : IDisposable
{
    private readonly AppState _state;
    private readonly Tracing? _tracing;
    private LogSink _sink = LogSink.Console;

    public Observer(AppState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        _state = state;
        Metrics = new Metrics(state.DataSource.ConnectionString);
        _tracing = Tracing.Start(state.Config);
        Apply(state.Config);
    }

    public Metrics Metrics { get; }

    /// <summary>Where access and query lines go; the process's stdout/stderr unless a test replaces it.</summary>
    public LogSink Sink
    {
        get => Volatile.Read(ref _sink);
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            Volatile.Write(ref _sink, value);
            Apply(_state.Config);
        }
    }

    /// <summary>Follows a new config snapshot (log-format may be reloaded).</summary>
    public void Apply(AppConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Sink.Json = config.LogFormat == "json";
    }

    /// <summary>The middleware, first in the pipeline so that every request is counted, CORS preflights and static
    /// files included.</summary>
    public Func<RequestDelegate, RequestDelegate> Middleware => next => ctx => InvokeAsync(ctx, next);

    /// <summary>Called by the request handler once the request is authenticated: the role for the access log.</summary>
    public static void SetRole(HttpContext ctx, string role)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        if (ctx.Features.Get<RequestObservation>() is { } o) o.Role = role;
    }

    private readonly Lock _poolTimeoutGate = new();
    private bool _poolTimeoutCooling;
    private bool _poolTimeoutPending;

    /// <summary>
    /// A request timed out waiting for a pool connection (PGRST003). At log-level error and above, PostgREST logs
    /// the error's JSON, debounced (Logger.hs): the first time at once, then at most once more per 5 s while they
    /// keep coming, so a burst does not flood the log.
    /// </summary>
    public void PoolAcquisitionTimedOut()
    {
        if (_state.Config.LogLevel < LogLevel.Error) return;
        lock (_poolTimeoutGate)
        {
            if (_poolTimeoutCooling)
            {
                _poolTimeoutPending = true;
                return;
            }
            _poolTimeoutCooling = true;
        }
        _state.Log(Errors.Pgrst.PoolTimeout().ToJson(ErrorVerbosity.Verbose));
        _ = CoolDownAsync();
    }

    private async Task CoolDownAsync()
    {
        while (true)
        {
            await Task.Delay(TimeSpan.FromSeconds(5));
            lock (_poolTimeoutGate)
            {
                if (!_poolTimeoutPending)
                {
                    _poolTimeoutCooling = false;
                    return;
                }
                _poolTimeoutPending = false;
            }
            _state.Log(Errors.Pgrst.PoolTimeout().ToJson(ErrorVerbosity.Verbose));
        }
    }

    /// <summary>PostgREST's shouldLogResponse: crit logs no request, error the 5xx, warn the 4xx and 5xx, info all.</summary>
    public static bool ShouldLogResponse(LogLevel level, int status) => level switch
    {
        LogLevel.Crit => false,
        LogLevel.Error => status >= 500,
        LogLevel.Warn => status >= 400,
        _ => true,
    };

    private async Task InvokeAsync(HttpContext ctx, RequestDelegate next)
    {
        var start = Stopwatch.GetTimestamp();
        var config = _state.Config;
        Metrics.Http.Started();
        RequestObservation? observation = null;
        var activity = Tracing.StartRequest(ctx);
        // At crit no request is ever logged, so there is nothing to collect unless a span wants the role.
        if (config.LogLevel > LogLevel.Crit || activity is not null)
        {
            observation = new RequestObservation();
            ctx.Features.Set(observation);
        }
        var failed = false;
        try
        {
            await next(ctx);
        }
        catch
        {
            // Kestrel answers 500 for an exception that escapes the pipeline.
            failed = true;
            throw;
        }
        finally
        {
            Complete(ctx, config, observation, activity, start, failed);
        }
    }

    private void Complete(HttpContext ctx, AppConfig config, RequestObservation? observation, Activity? activity, long start, bool failed)
    {
        var elapsed = Stopwatch.GetTimestamp() - start;
        var status = failed && !ctx.Response.HasStarted ? 500 : ctx.Response.StatusCode;
        // A routed request is labelled by its route's template, never its raw path: the label set stays bounded.
        var resource = ctx.Features.Get<Routing.Route>() is { } route
            ? route.Template
            : Metrics.Http.Resource(_state.SchemaCache, ctx.Request.Path.Value ?? "/", config.ServerPathPrefixes);
        Metrics.Http.Observe(ctx.Request.Method, status, resource, elapsed);
        try
        {
            if (observation is not null && !observation.IsPreflight && ShouldLogResponse(config.LogLevel, status))
                Log(ctx, config, observation, activity, start, elapsed, status);
        }
        finally
        {
            if (activity is not null) Tracing.Finish(activity, ctx.Request.Method, resource, observation?.Role, status);
        }
    }

    private void Log(HttpContext ctx, AppConfig config, RequestObservation observation, Activity? activity, long start, long elapsed, int status)
    {
        var request = ctx.Request;
        var remote = ctx.Connection.RemoteIpAddress is { } ip
            ? (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString()
            : "-";
        var target = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget ?? (request.PathBase + request.Path + request.QueryString).ToString();
        var requestId = config.ServerTraceHeader is { } trace && request.Headers[trace] is { Count: > 0 } id && id[0] is { Length: > 0 } v
            ? v
            : ctx.TraceIdentifier;
        var entry = new AccessEntry(
            DateTimeOffset.Now,
            remote,
            observation.Role,
            request.Method,
            target,
            request.Protocol,
            status,
            ctx.Response.ContentLength,
            request.Headers.Referer.Count > 0 ? request.Headers.Referer[0] : null,
            request.Headers.UserAgent.Count > 0 ? request.Headers.UserAgent[0] : null,
            requestId,
            Stopwatch.GetElapsedTime(start, start + elapsed).TotalMilliseconds,
            observation.Sql is { } sql ? LogFormat.SingleLine(sql) : null);
        var sink = Sink;
        if (sink.Json)
        {
            entry = entry with { TraceId = Tracing.TraceId(ctx, activity) };
            sink.Out(LogFormat.Json(entry));
            return;
        }
        // PostgREST logs the query (to stderr, timestamped) before the access line (to stdout).
        if (entry.Sql is not null) sink.Err(LogFormat.TextDiagnostic(entry.Time, entry.Sql));
        sink.Out(LogFormat.Apache(entry));
    }

    public void Dispose()
    {
        _tracing?.Dispose();
        Metrics.Dispose();
    }
}

