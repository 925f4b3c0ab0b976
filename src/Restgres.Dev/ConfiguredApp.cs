using System.Security.Cryptography;

namespace Restgres.Dev;

/// <summary>
/// An example app that carries its own Restgres config (<c>examples/NAME/restgres.conf</c>: routes, caching, rate
/// limits, ...), served by <c>restgres dev --app NAME</c> from its own database in the dev cluster: its migrations
/// applied (each idempotent), then its <c>dev.sql</c> (seed data when there is none), then the server started from its
/// config with <c>PGRST_DB_URI</c> and <c>JWT_SECRET</c> in the environment and its paths relative to its folder.
/// Restgres's own schema (<c>restgres --schema-sql</c>) is installed in its database before the migrations, so that
/// they may use it (idempotency keys, jobs). An app that needs a process of its own next to the server (the AI
/// generations app's mock provider) has a <c>dev-services.sh</c>, started once the database is ready and stopped on
/// the way out (<see cref="StartServicesAsync"/>).
/// </summary>
public sealed class ConfiguredApp
{
    public const string ConfigFileName = "restgres.conf";

    public const string ServicesFileName = "dev-services.sh";

    private ConfiguredApp(string directory)
    {
        Directory = directory;
        Name = Path.GetFileName(directory);
    }

    public string Directory { get; }

    /// <summary>The folder's name: the <c>--app</c> name and, with '-' as '_', the database's.</summary>
    public string Name { get; }

    public string Database => Name.Replace('-', '_');

    public string ConfigFile => Path.Combine(Directory, ConfigFileName);

    /// <summary>The app's migrations folder: <c>supabase/migrations</c> (the Supabase CLI layout, timestamped files)
    /// when the app has one, else <c>migrations</c>.</summary>
    public string MigrationsDirectory => MigrationsDirectoryOf(Directory);

    /// <inheritdoc cref="MigrationsDirectory"/>
    public static string MigrationsDirectoryOf(string appDirectory)
    {
        var supabase = Path.Combine(appDirectory, "supabase", "migrations");
        return System.IO.Directory.Exists(supabase) ? supabase : Path.Combine(appDirectory, "migrations");
    }

