using System.Globalization;
using Restgres.Tests.Http;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Process;

/// <summary>
/// The restgres executable as an operator runs it: --help/--version, configuration errors, config file vs
/// environment, SIGUSR1 and SIGTERM.
/// </summary>
[Collection("pg")]
public sealed class ExecutableTests(PgClusterFixture pg, ProcessDatabase shared) : IClassFixture<ProcessDatabase>, IDisposable
{
    private readonly string _tempDir = Directory.CreateTempSubdirectory("restgres-proc-").FullName;

    public void Dispose() => Directory.Delete(_tempDir, recursive: true);

    private async Task<Dictionary<string, string>> ServerEnvAsync(int port) => new()
    {
        ["PGRST_DB_URI"] = (await shared.GetAsync(pg)).Uri("restgres_authenticator"),
        ["PGRST_DB_SCHEMAS"] = "api",
        ["PGRST_DB_ANON_ROLE"] = "web_anon",
        ["PGRST_DB_CHANNEL_ENABLED"] = "false",
        ["PGRST_SERVER_HOST"] = "127.0.0.1",
        ["PGRST_SERVER_PORT"] = port.ToString(CultureInfo.InvariantCulture),
    };

    private static async Task<Reply> GetAsync(int port, string path)
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        var headers = response.Headers.Concat(response.Content.Headers)
            .ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase);
        return new Reply((int)response.StatusCode, headers, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Help_prints_the_usage_and_exits_0()
    {
        var (code, stdout, _) = await RestgresProcess.RunAsync(["--help"]);
        Assert.Equal(0, code);
        Assert.StartsWith("Usage: restgres", stdout, StringComparison.Ordinal);
        Assert.Contains("restgres --version", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_prints_one_line_and_exits_0()
    {
        var (code, stdout, _) = await RestgresProcess.RunAsync(["--version"]);
        Assert.Equal(0, code);
        Assert.Matches(@"^restgres \d+\.\d+\.\d+\S* \(PostgREST 16 compatible\)\n$", stdout);
    }

    [Fact]
    public async Task An_invalid_environment_value_exits_1_with_one_line_naming_the_option()
    {
        var (code, stdout, stderr) = await RestgresProcess.RunAsync([], new Dictionary<string, string> { ["PGRST_DB_POOL"] = "abc" });
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        var lines = stderr.TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        Assert.Contains("db-pool", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_negative_rate_limit_stops_startup_with_one_line_naming_the_option()
    {
        var (code, stdout, stderr) = await RestgresProcess.RunAsync([], new Dictionary<string, string> { ["PGRST_SERVER_RATE_LIMITS"] = "anon=-5/min per ip" });
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal("Invalid server-rate-limits: 'anon=-5/min per ip': a limit cannot be negative (-5)\n", stderr);
    }

    [Fact]
    public async Task Rate_limit_sql_prints_the_shared_store_schema()
    {
        var (code, stdout, _) = await RestgresProcess.RunAsync(["--rate-limit-sql"]);
        Assert.Equal(0, code);
        Assert.Contains("create or replace function restgres.rate_limit_lease(", stdout, StringComparison.Ordinal);
        Assert.Contains("create unlogged table if not exists restgres.rate_limit_leases", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Schema_sql_prints_all_of_Restgres_own_schema()
    {
        var (code, stdout, _) = await RestgresProcess.RunAsync(["--schema-sql"]);
        Assert.Equal(0, code);
        Assert.Contains("create or replace function restgres.rate_limit_lease(", stdout, StringComparison.Ordinal);
        Assert.Contains("create table if not exists restgres.idempotency_keys", stdout, StringComparison.Ordinal);
        Assert.Contains("create or replace function restgres.idempotency_begin(", stdout, StringComparison.Ordinal);
        Assert.Contains("create table if not exists restgres.schedule_runs", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_applies_a_folder_with_the_database_from_PGRST_DB_URI_and_says_so_when_it_is_unreachable()
    {
        var db = await pg.CreateDatabaseAsync("select 1");
        var dir = Directory.CreateDirectory(Path.Combine(_tempDir, "migrations")).FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "20240101000000_init.sql"), "create table migrated (id int);\n");

        var (help, helpOut, _) = await RestgresProcess.RunAsync(["migrate", "--help"]);
        var (up, upOut, upErr) = await RestgresProcess.RunAsync(["migrate", "up", "--dir", dir], new Dictionary<string, string> { ["PGRST_DB_URI"] = db.Uri() });
        var (down, _, downErr) = await RestgresProcess.RunAsync(["migrate", "status", "--dir", dir, "--db-uri", $"postgresql://postgres@127.0.0.1:{RestgresProcess.FreePort()}/x"]);

        Assert.Equal(0, help);
        Assert.Contains("Usage: restgres migrate status", helpOut, StringComparison.Ordinal);
        Assert.True(up == 0, upErr);
        Assert.Contains("Applied 20240101000000_init.sql", upOut, StringComparison.Ordinal);
        Assert.NotNull(await db.ScalarAsync("select to_regclass('migrated')::text"));
        Assert.Equal(1, down);
        Assert.Contains("restgres migrate: cannot connect to the database at", downErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_cron_expression_stops_startup_naming_the_schedules_file_and_line()
    {
        var schedules = Path.Combine(_tempDir, "schedules.conf");
        await File.WriteAllTextAsync(schedules, "# nightly\ncleanup\n  cron 0 2 * * * * *\n  sql select 1\n");
        var env = await ServerEnvAsync(RestgresProcess.FreePort());
        env["PGRST_SERVER_SCHEDULES_FILE"] = schedules;

        var (code, _, stderr) = await RestgresProcess.RunAsync([], env);

        Assert.Equal(1, code);
        Assert.Contains($"Error in schedules file '{schedules}' (server-schedules-file), line 3: 'cron 0 2 * * * * *' has 7 fields", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_config_file_value_exits_1_with_one_line_naming_the_option()
    {
        var file = Path.Combine(_tempDir, "bad.conf");
        await File.WriteAllTextAsync(file, "db-uri = \"postgresql://nobody@127.0.0.1:1/x\"\nlog-level = \"loud\"\n");
        var (code, _, stderr) = await RestgresProcess.RunAsync([file]);
        Assert.Equal(1, code);
        var lines = stderr.TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        Assert.Contains("log-level", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unexpected_argument_exits_1()
    {
        var (code, _, stderr) = await RestgresProcess.RunAsync(["--bogus"]);
        Assert.Equal(1, code);
        Assert.Contains("--bogus", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_config_file_alone_configures_the_server_including_an_at_file_db_uri()
    {
        var db = await shared.GetAsync(pg);
        var port = RestgresProcess.FreePort();
        var uriFile = Path.Combine(_tempDir, "db-uri.txt");
        await File.WriteAllTextAsync(uriFile, db.Uri("restgres_authenticator") + "\n");
        var file = Path.Combine(_tempDir, "file-only.conf");
        await File.WriteAllTextAsync(file, $"""
            db-uri = "@{uriFile}"
            db-schemas = "api"
            db-anon-role = "web_anon"
            db-max-rows = 1
            db-channel-enabled = false
            server-host = "127.0.0.1"
            server-port = {port}
            """);
        await using var p = RestgresProcess.Start([file]);
        await p.WaitUntilListeningAsync(port);
        Expect.Ok(await GetAsync(port, "/items?order=id"), """[{"id":1}]""");
    }

    [Fact]
    public async Task The_environment_overrides_the_config_file()
    {
        var db = await shared.GetAsync(pg);
        var filePort = RestgresProcess.FreePort();
        var envPort = RestgresProcess.FreePort();
        var file = Path.Combine(_tempDir, "overridden.conf");
        await File.WriteAllTextAsync(file, $"""
            db-uri = "{db.Uri("restgres_authenticator")}"
            db-schemas = "api"
            db-anon-role = "web_anon"
            db-max-rows = 1
            db-channel-enabled = false
            server-host = "127.0.0.1"
            server-port = {filePort}
            """);
        await using var p = RestgresProcess.Start([file], new Dictionary<string, string>
        {
            ["PGRST_DB_MAX_ROWS"] = "2",
            ["PGRST_SERVER_PORT"] = envPort.ToString(CultureInfo.InvariantCulture),
        });
        await p.WaitUntilListeningAsync(envPort);
        Expect.Ok(await GetAsync(envPort, "/items?order=id"), Expect.Rows("""{"id":1}""", """{"id":2}"""));
        await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync(filePort, "/items"));
    }

    [Fact]
    public async Task Sigusr1_reloads_the_schema_cache_and_sigterm_stops_the_server_with_exit_code_0()
    {
        var port = RestgresProcess.FreePort();
        var db = await shared.GetAsync(pg);
        await using var p = RestgresProcess.Start([], await ServerEnvAsync(port));
        await p.WaitUntilListeningAsync(port);
        await db.ExecuteSqlAsync("create table api.signalled (id int primary key); insert into api.signalled values (1);");
        Assert.Equal(404, (await GetAsync(port, "/signalled")).Status);

        await p.SignalAsync("USR1");

        Assert.True(await ProcessDatabase.EventuallyAsync(async () => (await GetAsync(port, "/signalled")).Status, 200, TimeSpan.FromSeconds(15)),
            p.StdErr);
        Expect.Ok(await GetAsync(port, "/signalled"), """[{"id":1}]""");

        await p.SignalAsync("TERM");

        Assert.Equal(0, await p.WaitForExitAsync(TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task The_server_starts_while_the_database_is_unreachable_and_answers_503()
    {
        var port = RestgresProcess.FreePort();
        var env = await ServerEnvAsync(port);
        env["PGRST_DB_URI"] = $"postgresql://restgres_authenticator@127.0.0.1:{RestgresProcess.FreePort()}/nowhere";
        await using var p = RestgresProcess.Start([], env);
        await p.WaitUntilListeningAsync(port);
        var r = await GetAsync(port, "/items");
        Expect.Error(r, 503, "PGRST002", "Could not query the database for the schema cache. Retrying.");
        Assert.Matches(@"^\d+$", r.Header("Retry-After") ?? "");
    }

    [Fact]
    public async Task Without_automatic_recovery_an_unreachable_database_stops_the_server_with_exit_code_1()
    {
        var port = RestgresProcess.FreePort();
        var env = await ServerEnvAsync(port);
        env["PGRST_DB_URI"] = $"postgresql://restgres_authenticator@127.0.0.1:{RestgresProcess.FreePort()}/nowhere";
        env["PGRST_DB_POOL_AUTOMATIC_RECOVERY"] = "false";
        await using var p = RestgresProcess.Start([], env);
        Assert.Equal(1, await p.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("db-pool-automatic-recovery", p.StdErr, StringComparison.Ordinal);
    }
}
