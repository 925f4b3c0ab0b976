using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Restgres.Config;
using LogLevel = Restgres.Config.LogLevel;
using Restgres.Tests.Admin;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Observability;

/// <summary>
/// OpenTelemetry traces (trace-exporter): a real server exports, over OTLP/HTTP, to a collector stand-in that keeps
/// what it receives; an in-process ActivityListener sees the same spans with their parents.
/// </summary>
[Collection("pg")]
public sealed class TracingTests(PgClusterFixture pg)
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string ClientSpanId = "00f067aa0ba902b7";
    private const string TraceParent = "00-" + TraceId + "-" + ClientSpanId + "-01";

    [Fact]
    public async Task A_request_is_a_server_span_under_the_clients_traceparent_with_the_database_work_beneath_and_exported_over_OTLP()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        await using var collector = await Collector.StartAsync();
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "Restgres" or "Npgsql",
            // The server's own provider decides sampling; this listener only watches.
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.None,
            ActivityStopped = a => { if (a.TraceId.ToHexString() == TraceId) spans.Enqueue(a); },
        };
        ActivitySource.AddActivityListener(listener);

        var (server, log) = await AdminKit.StartLoggedAsync(AdminKit.Config(db) with
        {
            TraceExporter = TraceExporter.Otlp,
            TraceOtlpEndpoint = collector.Address + "v1/traces",
            TraceOtlpProtocol = OtlpProtocol.HttpProtobuf,
            LogLevel = LogLevel.Info,
            LogFormat = "json",
        });
        await using (server)
        {
            var ok = await AdminKit.GetAsync(server.BaseAddress, "/items?id=eq.1&select=id", ("traceparent", (string)TraceParent));
            Assert.Equal(200, ok.Status);

            var lines = await LinesAsync(log, 1);
            var request = Assert.Single(spans, s => s.Source.Name == "Restgres");
            Assert.Equal(ActivityKind.Server, request.Kind);
            Assert.Equal(ClientSpanId, request.ParentSpanId.ToHexString());
            Assert.Equal("GET /items", request.DisplayName);
            Assert.Equal("/items", request.GetTagItem("http.route"));
            Assert.Equal(AdminKit.Anon, request.GetTagItem("restgres.role"));
            Assert.Equal(200, request.GetTagItem("http.response.status_code"));
            // The transaction's batch is a client span of Npgsql's beneath the request (a first connection adds its
            // CONNECT span there too).
            Assert.Contains(spans, s => s.Source.Name == "Npgsql" && s.Kind == ActivityKind.Client
                && s.ParentSpanId == request.SpanId && !s.DisplayName.StartsWith("CONNECT", StringComparison.Ordinal));

            using var line = JsonDocument.Parse(Assert.Single(lines));
            Assert.Equal(TraceId, line.RootElement.GetProperty("trace_id").GetString());
        }

        // Disposing the server flushes the exporter: the collector has the trace in OTLP's protobuf, where ids are raw
        // bytes and names UTF-8.
        var exported = collector.Received.ToArray();
        Assert.NotEmpty(exported);
        Assert.All(exported, e => Assert.Equal("application/x-protobuf", e.ContentType));
        var all = exported.SelectMany(e => e.Body).ToArray();
        Assert.True(Contains(all, Convert.FromHexString(TraceId)), "the trace id is exported");
        Assert.True(Contains(all, Encoding.UTF8.GetBytes("GET /items")), "the request span is exported");
        Assert.True(Contains(all, Encoding.UTF8.GetBytes("postgresql")), "the database span is exported");
    }

    [Fact]
    public async Task Without_tracing_a_JSON_log_line_still_carries_the_clients_trace_id()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        var (server, log) = await AdminKit.StartLoggedAsync(AdminKit.Config(db) with { LogLevel = LogLevel.Info, LogFormat = "json" });
        await using (server)
        {
            Assert.Equal(200, (await AdminKit.GetAsync(server.BaseAddress, "/items?id=eq.1", ("traceparent", (string)TraceParent))).Status);
            Assert.Equal(200, (await AdminKit.GetAsync(server.BaseAddress, "/items?id=eq.1", ("traceparent", (string)"garbage"))).Status);
            var lines = await LinesAsync(log, 2);
            using var traced = JsonDocument.Parse(lines[0]);
            Assert.Equal(TraceId, traced.RootElement.GetProperty("trace_id").GetString());
            using var untraced = JsonDocument.Parse(lines[1]);
            Assert.False(untraced.RootElement.TryGetProperty("trace_id", out _));
        }
    }

    /// <summary>
    /// The access log once it has <paramref name="count"/> lines: a line is written as the request completes, a moment
    /// after the client has its response.
    /// </summary>
    private static async Task<string[]> LinesAsync(MemoryLog log, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var lines = await log.OutAsync();
            if (lines.Length >= count || DateTime.UtcNow > deadline) return lines;
            await Task.Delay(20);
        }
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    /// <summary>An OTLP/HTTP collector stand-in: accepts every export and keeps its bytes.</summary>
    private sealed class Collector : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private Collector(WebApplication app, string address)
        {
            _app = app;
            Address = address;
        }

        public string Address { get; }

        public ConcurrentQueue<(string? ContentType, byte[] Body)> Received { get; } = new();

        public static async Task<Collector> StartAsync()
        {
            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
            builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            Collector? self = null;
            app.Run(async ctx =>
            {
                using var body = new MemoryStream();
                await ctx.Request.Body.CopyToAsync(body);
                self!.Received.Enqueue((ctx.Request.ContentType, body.ToArray()));
                ctx.Response.ContentType = "application/x-protobuf";
            });
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            self = new Collector(app, address.TrimEnd('/') + "/");
            return self;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
