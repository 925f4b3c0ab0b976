using Npgsql;
using Restgres.Config;
using Restgres.Dev;
using Restgres.Execution;

namespace Restgres.Cli;

/// <summary>
/// <c>restgres schema install [CONFIG_FILE] [--db-uri URI]</c>: runs <see cref="RestgresSchema.Sql"/> (what
/// <c>--schema-sql</c> prints) against the database the server would use, so installing or upgrading Restgres's own
/// schema is one command. The script is idempotent; it needs a role that may create schemas, which is why the server
/// never runs it on its own.
/// </summary>
internal static class SchemaCommand
{
    public const string Usage = """
        Usage: restgres schema install [CONFIG_FILE] [--db-uri URI]

        Installs (or upgrades) Restgres's own schema 'restgres' (shared rate limits, idempotency keys, durable jobs)
        in the database named by db-uri (PGRST_DB_URI or the config file, as the server finds it); --db-uri overrides.
        Run it as a role that may create schemas.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        string? path = null;
        string? dbUri = null;
        var reader = new ArgReader(args);
        var verb = false;
        try
        {
            while (reader.Next())
            {
                if (reader.IsHelp)
                {
                    Console.WriteLine(Usage);
                    return 0;
                }
                if (!verb && reader.Arg == "install") verb = true;
                else if (reader.Name == "--db-uri") dbUri = reader.Value();
                else if (verb && path is null && !reader.IsOption) path = reader.Arg;
                else throw reader.Unexpected();
            }
            if (!verb) throw new ArgumentException("missing the action ('install')");
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"restgres schema: {e.Message}. See 'restgres schema --help'.");
            return 1;
        }
        AppConfig config;
        try
        {
            config = CommandLine.LoadConfig(path, extraEnv: dbUri is null ? null : new Dictionary<string, string> { ["PGRST_DB_URI"] = dbUri });
        }
        catch (ConfigException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 1;
        }
        try
        {
            await using var dataSource = DataSources.Create(config);
            await using var conn = await dataSource.OpenConnectionAsync();
            await using var cmd = new NpgsqlCommand(RestgresSchema.Sql, conn);
            await cmd.ExecuteNonQueryAsync();
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException or ArgumentException)
        {
            await Console.Error.WriteLineAsync($"restgres schema install: {e.Message}");
            return 1;
        }
        Console.WriteLine("restgres schema install: schema 'restgres' is installed");
        return 0;
    }
}
