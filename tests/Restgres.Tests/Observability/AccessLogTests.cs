using System.Text.Json;
using System.Text.RegularExpressions;
using Restgres.Config;
using Restgres.Tests.Admin;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Observability;

/// <summary>The access log of a real server: PostgREST's Apache line, log-level filtering, log-query, and the JSON lines.</summary>
[Collection("pg")]
public sealed partial class AccessLogTests(PgClusterFixture pg)
{
    [Fact]
    public async Task A_JSON_line_per_request_carries_request_id_role_method_path_status_duration_and_bytes()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        var (server, log) = await AdminKit.StartLoggedAsync(AdminKit.Config(db) with
        {
            LogLevel = LogLevel.Info,
            LogFormat = "json",
            ServerTraceHeader = "X-Request-Id",
        });
        await using (server)
        {
            var ok = await AdminKit.GetAsync(server.BaseAddress, "/items?id=eq.1&select=id", ("X-Request-Id", "req-42"), ("User-Agent", "tests/1.0"));
            Assert.Equal(200, ok.Status);
            Assert.Equal(401, (await AdminKit.GetAsync(server.BaseAddress, "/items", ("Authorization", "Bearer not.a.token"))).Status);

            var lines = await log.OutAsync();
            Assert.Equal(2, lines.Length);
            using var first = JsonDocument.Parse(lines[0]);
            var e = first.RootElement;
            Assert.Equal("req-42", e.GetProperty("request_id").GetString());
            Assert.Equal(AdminKit.Anon, e.GetProperty("role").GetString());
            Assert.Equal("GET", e.GetProperty("method").GetString());
            Assert.Equal("/items", e.GetProperty("path").GetString());
            Assert.Equal("id=eq.1&select=id", e.GetProperty("query").GetString());
            Assert.Equal(200, e.GetProperty("status").GetInt32());
            Assert.Equal(ok.Response.Content.Headers.ContentLength, e.GetProperty("bytes").GetInt64());
            Assert.True(e.GetProperty("duration_ms").GetDouble() > 0);
            Assert.Equal("info", e.GetProperty("level").GetString());
            Assert.Equal("127.0.0.1", e.GetProperty("remote").GetString());
            Assert.Equal("tests/1.0", e.GetProperty("user_agent").GetString());
            Assert.True(DateTimeOffset.TryParse(e.GetProperty("time").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
            Assert.False(e.TryGetProperty("sql", out _));

            using var second = JsonDocument.Parse(lines[1]);
            var f = second.RootElement;
            // Without a trace header a request id is generated; a failed authentication has no role.
            Assert.False(string.IsNullOrEmpty(f.GetProperty("request_id").GetString()));
            Assert.Equal(JsonValueKind.Null, f.GetProperty("role").ValueKind);
            Assert.Equal(401, f.GetProperty("status").GetInt32());
            Assert.Equal("warn", f.GetProperty("level").GetString());
        }
    }

    [Fact]
    public async Task The_text_access_line_is_PostgREST_Apache_format_on_stdout()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        var (server, log) = await AdminKit.StartLoggedAsync(AdminKit.Config(db) with { LogLevel = LogLevel.Info });
        await using (server)
        {
            var reply = await AdminKit.GetAsync(server.BaseAddress, "/items?select=id", ("User-Agent", "curl/7.64.0"), ("Referer", "http://example.com/"));
            var line = Assert.Single(await log.OutAsync());
            // 127.0.0.1 - user [26/Jul/2021:01:56:38 -0500] "GET /clients HTTP/1.1" 200 56 "" "curl/7.64.0"
            var m = ApacheLine().Match(line);
            Assert.True(m.Success, line);
            Assert.Equal("127.0.0.1", m.Groups["remote"].Value);
            Assert.Equal(AdminKit.Anon, m.Groups["user"].Value);
            Assert.Equal("GET", m.Groups["method"].Value);
            Assert.Equal("/items?select=id", m.Groups["target"].Value);
            Assert.Equal("200", m.Groups["status"].Value);
            Assert.Equal(reply.Response.Content.Headers.ContentLength.ToString(), m.Groups["size"].Value);
            Assert.Equal("http://example.com/", m.Groups["referer"].Value);
            Assert.Equal("curl/7.64.0", m.Groups["ua"].Value);
        }
    }

