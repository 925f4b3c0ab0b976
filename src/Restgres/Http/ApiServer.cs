using System.Collections.Immutable;
using System.Net;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Restgres.Config;

namespace Restgres.Http;

/// <summary>The HTTP server: Kestrel with one terminal request delegate (no MVC), as the guide asks.</summary>
internal sealed class ApiServer : IAsyncDisposable
{
    /// <summary>PostgREST's <c>Server: postgrest/VERSION</c> (see <see cref="Cli.CommandLine.ProductVersion"/>).</summary>
    private static readonly Microsoft.Extensions.Primitives.StringValues ServerHeader = "postgrest/" + Cli.CommandLine.ProductVersion;

    private readonly WebApplication _app;
    private readonly AppState _state;
    private readonly CancellationTokenSource _stop = new();
    private Task? _listener;
    private Schedules.Scheduler? _scheduler;
    private Admin.AdminServer? _admin;

    private ApiServer(WebApplication app, AppState state, Uri baseAddress)
    {
        _app = app;
        _state = state;
        BaseAddress = baseAddress;
    }

    /// <summary>The address the server listens on (with the real port when port 0 was asked for).</summary>
    public Uri BaseAddress { get; }

    public AppState State => _state;

    /// <summary>The schedules' runner (server-schedules-file).</summary>
    internal Schedules.Scheduler? Scheduler => _scheduler;

    /// <summary>The admin server's address, when admin-server-port is set.</summary>
    public Uri? AdminAddress => _admin?.BaseAddress;

    /// <summary>Binds, loads the schema cache and starts serving.</summary>
    public static async Task<ApiServer> StartAsync(AppConfig config, CancellationToken ct, Action<string>? log = null,
        IReadOnlyList<string>? warnings = null)
    {
        log ??= line => { if (config.LogLevel >= Config.LogLevel.Info) Console.Error.WriteLine(line); };
        var state = new AppState(config, log);
        log($"Starting PostgREST {Cli.CommandLine.ProductVersion}...");
        foreach (var warning in warnings ?? []) log(warning);
        // The schema cache loads while the servers are built and bind (as PostgREST, the API answers 503 PGRST002
        // until it is loaded): the waits overlap, so the server is ready sooner (PostgREST's io tests give it a
        // second). StartAsync still returns only once the cache is loaded, or has failed to load (the database is
        // down at startup: serve 503 until it is up, retrying in the background).
        var loading = state.Schemas.ReloadAsync(ct);
        try
        {
            return await StartServingAsync(config, state, loading, log, ct);
        }
        catch
        {
            try { await loading; } catch (OperationCanceledException) { }
            throw;
        }
    }

