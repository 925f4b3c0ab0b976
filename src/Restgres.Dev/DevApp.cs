using System.Globalization;
using Npgsql;

namespace Restgres.Dev;

/// <summary>
/// The app <c>restgres dev</c> serves: the A/B-test dashboard of <c>examples/ab-dashboard</c> (migrations, data
/// generator, web page), read from disk so that the SQL a newcomer reads is the SQL that runs. A binary copied away
/// from the repository has no such folder; it falls back to the small to-do demo embedded in the executable, so that
/// <c>restgres dev</c> still works anywhere.
/// </summary>
public sealed class DevApp
{
    /// <summary>Where the app lives inside the repository.</summary>
    public const string RelativePath = "examples/ab-dashboard";

    /// <summary>The generator's default size (data/generate.sql): about 10 s on a laptop, a real-looking dashboard.</summary>
    public const long DefaultEvents = 200_000;

    private DevApp(string? directory) => Directory = directory;

    /// <summary>The app folder, or null for the embedded to-do demo.</summary>
    public string? Directory { get; }

    public bool IsDashboard => Directory is not null;

    /// <summary>The schema the API exposes: the dashboard lives in public (as on Supabase), the to-do demo in api.</summary>
    public string Schema => IsDashboard ? "public" : "api";

    public string MigrationsDir => Path.Combine(Directory ?? "", "migrations");

    public string GeneratorFile => Path.Combine(Directory ?? "", "data", "generate.sql");

    /// <summary>The built web page (<c>npm run build</c> in web/), served with <c>server-static-dir</c>.</summary>
    public string WebDist => Path.Combine(Directory ?? "", "web", "dist");

    public bool WebBuilt => IsDashboard && File.Exists(Path.Combine(WebDist, "index.html"));

    public static DevApp Embedded { get; } = new(null);

    public static DevApp At(string directory)
    {
        var full = Path.GetFullPath(directory);
        if (!File.Exists(Path.Combine(full, "migrations", "001_roles.sql")))
            throw new ArgumentException($"{full} is not the A/B dashboard app (no migrations/001_roles.sql)");
        return new DevApp(full);
    }

    /// <summary>
    /// The dashboard found from the working directory or from the executable's directory upwards (run.sh starts
    /// <c>artifacts/restgres/restgres</c> from the repository root), else the embedded demo.
    /// </summary>
    public static DevApp Locate()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, RelativePath);
                if (File.Exists(Path.Combine(candidate, "migrations", "001_roles.sql")))
                    return new DevApp(candidate);
            }
        }
        return Embedded;
    }

    /// <summary>The migrations in the order they apply: by their numeric prefix (001_, 002_, ...).</summary>
    public IReadOnlyList<string> Migrations() =>
        IsDashboard
            ? [.. System.IO.Directory.GetFiles(MigrationsDir, "*.sql").Order(StringComparer.Ordinal)]
            : [];

    /// <summary>
    /// Applies every migration (each is idempotent, so this runs on every start), generates data when there is none
    /// or when <paramref name="events"/> asks for a new data set, and otherwise refreshes the aggregates once, so the
    /// dashboard is current at start even where pg_cron is missing.
    /// </summary>
    internal async Task LoadAsync(PostgresCluster cluster, long? events, Action<string> log, CancellationToken ct)
    {
        var migrations = Migrations();
        log($"Applying {migrations.Count} migrations from {MigrationsDir}");
        foreach (var file in migrations)
            await cluster.ExecuteSqlFileAsync(file, ct: ct);

        if (events is null && await HasDataAsync(cluster, ct))
        {
            await cluster.ExecuteSqlAsync("select refresh_dashboard_aggregates();", ct: ct);
            return;
        }
        var n = events ?? DefaultEvents;
        log($"Generating demo data: {n.ToString("N0", CultureInfo.InvariantCulture)} events (data/generate.sql)...");
        var started = TimeProvider.System.GetTimestamp();
        await cluster.ExecuteSqlAsync(GeneratorScript(GeneratorFile, n), ct: ct);
        log($"Generated in {TimeProvider.System.GetElapsedTime(started).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s");
    }

    /// <summary>psql input that sets the generator's size and runs it (the other variables keep their defaults).</summary>
    internal static string GeneratorScript(string generatorFile, long events) =>
        $"\\set events {events.ToString(CultureInfo.InvariantCulture)}\n" +
        $"\\i '{generatorFile.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)}'\n";

    private static async Task<bool> HasDataAsync(PostgresCluster cluster, CancellationToken ct)
    {
        await using var conn = new NpgsqlConnection(cluster.ConnectionString);
        await conn.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand("select exists (select from users) and exists (select from completions)", conn);
        return await cmd.ExecuteScalarAsync(ct) is true;
    }
}
