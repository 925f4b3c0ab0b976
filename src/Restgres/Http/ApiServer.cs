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
    private readonly CancellationTokenSource _stop;
    private readonly Task _listener;
    private readonly Admin.AdminServer? _admin;
    private readonly Jobs.JobWorkers? _jobs;
    private readonly Schedules.Scheduler _scheduler;

    private ApiServer(WebApplication app, AppState state, Uri baseAddress, Admin.AdminServer? admin, Task listener, CancellationTokenSource stop,
        Jobs.JobWorkers? jobs, Schedules.Scheduler scheduler)
    {
        _jobs = jobs;
        _scheduler = scheduler;
        _app = app;
        _state = state;
        BaseAddress = baseAddress;
        _admin = admin;
        _listener = listener;
        _stop = stop;
    }

    /// <summary>The address the server listens on (with the real port when port 0 was asked for).</summary>
    public Uri BaseAddress { get; }

    public AppState State => _state;

    /// <summary>The schedules' runner (server-schedules-file).</summary>
    internal Schedules.Scheduler? Scheduler => _scheduler;

    /// <summary>The admin server's address, when admin-server-port is set.</summary>
    public Uri? AdminAddress => _admin?.BaseAddress;

    /// <summary>
    /// Starts as PostgREST does (App.hs run): the admin server, the LISTEN connection and the first schema cache load
    /// (here side by side), and only once that load has been tried, the API socket. A client never reaches an API that has not tried to
    /// load its schema (connection refused until then; 503 PGRST002 if the load failed, retried in the background).
    /// With server-reuseport the socket waits for a successful load instead, so a new process sharing the port of a
    /// running one takes no request it would answer 503 (PostgREST's zero-downtime handover).
    /// </summary>
    public static async Task<ApiServer> StartAsync(AppConfig config, CancellationToken ct, Action<string>? log = null,
        IReadOnlyList<string>? warnings = null)
    {
        // log-level is reloadable: the level of the config in force decides.
        AppState? current = null;
        log ??= line => { if ((current?.Config ?? config).LogLevel >= Config.LogLevel.Info) Console.Error.WriteLine(line); };
        var state = current = new AppState(config, log);
        log($"Starting PostgREST {Cli.CommandLine.ProductVersion}...");
        foreach (var warning in warnings ?? []) log(warning);
        // The load starts first and runs while Kestrel and the admin server are built and started, so the server is
        // ready sooner (PostgREST's io tests give it a second); the API socket still waits for the load's outcome.
        var loading = state.Schemas.ReloadAsync(ct);
        var stop = new CancellationTokenSource();
        // On the thread pool (as the scheduler): never tied to a caller's synchronization context (tests have one).
        var listening = Task.Run(() => ListenAsync(state, loading, stop.Token));
        Admin.AdminServer? admin = null;
        WebApplication? app = null;
        try
        {
            (app, var listener) = Build(config, state);
            // As PostgREST, the admin server is up while the schema cache loads (live, not ready).
            admin = await Admin.AdminServer.StartAsync(state, app.Lifetime, ct);
            if (!await loading)
            {
                // The recovery loop retries the load with backoff; with server-reuseport the socket waits for it to
                // succeed (or for the server to stop), rather than a second retry loop here.
                var next = state.Schemas.NextLoad;
                state.Recovery.ReportConnectionLoss(loadJustFailed: true);
                if (config.ServerReusePort) await Task.WhenAny(next, state.Recovery.Fatal).WaitAsync(ct);
            }
            await app.StartAsync(ct);
            var uri = listener.Started(app.Services.GetRequiredService<IServer>());
            // Logged before the admin server can call the API live or ready (MainEndPoint): a client that waited for
            // /ready reads this line before the lines of its own requests (PostgREST's io tests do).
            log($"API server listening on {Listener.Display(uri)}");
            state.MainEndPoint = listener.ReachableAt(uri);
            // jobs-enabled: durable-job workers beside the API, on connections of their own (docs/jobs.md).
            var jobs = config.JobsEnabled ? Jobs.JobWorkers.Start(config, log, state.Observer.Metrics.Jobs) : null;
            // Always started: a config reload may add a schedules file; without one it only waits.
            return new ApiServer(app, state, listener.Connectable(uri), admin, listening, stop, jobs, Schedules.Scheduler.Start(state));
        }
        catch
        {
            await stop.CancelAsync();
            try { await loading; } catch (OperationCanceledException) { }
            try { await listening; } catch (OperationCanceledException) { }
            if (admin is not null) await admin.DisposeAsync();
            if (app is not null) await app.DisposeAsync();
            await state.DisposeAsync();
            stop.Dispose();
            throw;
        }
    }

    /// <summary>The Kestrel application with its one terminal delegate, configured but not bound yet.</summary>
    private static (WebApplication App, Listener Listener) Build(AppConfig config, AppState state)
    {
        // An empty builder: no appsettings files (and no recursive file watchers on the working directory, which
        // cost CPU under load), only Kestrel; restgres reads its own config.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        var listener = new Listener(config.ServerHost, config.ServerPort, config.ServerUnixSocket, config.ServerUnixSocketMode, config.ServerReusePort);
        listener.ConfigureTransport(builder.WebHost, state.ListenSockets.Add);
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
            if (state.Draining) ctx.Response.Headers.Connection = "close";
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
        return (app, listener);
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
    /// The log lines are PostgREST's (DBListenStart, DBListenFail, DBListenRetry, DBListenerGot...Msg).
    /// </summary>
    /// <param name="state">The server's state.</param>
    /// <param name="initialLoad">The startup load of the schema cache: a first connection reloads the cache only if
    /// that load failed (not a second time while it is running).</param>
    /// <param name="ct">Stops listening.</param>
    private static async Task ListenAsync(AppState state, Task<bool> initialLoad, CancellationToken ct)
    {
        var config = state.Config;
        var channel = "\"" + config.DbChannel + "\"";
        // The host and port as configured (PostgREST shows libpq's PQhost/PQport): a socket directory stays a path.
        var target = new NpgsqlConnectionStringBuilder(state.ListenerConnectionString);
        var delay = 1;
        var first = true;
        while (!ct.IsCancellationRequested)
        {
            // db-channel-enabled is reloadable, as in PostgREST: off, the listener waits for a config that turns it on;
            // on, a config that turns it off closes the connection.
            var configChanged = state.NextConfigChange;
            if (!state.Config.DbChannelEnabled)
            {
                state.ListenerOn = false;
                try { await configChanged.WaitAsync(ct); } catch (OperationCanceledException) { return; }
                continue;
            }
            using var turnedOff = CancellationTokenSource.CreateLinkedTokenSource(ct);
            NpgsqlConnection? conn = null;
            try
            {
                conn = new NpgsqlConnection(state.ListenerConnectionString);
                await conn.OpenAsync(ct);
                conn.Notification += (_, e) =>
                {
                    if (e.Payload is "" or "reload schema")
                    {
                        state.Log($"Received a schema cache reload message on the {channel} channel");
                        state.Schemas.RequestReload(ct);
                    }
                    else if (e.Payload == "reload config") state.Reloader.Request($"Received a config reload message on the {channel} channel");
                    // server-response-cache: a write through any instance, or the database itself (e.g. after
                    // REFRESH MATERIALIZED VIEW), names the relations whose cached responses are now stale.
                    else if (ResponseCache.ParseNotify(e.Payload) is { } relations) state.InvalidateResponses(relations);
                };
                string version;
                await using (var cmd = new NpgsqlCommand("select pg_catalog.version()", conn))
                    version = (string)(await cmd.ExecuteScalarAsync(ct))!;
                // Last, so that pg_stat_activity shows this connection's LISTEN (PostgREST's io tests look for it).
                await using (var cmd = new NpgsqlCommand("LISTEN " + Sql.SqlText.QuoteIdent(config.DbChannel), conn))
                    await cmd.ExecuteNonQueryAsync(ct);
                state.ListenerOn = true;
                state.Log($"Listener connected to {version} on \"{target.Host}:{target.Port}\" and listening for database notifications on the {channel} channel");
                // A reconnection reloads (notifications were missed meanwhile). The first connection reloads only when
                // the startup load had already failed before it came (the database is back); a load failing while
                // this connection waited for it is retried by the recovery loop after its delay, as PostgREST does,
                // not at once here.
                var reload = !first || (initialLoad.IsCompleted && state.SchemaCache is null);
                if (first) await initialLoad;
                if (reload) state.Schemas.RequestReload(ct);
                first = false;
                delay = 1;
                // One wait at a time on the connection (a notification ends it); a config change meanwhile is checked
                // for db-channel-enabled turned off.
                var wait = conn.WaitAsync(turnedOff.Token);
                while (true)
                {
                    var changed = state.NextConfigChange;
                    if (await Task.WhenAny(wait, changed) == wait)
                    {
                        await wait;
                        wait = conn.WaitAsync(turnedOff.Token);
                        continue;
                    }
                    if (state.Config.DbChannelEnabled) continue;
                    await turnedOff.CancelAsync();
                    try { await wait; } catch (OperationCanceledException) { }
                    break;
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                first = false;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or IOException or TimeoutException)
            {
                first = false;
                state.ListenerOn = false;
                state.Recovery.ReportConnectionLoss();
                state.Log($"Failed listening for database notifications on the {channel} channel. {Observability.LogFormat.SingleLine(Execution.MainTx.Describe(e, target.Host))}");
                state.Log($"Retrying listening for database notifications in {delay} seconds...");
                try { await Task.Delay(TimeSpan.FromSeconds(delay), ct); } catch (OperationCanceledException) { return; }
                delay = Math.Min(32, delay * 2);
            }
            finally
            {
                if (conn is not null) await conn.DisposeAsync();
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
            // With server-reuseport, while another instance shares the port (a rolling restart), clients can move there.
            else if (config.ServerReusePort
                     && new Listener(config.ServerHost, server.BaseAddress.Port, config.ServerUnixSocket, config.ServerUnixSocketMode, true).OthersListening())
                await server.DrainAsync();
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

    /// <summary>
    /// How long an instance sharing its port (server-reuseport) keeps serving after SIGTERM before it stops: long enough
    /// for every busy keep-alive client to send one more request, short enough for PostgREST's handover test
    /// (test_zero_downtime.py), which expects the old process gone within 2 s.
    /// </summary>
    internal static readonly TimeSpan ReusePortDrain = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// A rolling restart with server-reuseport (docs/scale-out.md): closing the listener at once would also close the
    /// idle keep-alive connections, and a client that sent its next request on one just then gets no answer (HTTP/1.1's
    /// close race; bench/rolling-restart.sh counted 6 in 53,000 requests). Instead the instance first closes its
    /// listening socket — it leaves the port's reuseport group, so new connections go to the instances still listening
    /// (kept open, connections arriving meanwhile would be reset with its accept queue when it closed) — and for a moment
    /// answers every request on its open connections with <c>Connection: close</c>: busy clients move to new
    /// connections before the graceful stop closes what is left.
    /// </summary>
    internal async Task DrainAsync()
    {
        _state.Draining = true;
        // Kestrel's accept loop ends quietly on a closed socket (as when it unbinds itself).
        foreach (var socket in _state.ListenSockets.ToArray()) socket.Dispose();
        await Task.Delay(ReusePortDrain);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_scheduler is not null) await _scheduler.DisposeAsync();
        await _app.StopAsync();
        if (_jobs is not null) await _jobs.DisposeAsync();
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