    private static async Task<ApiServer> StartServingAsync(AppConfig config, AppState state, Task<bool> loading, Action<string> log, CancellationToken ct)
    {

        // An empty builder: no appsettings files (and no recursive file watchers on the working directory, which
        // cost CPU under load), only Kestrel; restgres reads its own config.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        var listener = new Listener(config.ServerHost, config.ServerPort, config.ServerUnixSocket, config.ServerUnixSocketMode, config.ServerReusePort);
        listener.ConfigureTransport(builder.WebHost);
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            // PostgREST sends header values as raw UTF-8 (e.g. Content-Location of a unicode table name).
            k.ResponseHeaderEncodingSelector = _ => System.Text.Encoding.UTF8;
            k.RequestHeaderEncodingSelector = _ => System.Text.Encoding.UTF8;
            // RequestHandler checks server-max-body-size itself (and reads bodies only where PostgREST does); this is
            // Kestrel's backstop for what it discards unread, e.g. a GET's body.
            k.Limits.MaxRequestBodySize = Math.Max(config.ServerMaxBodySize, 1024 * 1024);
            // Room for a 64 KB URL to reach the API (and get a PostgREST answer); beyond that Kestrel answers 414/431.
            k.Limits.MaxRequestLineSize = 128 * 1024;
            k.Limits.MaxRequestHeadersTotalSize = 128 * 1024;
            listener.Bind(k);
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        var app = builder.Build();
        var handler = new RequestHandler(state);
        var retryHint = new RetryHint(state);
        var prefixes = config.ServerPathPrefixes;
        var staticFiles = StaticFiles.Create(config, state);
        // Times, counts and logs every request (Observability/Observer.cs).
        app.Use(state.Observer.Middleware);
        app.Run(ctx =>
        {
            ctx.Response.Headers.Server = ServerHeader;
            ctx.Response.OnStarting(retryHint.Callback, ctx);
            var prefix = PrefixOf(ctx.Request.Path.Value ?? "", prefixes);
            if (staticFiles is not null && prefix is null && !IsRouted(ctx, state.Config) && staticFiles.TryServe(ctx) is { } served)
                return served;
            if (Cors.IsPreflight(ctx.Request) && Cors.TryPreflight(ctx, state.Config))
            {
                if (ctx.Features.Get<Observability.RequestObservation>() is { } observation) observation.IsPreflight = true;
                return Task.CompletedTask;
            }
            return handler.HandleAsync(ctx, prefix ?? "");
        });

        // As PostgREST, the admin server is up before the schema cache loads (live, not ready).
        var admin = await Admin.AdminServer.StartAsync(state, app.Lifetime, ct);
        await app.StartAsync(ct);
        var uri = listener.Started(app.Services.GetRequiredService<IServer>());
        state.MainEndPoint = listener.ReachableAt(uri);
        log($"API server listening on {Listener.Display(uri)}");
        // The listener starts now too (PostgREST's LISTEN is visible in pg_stat_activity once the server is ready).
        var server = new ApiServer(app, state, uri) { _admin = admin };
        server._listener = server.ListenAsync(loading, server._stop.Token);
        // Always started: a config reload may add a schedules file; without one it only waits.
        server._scheduler = Schedules.Scheduler.Start(state);
        if (!await loading) state.Recovery.ReportConnectionLoss();
        return server;
    }

    /// <summary>A route of server-routes-file answers the request (then static files do not).</summary>
    private static bool IsRouted(HttpContext ctx, AppConfig config) =>
        config.ServerRoutes is { } routes
        && routes.Match(ctx.Request.Method, (ctx.Request.Path.Value ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries)) is not null;

    /// <summary>The server-path-prefixes entry <paramref name="path"/> is under, or null (then static files may serve it).</summary>
    private static string? PrefixOf(string path, ImmutableArray<string> prefixes)
    {
        foreach (var p in prefixes)
            if (path == p || path.StartsWith(p + "/", StringComparison.Ordinal)) return p;
        return null;
    }

