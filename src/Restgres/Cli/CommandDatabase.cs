using System.Net.Sockets;
using Npgsql;
using Restgres.Config;
using Restgres.Execution;

namespace Restgres.Cli;

/// <summary>
/// How the database tools (<c>check</c>, <c>migrate</c>, <c>gen types</c>) find the database: as the server does
/// (<c>PGRST_DB_URI</c> and the other <c>PGRST_*</c> variables over the config file, when one is given), with
/// <c>--db-uri</c> over both. One connection outside any pool: a tool runs a few statements and exits.
/// </summary>
internal static class CommandDatabase
{
    /// <summary>The help text's lines for the options this reads.</summary>
    public const string OptionsHelp = """
          --db-uri URI       The database (overrides PGRST_DB_URI and the config file's db-uri)
          CONFIG_FILE        A Restgres/PostgREST config file (db-uri, db-schemas, ...), as the server reads it
        """;

    /// <summary>Takes <c>--db-uri</c> and one config file path; false for an argument that is neither.</summary>
    public sealed class Arguments
    {
        public string? DbUri { get; private set; }

        public string? ConfigFile { get; private set; }

        /// <summary>Consumes the reader's current argument when it is one of these.</summary>
        /// <exception cref="ArgumentException">A second config file, or <c>--db-uri</c> without a value.</exception>
        public bool TryRead(Dev.ArgReader reader)
        {
            ArgumentNullException.ThrowIfNull(reader);
            if (reader.Name == "--db-uri")
            {
                DbUri = reader.Value();
                return true;
            }
            if (reader.IsOption) return false;
            if (ConfigFile is not null) throw reader.Unexpected();
            ConfigFile = reader.Arg;
            return true;
        }

        /// <summary>The configuration the server would run with, <c>--db-uri</c> applied.</summary>
        /// <exception cref="ConfigException">The file or environment does not make a valid configuration.</exception>
        public AppConfig Load(Action<string> warn) => LoadConfig(ConfigFile, DbUri, warn);
    }

    /// <summary>How long a tool waits for the database to answer before it gives up (exit 2).</summary>
    public const int ConnectTimeoutSeconds = 15;

    /// <summary>The config from <paramref name="configFile"/> and the environment, with <paramref name="dbUri"/> as db-uri
    /// when given.</summary>
    /// <exception cref="ConfigException">The file or an option is wrong.</exception>
    /// <param name="env">Variables over the process environment (tests).</param>
    public static AppConfig LoadConfig(string? configFile, string? dbUri, Action<string> warn, IReadOnlyDictionary<string, string>? env = null)
    {
        var overrides = new Dictionary<string, string>(env ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        // --db-uri names the one database the tool uses, over a configured db-listener-uri too.
        if (dbUri is not null) overrides["PGRST_DB_URI"] = overrides["PGRST_DB_LISTENER_URI"] = dbUri;
        return CommandLine.LoadConfig(configFile, warn, overrides);
    }

    /// <summary>An open connection to the config's database.</summary>
    /// <exception cref="CommandDatabaseException">It cannot be reached; the message names where it looked, never the
    /// password.</exception>
    public static async Task<NpgsqlConnection> OpenAsync(AppConfig config, string tool, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(config);
        NpgsqlConnectionStringBuilder csb;
        // A tool holds a session (migrate: a session advisory lock, DDL transactions): db-listener-uri, when set, is
        // PostgreSQL itself where db-uri may be a transaction pooler.
        var (option, uri) = config.DbListenerUri is { } direct ? ("db-listener-uri", direct) : ("db-uri", config.DbUri);
        try
        {
            csb = DbUri.Parse(uri);
        }
        catch (ArgumentException e)
        {
            throw new CommandDatabaseException($"{option} is not a valid connection string: {e.Message}");
        }
        csb.Pooling = false;
        csb.Timeout = ConnectTimeoutSeconds;
        csb.CommandTimeout = 60;
        if (string.IsNullOrEmpty(csb.ApplicationName)) csb.ApplicationName = "restgres " + tool;
        var conn = new NpgsqlConnection(csb.ConnectionString);
        try
        {
            await conn.OpenAsync(ct);
            return conn;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or SocketException or InvalidOperationException
                                      or ArgumentException)
        {
            await conn.DisposeAsync();
            var where = $"{csb.Host ?? "localhost"}:{csb.Port}/{csb.Database ?? csb.Username}";
            throw new CommandDatabaseException($"cannot connect to the database at {where} as {csb.Username}: {Innermost(e).Message}");
        }
    }

    private static Exception Innermost(Exception e) => e.InnerException is { } inner ? Innermost(inner) : e;
}

/// <summary>The database a tool was pointed at cannot be reached.</summary>
internal sealed class CommandDatabaseException(string message) : Exception(message);
