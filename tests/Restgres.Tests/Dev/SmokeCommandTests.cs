using System.Net;
using System.Text;
using Restgres.Dev;
using Xunit;

namespace Restgres.Tests.Dev;

public sealed class SmokeCommandTests
{
    private static readonly Func<string, string?> NoEnv = _ => null;

    [Fact]
    public void Without_options_it_checks_the_dashboard_s_six_calls_on_the_dev_server()
    {
        var plan = SmokeCommand.ParseArgs([], NoEnv)!;

        Assert.Equal("http://127.0.0.1:3000/rest/v1", plan.Url);
        Assert.Null(plan.ApiKey);
        Assert.False(plan.Log);
        Assert.Equal(
            ["POST /rpc/variant_overview {}", "GET /v_conversion_funnel?select=* ", "POST /rpc/recent_completions {\"limit_count\":50}",
             "POST /rpc/completion_time_distribution {}", "POST /rpc/leaderboard {\"variant\":\"A\",\"limit_count\":10}",
             "POST /rpc/leaderboard {\"variant\":\"B\",\"limit_count\":10}"],
            plan.Checks.Select(c => $"{c.Method} {c.Path} {c.Body}"));
    }

    [Fact]
    public void Options_win_over_the_environment()
    {
        var env = new Dictionary<string, string> { ["RESTGRES_URL"] = "http://env:1/rest/v1", ["RESTGRES_APIKEY"] = "envkey" };

        var fromEnv = SmokeCommand.ParseArgs([], k => env.GetValueOrDefault(k))!;
        var fromArgs = SmokeCommand.ParseArgs(["--url=http://arg:2", "--apikey", "argkey", "--log", "--timeout", "2.5"], k => env.GetValueOrDefault(k))!;

        Assert.Equal(("http://env:1/rest/v1", "envkey"), (fromEnv.Url, fromEnv.ApiKey));
        Assert.Equal(("http://arg:2", "argkey", true, TimeSpan.FromSeconds(2.5)), (fromArgs.Url, fromArgs.ApiKey, fromArgs.Log, fromArgs.Timeout));
    }

    [Fact]
    public void A_config_file_gives_the_checks_with_POST_for_a_body()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """
                { "url": "http://file:3/rest/v1", "apikey": "k", "log_job": "nightly",
                  // comments and trailing commas are fine
                  "checks": [ { "name": "a", "path": "/v?select=*" }, { "path": "/rpc/f", "body": { "x": 1 }, "status": 204 }, ] }
                """);

            var plan = SmokeCommand.ParseArgs(["--config", path], NoEnv)!;

            Assert.Equal(("http://file:3/rest/v1", "k", "nightly"), (plan.Url, plan.ApiKey, plan.LogJob));
            Assert.Equal(new SmokeCheck("a", "GET", "/v?select=*", null), plan.Checks[0]);
            Assert.Equal(new SmokeCheck("/rpc/f", "POST", "/rpc/f", """{ "x": 1 }""", 204), plan.Checks[1]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("--url", "ftp://x")]
    [InlineData("--timeout", "soon")]
    [InlineData("--config", "/no/such/file.json")]
    [InlineData("--frobnicate")]
    [InlineData("--apikey")]
    public void Bad_arguments_are_refused(params string[] args) =>
        Assert.Throws<ArgumentException>(() => SmokeCommand.ParseArgs(args, NoEnv));

    [Theory]
    [InlineData("", true)]
    [InlineData(" [] ", true)]
    [InlineData("{}", true)]
    [InlineData("null", true)]
    [InlineData("[{\"a\":1}]", false)]
    [InlineData("0", false)]
    public void Empty_results_are_failures(string body, bool empty) => Assert.Equal(empty, SmokeCommand.IsEmpty(body));

    [Fact]
    public async Task A_failing_or_empty_check_fails_the_run_and_the_run_is_logged_with_the_key()
    {
        var seen = new List<HttpRequestMessage>();
        var bodies = new List<string>();
        using var http = new HttpClient(new Fake(async r =>
        {
            seen.Add(r);
            bodies.Add(r.Content is null ? "" : await r.Content.ReadAsStringAsync());
            return r.RequestUri!.AbsolutePath switch
            {
                "/rest/v1/ok" => Json(HttpStatusCode.OK, "[{\"x\":1},{\"x\":2}]"),
                "/rest/v1/empty" => Json(HttpStatusCode.OK, "[]"),
                "/rest/v1/rpc/log_analytics_run" => Json(HttpStatusCode.OK, "42"),
                _ => Json(HttpStatusCode.Unauthorized, "{\"code\":\"42501\",\"message\":\"permission denied for table events\"}"),
            };
        }));
        var plan = new SmokePlan("http://h/rest/v1", "KEY",
            [new("ok", "GET", "/ok", null), new("empty", "GET", "/empty", null), new("raw", "GET", "/events", null)],
            "smoke", Log: true, TimeSpan.FromSeconds(5));
        var output = new StringWriter();

        var exit = await SmokeCommand.RunAsync(plan, http, output);

        var report = output.ToString();
        Assert.Equal(1, exit);
        Assert.Matches(@"ok\s+ok\s+GET\s+/ok\s+200 .* 2 rows", report);
        Assert.Matches(@"FAIL\s+empty .*empty result", report);
        Assert.Matches(@"FAIL\s+raw .* 401 .*permission denied for table events", report);
        Assert.Contains("FAILED: 2 of 3 checks failed", report, StringComparison.Ordinal);
        Assert.Contains("recorded as smoke in analytics_run_log (id 42)", report, StringComparison.Ordinal);
        Assert.All(seen, r => Assert.Equal(("KEY", "Bearer KEY"), (r.Headers.GetValues("apikey").Single(), r.Headers.Authorization!.ToString())));
        Assert.StartsWith("{\"job_name\":\"smoke\",\"status\":\"failed\",\"duration_ms\":", bodies[^1], StringComparison.Ordinal);
    }

    private static HttpResponseMessage Json(HttpStatusCode status, string body) =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    private sealed class Fake(Func<HttpRequestMessage, Task<HttpResponseMessage>> answer) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => answer(request);
    }
}
