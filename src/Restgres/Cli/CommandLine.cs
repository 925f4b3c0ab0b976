using System.Collections;
using System.Reflection;
using Restgres.Config;
using Restgres.Dev;
using Restgres.Http;

namespace Restgres.Cli;

/// <summary>
/// The command-line verbs. <c>restgres [CONFIG_FILE]</c> behaves like <c>postgrest [CONFIG_FILE]</c> so that tools which
/// start PostgREST can start us unchanged; <c>serve</c> is the same, spelled out; <c>dev</c> starts a private cluster.
/// </summary>
internal static class CommandLine
{
    public static string Version =>
        typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    /// <summary>
    /// What Restgres calls itself where PostgREST says "PostgREST VERSION": the <c>Server</c> header
    /// (<c>postgrest/...</c>, as PostgREST sends it), the database connections' application_name and the first log
    /// line. Scripts read the version out of these (PostgREST's io tests compare the header with the application_name);
    /// the PostgREST major it behaves as comes first, then what it really is.
    /// </summary>
    public static string ProductVersion => $"16 (Restgres {Version})";

    public const string Usage = """
        Usage: restgres [COMMAND] [OPTIONS]

        Restgres serves a PostgreSQL database as a REST API, compatible with PostgREST v16.

        Commands:
          restgres [CONFIG_FILE]        Serve the API (same as 'serve'); PostgREST-style config file and PGRST_* env vars
          restgres serve [CONFIG_FILE]  Serve the API
          restgres dev [--data-dir DIR] [--port PORT]
                                        Start a private PostgreSQL cluster (in ./.restgres by default), load the demo
                                        app and serve it on http://127.0.0.1:3000
          restgres gen types typescript|csharp [--db-uri URI] [--schema S] [CONFIG_FILE]
                                        Print the types of the API (TypeScript's Database type as supabase gen
                                        types makes it, or C# records); see 'restgres gen types --help'
          restgres smoke [--url URL] [--apikey KEY] [--config FILE] [--log]
                                        Call a list of endpoints (the dashboard's by default); non-zero exit on failure
          restgres check [--expect FILE] [--json] [--db-uri URI] [CONFIG_FILE]
                                        Check the database against an expectations file and run the built-in lints
                                        (docs/check.md); exit 0 clean, 1 findings, 2 cannot check
          restgres worker [CONFIG_FILE] Run the durable-job workers only (docs/jobs.md), without the API
          restgres schema install [CONFIG_FILE] [--db-uri URI]
                                        Install or upgrade Restgres's own schema (what --schema-sql prints) in the
                                        database, as a role that may create schemas
          restgres migrate status|up|new NAME [--dir DIR] [--dry-run] [--db-uri URI] [--config FILE]
                                        Apply SQL migrations (supabase/migrations/ by default); see 'restgres migrate --help'
          restgres --dump-config [CONFIG_FILE]
                                        Print the effective configuration (file, PGRST_* env vars and, with
                                        db-config, the database) in PostgREST's format, and exit
          restgres --dump-schema [CONFIG_FILE]
                                        Print the schema cache as JSON and exit
          restgres --ready [CONFIG_FILE]
                                        Ask the running server's admin server /ready; exit 0 when it answers 2xx
          restgres -e, --example        Print an example config file with every option
          restgres --schema-sql         Print the SQL of Restgres's own schema (rate limits, idempotency keys, jobs);
                                        run it once as a role that may create schemas
          restgres --rate-limit-sql     Print the rate-limit part of it only
          restgres --help               Show this help
          restgres --version            Show the version

        Configuration: every PostgREST option name is accepted, in the config file (key = value) or as an environment
        variable (PGRST_ + upper-cased name with '-' turned into '_'); the environment overrides the file.
        See docs/configuration.md.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length > 0)
        {
            switch (args[0])
            {
                case "-h" or "--help" or "help":
                    Console.WriteLine(Usage);
                    return 0;
                case "-v" or "--version" or "version":
                    Console.WriteLine($"restgres {Version} (PostgREST 16 compatible)");
                    return 0;
                case "-e" or "--example" or "example":
                    Console.WriteLine(ConfigExample.Text);
                    return 0;
                case "--schema-sql":
                    Console.WriteLine(Execution.RestgresSchema.Sql);
                    return 0;
                case "--rate-limit-sql":
                    Console.WriteLine(RateLimiting.RateLimitSchema.Sql);
                    return 0;
                case "serve":
                    return await ServeAsync(args[1..]);
                case "dev":
                    return await Dev.DevCommand.RunAsync(args[1..], DevServer.RunAsync, Execution.RestgresSchema.Sql);
                case "smoke":
                    return await Dev.SmokeCommand.RunAsync(args[1..]);
                case "check":
                    return await Check.CheckCommand.RunAsync(args[1..], Console.Out, Console.Error);
                case "schema":
                    return await SchemaCommand.RunAsync(args[1..]);
                case "worker":
                    return await WorkerCommand.RunAsync(args[1..]);
                case "gen":
                    return await GenTypesCommand.RunAsync(args[1..], Console.Out, Console.Error);
                case "migrate":
                    return await MigrateCommand.RunAsync(args[1..]);
            }
        }
        return await ServeAsync(args);
    }

    private static async Task<int> ServeAsync(string[] args)
    {
        // Like postgrest: at most one argument, the config file, and at most one of its flags, before or after it.
        string? path = null;
        string? command = null;
        var reader = new ArgReader(args);
        while (reader.Next())
        {
            if (reader.Arg is "--dump-config" or "--dump-schema" or "--ready" && command is null)
            {
                command = reader.Arg;
                continue;
            }
            if (path is not null || reader.IsOption)
            {
                await Console.Error.WriteLineAsync($"restgres: {reader.Unexpected().Message}. See 'restgres --help'.");
                return 1;
            }
            path = reader.Arg;
        }
        AppConfig config;
        // Serving, the warnings follow the "Starting PostgREST ..." line; the one-shot commands print them at once.
        var warnings = new List<string>();
        try
        {
            config = LoadConfig(path, command is null ? warnings.Add : line => Console.Error.WriteLine(line));
        }
        catch (ConfigException e)
        {
            foreach (var warning in warnings) await Console.Error.WriteLineAsync(warning);
            await Console.Error.WriteLineAsync(e.Message);
            return 1;
        }
        return command switch
        {
            "--dump-config" => await OneShotCommands.DumpConfigAsync(config),
            "--dump-schema" => await OneShotCommands.DumpSchemaAsync(config),
            "--ready" => await OneShotCommands.ReadyAsync(config),
            _ => await ApiServer.RunAsync(config, CancellationToken.None, warnings),
        };
    }

    /// <summary>Loads the configuration from a file and the process environment (with <paramref name="extraEnv"/> over
    /// it), logging unimplemented options.</summary>
    public static AppConfig LoadConfig(string? path, Action<string>? warn = null, IReadOnlyDictionary<string, string>? extraEnv = null)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
            env[(string)e.Key] = (string?)e.Value ?? "";
        foreach (var (k, v) in extraEnv ?? new Dictionary<string, string>()) env[k] = v;
        return ConfigLoader.Load(path, env, warn ?? (line => Console.Error.WriteLine(line)));
    }
}
