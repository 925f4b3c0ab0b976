using System.Text.Json;
using Restgres.Config;
using Restgres.Tests.Http;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Examples;

/// <summary>
/// The click analytics app (examples/click-analytics) served by Restgres from its own restgres.conf and routes.conf
/// over its migrations and seed (55 users, 500 clicks): the old FastAPI service's contract, row by row (README.md),
/// over real HTTP.
/// </summary>
public sealed class ClickAnalytics() : ExampleAppServers("click-analytics", "clicks_authenticator", "anon, authenticated")
{
    public const string Secret = "clicks-tests-secret-clicks-tests-secret";

    /// <summary>Requests per batch on the grouping server, whose window is long enough that only this bound flushes.</summary>
    public const int BatchSize = 4;

    public override string JwtSecret => Secret;

    protected override IEnumerable<string> SeedFiles => [Path.Combine(AppDir, "dev.sql")];

    // The fold schedule (schedules.conf) logs its runs in Restgres's run log, installed as `restgres dev` does.
    protected override bool UsesRestgresSchema => true;

    protected override string SeedSql => """
        grant usage on schema restgres to clicks_authenticator;
        grant execute on function restgres.run_scheduled(text, text, text, timestamptz, text),
          restgres.record_scheduled_run(text, text, timestamptz, timestamptz, text, bigint, text) to clicks_authenticator;
        """;


    /// <summary>The app's config with a ten-minute group-commit window and batches of <see cref="BatchSize"/>: which
    /// requests share a transaction is decided by the test, never by timing.</summary>
    public Task<TestServer> GroupingServerAsync(PgClusterFixture pg) =>
        ServerAsync(pg, "grouping", c => c with { DbGroupCommitWindow = 600_000, DbGroupCommitMaxRequests = BatchSize });
}

[Collection("pg")]
public sealed class ClickAnalyticsTests(PgClusterFixture pg, ClickAnalytics app) : IClassFixture<ClickAnalytics>
{
    private static readonly (string, string) Json = ("Content-Type", "application/json");

    private static (string, string) Bearer(string token) => ("Authorization", "Bearer " + token);

    private static string Tag() => "t" + Random.Shared.Next(1_000_000, 9_999_999);

    /// <summary>Clicks of features named like <paramref name="pattern"/> as /analytics counts them: folded into the
    /// rollup, or not yet (one statement, one snapshot: each click once, whenever the fold runs).</summary>
    private Task<long> CountedAsync(string pattern) => ScalarAsync($"""
        select coalesce(sum(clicks), 0) from (select feature_name, clicks from api.feature_rollup
                                              union all select feature_name, clicks from analytics.unfolded_counts()) r
        where feature_name like '{pattern}'
        """);

    private static JsonElement Parse(Reply r)
    {
        using var doc = JsonDocument.Parse(r.Body);
        return doc.RootElement.Clone();
    }

    private static void AssertDetail(Reply r, int status, string detail)
    {
        Assert.True(r.Status == status, r.ToString());
        Assert.Equal(detail, Assert.Single(Parse(r).EnumerateObject(), p => p.Name == "detail").Value.GetString());
        Assert.Single(Parse(r).EnumerateObject());
    }

    private async Task<(string Token, long Id)> LoginAsync(string email = "user1@example.com")
    {
        var s = await app.ServerAsync(pg);
        var r = await s.SendAsync(HttpMethod.Post, "/auth/login", $$"""{"email":"{{email}}","password":"test123"}""", Json);
        Assert.True(r.Status == 200, r.ToString());
        var j = Parse(r);
        return (j.GetProperty("access_token").GetString()!, j.GetProperty("user").GetProperty("id").GetInt64());
    }

    private Task<long> ScalarAsync(string sql) => app.Database.ScalarAsync(sql).ContinueWith(t => Convert.ToInt64(t.Result, System.Globalization.CultureInfo.InvariantCulture), TaskScheduler.Default);

