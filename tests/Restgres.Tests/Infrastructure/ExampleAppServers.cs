using Restgres.Config;
using Restgres.Tests.Http;

namespace Restgres.Tests.Infrastructure;

/// <summary>
/// An example app (examples/NAME) served as it configures itself: its migrations (and seed files) make the database,
/// an authenticator of the tests' own is made a member of the app's roles, and every server loads the app's own
/// restgres.conf with the database and secret in the environment, as `./run.sh --app NAME` does.
/// </summary>
public abstract class ExampleAppServers(string name, string authenticator, string roles) : ServersOnOneDatabase
{
    public string AppDir { get; } = Path.Combine(RepoPaths.Root, "examples", name);

    /// <summary>The JWT secret the servers sign with (<c>JWT_SECRET</c>).</summary>
    public abstract string JwtSecret { get; }

    /// <summary>Files run after the migrations (e.g. the app's dev.sql).</summary>
    protected virtual IEnumerable<string> SeedFiles => [];

    /// <summary>SQL run once the database exists (e.g. data generation).</summary>
    protected virtual string SeedSql => "";

    /// <summary>Whether the app's migrations use Restgres's own schema (restgres --schema-sql), installed before them
    /// as `restgres dev` does.</summary>
    protected virtual bool UsesRestgresSchema => false;

    /// <summary>The server exactly as the app configures it.</summary>
    public Task<TestServer> ServerAsync(PgClusterFixture pg) => ServerAsync(pg, "app");

    /// <summary>A database made by an app's migrations (in file order, from where `restgres dev` reads them), after
    /// Restgres's own schema when the app uses it, then the seed files.</summary>
    public static async Task<TestDatabase> MigratedDatabaseAsync(PgClusterFixture pg, string appDir, bool usesRestgresSchema, IEnumerable<string> seedFiles)
    {
        ArgumentNullException.ThrowIfNull(pg);
        var files = Directory.GetFiles(Restgres.Dev.ConfiguredApp.MigrationsDirectoryOf(appDir), "*.sql").Order(StringComparer.Ordinal).Concat(seedFiles).ToList();
        var schemaFile = Path.Combine(Path.GetTempPath(), $"restgres-schema-{Guid.NewGuid():N}.sql");
        if (usesRestgresSchema)
        {
            await File.WriteAllTextAsync(schemaFile, "set client_min_messages = warning;\n" + Restgres.Execution.RestgresSchema.Sql);
            files.Insert(0, schemaFile);
        }
        try
        {
            return await pg.CreateDatabaseFromFilesAsync([.. files]);
        }
        finally
        {
            File.Delete(schemaFile);
        }
    }

    protected override async Task<TestDatabase> CreateDatabaseAsync(PgClusterFixture pg)
    {
        var db = await MigratedDatabaseAsync(pg, AppDir, UsesRestgresSchema, SeedFiles);
        await db.ExecuteSqlAsync($$"""
            do $$ begin
              if not exists (select from pg_roles where rolname = '{{authenticator}}') then
                create role {{authenticator}} login noinherit;
              end if;
            end $$;
            grant {{roles}} to {{authenticator}};
            {{SeedSql}}
            """);
        return db;
    }

    internal override AppConfig BaseConfig => ConfigLoader.Load(Path.Combine(AppDir, "restgres.conf"), AppEnvironment(), _ => { });

    private Dictionary<string, string> AppEnvironment()
    {
        var env = new Dictionary<string, string>
        {
            ["PGRST_DB_URI"] = Database.Uri(authenticator),
            ["JWT_SECRET"] = JwtSecret,
            ["PGRST_LOG_LEVEL"] = "crit",
        };
        // The file names its routes and schedules files and its page's folder relative to the app's folder (where one
        // runs it from).
        if (File.Exists(Path.Combine(AppDir, "routes.conf")))
            env["PGRST_SERVER_ROUTES_FILE"] = Path.Combine(AppDir, "routes.conf");
        if (File.Exists(Path.Combine(AppDir, "schedules.conf")))
            env["PGRST_SERVER_SCHEDULES_FILE"] = Path.Combine(AppDir, "schedules.conf");
        if (Directory.Exists(Path.Combine(AppDir, "web")))
            env["PGRST_SERVER_STATIC_DIR"] = Path.Combine(AppDir, "web");
        return env;
    }
}
