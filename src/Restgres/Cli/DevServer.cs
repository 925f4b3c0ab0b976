using Restgres.Config;
using Restgres.Dev;
using Restgres.Http;

namespace Restgres.Cli;

/// <summary>The server's half of <c>restgres dev</c>: the dev tooling prepares the cluster and says what to serve.</summary>
internal static class DevServer
{
    internal static AppConfig AppConfigFor(DevServerConfig dev)
    {
        if (dev.ConfigFile is { } file)
        {
            // An example app's own config: its paths (the routes file) are relative to its folder, and it reads the
            // database and the secret from the environment, as in production.
            Directory.SetCurrentDirectory(Path.GetDirectoryName(file)!);
            return CommandLine.LoadConfig(file, extraEnv: new Dictionary<string, string>
            {
                ["PGRST_DB_URI"] = dev.DbUri,
                ["JWT_SECRET"] = dev.JwtSecret,
            }) with { ServerHost = dev.ServerHost, ServerPort = dev.ServerPort };
        }
        return BuiltIn(dev);
    }

    private static AppConfig BuiltIn(DevServerConfig dev) => new()
    {
        ServerSchedules = dev.SchedulesFile is { } schedules ? Schedules.ScheduleFile.Load(schedules) : null,
        DbUri = dev.DbUri,
        DbSchemas = [dev.DbSchema],
        DbAnonRole = dev.DbAnonRole,
        JwtSecret = dev.JwtSecret,
        ServerHost = dev.ServerHost,
        ServerPort = dev.ServerPort,
        ServerPathPrefixes = [dev.ServerPathPrefix],
        ServerStaticDir = dev.ServerStaticDir,
        // Seeing each request is most of the point of a dev server.
        LogLevel = Config.LogLevel.Info,
    };

    internal static async Task<int> RunAsync(DevServerConfig dev, CancellationToken ct)
    {
        AppConfig config;
        try
        {
            config = AppConfigFor(dev);
        }
        catch (ConfigException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 1;
        }
        await PrepareSchedulesAsync(dev, ct);
        return await ApiServer.RunAsync(config, ct);
    }

    /// <summary>
    /// Installs Restgres's own schema (the schedules' run log among it, as <c>restgres --schema-sql</c> prints it) and
    /// lets the server's role use the run log, when the app has schedules: done by the operator in production
    /// (docs/schedules.md), by the dev server for its own cluster.
    /// </summary>
    internal static async Task PrepareSchedulesAsync(DevServerConfig dev, CancellationToken ct)
    {
        if (dev.SchedulesFile is null || dev.SuperuserDbUri is null) return;
        var user = Execution.DbUri.Parse(dev.DbUri).Username;
        await using var conn = new Npgsql.NpgsqlConnection(Execution.DbUri.Parse(dev.SuperuserDbUri).ConnectionString);
        await conn.OpenAsync(ct);
        await using var cmd = new Npgsql.NpgsqlCommand(Execution.RestgresSchema.Sql + $"""

            grant usage on schema restgres to "{user}";
            grant execute on function restgres.run_scheduled(text, text, text, timestamptz, text),
              restgres.record_scheduled_run(text, text, timestamptz, timestamptz, text, bigint, text) to "{user}";
            """, conn);
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
