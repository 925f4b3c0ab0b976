using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Restgres.Config;

namespace Restgres.Observability;

/// <summary>
/// OpenTelemetry traces (<c>trace-exporter</c>, docs/tracing.md): a server span per API request, started by the
/// <see cref="Observer"/> middleware as a child of the client's W3C <c>traceparent</c>, with Npgsql's own spans for
/// the database work beneath it. With <c>trace-exporter = off</c> no provider exists, the activity source has no
/// listener, and a request pays one <see cref="ActivitySource.HasListeners"/> check.
/// </summary>
internal sealed class Tracing : IDisposable
{
    /// <summary>The source of the request spans.</summary>
    public static readonly ActivitySource Source = new("Restgres", Cli.CommandLine.Version);

    private readonly TracerProvider _provider;

    private Tracing(TracerProvider provider) => _provider = provider;

    /// <summary>A provider for the configured exporter, or null when tracing is off.</summary>
    public static Tracing? Start(AppConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.TraceExporter == TraceExporter.Off) return null;
        var resource = ResourceBuilder.CreateDefault();
        // OTEL_SERVICE_NAME (read by the default resource) names the service when set.
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME")))
            resource.AddService("restgres", serviceVersion: Cli.CommandLine.Version);
        var builder = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            // A client's sampling decision (traceparent's flag) is followed; requests without one are sampled at the ratio.
            .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(config.TraceSampleRatio)))
            .AddSource(Source.Name)
            .AddNpgsql();
        builder = config.TraceExporter switch
        {
            TraceExporter.Console => builder.AddConsoleExporter(),
            _ => builder.AddOtlpExporter(o =>
            {
                if (config.TraceOtlpEndpoint is { } endpoint) o.Endpoint = new Uri(endpoint);
                o.Protocol = config.TraceOtlpProtocol == OtlpProtocol.HttpProtobuf
                    ? OtlpExportProtocol.HttpProtobuf
                    : OtlpExportProtocol.Grpc;
            }),
        };
        return new Tracing(builder.Build());
    }

    /// <summary>
    /// Starts the request's server span when tracing listens, as a child of the client's <c>traceparent</c>; the
    /// span name gets its route once the request is resolved (<see cref="Finish"/>).
    /// </summary>
    public static Activity? StartRequest(HttpContext ctx)
    {
        if (!Source.HasListeners()) return null;
        var headers = ctx.Request.Headers;
        ActivityContext.TryParse(headers.TraceParent.Count > 0 ? headers.TraceParent[0] : null,
            headers.TraceState.Count > 0 ? headers.TraceState[0] : null, isRemote: true, out var parent);
        var activity = Source.StartActivity(ActivityKind.Server, parent, name: ctx.Request.Method);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("http.request.method", ctx.Request.Method);
            activity.SetTag("url.path", ctx.Request.Path.Value);
            activity.SetTag("network.protocol.version", ctx.Request.Protocol);
        }
        return activity;
    }

    /// <summary>
    /// Names the span by method and route and records the outcome. The route is the metrics' bounded label: a route
    /// template, or the relation or function (<c>items</c>, <c>rpc/f</c>: written as a path, <c>/items</c>), never
    /// the raw path.
    /// </summary>
    public static void Finish(Activity activity, string method, string resource, string? role, int status)
    {
        if (activity.IsAllDataRequested)
        {
            var route = resource.StartsWith('/') || resource == HttpMetrics.OtherResource ? resource : "/" + resource;
            activity.DisplayName = method + " " + route;
            activity.SetTag("http.route", route);
            activity.SetTag("http.response.status_code", status);
            if (role is not null) activity.SetTag("restgres.role", role);
            if (status >= 500) activity.SetStatus(ActivityStatusCode.Error);
        }
        activity.Stop();
    }

    /// <summary>
    /// The trace id for a log line: the request span's, else the client's <c>traceparent</c> (so that logs can be
    /// joined with a gateway's traces even when Restgres exports none).
    /// </summary>
    public static string? TraceId(HttpContext ctx, Activity? activity)
    {
        if (activity is not null) return activity.TraceId.ToHexString();
        var headers = ctx.Request.Headers;
        return headers.TraceParent.Count > 0
            && ActivityContext.TryParse(headers.TraceParent[0], null, out var parent)
            ? parent.TraceId.ToHexString()
            : null;
    }

    /// <summary>Flushes the spans still buffered.</summary>
    public void Dispose() => _provider.Dispose();
}
