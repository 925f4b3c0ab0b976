using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Restgres.Config;
using Restgres.Tests.Http;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Examples;

/// <summary>
/// The glucose API (examples/glucose-api) served by Restgres from its own restgres.conf and routes.conf over its
/// migrations and 30 generated days: the old FastAPI service's contract, row by row (README.md), over real HTTP.
/// </summary>
public sealed class GlucoseApi() : ExampleAppServers("glucose-api", "glucose_authenticator", "anon, authenticated, analyst, admin")
{
    public const string Secret = "glucose-tests-secret-glucose-tests-secret";

    public override string JwtSecret => Secret;

    /// <summary>30 days of readings up to 2026-01-31 and the marts built from them.</summary>
    protected override string SeedSql => """
        select raw.generate_readings(30, 0.42, '2026-01-31 00:00:00+00');
        select marts.refresh();
        """;

    /// <summary>A token as the old FastAPI service issued them: HS256 with sub, user_id, email, role, exp and the
    /// Hasura namespace, no audience.</summary>
    public static string OldServiceToken(string username, string role, DateTimeOffset? expires = null, string? audience = null,
        string secret = Secret)
    {
        var claims = new Dictionary<string, object>
        {
            ["sub"] = username,
            ["user_id"] = "00000000-0000-0000-0000-000000000042",
            ["email"] = username + "@example.com",
            ["role"] = role,
            ["exp"] = (expires ?? DateTimeOffset.UtcNow.AddHours(1)).ToUnixTimeSeconds(),
            ["https://hasura.io/jwt/claims"] = new Dictionary<string, object>
            {
                ["x-hasura-allowed-roles"] = new[] { role },
                ["x-hasura-default-role"] = role,
            },
        };
        if (audience is not null) claims["aud"] = audience;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256),
        });
    }
}

[Collection("pg")]
public sealed class GlucoseApiTests(PgClusterFixture pg, GlucoseApi app) : IClassFixture<GlucoseApi>
{
    private static (string, string) Bearer(string token) => ("Authorization", "Bearer " + token);

    private static readonly (string, string) Json = ("Content-Type", "application/json");

    private static JsonElement Parse(Reply r)
    {
        using var doc = JsonDocument.Parse(r.Body);
        return doc.RootElement.Clone();
    }

    private async Task<string> LoginAsync(string user, string password)
    {
        var s = await app.ServerAsync(pg);
        var r = await s.SendAsync(HttpMethod.Post, "/api/v1/auth/login", $$"""{"username":"{{user}}","password":"{{password}}"}""", Json);
        Assert.True(r.Status == 200, r.ToString());
        return Parse(r).GetProperty("access_token").GetString()!;
    }

    private static void AssertDetail(Reply r, int status, string detail)
    {
        Assert.True(r.Status == status, r.ToString());
        Assert.Equal(detail, Assert.Single(Parse(r).EnumerateObject(), p => p.Name == "detail").Value.GetString());
        Assert.Single(Parse(r).EnumerateObject());
    }

    [Fact]
    public async Task Login_returns_the_old_shape_and_a_token_the_API_accepts()
    {
        var s = await app.ServerAsync(pg);
        var r = await s.SendAsync(HttpMethod.Post, "/api/v1/auth/login", """{"username":"analyst","password":"analyst123"}""", Json);
        Assert.True(r.Status == 200, r.ToString());
        var j = Parse(r);
        Assert.Equal("bearer", j.GetProperty("token_type").GetString());
        Assert.Equal(3600, j.GetProperty("expires_in").GetInt32());
        var user = j.GetProperty("user");
        Assert.Equal(["user_id", "username", "email", "role"], user.EnumerateObject().Select(p => p.Name));
        Assert.Equal(("analyst", "analyst@example.com", "analyst"),
            (user.GetProperty("username").GetString(), user.GetProperty("email").GetString(), user.GetProperty("role").GetString()));

        var me = await s.GetAsync("/api/v1/metadata/user/me", Bearer(j.GetProperty("access_token").GetString()!));
        Assert.True(me.Status == 200, me.ToString());
        Assert.Equal(user.GetRawText().Replace(" ", ""), Parse(me).GetRawText().Replace(" ", ""));
    }

    [Theory]
    [InlineData("analyst", "wrong")]
    [InlineData("nobody", "analyst123")]
    [InlineData("inactive", "inactive123")]
    public async Task Bad_credentials_are_401_Incorrect_username_or_password_with_WWW_Authenticate(string user, string password)
    {
        var s = await app.ServerAsync(pg);
        var r = await s.SendAsync(HttpMethod.Post, "/api/v1/auth/login", $$"""{"username":"{{user}}","password":"{{password}}"}""", Json);
        AssertDetail(r, 401, "Incorrect username or password");
        Assert.Equal("Bearer", r.Header("WWW-Authenticate"));
    }

