using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Npgsql;
using Restgres.Cli;
using Restgres.Dev;
using Restgres.Http;
using Xunit;

namespace Restgres.Tests.Dev;

/// <summary>
/// A _cluster of its own, configured as <c>restgres dev</c> configures its own (pg_cron preloaded): the
/// dev roles (anon, authenticated) must not leak into the shared test _cluster. It holds both apps: the A/B dashboard
/// (schema public) and the built-in to-do demo (schema api) that a binary without the examples folder serves.
/// </summary>
public sealed class DevClusterFixture : IAsyncLifetime
{
    private PostgresCluster? _cluster;

    public PostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("not started");

    public DevApp App { get; } = DevApp.Locate();

    public async Task InitializeAsync()
    {
        Assert.True(App.IsDashboard, $"{DevApp.RelativePath} not found above {Environment.CurrentDirectory}");
        _cluster = await PostgresCluster.CreateTemporaryAsync(DevCommand.ClusterOptionsFor(PostgresBinaries.Locate()));
        // Twice, as every `restgres dev` run after the first does: the second run keeps the data it finds.
        await DevCommand.PrepareDatabaseAsync(_cluster, App, events: 20_000, CancellationToken.None);
        await DevCommand.PrepareDatabaseAsync(_cluster, App, events: null, CancellationToken.None);
        await DevCommand.PrepareDatabaseAsync(_cluster, DevApp.Embedded, events: null, CancellationToken.None);
        await DevCommand.PrepareDatabaseAsync(_cluster, DevApp.Embedded, events: null, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
            await _cluster.DisposeAsync();
    }
}

public sealed partial class DevCommandTests(DevClusterFixture fixture) : IClassFixture<DevClusterFixture>
{
    [Fact]
    public async Task Preparing_twice_keeps_the_generated_data_and_one_copy_of_the_demo_data()
    {
        Assert.Equal(200L, await AsRoleAsync("authenticated", "select count(*) from users"));
        Assert.Equal(20_000L, await AsRoleAsync("authenticated", "select count(*) from events"));
        Assert.Equal(4L, await AsRoleAsync("anon", "select count(*) from api.todos"));
        Assert.Equal(2L, await AsRoleAsync("anon", "select count(*) from api.categories"));
    }

    [Fact]
    public async Task Anon_reads_the_dashboard_but_not_the_raw_tables()
    {
        Assert.Equal(2L, await AsRoleAsync("anon", "select count(*) from v_conversion_funnel"));
        Assert.Equal("B", await AsRoleAsync("anon", "select variant_overview() -> 'comparison' ->> 'leader'"));
        var e = await Assert.ThrowsAsync<PostgresException>(() => AsRoleAsync("anon", "select count(*) from events"));
        Assert.Equal("42501", e.SqlState); // insufficient_privilege: PostgREST answers 401 for anon
    }

    // pg_cron is part of the test environment (scripts/ensure-deps.sh core, which ./test.sh runs), so its absence is a
    // broken setup to report, not a reason to pass: without it the server runs the schedule itself (SchedulerTests).
    [Fact]
    public async Task The_dev_server_hands_the_dashboard_s_refresh_schedule_to_pg_cron_which_logs_its_runs()
    {
        Assert.True(PostgresBinaries.Locate().HasModule("pg_cron"),
            "pg_cron is not installed for this PostgreSQL; run scripts/ensure-deps.sh (Debian package postgresql-15-cron)");
        var dev = DevCommand.BuildConfig(fixture.Cluster, 0, fixture.App);
        await DevServer.PrepareSchedulesAsync(dev, CancellationToken.None);
        await using var server = await ApiServer.StartAsync(DevServer.AppConfigFor(dev) with { LogLevel = Restgres.Config.LogLevel.Crit },
            CancellationToken.None, _ => { });

        Assert.True(await Restgres.Tests.Admin.AdminKit.EventuallyAsync(async () => await AsRoleAsync("postgres",
            "select count(*) from cron.job where jobname = 'restgres:refresh_dashboard_aggregates' and schedule = '* * * * *' and username = 'authenticator'",
            asSuperuser: true) is 1L), "the schedule is registered with pg_cron");
        Assert.Equal(0L, await AsRoleAsync("postgres", "select count(*) from cron.job where jobname = 'refresh_dashboard_aggregates'", asSuperuser: true));
        Assert.Equal(["refresh_dashboard_aggregates"], server.Scheduler!.PgCronJobs);

        // What pg_cron runs every minute, run now as the job's user.
        var command = (string)(await AsRoleAsync("postgres", "select command from cron.job where jobname = 'restgres:refresh_dashboard_aggregates'", asSuperuser: true))!;
        await AsRoleAsync("authenticator", command);

        Assert.Equal("ok pg_cron", await AsRoleAsync("postgres",
            "select status || ' ' || runner from restgres.schedule_runs where job = 'refresh_dashboard_aggregates' order by id desc limit 1", asSuperuser: true));
        Assert.Equal("ok", await AsRoleAsync("postgres",
            "select status from analytics_run_log where job_name = 'refresh_dashboard_aggregates' order by id desc limit 1", asSuperuser: true));
    }

