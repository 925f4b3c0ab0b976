using System.Text.Json;
using Restgres.Config;
using Restgres.Observability;
using Xunit;

namespace Restgres.Tests.Observability;

/// <summary>Log line formats: PostgREST's (Logger.hs, Logger/Apache.hs) and the JSON lines of log-format = json.</summary>
public sealed class LogFormatTests
{
    private static readonly DateTimeOffset When = new(2021, 7, 26, 1, 56, 38, 250, TimeSpan.FromHours(-5));

    private static AccessEntry Entry(string? role = "user", long? bytes = 56, string? sql = null) =>
        new(When, "127.0.0.1", role, "GET", "/clients?select=id", "HTTP/1.1", 200, bytes, null, "curl/7.64.0", "req-1", 12.3456, sql);

    [Fact]
    public void Time_is_PostgREST_day_month_year_time_and_numeric_zone()
    {
        Assert.Equal("26/Jul/2021:01:56:38 -0500", LogFormat.Time(When));
        Assert.Equal("06/May/2024:08:16:11 +0530", LogFormat.Time(new DateTimeOffset(2024, 5, 6, 8, 16, 11, TimeSpan.FromMinutes(330))));
        Assert.Equal("01/Jan/2000:00:00:00 +0000", LogFormat.Time(new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void The_access_line_matches_the_example_in_PostgREST_docs()
    {
        // docs/references/observability.rst, "Logs".
        Assert.Equal("127.0.0.1 - user [26/Jul/2021:01:56:38 -0500] \"GET /clients?select=id HTTP/1.1\" 200 56 \"\" \"curl/7.64.0\"",
            LogFormat.Apache(Entry()));
    }

    [Fact]
    public void An_unknown_role_or_size_is_a_dash()
    {
        Assert.Equal("127.0.0.1 - - [26/Jul/2021:01:56:38 -0500] \"GET /clients?select=id HTTP/1.1\" 200 - \"\" \"curl/7.64.0\"",
            LogFormat.Apache(Entry(role: null, bytes: null)));
    }

    [Fact]
    public void A_diagnostic_is_prefixed_with_the_time()
    {
        Assert.Equal("26/Jul/2021:01:56:38 -0500: Config reloaded", LogFormat.TextDiagnostic(When, "Config reloaded"));
    }

    [Fact]
    public void The_JSON_line_is_one_object_with_every_field()
    {
        var line = LogFormat.Json(Entry(sql: "SELECT 1"));
        Assert.DoesNotContain('\n', line);
        using var doc = JsonDocument.Parse(line);
        var e = doc.RootElement;
        Assert.Equal(
            ["time", "level", "request_id", "remote", "role", "method", "path", "query", "protocol", "status", "bytes", "duration_ms", "user_agent", "referer", "sql"],
            e.EnumerateObject().Select(p => p.Name));
        Assert.Equal("2021-07-26T06:56:38.250Z", e.GetProperty("time").GetString());
        Assert.Equal("info", e.GetProperty("level").GetString());
        Assert.Equal("req-1", e.GetProperty("request_id").GetString());
        Assert.Equal("user", e.GetProperty("role").GetString());
        Assert.Equal("/clients", e.GetProperty("path").GetString());
        Assert.Equal("select=id", e.GetProperty("query").GetString());
        Assert.Equal(200, e.GetProperty("status").GetInt32());
        Assert.Equal(56, e.GetProperty("bytes").GetInt64());
        Assert.Equal(12.346, e.GetProperty("duration_ms").GetDouble());
        Assert.Equal(JsonValueKind.Null, e.GetProperty("referer").ValueKind);
        Assert.Equal("SELECT 1", e.GetProperty("sql").GetString());
    }

    [Theory]
    [InlineData(200, "info")]
    [InlineData(304, "info")]
    [InlineData(404, "warn")]
    [InlineData(503, "error")]
    public void The_JSON_level_follows_the_status(int status, string level)
    {
        using var doc = JsonDocument.Parse(LogFormat.Json(Entry() with { Status = status }));
        Assert.Equal(level, doc.RootElement.GetProperty("level").GetString());
    }

    [Fact]
    public void JSON_strings_are_escaped()
    {
        var tricky = "a\"b\\c\nd\te\u0001f/é😀";
        var line = LogFormat.Json(Entry() with { Target = "/x?q=" + tricky, UserAgent = tricky });
        using var doc = JsonDocument.Parse(line);
        Assert.Equal("q=" + tricky, doc.RootElement.GetProperty("query").GetString());
        Assert.Equal(tricky, doc.RootElement.GetProperty("user_agent").GetString());
        using var diag = JsonDocument.Parse(LogFormat.JsonDiagnostic(When, "error", tricky));
        Assert.Equal(tricky, diag.RootElement.GetProperty("message").GetString());
        Assert.Equal("error", diag.RootElement.GetProperty("level").GetString());
    }

    [Fact]
    public void SQL_is_logged_on_one_line()
    {
        Assert.Equal("SELECT a FROM t WHERE b", LogFormat.SingleLine("SELECT a\nFROM t\r\nWHERE b"));
    }

    [Theory]
    [InlineData(LogLevel.Crit, 200, false)]
    [InlineData(LogLevel.Crit, 500, false)]
    [InlineData(LogLevel.Error, 404, false)]
    [InlineData(LogLevel.Error, 500, true)]
    [InlineData(LogLevel.Warn, 399, false)]
    [InlineData(LogLevel.Warn, 400, true)]
    [InlineData(LogLevel.Info, 200, true)]
    [InlineData(LogLevel.Debug, 101, true)]
    public void Responses_are_logged_by_level_as_PostgREST_shouldLogResponse(object level, int status, bool logged)
    {
        Assert.Equal(logged, Observer.ShouldLogResponse((LogLevel)level, status));
    }

    [Theory]
    [InlineData("/items", "/items")]
    [InlineData("/items\n127.0.0.1 - admin [forged]", "/items\\x0A127.0.0.1 - admin [forged]")]
    [InlineData("/a\r\tb\u007f\u0000", "/a\\x0D\\x09b\\x7F\\x00")]
    [InlineData("/caf\u00e9", "/caf\u00e9")]
    public void Client_text_in_a_log_line_cannot_break_the_line(string text, string logged) =>
        Assert.Equal(logged, LogFormat.Printable(text));
}

