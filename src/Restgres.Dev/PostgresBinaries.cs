using System.Globalization;

namespace Restgres.Dev;

/// <summary>Where the PostgreSQL server programs live on this machine.</summary>
public sealed class PostgresBinaries
{
    /// <summary>The programs a private cluster cannot do without.</summary>
    internal static readonly string[] RequiredPrograms = ["initdb", "pg_ctl", "postgres"];

    internal const string InstallHint =
        "install postgresql-15 (apt-get install postgresql-15), or set PGBIN to the directory holding initdb and pg_ctl";

    private PostgresBinaries(string binDir) => BinDir = binDir;

    public string BinDir { get; }

    public string InitDb => Path.Combine(BinDir, "initdb");

    public string PgCtl => Path.Combine(BinDir, "pg_ctl");

    public string Postgres => Path.Combine(BinDir, "postgres");

    /// <summary>Makes a standby's data directory from a running cluster (<see cref="PostgresCluster.CreateStandbyAsync"/>).</summary>
    public string PgBaseBackup => Path.Combine(BinDir, "pg_basebackup");

    /// <summary>
    /// psql ships in the client package; Debian puts it beside the server programs, other layouts may only have it on
    /// PATH.
    /// </summary>
    public string Psql => File.Exists(Path.Combine(BinDir, "psql")) ? Path.Combine(BinDir, "psql") : "psql";

    /// <summary>The server's library directory, where optional modules such as pg_stat_statements are installed.</summary>
    internal string? PkgLibDir
    {
        get
        {
            // Debian/Ubuntu layout (/usr/lib/postgresql/15/{bin,lib}) and the source-build layout (prefix/{bin,lib}).
            var sibling = Path.GetFullPath(Path.Combine(BinDir, "..", "lib"));
            foreach (var dir in new[] { sibling, Path.Combine(sibling, "postgresql") })
            {
                if (Directory.Exists(dir) && File.Exists(Path.Combine(dir, "plpgsql.so")))
                    return dir;
            }
            return null;
        }
    }

    internal bool HasModule(string name) =>
        PkgLibDir is { } dir && (File.Exists(Path.Combine(dir, name + ".so")) || File.Exists(Path.Combine(dir, name + ".dylib")));

    /// <summary>
    /// Finds the server programs: an explicit directory, else <c>PGBIN</c>, else <c>pg_config --bindir</c>, else the
    /// newest <c>/usr/lib/postgresql/&lt;version&gt;/bin</c>, else <c>initdb</c> on PATH (Fedora, Homebrew).
    /// </summary>
    /// <exception cref="PostgresBinariesNotFoundException">With the places searched and what to install.</exception>
    public static PostgresBinaries Locate(string? binDir = null) =>
        Locate(binDir, Environment.GetEnvironmentVariable("PGBIN"), ["/usr/lib/postgresql", "/usr/local/lib/postgresql"],
            Environment.GetEnvironmentVariable("PATH"), usePgConfig: true);

    /// <summary>The search with every input explicit, so tests can point it at fake layouts.</summary>
    internal static PostgresBinaries Locate(
        string? explicitDir, string? pgbinEnv, IReadOnlyList<string> scanRoots, string? pathEnv, bool usePgConfig)
    {
        // An explicit choice that is wrong is an error, not a reason to quietly run some other version.
        if (!string.IsNullOrEmpty(explicitDir))
            return Check(explicitDir, "the configured directory");
        if (!string.IsNullOrEmpty(pgbinEnv))
            return Check(pgbinEnv, "PGBIN");

        var searched = new List<string>();
        if (usePgConfig && PgConfigBinDir() is { } fromPgConfig)
        {
            if (IsComplete(fromPgConfig))
                return new PostgresBinaries(Path.GetFullPath(fromPgConfig));
            searched.Add(fromPgConfig + " (pg_config --bindir)");
        }
        foreach (var root in scanRoots)
        {
            if (NewestVersionBinDir(root) is { } dir)
                return new PostgresBinaries(dir);
            searched.Add(Path.Combine(root, "<version>", "bin"));
        }
        foreach (var dir in (pathEnv ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (IsComplete(dir))
                return new PostgresBinaries(Path.GetFullPath(dir));
        }
        searched.Add("PATH");
        throw new PostgresBinariesNotFoundException(
            $"PostgreSQL server binaries not found (looked in PGBIN, {string.Join(", ", searched)}); {InstallHint}.");
    }

    private static PostgresBinaries Check(string dir, string source)
    {
        var missing = RequiredPrograms.Where(p => !File.Exists(Path.Combine(dir, p))).ToList();
        if (missing.Count > 0)
        {
            throw new PostgresBinariesNotFoundException(
                $"PostgreSQL server binaries not found in {dir} ({source}; missing {string.Join(", ", missing)}); {InstallHint}.");
        }
        return new PostgresBinaries(Path.GetFullPath(dir));
    }

    private static bool IsComplete(string dir) => RequiredPrograms.All(p => File.Exists(Path.Combine(dir, p)));

    /// <summary>The newest complete <c>root/&lt;version&gt;/bin</c>, comparing versions as numbers (16 &gt; 9.6).</summary>
    private static string? NewestVersionBinDir(string root)
    {
        if (!Directory.Exists(root))
            return null;
        return Directory.EnumerateDirectories(root)
            .Select(d => (Dir: d, Version: ParseVersion(Path.GetFileName(d))))
            .Where(x => x.Version is not null && IsComplete(Path.Combine(x.Dir, "bin")))
            .OrderByDescending(x => x.Version)
            .Select(x => Path.GetFullPath(Path.Combine(x.Dir, "bin")))
            .FirstOrDefault();
    }

    private static Version? ParseVersion(string name)
    {
        if (int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var major))
            return new Version(major, 0);
        return Version.TryParse(name, out var v) ? v : null;
    }

    /// <summary>
    /// pg_config belongs to the client/dev packages, so it can exist (and name a directory) without the server; the
    /// caller checks the directory is complete.
    /// </summary>
    private static string? PgConfigBinDir()
    {
        try
        {
            var result = ProcessRunner.Run("pg_config", ["--bindir"], TimeSpan.FromSeconds(10));
            var dir = result.StdOut.Trim();
            return result.ExitCode == 0 && dir.Length > 0 ? dir : null;
        }
        catch (PostgresClusterException)
        {
            return null;
        }
    }
}
