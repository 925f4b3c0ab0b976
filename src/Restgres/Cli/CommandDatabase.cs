using Restgres.Config;

namespace Restgres.Cli;

/// <summary>
/// How the database tools (<c>restgres gen types</c>; <c>migrate</c> and <c>check</c> the same way) find the database:
/// as the server does — the config file named by the one plain argument and the <c>PGRST_*</c> environment — with
/// <c>--db-uri URI</c> over both. One place, so every tool reads the same database the server would serve.
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
        public AppConfig Load(Action<string> warn) =>
            CommandLine.LoadConfig(ConfigFile, warn,
                DbUri is null ? null : new Dictionary<string, string>(StringComparer.Ordinal) { ["PGRST_DB_URI"] = DbUri });
    }
}
