using System.Text.Json;
using Restgres.Check;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Check;

/// <summary><c>restgres check</c> as CI runs it: arguments, config, output and exit status (0 clean, 1 findings,
/// 2 cannot check).</summary>
[Collection("pg")]
public sealed class CheckCommandTests(PgClusterFixture pg) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("restgres-check-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Exit, string Out, string Err)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await CheckCommand.RunAsync(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private string WriteFile(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task An_unreachable_database_exits_2_naming_where_it_looked()
    {
        var (exit, stdout, stderr) = await RunAsync("--db-uri", "postgresql://someone:secret-pw@127.0.0.1:1/nowhere");

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.StartsWith("restgres check: cannot connect to the database at 127.0.0.1:1/nowhere as someone: ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-pw", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_restgres_command_line_routes_check_to_it() =>
        Assert.Equal(CheckCommand.CannotCheck, await Restgres.Cli.CommandLine.RunAsync(["check", "--db-uri", "postgresql://x@127.0.0.1:1/none"]));

    [Theory]
    [InlineData("--frobnicate")]
    [InlineData("--expect")]
    [InlineData("a.conf", "b.conf")]
    public async Task Bad_arguments_exit_2_with_a_pointer_to_the_help(params string[] args)
    {
        var (exit, _, stderr) = await RunAsync(args);

        Assert.Equal(2, exit);
        Assert.EndsWith("See 'restgres check --help'." + Environment.NewLine, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_and_the_lint_list_exit_0()
    {
        var help = await RunAsync("--help");
        var lints = await RunAsync("--lints");

        Assert.Equal((0, true), (help.Exit, help.Out.StartsWith("Usage: restgres check [--expect FILE] [--json] [--db-uri URI] [CONFIG_FILE]", StringComparison.Ordinal)));
        Assert.Equal(0, lints.Exit);
        Assert.All(Lints.All, l => Assert.Contains($"{l.Id} ({l.Level.ToString().ToUpperInvariant()})", lints.Out, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_malformed_expectations_file_exits_2_with_its_line_before_connecting()
    {
        var expect = WriteFile("check.expect", "table api.t\n  rls sometimes\n");

        var (exit, _, stderr) = await RunAsync("--expect", expect, "--db-uri", "postgresql://x@127.0.0.1:1/none");

        Assert.Equal(2, exit);
        Assert.Equal($"restgres check: {expect}:2: rls is 'on', 'off' or 'forced', not 'sometimes'{Environment.NewLine}", stderr);
    }

    [Fact]
    public async Task A_clean_database_exits_0_and_findings_exit_1_in_text_and_json_with_db_schemas_from_the_config_file()
    {
        var db = await pg.CreateDatabaseAsync(LintTests.Roles + """
            create table api.notes (id int primary key, body text);
            grant select on api.notes to chk_user;
            create table public.scratch (x int);
            """);
        try
        {
            // db-schemas from the file; the database from --db-uri, over the file's.
            var config = WriteFile("restgres.conf", """
                db-uri = "postgresql://nobody@127.0.0.1:1/none"
                db-schemas = "api"
                db-anon-role = "chk_anon"
                """);
            var expect = WriteFile("check.expect", """
                table api.notes
                  column body text null
                  rls off
                ignore no_primary_key public.scratch: a scratch table for this test
                """);

            var dirty = await RunAsync("--expect", expect, "--db-uri", db.Uri(), config);
            Assert.Equal(1, dirty.Exit);
            Assert.Contains("  ERROR rls_disabled_in_exposed api.notes", dirty.Out, StringComparison.Ordinal);
            Assert.Contains("fix: `alter table S.T enable row level security;`", dirty.Out, StringComparison.Ordinal);
            Assert.Contains("  ignored no_primary_key public.scratch: a scratch table for this test", dirty.Out, StringComparison.Ordinal);
            Assert.EndsWith("FAILED: 0 mismatches, 1 finding" + Environment.NewLine, dirty.Out, StringComparison.Ordinal);

            var json = await RunAsync("--json", "--expect", expect, "--db-uri", db.Uri(), config);
            Assert.Equal(1, json.Exit);
            using (var doc = JsonDocument.Parse(json.Out))
            {
                var root = doc.RootElement;
                Assert.False(root.GetProperty("clean").GetBoolean());
                Assert.Equal("api", Assert.Single(root.GetProperty("schemas").EnumerateArray()).GetString());
                Assert.Equal(3, root.GetProperty("checked").GetInt32());
                Assert.Equal(
                    ["rls_disabled_in_exposed api.notes ERROR -", "no_primary_key public.scratch INFO a scratch table for this test"],
                    root.GetProperty("findings").EnumerateArray().Select(f =>
                        $"{f.GetProperty("lint").GetString()} {f.GetProperty("object").GetString()} {f.GetProperty("level").GetString()} {f.GetProperty("ignored").GetString() ?? "-"}")
                        .Order(StringComparer.Ordinal).Reverse());
            }

            await db.ExecuteSqlAsync("""
                alter table api.notes enable row level security;
                create policy readers on api.notes for select to chk_user using (body is not null);
                """);
            File.WriteAllText(expect, File.ReadAllText(expect).Replace("rls off", "rls on", StringComparison.Ordinal));
            var clean = await RunAsync("--expect", expect, "--db-uri", db.Uri(), config);
            Assert.Equal((0, ""), (clean.Exit, clean.Err));
            Assert.EndsWith("clean" + Environment.NewLine, clean.Out, StringComparison.Ordinal);

            var mismatch = await RunAsync("--json", "--expect", WriteFile("wrong.expect", "table api.notes\n  rls off\n"), "--db-uri", db.Uri(), config);
            Assert.Equal(1, mismatch.Exit);
            using (var doc = JsonDocument.Parse(mismatch.Out))
            {
                var m = Assert.Single(doc.RootElement.GetProperty("mismatches").EnumerateArray());
                Assert.Equal((2, "api.notes", "row level security is on, expected off"),
                    (m.GetProperty("line").GetInt32(), m.GetProperty("object").GetString(), m.GetProperty("message").GetString()));
            }
        }
        finally
        {
            await db.DropAsync();
        }
    }
}