    [Fact]
    public async Task The_to_do_demo_still_lets_anon_read_but_not_write()
    {
        Assert.Equal(3L, await AsRoleAsync("anon", "select count(*) from api.open_todos"));
        Assert.Equal(3, await AsRoleAsync("anon", "select api.add_them(1, 2)"));
        var e = await Assert.ThrowsAsync<PostgresException>(
            () => AsRoleAsync("anon", "insert into api.todos (task) values ('nope') returning id"));
        Assert.Equal("42501", e.SqlState);
    }

    [Fact]
    public void The_config_serves_the_dashboard_schema_under_the_root_and_rest_v1()
    {
        var config = DevServer.AppConfigFor(DevCommand.BuildConfig(fixture.Cluster, 3123, fixture.App));

        Assert.Equal($"postgresql://authenticator:{DevCommand.AuthenticatorPassword}@127.0.0.1:{fixture.Cluster.Port}/postgres", config.DbUri);
        Assert.Equal<string>(["public"], config.DbSchemas);
        Assert.Equal<string>(["/rest/v1"], config.ServerPathPrefixes);
        Assert.Equal("anon", config.DbAnonRole);
        Assert.Equal("127.0.0.1", config.ServerHost);
        Assert.Equal(3123, config.ServerPort);
        Assert.Equal(DevCommand.JwtSecret, config.JwtSecret);
        Assert.Equal(fixture.App.WebBuilt ? fixture.App.WebDist : null, config.ServerStaticDir);
        Assert.Equal(Restgres.Config.LogLevel.Info, config.LogLevel);
        Assert.Equal("api", DevCommand.BuildConfig(fixture.Cluster, 3123, DevApp.Embedded).DbSchema);
    }

    [Fact]
    public async Task The_printed_token_is_a_valid_HS256_token_for_the_authenticated_role()
    {
        var result = await Validate(DevCommand.DevToken());

        Assert.True(result.IsValid, result.Exception?.Message);
        Assert.Equal("authenticated", result.Claims["role"]);
    }

    [Fact]
    public async Task The_anon_key_is_a_valid_HS256_token_for_anon_and_the_one_the_web_page_ships()
    {
        var result = await Validate(DevCommand.AnonKey);

        Assert.True(result.IsValid, result.Exception?.Message);
        Assert.Equal("anon", result.Claims["role"]);
        var configJs = await File.ReadAllTextAsync(Path.Combine(fixture.App.Directory!, "web", "public", "config.js"));
        Assert.Equal(DevCommand.AnonKey, AnonKeyInConfig().Match(configJs).Groups[1].Value);
    }