    /// <summary>
    /// The app named <paramref name="nameOrDir"/>: a folder with a restgres.conf, or the name of one under
    /// <c>examples/</c> found from the working directory or the executable upwards; null when neither.
    /// </summary>
    public static ConfiguredApp? Find(string nameOrDir)
    {
        ArgumentNullException.ThrowIfNull(nameOrDir);
        if (File.Exists(Path.Combine(nameOrDir, ConfigFileName)))
            return new ConfiguredApp(Path.GetFullPath(nameOrDir).TrimEnd(Path.DirectorySeparatorChar));
        if (nameOrDir.Contains('/', StringComparison.Ordinal) || nameOrDir.Contains('\\', StringComparison.Ordinal)) return null;
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "examples", nameOrDir, ConfigFileName)))
                    return new ConfiguredApp(Path.Combine(dir.FullName, "examples", nameOrDir));
        return null;
    }

    /// <summary>Creates the app's database when missing, installs Restgres's own schema (idempotent), applies the
    /// app's migrations, then its dev.sql.</summary>
    internal async Task LoadAsync(PostgresCluster cluster, string restgresSchemaSql, Action<string> log, CancellationToken ct)
    {
        await cluster.ExecuteSqlAsync(
            $"select 'create database \"{Database}\"' where not exists (select from pg_database where datname = '{Database}')\n\\gexec\n", ct: ct);
        if (restgresSchemaSql.Length > 0)
            await cluster.ExecuteSqlAsync("set client_min_messages = warning;\n" + restgresSchemaSql, Database, ct);
        var migrations = System.IO.Directory.GetFiles(MigrationsDirectory, "*.sql").Order(StringComparer.Ordinal).ToList();
        log($"Applying {migrations.Count} migrations from {MigrationsDirectory} to database {Database}");
        foreach (var file in migrations)
            await cluster.ExecuteSqlFileAsync(file, Database, ct);
        var seed = Path.Combine(Directory, "dev.sql");
        if (File.Exists(seed))
        {
            log($"Preparing data ({seed})");
            await cluster.ExecuteSqlFileAsync(seed, Database, ct);
        }
    }

    /// <summary>
    /// What the server runs: the app's config file, with the database and the JWT secret given as the environment
    /// variables the file interpolates (<c>JWT_SECRET</c> from the caller's environment when set, else a fresh one).
    /// </summary>
    internal DevServerConfig ServerConfig(PostgresCluster cluster, int apiPort, string? jwtSecret) => new(
        DbUri: cluster.ConnectionUri(Database, "authenticator", DevCommand.AuthenticatorPassword),
        DbSchema: "",
        DbAnonRole: "",
        JwtSecret: jwtSecret is { Length: >= 32 } ? jwtSecret : GenerateSecret(),
        ServerHost: "127.0.0.1",
        ServerPort: apiPort,
        ServerPathPrefix: "",
        ServerStaticDir: null)
    {
        ConfigFile = ConfigFile,
        // The app's config names its schedules file itself; the dev server still has to let the authenticator write
        // the run log, as the operator does in production (docs/schedules.md).
        SchedulesFile = File.Exists(SchedulesFile) ? SchedulesFile : null,
        SuperuserDbUri = cluster.ConnectionUri(Database),
    };

    /// <summary>The app's schedules (server-schedules-file), when it has any.</summary>
    public string SchedulesFile => Path.Combine(Directory, "schedules.conf");

    /// <summary>
    /// Runs <c>dev-services.sh start STATE_DIR DB_URI JWT_SECRET</c> from the app's folder when the app has one: it
    /// starts its processes in the background (their pids under STATE_DIR), returns once they answer, and prints
    /// <c>NAME=value</c> lines (set in this process's environment, which the server reads, e.g. a provider key) and
    /// other lines (shown in the banner). Returns those other lines; none without a script.
    /// </summary>
    /// <exception cref="PostgresClusterException">The script failed: its output says why.</exception>
    internal async Task<IReadOnlyList<string>> StartServicesAsync(PostgresCluster cluster, string jwtSecret, CancellationToken ct)
    {
        var script = Path.Combine(Directory, ServicesFileName);
        if (!File.Exists(script))
            return [];
        var result = await ProcessRunner.RunAsync("bash", [script, "start", ServicesStateDir(cluster), cluster.ConnectionUri(Database), jwtSecret],
            workingDirectory: Directory, ct: ct);
        if (result.ExitCode != 0)
            throw new PostgresClusterException($"{script} start failed (exit {result.ExitCode}): {result.Output}");
        var shown = new List<string>();
        foreach (var line in result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && line[..eq].All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
                Environment.SetEnvironmentVariable(line[..eq], line[(eq + 1)..]);
            else
                shown.Add(line);
        }
        return shown;
    }

    /// <summary>Runs <c>dev-services.sh stop STATE_DIR</c> when the app has one; never throws (the way out).</summary>
    internal async Task StopServicesAsync(PostgresCluster cluster, Action<string> log)
    {
        var script = Path.Combine(Directory, ServicesFileName);
        if (!File.Exists(script))
            return;
        try
        {
            var result = await ProcessRunner.RunAsync("bash", [script, "stop", ServicesStateDir(cluster)], workingDirectory: Directory);
            if (result.ExitCode != 0)
                log($"{script} stop failed (exit {result.ExitCode}): {result.Output}");
        }
        catch (PostgresClusterException e)
        {
            log(e.Message);
        }
    }

    /// <summary>Next to the cluster's data directory (./.restgres-services/NAME by default), not inside it.</summary>
    internal string ServicesStateDir(PostgresCluster cluster) =>
        Path.Combine(Path.GetFullPath(cluster.DataDir).TrimEnd(Path.DirectorySeparatorChar) + "-services", Name);

    private static string GenerateSecret() => Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();

    /// <summary>What to print once serving: where, how to log in, where the README is.</summary>
    internal string Banner(DevServerConfig config, PostgresCluster cluster, IReadOnlyList<string> services)
    {
        var url = $"http://{config.ServerHost}:{config.ServerPort}";
        var tryFile = Path.Combine(Directory, "dev-try.txt");
        var tries = File.Exists(tryFile)
            ? string.Join('\n', File.ReadAllLines(tryFile).Select(l => "  " + l.Replace("$URL", url, StringComparison.Ordinal)
                // An app without a login (Floyo: Supabase signs its tokens) shows how to sign one with the secret.
                .Replace("$JWT_SECRET", config.JwtSecret, StringComparison.Ordinal)))
            : "";
        var servicesLines = string.Concat(services.Select(l => "  " + l + "\n"));
        return $"""

            Restgres dev server: {Name} ({Directory})

              API         {url}/   (config {ConfigFile})
              PostgreSQL  psql "{cluster.ConnectionUri(Database)}"
              JWT secret  {config.JwtSecret}   (set JWT_SECRET to choose it)
              README      {Path.Combine(Directory, "README.md")}
            {servicesLines}
            {tries}

            Ctrl-C stops the API server and PostgreSQL.

            """;
    }
}
