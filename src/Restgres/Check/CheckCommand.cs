using System.Text.Json;
using Npgsql;
using Restgres.Cli;
using Restgres.Config;
using Restgres.Dev;

namespace Restgres.Check;

/// <summary>
/// <c>restgres check</c>: the live database against the project's expectations file, then the built-in lints
/// (docs/check.md). For CI: exit 0 when clean, 1 on any mismatch or finding not ignored, 2 when it could not check.
/// </summary>
internal static class CheckCommand
{
    public const int Clean = 0;
    public const int Findings = 1;
    public const int CannotCheck = 2;

    public const string Usage = """
        Usage: restgres check [--expect FILE] [--json] [--db-uri URI] [CONFIG_FILE]

        Checks the live database against an expectations file (tables, columns, row level security, policies,
        functions, grants) and runs the built-in lints (exposed tables without RLS, SECURITY DEFINER functions
        without a fixed search_path, views that bypass RLS, unindexed foreign keys, ...). See docs/check.md.

        The database is found as the server finds it: db-uri of CONFIG_FILE, PGRST_DB_URI over it, --db-uri over both.
        The exposed schemas are db-schemas, the anonymous role db-anon-role (PGRST_DB_SCHEMAS, PGRST_DB_ANON_ROLE).

        Options:
          --expect FILE   The expectations file; without it only the lints run
          --json          One JSON document on stdout instead of the text report
          --db-uri URI    The database (a postgresql:// URI or key=value string)
          --init          Print an expectations file describing the exposed schemas as they are now (to commit,
                          then trim to what the project relies on), and exit
          --lints         List the lints with their level and fix, and exit
          -h, --help      Show this help

        Exit status: 0 clean; 1 an expectation not met or a lint finding not ignored; 2 a usage, config or
        expectations-file error, or the database cannot be reached.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        string? expectFile = null, dbUri = null, configFile = null;
        bool json = false, init = false;
        var reader = new ArgReader(args);
        try
        {
            while (reader.Next())
            {
                if (reader.IsHelp)
                {
                    await stdout.WriteLineAsync(Usage);
                    return Clean;
                }
                switch (reader.Name)
                {
                    case "--expect": expectFile = reader.Value(); break;
                    case "--db-uri": dbUri = reader.Value(); break;
                    case "--json": json = true; break;
                    case "--init": init = true; break;
                    case "--lints":
                        await WriteLintListAsync(stdout);
                        return Clean;
                    default:
                        if (reader.IsOption || configFile is not null) throw reader.Unexpected();
                        configFile = reader.Arg;
                        break;
                }
            }
        }
        catch (ArgumentException e)
        {
            await stderr.WriteLineAsync($"restgres check: {e.Message}. See 'restgres check --help'.");
            return CannotCheck;
        }

        try
        {
            var expectations = expectFile is null ? Expectations.Empty : ExpectationsParser.ParseFile(expectFile);
            var config = CommandDatabase.LoadConfig(configFile, dbUri, line => stderr.WriteLine(line));
            await using var conn = await CommandDatabase.OpenAsync(config, "check", ct);
            if (init)
            {
                await stdout.WriteAsync(await ExpectationsWriter.WriteAsync(conn, config.DbSchemas, ct));
                return Clean;
            }
            var report = await CheckRunner.RunAsync(conn, expectations, config.DbSchemas, config.DbAnonRole, ct);
            var target = $"{conn.Host}:{conn.Port}/{conn.Database}";
            if (json) await WriteJsonAsync(stdout, report, target, config.DbSchemas, expectFile);
            else await WriteTextAsync(stdout, report, target, config.DbSchemas, expectFile);
            return report.Clean ? Clean : Findings;
        }
        catch (Exception e) when (e is ExpectationsException or ConfigException or CommandDatabaseException)
        {
            await stderr.WriteLineAsync($"restgres check: {e.Message}");
            return CannotCheck;
        }
        catch (NpgsqlException e)
        {
            await stderr.WriteLineAsync($"restgres check: the database failed while checking: {e.Message}");
            return CannotCheck;
        }
    }

    private static async Task WriteTextAsync(TextWriter w, CheckReport report, string target, IReadOnlyList<string> schemas, string? expectFile)
    {
        await w.WriteLineAsync($"restgres check: {target}, exposed schemas: {string.Join(", ", schemas)}");
        if (expectFile is not null)
        {
            await w.WriteLineAsync($"expectations {expectFile}: {report.Checked} checked, {Count(report.Mismatches.Length, "mismatch", "mismatches")}");
            foreach (var m in report.Mismatches)
                await w.WriteLineAsync($"  {expectFile}:{m.Line}: {m.Object}: {m.Message}");
        }
        var reported = report.Reported.ToList();
        var ignored = report.Findings.Where(f => f.IgnoredBecause is not null).ToList();
        await w.WriteLineAsync($"lints: {Lints.All.Length} run, {Count(reported.Count, "finding", "findings")}, {ignored.Count} ignored");
        foreach (var f in reported)
        {
            await w.WriteLineAsync($"  {Level(f.Lint.Level),-5} {f.Lint.Id} {f.Object}");
            await w.WriteLineAsync($"        {f.Message}");
            await w.WriteLineAsync($"        fix: {f.Lint.Fix} (docs/check.md#{f.Lint.Id})");
        }
        foreach (var f in ignored)
            await w.WriteLineAsync($"  ignored {f.Lint.Id} {f.Object}: {f.IgnoredBecause}");
        await w.WriteLineAsync(report.Clean
            ? "clean"
            : $"FAILED: {Count(report.Mismatches.Length, "mismatch", "mismatches")}, {Count(reported.Count, "finding", "findings")}");
    }

    private static async Task WriteJsonAsync(TextWriter w, CheckReport report, string target, IReadOnlyList<string> schemas, string? expectFile)
    {
        using var buffer = new MemoryStream();
        await using (var j = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            j.WriteStartObject();
            j.WriteString("database", target);
            j.WriteStartArray("schemas");
            foreach (var s in schemas) j.WriteStringValue(s);
            j.WriteEndArray();
            if (expectFile is null) j.WriteNull("expect"); else j.WriteString("expect", expectFile);
            j.WriteBoolean("clean", report.Clean);
            j.WriteNumber("checked", report.Checked);
            j.WriteStartArray("mismatches");
            foreach (var m in report.Mismatches)
            {
                j.WriteStartObject();
                j.WriteNumber("line", m.Line);
                j.WriteString("object", m.Object);
                j.WriteString("message", m.Message);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteStartArray("findings");
            foreach (var f in report.Findings)
            {
                j.WriteStartObject();
                j.WriteString("lint", f.Lint.Id);
                j.WriteString("level", Level(f.Lint.Level));
                j.WriteString("object", f.Object);
                j.WriteString("message", f.Message);
                j.WriteString("fix", f.Lint.Fix);
                if (f.IgnoredBecause is null) j.WriteNull("ignored"); else j.WriteString("ignored", f.IgnoredBecause);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteEndObject();
        }
        await w.WriteLineAsync(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private static async Task WriteLintListAsync(TextWriter w)
    {
        foreach (var lint in Lints.All)
        {
            await w.WriteLineAsync($"{lint.Id} ({Level(lint.Level)})");
            await w.WriteLineAsync($"  {lint.Summary}");
            await w.WriteLineAsync($"  fix: {lint.Fix}");
        }
    }

    private static string Level(LintLevel level) => level.ToString().ToUpperInvariant();

    private static string Count(int n, string one, string many) => $"{n} {(n == 1 ? one : many)}";
}
