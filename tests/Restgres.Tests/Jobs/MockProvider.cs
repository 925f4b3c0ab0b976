using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Restgres.Tests.Jobs;

/// <summary>
/// A local HTTP endpoint standing in for a webhook receiver or an AI provider, one behaviour per path:
/// <c>/ok</c> 200 with a JSON body; <c>/flaky/N</c> 503 (with <c>Retry-After: 0</c>) to the first N requests of a job
/// (by <c>Idempotency-Key</c>), then 200; <c>/bad</c> 400; <c>/always503</c>; <c>/html</c> a 502 HTML error page;
/// <c>/hang</c> never answers; <c>/close</c> drops the connection; <c>/gate</c> answers the first request once the
/// test opens the gate; <c>/hold</c> holds the first request until the
/// client goes away (the worker is killed), then answers 200. Every request is recorded.
/// </summary>
public sealed class MockProvider : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, int> _seen = new(StringComparer.Ordinal);

    private MockProvider(WebApplication app) => _app = app;

    public string Address { get; private set; } = "";

    public ConcurrentQueue<Received> Requests { get; } = new();

    /// <summary>Set when <c>/gate</c>'s first request arrives.</summary>
    public TaskCompletionSource GateArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Opened by the test: <c>/gate</c>'s first request is answered 200 then.</summary>
    public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set when <c>/hold</c>'s first request arrives.</summary>
    public TaskCompletionSource HoldArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public sealed record Received(string Path, string? IdempotencyKey, string? Signature, string? Authorization, string? Attempt, string Body);

    public IEnumerable<Received> To(string path) => Requests.Where(r => r.Path == path);

    public static async Task<MockProvider> StartAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var self = new MockProvider(app);
        app.Run(self.HandleAsync);
        await app.StartAsync();
        self.Address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        return self;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.Body);
        var body = await reader.ReadToEndAsync();
        var path = ctx.Request.Path.Value ?? "";
        var headers = ctx.Request.Headers;
        var key = headers["Idempotency-Key"].FirstOrDefault();
        Requests.Enqueue(new Received(path, key, headers["X-Restgres-Signature"].FirstOrDefault(),
            headers.Authorization.FirstOrDefault(), headers["X-Restgres-Attempt"].FirstOrDefault(), body));
        var seen = _seen.AddOrUpdate(path + "#" + key, 1, (_, n) => n + 1);
        var response = ctx.Response;
        switch (path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            case ["ok"]:
                response.ContentType = "application/json";
                await response.WriteAsync("""{"choices":[{"message":{"content":"done"}}]}""");
                return;
            case ["flaky", var n] when seen <= int.Parse(n, System.Globalization.CultureInfo.InvariantCulture):
                response.StatusCode = 503;
                response.Headers.RetryAfter = "0";
                await response.WriteAsync("busy");
                return;
            case ["flaky", _]:
                response.ContentType = "application/json";
                await response.WriteAsync("""{"ok":true}""");
                return;
            case ["bad"]:
                response.StatusCode = 400;
                response.ContentType = "application/json";
                await response.WriteAsync("""{"error":"invalid prompt"}""");
                return;
            case ["always503"]:
                response.StatusCode = 503;
                return;
            case ["html"]:
                response.StatusCode = 502;
                response.ContentType = "text/html";
                await response.WriteAsync("<html><body><h1>502 Bad Gateway</h1></body></html>");
                return;
            case ["hang"]:
                await WaitForAbortAsync(ctx);
                return;
            case ["close"]:
                ctx.Abort();
                return;
            case ["gate"]:
                if (seen == 1)
                {
                    GateArrived.TrySetResult();
                    await Gate.Task;
                }
                response.ContentType = "application/json";
                await response.WriteAsync("""{"ok":true}""");
                return;
            case ["hold"] when seen == 1:
                HoldArrived.TrySetResult();
                await WaitForAbortAsync(ctx);
                return;
            default:
                response.ContentType = "application/json";
                await response.WriteAsync("{}");
                return;
        }
    }

    private static async Task WaitForAbortAsync(HttpContext ctx)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            // The client gave up (its timeout) or died.
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }
}