    [Theory]
    [InlineData(LogLevel.Crit, new int[0])]
    [InlineData(LogLevel.Error, new[] { 500 })]
    [InlineData(LogLevel.Warn, new[] { 404, 500 })]
    [InlineData(LogLevel.Info, new[] { 200, 404, 500 })]
    public async Task Log_level_decides_which_responses_are_logged_as_PostgREST_does(object levelValue, int[] logged)
    {
        var level = (LogLevel)levelValue;
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema + """
            create function api.boom() returns int language plpgsql as $$ begin raise exception 'boom' using errcode = 'PT500'; end $$;
            grant execute on function api.boom() to adm_anon;
            """);
        var (server, log) = await AdminKit.StartLoggedAsync(AdminKit.Config(db) with { LogLevel = level });
        await using (server)
        {
            Assert.Equal(200, await AdminKit.StatusAsync(server.BaseAddress, "/items"));
            Assert.Equal(404, await AdminKit.StatusAsync(server.BaseAddress, "/nope"));
            Assert.Equal(500, await AdminKit.StatusAsync(server.BaseAddress, "/rpc/boom"));
            var statuses = (await log.OutAsync()).Select(l => int.Parse(ApacheLine().Match(l).Groups["status"].Value, System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(logged, statuses);
        }
    }

    [Fact]
    public async Task A_plain_OPTIONS_is_logged_but_a_CORS_preflight_is_not()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        var (server, log) = await AdminKit.StartLoggedAsync(AdminKit.Config(db) with
        {
            LogLevel = LogLevel.Info,
            ServerCorsAllowedOrigins = ["http://example.com"],
        });
        await using (server)
        {
            using var client = new HttpClient();
            using var plain = new HttpRequestMessage(HttpMethod.Options, new Uri(server.BaseAddress, "/items"));
            Assert.Equal(200, (int)(await client.SendAsync(plain)).StatusCode);
            using var preflight = new HttpRequestMessage(HttpMethod.Options, new Uri(server.BaseAddress, "/items"));
            preflight.Headers.Add("Origin", "http://example.com");
            preflight.Headers.Add("Access-Control-Request-Method", "POST");
            var answer = await client.SendAsync(preflight);
            Assert.Equal("http://example.com", answer.Headers.GetValues("Access-Control-Allow-Origin").Single());

            var line = Assert.Single(await log.OutAsync());
            Assert.Contains("\"OPTIONS /items HTTP/1.1\" 200", line, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Log_query_logs_the_main_statement_before_the_access_line()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        var (server, log) = await AdminKit.StartLoggedAsync(AdminKit.Config(db) with { LogLevel = LogLevel.Info, LogQuery = true });
        await using (server)
        {
            Assert.Equal(200, await AdminKit.StatusAsync(server.BaseAddress, "/items?id=eq.2"));
            var err = await log.ErrAsync();
            var sql = Assert.Single(err);
            // PostgREST's logWithZTime: "time: statement", the statement on one line.
            Assert.Matches(@"^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}: WITH pgrst_source AS .*""api"".""items"".*\$1", sql);
            Assert.Single(await log.OutAsync());
        }
    }

    [Fact]
    public async Task Log_query_puts_the_statement_in_the_JSON_line()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        var (server, log) = await AdminKit.StartLoggedAsync(AdminKit.Config(db) with { LogLevel = LogLevel.Info, LogQuery = true, LogFormat = "json" });
        await using (server)
        {
            Assert.Equal(200, await AdminKit.StatusAsync(server.BaseAddress, "/rpc/slow?s=0"));
            using var doc = JsonDocument.Parse(Assert.Single(await log.OutAsync()));
            Assert.Contains("\"api\".\"slow\"", doc.RootElement.GetProperty("sql").GetString());
            Assert.Empty(await log.ErrAsync());
        }
    }

    [GeneratedRegex("""^(?<remote>\S+) - (?<user>\S+) \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "(?<method>[A-Z]+) (?<target>\S+) HTTP/1\.1" (?<status>\d{3}) (?<size>\d+|-) "(?<referer>[^"]*)" "(?<ua>[^"]*)"$""")]
    private static partial Regex ApacheLine();
}
