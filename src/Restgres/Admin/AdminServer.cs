using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Restgres.Config;
using Restgres.Http;
using Restgres.Observability;

namespace Restgres.Admin;

/// <summary>The admin server could not bind its address.</summary>
internal sealed class AdminServerException : IOException
{
    public AdminServerException() { }

    public AdminServerException(string message) : base(message) { }

    public AdminServerException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// PostgREST's admin server (Admin.hs; docs: references/admin_server.rst), enabled by <c>admin-server-port</c>: a
/// second Kestrel listener in the same process serving <c>/live</c>, <c>/ready</c>, <c>/metrics</c> and
/// <c>/schema_cache</c>, plus <c>/config</c> (the running config with secrets redacted) and <c>/jobs</c> (durable jobs:
/// Jobs/JobAdmin.cs). It is started before the
/// main listener, as PostgREST does, so that orchestrators can see "alive but not ready" during startup, and stopped
/// after it, so that <c>/live</c> reports the main server going away during a graceful shutdown.
/// </summary>
internal sealed class AdminServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private AdminServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    /// <summary>The admin address (with the real port when port 0 was asked for).</summary>
    public Uri BaseAddress { get; }

    /// <summary>Starts the admin server when <c>admin-server-port</c> is set; returns null otherwise.</summary>
    /// <param name="main">The main server's lifetime: started means live, stopping means no longer live.</param>
    /// <exception cref="AdminServerException">The address cannot be bound.</exception>
    public static Task<AdminServer?> StartAsync(AppState state, IHostApplicationLifetime main, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(main);
        return StartAsync(state.Config, new AdminEndpoints(state, main).HandleAsync, state.Log, ct);
    }

    /// <summary>Starts an admin listener on <c>admin-server-host</c>/<c>-port</c>/<c>-unix-socket</c> answering with
    /// <paramref name="handler"/> (the server's endpoints, or <c>restgres worker</c>'s); null when neither a port nor a
    /// socket is set.</summary>
    /// <exception cref="AdminServerException">The address cannot be bound.</exception>
    public static async Task<AdminServer?> StartAsync(AppConfig config, RequestDelegate handler, Action<string> log, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(log);
        // PostgREST runs the admin server when it has a port or a unix socket.
        if (config.AdminServerPort is null && config.AdminServerUnixSocket is null) return null;
        var listener = new Listener(config.AdminServerHost, config.AdminServerPort ?? 0, config.AdminServerUnixSocket, config.AdminServerUnixSocketMode);

        // An empty builder: no appsettings files (and no recursive file watchers on the working directory, which
        // cost CPU under load), only Kestrel; restgres reads its own config.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            listener.Bind(k);
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        var app = builder.Build();
        app.Run(handler);
        try
        {
            await app.StartAsync(ct);
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new AdminServerException($"cannot listen on {listener.Describe("admin-server-host", "admin-server-port", "admin-server-unix-socket")}: {e.Message}", e);
        }
        var uri = listener.Started(app.Services.GetRequiredService<IServer>());
        log($"Admin server listening on {Listener.Display(uri)}");
        return new AdminServer(app, listener.Connectable(uri));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class AdminEndpoints(AppState state, IHostApplicationLifetime main)
    {
        private static readonly TimeSpan ReadyWaitsForApi = TimeSpan.FromMilliseconds(250);

        private bool MainIsLive =>
            main.ApplicationStarted.IsCancellationRequested && !main.ApplicationStopping.IsCancellationRequested;

        public Task HandleAsync(HttpContext ctx)
        {
            var response = ctx.Response;
            // Admin.hs matches on the path only, whatever the method.
            switch (ctx.Request.Path.Value)
            {
                case "/live":
                    return LiveAsync(response, ctx.RequestAborted);
                case "/ready":
                    return ReadyAsync(response, ctx.RequestAborted);
                case "/metrics":
                    // Content-Type is required for Prometheus compliance (Admin.hs).
                    response.ContentType = PrometheusText.ContentType;
                    return response.WriteAsync(state.Observer.Metrics.Render(state), ctx.RequestAborted);
                case "/schema_cache":
                    if (state.SchemaCache is not { } cache) return Task.CompletedTask;
                    var json = SchemaCacheJson.Serialize(cache);
                    response.ContentType = "application/json; charset=utf-8";
                    response.ContentLength = json.Length;
                    return response.Body.WriteAsync(json, ctx.RequestAborted).AsTask();
                case "/response_cache":
                    response.ContentType = "application/json; charset=utf-8";
                    return response.Body.WriteAsync(
                        state.Observer.Metrics.ResponseCache.ToJson(state.CurrentResponseCache, state.Config.ServerResponseCacheSize),
                        ctx.RequestAborted).AsTask();
                case "/config":
                    response.ContentType = "text/plain; charset=utf-8";
                    return response.WriteAsync(ConfigDump.ToText(state.Config), ctx.RequestAborted);
                case var path when path == "/jobs" || path?.StartsWith("/jobs/", StringComparison.Ordinal) == true:
                    return Jobs.JobAdmin.HandleAsync(ctx, state.DataSource);
                default:
                    response.StatusCode = 404;
                    return Task.CompletedTask;
            }
        }

        /// <summary>
        /// Admin.hs checkMainAppLive: the main server has started, is not stopping, and accepts a connection on its
        /// address (a deleted unix socket file, or a port taken away, make it not live).
        /// </summary>
        private async Task<bool> MainIsLiveAsync(CancellationToken ct) =>
            MainIsLive && state.MainEndPoint is { } endPoint && await Listener.AcceptsAsync(endPoint, ct);

        private async Task LiveAsync(HttpResponse response, CancellationToken ct) =>
            response.StatusCode = await MainIsLiveAsync(ct) ? 200 : 500;

        /// <summary>
        /// Admin.hs: 503 while the schema cache is pending (not loaded, or being recovered after a lost connection),
        /// 500 when the main server is not live, else 200 (docs: "200 OK if both [pool and schema cache] are good or
        /// 503 if not").
        /// </summary>
        private async Task ReadyAsync(HttpResponse response, CancellationToken ct)
        {
            // During startup the API socket is bound right after the first schema cache load, failed or not. A /ready
            // asked meanwhile waits a moment for that, so that a client told 503 finds the API socket there (PostgREST
            // binds within a few ms of the load; here the load's failure came ~50 ms after the admin server was up,
            // and PostgREST's io tests request the API the moment /ready says 503). A slow load still answers 503 soon.
            if (!state.ApiListening.IsCompleted)
                await Task.WhenAny(state.ApiListening, Task.Delay(ReadyWaitsForApi, ct));
            if (state.SchemaCache is null || !state.Recovery.IsConnected) response.StatusCode = 503;
            else response.StatusCode = await MainIsLiveAsync(ct) ? 200 : 500;
        }
    }
}