    [Fact]
    public void The_banner_shows_the_dashboard_the_anon_key_and_the_issue_s_curl_calls()
    {
        var banner = DevCommand.Banner(DevCommand.BuildConfig(fixture.Cluster, 3000, fixture.App), fixture.Cluster, fixture.App, cronScheduled: true);

        Assert.Contains("export URL=http://127.0.0.1:3000", banner, StringComparison.Ordinal);
        Assert.Contains($"export ANON_KEY={DevCommand.AnonKey}", banner, StringComparison.Ordinal);
        Assert.Contains("""curl -X POST "$URL/rest/v1/rpc/variant_overview" -H "apikey: $ANON_KEY" -H "Authorization: Bearer $ANON_KEY" -H "Content-Type: application/json" -d '{}'""", banner, StringComparison.Ordinal);
        Assert.Contains("""curl "$URL/rest/v1/v_conversion_funnel?select=*" -H "apikey: $ANON_KEY" -H "Authorization: Bearer $ANON_KEY""", banner, StringComparison.Ordinal);
        Assert.Contains("""-d '{"limit_count":50}'""", banner, StringComparison.Ordinal);
        Assert.Contains("/rest/v1/rpc/completion_time_distribution", banner, StringComparison.Ordinal);
        Assert.Contains("""-d '{"variant":"A","limit_count":10}'""", banner, StringComparison.Ordinal);
        Assert.Contains("""-d '{"variant":"B","limit_count":10}'""", banner, StringComparison.Ordinal);
        Assert.Contains("pg_cron", banner, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_static_folder_serves_the_page_beside_an_unchanged_API()
    {
        var dir = Directory.CreateTempSubdirectory("restgres-static-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "index.html"), "<!doctype html><title>dash</title>");
            Directory.CreateDirectory(Path.Combine(dir, "assets"));
            await File.WriteAllTextAsync(Path.Combine(dir, "assets", "index-AbCdEf12.js"), "console.log(1)");
            await File.WriteAllTextAsync(Path.Combine(dir, ".secret"), "no");
            // A file named like a view: the API wins.
            await File.WriteAllTextAsync(Path.Combine(dir, "v_conversion_funnel"), "shadow");
            var config = DevServer.AppConfigFor(DevCommand.BuildConfig(fixture.Cluster, 0, fixture.App)) with { ServerStaticDir = dir, LogLevel = Restgres.Config.LogLevel.Crit };
            await using var server = await ApiServer.StartAsync(config, CancellationToken.None, _ => { });
            using var http = new HttpClient { BaseAddress = server.BaseAddress };

            using var page = await http.SendAsync(Get("/", "text/html,application/xhtml+xml"));
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html; charset=utf-8", page.Content.Headers.ContentType?.ToString());
            Assert.Contains("<title>dash</title>", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            using var openApi = await http.SendAsync(Get("/", "*/*"));
            Assert.Equal("application/openapi+json", openApi.Content.Headers.ContentType?.MediaType);

            using var asset = await http.SendAsync(Get("/assets/index-AbCdEf12.js", "*/*"));
            Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
            Assert.Equal("public, max-age=31536000, immutable", asset.Headers.CacheControl?.ToString());
            var etag = asset.Headers.ETag!;
            var again = Get("/assets/index-AbCdEf12.js", "*/*");
            again.Headers.IfNoneMatch.Add(etag);
            using var notModified = await http.SendAsync(again);
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

            using var view = await http.SendAsync(Get("/v_conversion_funnel", "*/*"));
            Assert.Equal(HttpStatusCode.OK, view.StatusCode);
            Assert.StartsWith("[{\"variant\":\"A\"", await view.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            using var prefixed = await http.SendAsync(Get("/rest/v1/v_conversion_funnel?select=variant", "*/*"));
            Assert.Equal(HttpStatusCode.OK, prefixed.StatusCode);

            using var hidden = await http.SendAsync(Get("/.secret", "*/*"));
            Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
            using var climbing = await http.SendAsync(Get("/assets/%2e%2e/%2e%2e/etc/passwd", "*/*"));
            Assert.NotEqual(HttpStatusCode.OK, climbing.StatusCode);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(new string[0], ".restgres", 3000, null)]
    [InlineData(new[] { "--data-dir", "/tmp/x", "--port", "3100", "--pg-port", "6543" }, "/tmp/x", 3100, 6543)]
    [InlineData(new[] { "--data-dir=/tmp/y", "--port=3200" }, "/tmp/y", 3200, null)]
    public void Arguments_are_parsed(string[] args, string dataDir, int port, int? pgPort)
    {
        var options = DevCommand.ParseArgs(args);

        Assert.NotNull(options);
        Assert.Equal(Path.GetFullPath(dataDir), options.DataDir);
        Assert.Equal(port, options.ApiPort);
        Assert.Equal(pgPort, options.PgPort);
        Assert.Null(options.AppDir);
        Assert.Null(options.Events);
    }

    [Fact]
    public void The_app_folder_and_a_new_data_size_can_be_given()
    {
        var options = DevCommand.ParseArgs(["--app", "/tmp/app", "--events=1000000"]);

        Assert.NotNull(options);
        Assert.Equal("/tmp/app", options.AppDir);
        Assert.Equal(1_000_000L, options.Events);
    }

    [Theory]
    [InlineData("--port", "http")]
    [InlineData("--port", "70000")]
    [InlineData("--pg-port")]
    [InlineData("--events", "many")]
    [InlineData("--events", "0")]
    [InlineData("--app", "")]
    [InlineData("--frobnicate")]
    [InlineData("extra")]
    public void Bad_arguments_are_refused(params string[] args) =>
        Assert.Throws<ArgumentException>(() => DevCommand.ParseArgs(args));

    [Fact]
    public void Help_is_not_an_error() => Assert.Null(DevCommand.ParseArgs(["--help"]));

    [Fact]
    public void A_folder_without_the_migrations_is_not_taken_for_the_app() =>
        Assert.Throws<ArgumentException>(() => DevApp.At(Path.GetTempPath()));

    [Fact]
    public void Migrations_apply_in_the_order_of_their_numbers()
    {
        var names = fixture.App.Migrations().Select(Path.GetFileName).ToList();

        Assert.Equal("001_roles.sql", names[0]);
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
    }

    private static HttpRequestMessage Get(string path, string accept)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Accept", accept);
        return request;
    }

    private static Task<TokenValidationResult> Validate(string token) =>
        new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidateAudience = false,
            ValidateIssuer = false,
            IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(DevCommand.JwtSecret)),
        });

    [GeneratedRegex("anonKey: '([^']+)'")]
    private static partial Regex AnonKeyInConfig();

    /// <summary>As PostgREST does it: log in as the authenticator, then SET ROLE within a transaction.</summary>
    private async Task<object?> AsRoleAsync(string role, string sql, bool asSuperuser = false)
    {
        var cs = new NpgsqlConnectionStringBuilder(asSuperuser
            ? fixture.Cluster.ConnectionString
            : fixture.Cluster.ConnectionStringFor("postgres", "authenticator", DevCommand.AuthenticatorPassword)) { Pooling = false }.ConnectionString;
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync();
        await using var tx = await conn.BeginTransactionAsync();
        if (!asSuperuser)
        {
            await using var set = new NpgsqlCommand($"set local role {role}", conn, tx);
            await set.ExecuteNonQueryAsync();
        }
        await using var cmd = new NpgsqlCommand(sql, conn, tx);
        var value = await cmd.ExecuteScalarAsync();
        await tx.CommitAsync();
        return value;
    }
}