    [Fact]
    public async Task Register_returns_a_token_and_the_user_and_a_known_email_is_400()
    {
        var s = await app.ServerAsync(pg);
        var t = Tag();
        var body = $$"""{"email":"{{t}}@example.com","password":"secret1","username":"{{t}}","age":33,"gender":"Female"}""";
        var r = await s.SendAsync(HttpMethod.Post, "/auth/register", body, Json);
        Assert.True(r.Status == 200, r.ToString());
        var j = Parse(r);
        Assert.Equal(["access_token", "token_type", "user"], j.EnumerateObject().Select(p => p.Name));
        Assert.Equal("bearer", j.GetProperty("token_type").GetString());
        var user = j.GetProperty("user");
        Assert.Equal(["id", "email", "username", "age", "gender"], user.EnumerateObject().Select(p => p.Name));
        Assert.Equal(($"{t}@example.com", t, 33, "Female"), (user.GetProperty("email").GetString(), user.GetProperty("username").GetString(),
            user.GetProperty("age").GetInt32(), user.GetProperty("gender").GetString()));
        // The token works at once.
        var track = await s.SendAsync(HttpMethod.Post, "/track", """{"feature_name":"date_picker"}""", Json, Bearer(j.GetProperty("access_token").GetString()!));
        Assert.True(track.Status == 200, track.ToString());

        AssertDetail(await s.SendAsync(HttpMethod.Post, "/auth/register", body.Replace(t + "\"", t + "x\"", StringComparison.Ordinal), Json),
            400, "Email already registered");
    }

    [Theory]
    [InlineData("""{"email":"a@example.com","password":"12345","username":"abc","age":30,"gender":"Male"}""", "password must be at least 6 characters")]
    [InlineData("""{"email":"a@example.com","password":"123456","username":"ab","age":30,"gender":"Male"}""", "username must be 3 to 50 characters")]
    [InlineData("""{"email":"a@example.com","password":"123456","username":"abc","age":0,"gender":"Male"}""", "age must be between 1 and 120")]
    [InlineData("""{"email":"a@example.com","password":"123456","username":"abc","age":121,"gender":"Male"}""", "age must be between 1 and 120")]
    [InlineData("""{"email":"a@example.com","password":"123456","username":"abc","age":30,"gender":"Robot"}""", "gender must be Male, Female or Other")]
    [InlineData("""{"email":"a@example.com","password":"123456","username":"abc","age":30}""", "gender must be Male, Female or Other")]
    [InlineData("""{"email":"nope","password":"123456","username":"abc","age":30,"gender":"Male"}""", "email must be a valid email address")]
    public async Task Register_refuses_invalid_fields_with_422(string body, string detail)
    {
        var s = await app.ServerAsync(pg);
        AssertDetail(await s.SendAsync(HttpMethod.Post, "/auth/register", body, Json), 422, detail);
    }

    [Fact]
    public async Task Login_returns_the_register_shape()
    {
        var s = await app.ServerAsync(pg);
        var r = await s.SendAsync(HttpMethod.Post, "/auth/login", """{"email":"user1@example.com","password":"test123"}""", Json);
        Assert.True(r.Status == 200, r.ToString());
        var j = Parse(r);
        Assert.Equal(["access_token", "token_type", "user"], j.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["id", "email", "username", "age", "gender"], j.GetProperty("user").EnumerateObject().Select(p => p.Name));
        Assert.Equal("user01", j.GetProperty("user").GetProperty("username").GetString());
    }

    [Theory]
    [InlineData("""{"email":"user1@example.com","password":"wrong1"}""")]
    [InlineData("""{"email":"nobody@example.com","password":"test123"}""")]
    [InlineData("""{"email":"user1@example.com"}""")]
    [InlineData("""{}""")]
    public async Task Any_failed_login_is_401_Invalid_email_or_password(string body)
    {
        var s = await app.ServerAsync(pg);
        AssertDetail(await s.SendAsync(HttpMethod.Post, "/auth/login", body, Json), 401, "Invalid email or password");
    }

