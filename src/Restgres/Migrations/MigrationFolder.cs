using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Restgres.Migrations;

/// <summary>One migration file, read whole: its version and name from <c>&lt;version&gt;_&lt;name&gt;.sql</c>.</summary>
internal sealed record MigrationFile(string Version, string Name, string FileName, string Text, string Checksum, bool NoTransaction)
{
    /// <summary>The version's numeric value as text without leading zeros: <c>001</c> and <c>1</c> are one version,
    /// and versions of different lengths (<c>9</c>, <c>10</c>) sort as numbers.</summary>
    public string Key => MigrationVersion.Key(Version);
}

/// <summary>Why a folder of migrations cannot be used; the message names the file.</summary>
internal sealed class MigrationException(string message) : Exception(message);

internal static partial class MigrationVersion
{
    public static string Key(string version) => version.TrimStart('0') is { Length: > 0 } k ? k : "0";

    /// <summary>Numeric order of two version keys (digits only, no leading zeros).</summary>
    public static int Compare(string a, string b) =>
        a.Length != b.Length ? a.Length.CompareTo(b.Length) : string.CompareOrdinal(a, b);
}

/// <summary>
/// Reads a folder of migrations the way the Supabase CLI lays them out (<c>supabase/migrations/&lt;version&gt;_&lt;name&gt;.sql</c>,
/// the version a timestamp such as <c>20240101120000</c>; the example apps' <c>NNN_name.sql</c> work too). Everything is
/// read and checked before the database is touched, so a bad folder changes nothing.
/// </summary>
internal static partial class MigrationFolder
{
    /// <summary>Where the Supabase CLI keeps migrations, relative to the project root.</summary>
    public const string DefaultDir = "supabase/migrations";

    /// <summary>The marker line for a file that cannot run in a transaction (<c>CREATE INDEX CONCURRENTLY</c>, ...).</summary>
    public const string NoTransactionMarker = "-- restgres:no-transaction";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    [GeneratedRegex(@"^(?<version>[0-9]+)_(?<name>.+)\.sql$", RegexOptions.CultureInvariant)]
    private static partial Regex FileNamePattern();

    [GeneratedRegex(@"^[ \t]*-- restgres:no-transaction[ \t]*\r?$", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex NoTransactionLine();

    /// <summary>The migrations in version order.</summary>
    /// <exception cref="MigrationException">The folder is missing, or holds a file that is not a migration, cannot be
    /// read, or repeats a version.</exception>
    public static List<MigrationFile> Read(string dir)
    {
        if (!Directory.Exists(dir))
            throw new MigrationException($"{dir}: no such folder (give the migrations folder with --dir; the default is {DefaultDir})");
        var files = new List<MigrationFile>();
        // Dot-files (.gitkeep, editor swap files) are not content; anything else that is not a migration is a mistake
        // worth stopping for: a misnamed file would otherwise be skipped silently and never applied.
        foreach (var path in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
        {
            var fileName = Path.GetFileName(path);
            if (fileName.StartsWith('.')) continue;
            if (!fileName.EndsWith(".sql", StringComparison.Ordinal))
                throw new MigrationException($"{path}: not a SQL migration (migration files are named <version>_<name>.sql; move other files out of the folder)");
            var match = FileNamePattern().Match(fileName);
            if (!match.Success)
                throw new MigrationException($"{path}: the file name must be <version>_<name>.sql, e.g. 20240101120000_create_profiles.sql");
            files.Add(ReadFile(path, match.Groups["version"].Value, match.Groups["name"].Value));
        }
        files.Sort((a, b) => MigrationVersion.Compare(a.Key, b.Key));
        for (var i = 1; i < files.Count; i++)
            if (files[i].Key == files[i - 1].Key)
                throw new MigrationException($"{dir}: {files[i - 1].FileName} and {files[i].FileName} have the same version {files[i].Version}; give one of them a new version");
        return files;
    }

    private static MigrationFile ReadFile(string path, string version, string name)
    {
        byte[] bytes;
        string text;
        try
        {
            bytes = File.ReadAllBytes(path);
            text = StrictUtf8.GetString(bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MigrationException($"{path}: cannot be read: {e.Message}");
        }
        catch (DecoderFallbackException)
        {
            throw new MigrationException($"{path}: cannot be read: it is not UTF-8 text");
        }
        if (text.StartsWith('\uFEFF')) text = text[1..];
        var checksum = Convert.ToHexStringLower(SHA256.HashData(bytes));
        return new MigrationFile(version, name, Path.GetFileName(path), text, checksum, NoTransactionLine().IsMatch(text));
    }

    /// <summary>
    /// The path of a new, empty migration: the next version in the folder's style. A folder of timestamps (or an empty
    /// one) gets the current UTC time as <c>yyyyMMddHHmmss</c>, as <c>supabase migration new</c> does; a folder of short
    /// sequence numbers (<c>001_roles.sql</c>) gets the next number, zero-padded alike.
    /// </summary>
    public static string NewFile(string dir, string name, DateTime utcNow)
    {
        if (!NamePattern().IsMatch(name))
            throw new MigrationException($"'{name}': a migration name is letters, digits, '_' and '-' (it becomes part of the file name)");
        var existing = Directory.Exists(dir) ? Read(dir) : [];
        string version;
        if (existing.Count > 0 && existing.All(f => f.Version.Length < 14))
        {
            var width = existing.Max(f => f.Version.Length);
            var next = existing.Max(f => long.Parse(f.Version, CultureInfo.InvariantCulture)) + 1;
            version = next.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0');
        }
        else
        {
            var stamp = utcNow;
            // Two files made in one second (a script) still get distinct, increasing versions.
            while (existing.Any(f => f.Key == MigrationVersion.Key(Stamp(stamp))) || existing.Count > 0
                   && MigrationVersion.Compare(MigrationVersion.Key(Stamp(stamp)), existing[^1].Key) <= 0)
                stamp = stamp.AddSeconds(1);
            version = Stamp(stamp);
        }
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, $"{version}_{name}.sql");
        File.WriteAllText(path, $"-- {name}: each migration runs in a transaction of its own (docs/migrations.md).\n\n");
        return path;

        static string Stamp(DateTime t) => t.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^[A-Za-z0-9_-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
