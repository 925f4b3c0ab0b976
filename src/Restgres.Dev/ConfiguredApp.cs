using System.Security.Cryptography;

namespace Restgres.Dev;

/// <summary>
/// An example app that carries its own Restgres config (<c>examples/NAME/restgres.conf</c>: routes, caching, rate
/// limits, ...), served by <c>restgres dev --app NAME</c> from its own database in the dev cluster: its migrations
/// applied (each idempotent), then its <c>dev.sql</c> (seed data when there is none), then the server started from its
/// config with <c>PGRST_DB_URI</c> and <c>JWT_SECRET</c> in the environment and its paths relative to its folder.
/// </summary>
public sealed class ConfiguredApp
{
    public const string ConfigFileName = "restgres.conf";

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

    /// <summary>Creates the app's database when missing, applies its migrations, then its dev.sql.</summary>
    internal async Task LoadAsync(PostgresCluster cluster, Action<string> log, CancellationToken ct)
    {
        await cluster.ExecuteSqlAsync(
            $"select 'create database \"{Database}\"' where not exists (select from pg_database where datname = '{Database}')\n\\gexec\n", ct: ct);
        var migrations = System.IO.Directory.GetFiles(Path.Combine(Directory, "migrations"), "*.sql").Order(StringComparer.Ordinal).ToList();
        log($"Applying {migrations.Count} migrations from {Path.Combine(Directory, "migrations")} to database {Database}");
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
    };

    private static string GenerateSecret() => Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();

    /// <summary>What to print once serving: where, how to log in, where the README is.</summary>
    internal string Banner(DevServerConfig config, PostgresCluster cluster)
    {
        var url = $"http://{config.ServerHost}:{config.ServerPort}";
        var tryFile = Path.Combine(Directory, "dev-try.txt");
        var tries = File.Exists(tryFile)
            ? string.Join('\n', File.ReadAllLines(tryFile).Select(l => "  " + l.Replace("$URL", url, StringComparison.Ordinal)))
            : "";
        return $"""

            Restgres dev server: {Name} ({Directory})

              API         {url}/   (config {ConfigFile})
              PostgreSQL  psql "{cluster.ConnectionUri(Database)}"
              JWT secret  {config.JwtSecret}   (set JWT_SECRET to choose it)
              README      {Path.Combine(Directory, "README.md")}

            {tries}

            Ctrl-C stops the API server and PostgreSQL.

            """;
    }
}
