using Npgsql;
using Restgres.Config;
using Restgres.Execution;

namespace Restgres.Cli;

/// <summary>
/// How a command-line tool (<c>migrate</c>, <c>check</c>, <c>gen types</c>) finds the database: as the server does
/// (<c>db-uri</c> from <c>PGRST_DB_URI</c> over the config file given with <c>--config</c>), with <c>--db-uri</c> over
/// both. The whole config is loaded, so a tool also sees <c>db-channel</c>, <c>db-schemas</c> and the rest.
/// </summary>
internal static class CommandDatabase
{
    /// <summary>The lines of usage text every such command shares.</summary>
    public const string OptionsHelp = """
          --db-uri URI       the database (default: PGRST_DB_URI, else db-uri of the config file, else libpq's defaults)
          --config FILE      a Restgres/PostgREST config file to read db-uri (and db-channel, db-schemas, ...) from
        """;

    /// <exception cref="ConfigException">The config file or the environment is invalid.</exception>
    public static AppConfig LoadConfig(string? configPath, string? dbUri, IReadOnlyDictionary<string, string>? env = null)
    {
        var overrides = new Dictionary<string, string>(env ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        if (dbUri is not null) overrides["PGRST_DB_URI"] = dbUri;
        // The tools print their own output; the server's warnings (unimplemented options) are noise here.
        return CommandLine.LoadConfig(configPath, _ => { }, overrides);
    }

    /// <summary>A connection of its own (no pool: a tool opens one and exits), named in pg_stat_activity.</summary>
    public static async Task<NpgsqlConnection> OpenAsync(AppConfig config, string tool, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        var csb = DbUri.Parse(config.DbUri);
        csb.Pooling = false;
        csb.ApplicationName = "restgres " + tool;
        csb.CommandTimeout = 0;
        csb.IncludeErrorDetail = true;
        var conn = new NpgsqlConnection(csb.ConnectionString);
        try
        {
            await conn.OpenAsync(ct);
            return conn;
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }
    }

    /// <summary>"could not connect to the database at URI (password hidden): reason".</summary>
    public static string ConnectError(AppConfig config, Exception e)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(e);
        return $"could not connect to the database {DbUri.Redact(config.DbUri, "***")}: {e.Message}";
    }

    /// <summary>Whether <paramref name="e"/> is a failure to reach or log in to the database.</summary>
    public static bool IsConnectFailure(Exception e) =>
        e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException or ArgumentException;
}