    /// <summary>
    /// LISTEN on db-channel: 'reload schema' (or an empty payload) reloads the schema cache, 'reload config' the config,
    /// 'restgres-cache-invalidate schema.name' drops cached responses (server-response-cache); a lost connection is
    /// retried with backoff, and the cache is reloaded when the database is back (PostgREST docs: schema_cache.rst).
    /// </summary>
    /// <param name="initialLoad">The startup load of the schema cache: a first connection reloads the cache only if
    /// that load failed (not a second time while it is running).</param>
    /// <param name="ct">Stops listening.</param>
    private async Task ListenAsync(Task<bool> initialLoad, CancellationToken ct)
    {
        var config = _state.Config;
        if (!config.DbChannelEnabled) return;
        var delay = TimeSpan.FromSeconds(1);
        var first = true;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var conn = new NpgsqlConnection(_state.ListenerConnectionString);
                await conn.OpenAsync(ct);
                conn.Notification += (_, e) =>
                {
                    if (e.Payload is "" or "reload schema") _state.Schemas.RequestReload(ct);
                    else if (e.Payload == "reload config") _state.Reloader.Request($"Received a config reload message on the \"{config.DbChannel}\" channel");
                    // server-response-cache: a write through any instance, or the database itself (e.g. after
                    // REFRESH MATERIALIZED VIEW), names the relations whose cached responses are now stale.
                    else if (ResponseCache.ParseNotify(e.Payload) is { } relations) _state.InvalidateResponses(relations);
                };
                await using (var cmd = new NpgsqlCommand("LISTEN " + Sql.SqlText.QuoteIdent(config.DbChannel), conn))
                    await cmd.ExecuteNonQueryAsync(ct);
                _state.ListenerOn = true;
                if (first) await initialLoad;
                if (!first || _state.SchemaCache is null) _state.Schemas.RequestReload(ct);
                first = false;
                delay = TimeSpan.FromSeconds(1);
                while (!ct.IsCancellationRequested)
                    await conn.WaitAsync(ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or IOException or TimeoutException)
            {
                first = false;
                _state.ListenerOn = false;
                _state.Recovery.ReportConnectionLoss();
                _state.Log($"Listener connection lost: {e.Message}; retrying in {delay.TotalSeconds:0}s");
                try { await Task.Delay(delay, ct); } catch (OperationCanceledException) { return; }
                delay = TimeSpan.FromSeconds(Math.Min(32, delay.TotalSeconds * 2));
            }
        }
    }

    /// <summary>Serves until SIGINT/SIGTERM, then shuts down gracefully. Returns the process exit code.</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="ct">Stops the server.</param>
    /// <param name="warnings">The config loader's warnings, logged after the "Starting" line (which scripts expect
    /// first, as PostgREST writes it).</param>
    public static async Task<int> RunAsync(AppConfig config, CancellationToken ct, IReadOnlyList<string>? warnings = null)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // PostgREST's TerminationUnixSignalObs line, then a graceful shutdown.
        void Terminate(PosixSignalContext c, string name)
        {
            c.Cancel = true;
            Observability.LogSink.Console.Diagnostic("Received termination unix signal " + name);
            cts.Cancel();
        }
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Terminate(c, "SIGTERM"));
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Terminate(c, "SIGINT"));
        ApiServer server;
        try
        {
            server = await StartAsync(config, cts.Token, line => Observability.LogSink.Console.Diagnostic(line), warnings);
        }
        catch (Admin.AdminServerException e)
        {
            await Console.Error.WriteLineAsync("restgres: " + e.Message);
            return 1;
        }
        catch (IOException e)
        {
            var where = config.ServerUnixSocket is { } socket ? "unix socket " + socket : $"{config.ServerHost}:{config.ServerPort}";
            await Console.Error.WriteLineAsync($"restgres: cannot listen on {where}: {e.Message}");
            return 1;
        }
        var exitCode = 0;
        await using (server)
        {
            // SIGUSR1 reloads the schema cache (PostgREST's signal), debounced like NOTIFY.
            // The pool is flushed first, as PostgREST's: new connections pick up changed role settings (a statement_timeout
            // of the authenticator applies to the schema cache queries).
            using var usr1 = PosixSignalRegistration.Create((PosixSignal)10, c =>
            {
                c.Cancel = true;
                server._state.DataSource.Clear();
                server._state.Schemas.RequestReload(cts.Token);
            });
            // SIGUSR2 reloads the config (PostgREST's signal; docs: references/configuration.rst).
            using var usr2 = PosixSignalRegistration.Create((PosixSignal)12, c => { c.Cancel = true; server._state.Reloader.Request(); });
            // Without db-pool-automatic-recovery a lost database stops the server (exit 1), as in PostgREST.
            if (await Task.WhenAny(Task.Delay(Timeout.Infinite, cts.Token), server._state.Recovery.Fatal) == server._state.Recovery.Fatal)
                exitCode = 1;
        }
        // Lines logged during the shutdown must reach the terminal before the process exits.
        await Observability.LogSink.Console.FlushAsync(TimeSpan.FromSeconds(2));
        return exitCode;
    }

    /// <summary>
    /// PostgREST's addRetryHint: every 503 carries <c>Retry-After</c> with the seconds until the next reconnection
    /// attempt. (A lost connection starts the recovery where the error is caught: <see cref="Errors.ApiError.ConnectionLost"/>.)
    /// </summary>
    private sealed class RetryHint(AppState state)
    {
        public Func<object, Task> Callback { get; } = o =>
        {
            var response = ((HttpContext)o).Response;
            if (response.StatusCode == StatusCodes.Status503ServiceUnavailable)
                response.Headers.RetryAfter = state.Recovery.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Task.CompletedTask;
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_scheduler is not null) await _scheduler.DisposeAsync();
        await _app.StopAsync();
        // After the main server has drained, so that /live reported it going away meanwhile.
        if (_admin is not null) await _admin.DisposeAsync();
        if (_listener is not null)
        {
            try { await _listener; } catch (OperationCanceledException) { }
        }
        await _app.DisposeAsync();
        await _state.DisposeAsync();
        _stop.Dispose();
    }
}