    [Fact]
    public async Task Readings_are_the_daily_rows_newest_first_in_the_old_envelope()
    {
        var s = await app.ServerAsync(pg);
        var token = GlucoseApi.OldServiceToken("analyst", "analyst");
        var all = Parse(await s.GetAsync("/api/v1/glucose/readings", Bearer(token)));
        Assert.Equal((30, "postgres_marts", true), (all.GetProperty("count").GetInt32(), all.GetProperty("source").GetString(), all.GetProperty("cached").GetBoolean()));
        Assert.Equal("2026-01-30", all.GetProperty("data")[0].GetProperty("date").GetString());
        Assert.True(all.GetProperty("data")[0].GetProperty("avg_glucose").GetDecimal() > 0);

        var some = Parse(await s.GetAsync("/api/v1/glucose/readings?start_date=2026-01-10&end_date=2026-01-19&limit=3", Bearer(token)));
        Assert.Equal(3, some.GetProperty("count").GetInt32());
        Assert.Equal("2026-01-19", some.GetProperty("data")[0].GetProperty("date").GetString());

        AssertDetail(await s.GetAsync("/api/v1/glucose/readings?limit=10001", Bearer(token)), 422, "limit must be between 1 and 10000");
    }

    [Fact]
    public async Task Daily_summary_gives_a_day_or_nulls_and_zero()
    {
        var s = await app.ServerAsync(pg);
        var token = GlucoseApi.OldServiceToken("analyst", "analyst");
        var day = Parse(await s.GetAsync("/api/v1/glucose/daily-summary?date=2026-01-15", Bearer(token)));
        Assert.Equal(["date", "avg_glucose", "min_glucose", "max_glucose", "readings_count", "time_in_range_percent"],
            day.EnumerateObject().Select(p => p.Name));
        Assert.True(day.GetProperty("readings_count").GetInt32() > 200);
        var empty = Parse(await s.GetAsync("/api/v1/glucose/daily-summary?date=2020-01-01", Bearer(token)));
        Assert.Equal((0, JsonValueKind.Null), (empty.GetProperty("readings_count").GetInt32(), empty.GetProperty("avg_glucose").ValueKind));
        // The date is required: the old service answered 422; here the function is not found without it (see README).
        var missing = await s.GetAsync("/api/v1/glucose/daily-summary", Bearer(token));
        Assert.True(missing.Status is 400 or 404 or 422, missing.ToString());
        Assert.True(Parse(missing).TryGetProperty("detail", out _), missing.ToString());
    }

    [Fact]
    public async Task Hourly_patterns_and_statistics()
    {
        var s = await app.ServerAsync(pg);
        var token = GlucoseApi.OldServiceToken("analyst", "analyst");
        var hours = Parse(await s.GetAsync("/api/v1/glucose/hourly-patterns", Bearer(token)));
        Assert.Equal(24, hours.GetArrayLength());
        Assert.Equal(["hour_of_day", "avg_glucose", "readings_count"], hours[0].EnumerateObject().Select(p => p.Name));

        var week = Parse(await s.GetAsync("/api/v1/glucose/statistics", Bearer(token)));
        Assert.Equal(("7d", 7), (week.GetProperty("period").GetString(), week.GetProperty("days").GetInt32()));
        Assert.Equal(["avg_glucose", "min_glucose", "max_glucose"], week.GetProperty("statistics").EnumerateObject().Select(p => p.Name));
        var month = Parse(await s.GetAsync("/api/v1/glucose/statistics?period=30d", Bearer(token)));
        Assert.True(month.GetProperty("readings_count").GetInt64() > week.GetProperty("readings_count").GetInt64());
        AssertDetail(await s.GetAsync("/api/v1/glucose/statistics?period=8d", Bearer(token)), 422, "period must be one of 7d, 30d, 90d");
    }

    [Fact]
    public async Task Health_needs_no_token_and_the_service_info_is_at_the_root()
    {
        var s = await app.ServerAsync(pg);
        var health = await s.GetAsync("/api/v1/metadata/health");
        Assert.Equal("""{"status" : "healthy", "service" : "cascade-api"}""", health.Body);
        Assert.Equal(health.Body, (await s.GetAsync("/health")).Body);
        Assert.Equal("cascade-api", Parse(await s.GetAsync("/")).GetProperty("service").GetString());
    }