    [Fact]
    public async Task Track_answers_the_old_message_and_records_the_click_for_the_tokens_user()
    {
        var s = await app.ServerAsync(pg);
        var (token, id) = await LoginAsync("user7@example.com");
        var t = Tag();
        var r = await s.SendAsync(HttpMethod.Post, "/track", $$"""{"feature_name":"{{t}}"}""", Json, Bearer(token));
        Assert.True(r.Status == 200, r.ToString());
        Assert.Equal($$"""{"success" : true, "message" : "Event '{{t}}' tracked successfully"}""", r.Body);
        Assert.Equal(id, await ScalarAsync($"select user_id from api.feature_clicks where feature_name = '{t}'"));
        // Counted in everyone's analytics at once (folded into the rollup or not yet).
        var other = (await LoginAsync("user8@example.com")).Token;
        var a = Parse(await s.GetAsync("/analytics", Bearer(other)));
        Assert.Contains(a.GetProperty("feature_counts").EnumerateArray(), f => f.GetProperty("feature_name").GetString() == t && f.GetProperty("count").GetInt64() == 1);

        AssertDetail(await s.SendAsync(HttpMethod.Post, "/track", """{"feature_name":""}""", Json, Bearer(token)), 422, "feature_name must be 1 to 100 characters");
        AssertDetail(await s.SendAsync(HttpMethod.Post, "/track", $$"""{"feature_name":"{{new string('x', 101)}}"}""", Json, Bearer(token)), 422,
            "feature_name must be 1 to 100 characters");
    }

    [Fact]
    public async Task A_retried_event_id_is_answered_the_same_and_inserted_once()
    {
        var s = await app.ServerAsync(pg);
        var (token, _) = await LoginAsync("user2@example.com");
        var t = Tag();
        var body = $$"""{"feature_name":"{{t}}","event_id":"{{Guid.NewGuid()}}"}""";
        var first = await s.SendAsync(HttpMethod.Post, "/track", body, Json, Bearer(token));
        var retry = await s.SendAsync(HttpMethod.Post, "/track", body, Json, Bearer(token));
        Assert.Equal((200, first.Body), (retry.Status, retry.Body));
        Assert.Equal(1L, await ScalarAsync($"select count(*) from api.feature_clicks where feature_name = '{t}'"));
        Assert.Equal(1L, await CountedAsync(t));
    }

    [Fact]
    public async Task The_batch_form_inserts_an_array_once_for_the_tokens_user_whatever_the_body_says()
    {
        var s = await app.ServerAsync(pg);
        var (token, id) = await LoginAsync("user3@example.com");
        var t = Tag();
        var (e1, e2) = (Guid.NewGuid(), Guid.NewGuid());
        // A user_id in the body is not a column the route takes: the click is the token's user's.
        var body = $$"""[{"feature_name":"{{t}}a","event_id":"{{e1}}"},{"feature_name":"{{t}}b","event_id":"{{e2}}","user_id":1},{"feature_name":"{{t}}c"}]""";
        var r = await s.SendAsync(HttpMethod.Post, "/track/batch", body, Json, Bearer(token));
        Assert.True(r.Status == 201, r.ToString());
        Assert.Equal("", r.Body);
        var retry = await s.SendAsync(HttpMethod.Post, "/track/batch", body, Json, Bearer(token));
        Assert.Equal(201, retry.Status);
        // The two events with ids once; the one without an id is a new event each time.
        Assert.Equal(4L, await ScalarAsync($"select count(*) from api.feature_clicks where feature_name like '{t}%' and user_id = {id}"));
        Assert.Equal(4L, await ScalarAsync($"select count(*) from api.feature_clicks where feature_name like '{t}%'"));
        Assert.Equal(4L, await CountedAsync(t + "%"));
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("expired")]
    [InlineData("tampered")]
    [InlineData("wrong secret")]
    public async Task A_bad_or_expired_token_is_401_Invalid_or_expired_token(string kind)
    {
        var s = await app.ServerAsync(pg);
        var (token, _) = await LoginAsync();
        var headers = kind switch
        {
            "missing" => Array.Empty<(string, string)>(),
            "expired" => [Bearer(Sign("""{"sub":"1","user_id":1,"role":"authenticated","exp":1700000000}""", ClickAnalytics.Secret))],
            "tampered" => [Bearer(token[..^3] + "AAA")],
            _ => [Bearer(Sign("""{"sub":"1","user_id":1,"role":"authenticated"}""", "another-secret-another-secret-another-secret"))],
        };
        foreach (var (method, path, body) in new[] { (HttpMethod.Post, "/track", """{"feature_name":"x"}"""),
                     (HttpMethod.Post, "/track/batch", """[{"feature_name":"x"}]"""), (HttpMethod.Get, "/analytics", null) })
        {
            var r = await s.SendAsync(method, path, body, [Json, .. headers]);
            AssertDetail(r, 401, "Invalid or expired token");
            Assert.StartsWith("Bearer", r.Header("WWW-Authenticate"), StringComparison.Ordinal);
        }
    }

