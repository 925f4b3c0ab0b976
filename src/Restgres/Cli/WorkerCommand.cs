using System.Runtime.InteropServices;
using System.Text;
using Microsoft.AspNetCore.Http;
using Restgres.Config;
using Restgres.Dev;
using Restgres.Jobs;
using Restgres.Observability;

namespace Restgres.Cli;

/// <summary>
/// <c>restgres worker [CONFIG_FILE]</c>: durable-job workers only (docs/jobs.md), so that jobs scale apart from the
/// API. Same config as the server (db-uri, jobs-queues, jobs-lease, jobs-poll-interval; jobs-enabled is implied);
/// runs until SIGINT or SIGTERM, then stops claiming and ends its attempts (an http attempt cut short is recorded and
/// retried). With <c>admin-server-port</c> it serves <c>/live</c>, <c>/metrics</c> and <c>/jobs</c>.
/// </summary>
internal static class WorkerCommand
{
    public const string Usage = """
        Usage: restgres worker [CONFIG_FILE]

        Runs the durable-job workers (docs/jobs.md) for the queues in jobs-queues (all by default) against db-uri,
        without serving the API. Configuration as for 'restgres serve' (config file and PGRST_* variables).
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        string? path = null;
        var reader = new ArgReader(args);
        while (reader.Next())
        {
            if (reader.IsHelp)
            {
                Console.WriteLine(Usage);
                return 0;
            }
            if (path is not null || reader.IsOption)
            {
                await Console.Error.WriteLineAsync($"restgres worker: {reader.Unexpected().Message}. See 'restgres worker --help'.");
                return 1;
            }
            path = reader.Arg;
        }
        AppConfig config;
        try
        {
            config = CommandLine.LoadConfig(path);
        }
        catch (ConfigException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 1;
        }
        using var stop = new CancellationTokenSource();
        void Terminate(PosixSignalContext c, string name)
        {
            c.Cancel = true;
            LogSink.Console.Diagnostic("Received termination unix signal " + name);
            stop.Cancel();
        }
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Terminate(c, "SIGTERM"));
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Terminate(c, "SIGINT"));
        var metrics = new JobMetrics();
        void Log(string line) => LogSink.Console.Diagnostic(line);
        await using (var workers = JobWorkers.Start(config, Log, metrics))
        {
            Admin.AdminServer? admin;
            try
            {
                admin = await Admin.AdminServer.StartAsync(config, ctx => AdminAsync(ctx, workers, metrics), Log, stop.Token);
            }
            catch (Admin.AdminServerException e)
            {
                await Console.Error.WriteLineAsync("restgres worker: " + e.Message);
                return 1;
            }
            await using (admin)
            {
                try { await Task.Delay(Timeout.Infinite, stop.Token); } catch (OperationCanceledException) { }
            }
        }
        await LogSink.Console.FlushAsync(TimeSpan.FromSeconds(2));
        return 0;
    }

    /// <summary>
    /// The worker's admin server (with <c>admin-server-port</c>): <c>/live</c> (200 while running), <c>/metrics</c>
    /// (the job metrics and the runtime's) and the <c>/jobs</c> endpoints of Jobs/JobAdmin.cs.
    /// </summary>
    private static Task AdminAsync(HttpContext ctx, JobWorkers workers, JobMetrics metrics)
    {
        switch (ctx.Request.Path.Value)
        {
            case "/live" or "/ready":
                return Task.CompletedTask;
            case "/metrics":
                var sb = new StringBuilder();
                metrics.WriteTo(sb);
                RuntimeMetrics.WriteTo(sb);
                ctx.Response.ContentType = PrometheusText.ContentType;
                return ctx.Response.WriteAsync(sb.ToString(), ctx.RequestAborted);
            case var path when path == "/jobs" || path?.StartsWith("/jobs/", StringComparison.Ordinal) == true:
                return JobAdmin.HandleAsync(ctx, workers.DataSource);
            default:
                ctx.Response.StatusCode = 404;
                return Task.CompletedTask;
        }
    }
}