    [Fact]
    public async Task Cache_stats_and_metrics_are_served_on_the_APIs_port()
    {
        var s = await app.ServerAsync(pg);
        var token = Bearer(GlucoseApi.OldServiceToken("stats-reader", "analyst"));
        await s.GetAsync("/api/v1/glucose/statistics?period=90d", token);
        await s.GetAsync("/api/v1/glucose/statistics?period=90d", token);
        var stats = Parse(await s.GetAsync("/api/v1/metadata/cache/stats", token));
        Assert.True(stats.GetProperty("enabled").GetBoolean());
        Assert.True(stats.GetProperty("hits").GetInt64() >= 1, stats.GetRawText());
        Assert.True(stats.GetProperty("entries").GetInt64() >= 1, stats.GetRawText());
        var metrics = await s.GetAsync("/metrics");
        Assert.Equal(200, metrics.Status);
        Assert.Equal(Restgres.Observability.PrometheusText.ContentType, metrics.Header("Content-Type"));
        Assert.Contains("restgres_response_cache_requests_total", metrics.Body, StringComparison.Ordinal);
        Assert.Contains("resource=\"/api/v1/glucose/statistics\"", metrics.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Docs_and_openapi_json()
    {
        var s = await app.ServerAsync(pg);
        var docs = await s.GetAsync("/docs");
        Assert.Equal(200, docs.Status);
        Assert.StartsWith("text/html", docs.Header("Content-Type"), StringComparison.Ordinal);
        var openapi = await s.GetAsync("/openapi.json");
        Assert.Equal(200, openapi.Status);
        var doc = Parse(openapi);
        Assert.True(doc.TryGetProperty("openapi", out _) || doc.TryGetProperty("swagger", out _), openapi.Body[..Math.Min(200, openapi.Body.Length)]);
        Assert.Contains("/api/v1/glucose/readings", openapi.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_sql_is_for_admins_and_safe()
    {
        var s = await app.ServerAsync(pg);
        var admin = await LoginAsync("admin", "admin123");
        var ok = await s.SendAsync(HttpMethod.Post, "/api/v1/query/sql",
            """{"query":"select reading_date, reading_count from mrt_glucose_overview order by reading_date limit 2","engine":"postgres","limit":100}""",
            Json, Bearer(admin));
        Assert.True(ok.Status == 200, ok.ToString());
        var j = Parse(ok);
        Assert.Equal(["columns", "rows", "row_count", "execution_time_ms"], j.EnumerateObject().Select(p => p.Name));
        Assert.Equal(2, j.GetProperty("row_count").GetInt32());
        Assert.Equal("2026-01-01", j.GetProperty("rows")[0][0].GetString());

        var write = await s.SendAsync(HttpMethod.Post, "/api/v1/query/sql", """{"query":"delete from raw.glucose_readings"}""", Json, Bearer(admin));
        Assert.Equal(400, write.Status);
        Assert.StartsWith("Query failed: cannot open DELETE query as cursor", Parse(write).GetProperty("detail").GetString(), StringComparison.Ordinal);

        var analyst = await LoginAsync("analyst", "analyst123");
        AssertDetail(await s.SendAsync(HttpMethod.Post, "/api/v1/query/sql", """{"query":"select 1"}""", Json, Bearer(analyst)), 403, "Admin access required");
        AssertDetail(await s.SendAsync(HttpMethod.Post, "/api/v1/query/sql", """{"query":"select 1"}""", Json), 401, "Could not validate credentials");
        Assert.Equal(0L, await app.Database.ScalarAsync("select count(*) from raw.glucose_readings where false") ?? 0L);
        Assert.True((long)(await app.Database.ScalarAsync("select count(*) from api.query_results"))! >= 2, "queries are recorded");
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("expired")]
    [InlineData("wrong audience")]
    [InlineData("tampered")]
    [InlineData("other secret")]
    public async Task Every_protected_call_without_a_valid_token_is_401_Could_not_validate_credentials(string kind)
    {
        var s = await app.ServerAsync(pg);
        var headers = kind switch
        {
            "missing" => Array.Empty<(string, string)>(),
            "expired" => [Bearer(GlucoseApi.OldServiceToken("analyst", "analyst", DateTimeOffset.UtcNow.AddHours(-2)))],
            "wrong audience" => [Bearer(GlucoseApi.OldServiceToken("analyst", "analyst", audience: "someone-else"))],
            "tampered" => [Bearer(GlucoseApi.OldServiceToken("analyst", "analyst")[..^3] + "AAA")],
            _ => [Bearer(GlucoseApi.OldServiceToken("analyst", "analyst", secret: "another-secret-another-secret-another-secret"))],
        };
        foreach (var path in new[] { "/api/v1/glucose/readings", "/api/v1/glucose/daily-summary?date=2026-01-15",
                     "/api/v1/glucose/hourly-patterns", "/api/v1/glucose/statistics", "/api/v1/metadata/user/me" })
            AssertDetail(await s.GetAsync(path, headers), 401, "Could not validate credentials");
    }

    [Fact]
    public async Task An_old_service_token_works_on_every_endpoint_for_its_role()
    {
        var s = await app.ServerAsync(pg);
        foreach (var role in new[] { "analyst", "admin" })
        {
            var token = Bearer(GlucoseApi.OldServiceToken(role, role));
            foreach (var path in new[] { "/api/v1/glucose/readings", "/api/v1/glucose/daily-summary?date=2026-01-15",
                         "/api/v1/glucose/hourly-patterns", "/api/v1/glucose/statistics?period=90d", "/api/v1/metadata/user/me" })
            {
                var r = await s.GetAsync(path, token);
                Assert.True(r.Status == 200, $"{role} {path}: {r}");
            }
            Assert.Equal(role, Parse(await s.GetAsync("/api/v1/metadata/user/me", token)).GetProperty("username").GetString());
        }
    }

    [Fact]
    public async Task Statistics_are_served_from_the_response_cache_until_the_marts_refresh()
    {
        var s = await app.ServerAsync(pg);
        // A user of its own: the polling below must not spend the other tests' per-user rate limit.
        var token = Bearer(GlucoseApi.OldServiceToken("cache-watcher", "analyst"));
        var first = await s.GetAsync("/api/v1/glucose/statistics?period=30d", token);
        var second = await s.GetAsync("/api/v1/glucose/statistics?period=30d", token);
        Assert.StartsWith("restgres; hit", second.Header("Cache-Status"), StringComparison.Ordinal);
        Assert.Equal(first.Body, second.Body);
        // HttpClient reorders the directives it parses.
        Assert.Equal(["max-age=300", "private"], second.Header("Cache-Control")!.Split(", ").Order(StringComparer.Ordinal));

        // A refresh notifies db-channel: the next request reads the marts again.
        await app.Database.ExecuteSqlAsync("select marts.refresh()");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        Reply after;
        do
        {
            after = await s.GetAsync("/api/v1/glucose/statistics?period=30d", token);
            Assert.True(after.Status == 200, after.ToString());
            if (!after.Header("Cache-Status")!.Contains("; hit", StringComparison.Ordinal)) break;
            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);
        Assert.DoesNotContain("; hit", after.Header("Cache-Status"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rate_limits_are_the_old_services_per_role_and_login_has_its_own()
    {
        // A server of its own: its rate-limit buckets are not spent by the other tests.
        var s = await app.ServerAsync(pg, "rate-limits");
        // Login: 10 a minute per address, then 429 in the old shape with Retry-After.
        for (var i = 0; i < 10; i++)
        {
            var r = await s.SendAsync(HttpMethod.Post, "/api/v1/auth/login", """{"username":"analyst","password":"wrong"}""", Json);
            Assert.True(r.Status == 401, r.ToString());
        }
        var limited = await s.SendAsync(HttpMethod.Post, "/api/v1/auth/login", """{"username":"analyst","password":"analyst123"}""", Json);
        Assert.Equal(429, limited.Status);
        Assert.True(Parse(limited).TryGetProperty("detail", out _), limited.ToString());
        Assert.True(int.Parse(limited.Header("Retry-After")!, System.Globalization.CultureInfo.InvariantCulture) > 0);

        // An analyst: 100 a minute for that user; another user keeps its own allowance; headers on allowed answers.
        var analyst = Bearer(GlucoseApi.OldServiceToken("analyst", "analyst"));
        Reply last = default!;
        for (var i = 0; i < 100; i++)
        {
            last = await s.GetAsync("/api/v1/metadata/user/me", analyst);
            Assert.True(last.Status == 200, last.ToString());
        }
        Assert.Contains("r=0", last.Header("RateLimit"), StringComparison.Ordinal);
        Assert.Equal(429, (await s.GetAsync("/api/v1/metadata/user/me", analyst)).Status);
        Assert.Equal(200, (await s.GetAsync("/api/v1/metadata/user/me", Bearer(GlucoseApi.OldServiceToken("analyst2", "analyst")))).Status);
        // An admin's allowance is larger (1000 a minute).
        var admin = Bearer(GlucoseApi.OldServiceToken("admin", "admin"));
        for (var i = 0; i < 101; i++)
            Assert.Equal(200, (await s.GetAsync("/api/v1/metadata/user/me", admin)).Status);
    }
}