    private static string Sign(string claims, string secret)
    {
        static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var signed = B64("""{"alg":"HS256","typ":"JWT"}"""u8.ToArray()) + "." + B64(System.Text.Encoding.UTF8.GetBytes(claims));
        return signed + "." + B64(System.Security.Cryptography.HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret), System.Text.Encoding.UTF8.GetBytes(signed)));
    }

    [Fact]
    public async Task Analytics_counts_features_by_count_and_days_by_date_with_the_old_filters()
    {
        var s = await app.ServerAsync(pg);
        var auth = Bearer((await LoginAsync()).Token);
        var all = Parse(await s.GetAsync("/analytics", auth));
        Assert.Equal(["feature_counts", "daily_counts"], all.EnumerateObject().Select(p => p.Name));
        var features = all.GetProperty("feature_counts").EnumerateArray().ToList();
        Assert.All(features, f => Assert.Equal(["feature_name", "count"], f.EnumerateObject().Select(p => p.Name)));
        Assert.Equal(features.Select(f => f.GetProperty("count").GetInt64()).OrderDescending(), features.Select(f => f.GetProperty("count").GetInt64()));
        var days = all.GetProperty("daily_counts").EnumerateArray().Select(d => d.GetProperty("date").GetString()!).ToList();
        Assert.Equal(days.Order(StringComparer.Ordinal), days);
        Assert.All(days, d => Assert.Matches(@"^\d{4}-\d{2}-\d{2}$", d));
        Assert.Equal(await ScalarAsync("select count(*) from api.feature_clicks"), features.Sum(f => f.GetProperty("count").GetInt64()));

        // feature_name narrows the daily counts only.
        var one = Parse(await s.GetAsync("/analytics?feature_name=chart_bar", auth));
        Assert.Equal(all.GetProperty("feature_counts").GetRawText(), one.GetProperty("feature_counts").GetRawText());
        Assert.Equal(await ScalarAsync("select count(*) from api.feature_clicks where feature_name = 'chart_bar'"),
            one.GetProperty("daily_counts").EnumerateArray().Sum(d => d.GetProperty("count").GetInt64()));

        // Age group (as the URL carries it) and gender, against the raw clicks; the React client's empty parameters.
        var young = Parse(await s.GetAsync("/analytics?start_date=&end_date=&age_group=%3C18&gender=Female&feature_name=", auth));
        Assert.Equal(await ScalarAsync("select count(*) from api.feature_clicks c join api.profiles p on p.id = c.user_id where p.age < 18 and p.gender = 'Female'"),
            young.GetProperty("feature_counts").EnumerateArray().Sum(f => f.GetProperty("count").GetInt64()));
        var old = Parse(await s.GetAsync("/analytics?age_group=%3E40", auth));
        Assert.Equal(await ScalarAsync("select count(*) from api.feature_clicks c join api.profiles p on p.id = c.user_id where p.age > 40"),
            old.GetProperty("daily_counts").EnumerateArray().Sum(d => d.GetProperty("count").GetInt64()));

        // A date range, both ends included.
        var last = days[^1];
        var range = Parse(await s.GetAsync($"/analytics?start_date={last}&end_date={last}", auth));
        Assert.Equal(last, Assert.Single(range.GetProperty("daily_counts").EnumerateArray()).GetProperty("date").GetString());

        var none = await s.GetAsync("/analytics?start_date=1999-01-01&end_date=1999-12-31", auth);
        Assert.True(none.Status == 200, none.ToString());
        Assert.Equal("""{"feature_counts" : [], "daily_counts" : []}""", none.Body);
        AssertDetail(await s.GetAsync("/analytics?age_group=teen", auth), 422, "age_group must be <18, 18-40 or >40");
        AssertDetail(await s.GetAsync("/analytics?start_date=soon", auth), 422, "start_date and end_date must be dates (YYYY-MM-DD)");
    }

    [Fact]
    public async Task Health_and_root_answer_without_a_token()
    {
        var s = await app.ServerAsync(pg);
        var health = await s.GetAsync("/health");
        Assert.Equal((200, """{"status" : "healthy"}"""), (health.Status, health.Body));
        var root = await s.GetAsync("/");
        Assert.Equal(200, root.Status);
        Assert.Equal(["message", "status"], Parse(root).EnumerateObject().Select(p => p.Name));
        Assert.Equal("running", Parse(root).GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("/dashboard/", "text/html")]
    [InlineData("/dashboard", "text/html")]
    [InlineData("/dashboard/app.js", "text/javascript")]
    [InlineData("/dashboard/charts.js", "text/javascript")]
    [InlineData("/dashboard/style.css", "text/css")]
    public async Task The_dashboard_page_is_served_from_web_by_the_server_itself(string path, string type)
    {
        var s = await app.ServerAsync(pg);
        var r = await s.GetAsync(path);
        Assert.True(r.Status == 200, r.ToString());
        Assert.StartsWith(type, r.Header("Content-Type"), StringComparison.Ordinal);
        Assert.NotEmpty(r.Body);
    }

    [Fact]
    public async Task The_page_shadows_none_of_the_old_urls()
    {
        var s = await app.ServerAsync(pg);
        // A browser's Accept at / still reaches the route (the old JSON), not a page.
        var root = await s.GetAsync("/", ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
        Assert.Equal("running", Parse(root).GetProperty("status").GetString());
        var analytics = await s.GetAsync("/analytics");
        AssertDetail(analytics, 401, "Invalid or expired token");
        var missing = await s.GetAsync("/dashboard/missing.js");
        Assert.Equal(404, missing.Status);
    }

    [Theory]
    [InlineData("http://localhost:5173", true)]
    [InlineData("https://click-dashboard-git-main-team.vercel.app", true)]
    [InlineData("https://evil.example", false)]
    [InlineData("http://localhost:3000", false)]
    public async Task Cors_allows_the_dev_client_and_vercel_deployments_with_credentials(string origin, bool allowed)
    {
        var s = await app.ServerAsync(pg);
        var preflight = await s.SendAsync(HttpMethod.Options, "/track", ("Origin", origin), ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "authorization, content-type"));
        var get = await s.GetAsync("/health", ("Origin", origin));
        if (allowed)
        {
            Assert.Equal(200, preflight.Status);
            Assert.Equal(origin, preflight.Header("Access-Control-Allow-Origin"));
            Assert.Equal("true", preflight.Header("Access-Control-Allow-Credentials"));
            Assert.Contains("content-type", preflight.Header("Access-Control-Allow-Headers"), StringComparison.Ordinal);
            Assert.Equal((origin, "true"), (get.Header("Access-Control-Allow-Origin"), get.Header("Access-Control-Allow-Credentials")));
        }
        else
        {
            Assert.Null(preflight.Header("Access-Control-Allow-Origin"));
            Assert.Null(get.Header("Access-Control-Allow-Origin"));
            Assert.Null(get.Header("Access-Control-Allow-Credentials"));
        }
    }

    [Fact]
    public async Task The_server_folds_new_clicks_into_the_rollup_every_second()
    {
        var s = await app.ServerAsync(pg);
        var (token, _) = await LoginAsync("user4@example.com");
        var t = Tag();
        var r = await s.SendAsync(HttpMethod.Post, "/track/batch", $$"""[{"feature_name":"{{t}}"},{"feature_name":"{{t}}"}]""", Json, Bearer(token));
        Assert.Equal(201, r.Status);

        // schedules.conf's fold_clicks, run by the server (whichever of this class's servers leads).
        Assert.True(await Admin.AdminKit.EventuallyAsync(async () =>
                await ScalarAsync($"select coalesce(sum(clicks), 0) from api.feature_rollup where feature_name = '{t}'") == 2, TimeSpan.FromSeconds(30)),
            "not folded within 30 s; run log: " + await app.Database.ScalarAsync(
                "select string_agg(job || ' ' || status || coalesce(': ' || error, ''), '; ') from (select * from restgres.schedule_runs order by id desc limit 5) x"));
        Assert.Equal(0L, await ScalarAsync($"select count(*) from analytics.unfolded_counts() where feature_name = '{t}'"));
        Assert.Equal(2L, await CountedAsync(t));
        Assert.True(await ScalarAsync("select count(*) from restgres.schedule_runs where job = 'fold_clicks' and status = 'ok'") >= 1);
    }

    [Fact]
    public async Task Concurrent_track_calls_share_one_transaction_and_each_gets_its_own_answer()
    {
        var s = await app.GroupingServerAsync(pg);
        var tokens = await Task.WhenAll(Enumerable.Range(10, ClickAnalytics.BatchSize).Select(i => LoginAsync($"user{i}@example.com")));
        var t = Tag();
        var replies = await Task.WhenAll(tokens.Select((u, i) =>
            s.SendAsync(HttpMethod.Post, "/track", $$"""{"feature_name":"{{t}}{{i}}"}""", Json, Bearer(u.Token))));
        for (var i = 0; i < replies.Length; i++)
        {
            Assert.True(replies[i].Status == 200, replies[i].ToString());
            Assert.Contains($"Event '{t}{i}' tracked successfully", replies[i].Body, StringComparison.Ordinal);
            Assert.Equal(tokens[i].Id, await ScalarAsync($"select user_id from api.feature_clicks where feature_name = '{t}{i}'"));
        }
        // Rows written by one transaction share its xmin.
        Assert.Equal(1L, await ScalarAsync($"select count(distinct xmin::text) from api.feature_clicks where feature_name like '{t}%'"));
        Assert.Equal(4L, await CountedAsync(t + "%"));
    }

    [Fact]
    public async Task Concurrent_batches_are_not_grouped_each_commits_on_its_own()
    {
        // The app's db-group-commit names rpc/track only: a 100-event batch already spreads its commit over its rows,
        // and was faster alone than grouped (docs/benchmarks.md). With a 10-minute window, a grouped batch would wait.
        var s = await app.GroupingServerAsync(pg);
        var tokens = await Task.WhenAll(Enumerable.Range(20, ClickAnalytics.BatchSize).Select(i => LoginAsync($"user{i}@example.com")));
        var t = Tag();
        var replies = await Task.WhenAll(tokens.Select((u, i) =>
            s.SendAsync(HttpMethod.Post, "/track/batch", $$"""[{"feature_name":"{{t}}{{i}}"},{"feature_name":"{{t}}{{i}}"}]""", Json, Bearer(u.Token))));
        Assert.All(replies, r => Assert.Equal(201, r.Status));
        Assert.Equal(8L, await ScalarAsync($"select count(*) from api.feature_clicks where feature_name like '{t}%'"));
        Assert.Equal((long)ClickAnalytics.BatchSize, await ScalarAsync($"select count(distinct xmin::text) from api.feature_clicks where feature_name like '{t}%'"));
    }
}
