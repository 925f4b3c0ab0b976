using System.Text;
using System.Text.RegularExpressions;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Http;

/// <summary>
/// Schemas by profile, OPTIONS, CORS, response.headers/response.status from SQL, db-pre-request, Server-Timing, the
/// trace header and permission errors.
/// </summary>
[Collection("pg")]
public sealed partial class HeaderTests(PgClusterFixture pg, ReadPathApi api) : IClassFixture<ReadPathApi>
{
    private async Task<Reply> Get(string url, params (string, string)[] headers) =>
        await (await api.DefaultAsync(pg)).GetAsync(url, headers);

    private async Task<Reply> GetExtras(string url, params (string, string)[] headers) =>
        await (await api.ExtrasAsync(pg)).GetAsync(url, headers);

    /// <summary>OPTIONS over a raw socket: HttpClient would reformat the Allow header.</summary>
    private async Task<Reply> Options(string path, params (string, string)[] headers)
    {
        var s = await api.DefaultAsync(pg);
        return await s.SendRawAsync(s.RawRequest("OPTIONS", Encoding.ASCII.GetBytes(path), headers));
    }

    [Fact]
    public async Task The_first_schema_is_the_default_and_says_so_in_Content_Profile()
    {
        var r = await Get("/books?select=id&id=eq.1");
        Expect.Ok(r, """[{"id":1}]""");
        Assert.Equal("api", r.Header("Content-Profile"));
    }

    [Fact]
    public async Task Accept_Profile_selects_another_exposed_schema()
    {
        var r = await Get("/books", ("Accept-Profile", "v2"));
        Expect.Ok(r, """[{"id":1,"title":"Second edition"}]""");
        Assert.Equal("v2", r.Header("Content-Profile"));
    }

    [Fact]
    public async Task An_unexposed_profile_is_PGRST106()
    {
        Expect.Error(await Get("/books", ("Accept-Profile", "private")), 406, "PGRST106", "Invalid schema: private", null,
            "Only the following schemas are exposed: api, v2");
    }

    [Fact]
    public async Task Content_Profile_is_ignored_on_reads()
    {
        var r = await Get("/books?select=id&id=eq.3", ("Content-Profile", "v2"));
        Expect.Ok(r, """[{"id":3}]""");
        Assert.Equal("api", r.Header("Content-Profile"));
    }

    [Fact]
    public async Task Content_Profile_selects_the_schema_of_a_write()
    {
        var s = await api.DefaultAsync(pg);
        Expect.Error(await s.SendAsync(HttpMethod.Post, "/books", """{"id":9,"title":"x"}""", ("Content-Profile", "v3"), ("Content-Type", "application/json")), 406,
            "PGRST106", "Invalid schema: v3", null, "Only the following schemas are exposed: api, v2");
        // web_anon may read v2.books but not write it: the write went to v2.
        var denied = await s.SendAsync(HttpMethod.Post, "/books", """{"id":9,"title":"x"}""", ("Content-Profile", "v2"), ("Content-Type", "application/json"));
        Expect.Error(denied, 401, "42501", "permission denied for table books");
    }

    [Theory]
    [InlineData("/books", "OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE")]
    [InlineData("/cheap_books", "OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE")]
    [InlineData("/author_stats", "OPTIONS,GET,HEAD")]
    [InlineData("/", "OPTIONS,GET,HEAD")]
    public async Task Options_lists_the_methods_the_relation_allows(string path, string allow)
    {
        var r = await Options(path);
        Assert.Equal(200, r.Status);
        Assert.Equal(allow, r.Header("Allow"));
        Assert.Equal("*", r.Header("Access-Control-Allow-Origin"));
        Assert.Equal("", r.Body);
    }

    [Fact]
    public async Task Options_follows_Accept_Profile()
    {
        var r = await Options("/books", ("Accept-Profile", "v2"));
        Assert.Equal("OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE", r.Header("Allow"));
        var missing = await Options("/cheap_books", ("Accept-Profile", "v2"));
        Expect.Error(missing, 404, "PGRST205", "Could not find the table 'v2.cheap_books' in the schema cache");
    }

    [Fact]
    public async Task Options_on_an_unknown_table_is_404()
    {
        var r = await Options("/nope");
        Assert.Equal(404, r.Status);
        Assert.Equal("PostgREST; error=PGRST205", r.Header("Proxy-Status"));
    }

    [Fact]
    public async Task A_cors_preflight_is_answered_permissively_by_default()
    {
        var r = await Options("/books", ("Origin", "https://any.example"), ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "X-Custom, Prefer"));
        Assert.Equal(200, r.Status);
        Assert.Equal("*", r.Header("Access-Control-Allow-Origin"));
        Assert.Equal("GET, POST, PATCH, PUT, DELETE, OPTIONS, HEAD", r.Header("Access-Control-Allow-Methods"));
        Assert.Equal("Authorization, X-Custom, Prefer, Accept, Accept-Language, Content-Language", r.Header("Access-Control-Allow-Headers"));
        Assert.Equal("86400", r.Header("Access-Control-Max-Age"));
    }

    [Fact]
    public async Task A_simple_cors_request_exposes_PostgREST_headers()
    {
        var r = await Get("/books?select=id&id=eq.1", ("Origin", "https://any.example"));
        Expect.Ok(r, """[{"id":1}]""");
        Assert.Equal("*", r.Header("Access-Control-Allow-Origin"));
        Assert.Equal("Content-Encoding, Content-Location, Content-Range, Content-Type, Date, Location, Server, Transfer-Encoding, Range-Unit",
            r.Header("Access-Control-Expose-Headers"));
        Assert.Null(r.Header("Access-Control-Allow-Credentials"));
    }

    [Fact]
    public async Task Allowed_origins_get_their_origin_back_with_credentials()
    {
        var r = await GetExtras("/books?select=id&id=eq.1", ("Origin", "https://allowed.example"));
        Assert.Equal(200, r.Status);
        Assert.Equal("https://allowed.example", r.Header("Access-Control-Allow-Origin"));
        Assert.Equal("true", r.Header("Access-Control-Allow-Credentials"));
    }

    [Fact]
    public async Task Other_origins_get_no_cors_headers_when_origins_are_configured()
    {
        var r = await GetExtras("/books?select=id&id=eq.1", ("Origin", "https://evil.example"));
        Assert.Equal(200, r.Status);
        Assert.Null(r.Header("Access-Control-Allow-Origin"));
        Assert.Null(r.Header("Access-Control-Expose-Headers"));
    }

    [Fact]
    public async Task With_an_origin_list_every_response_varies_on_Origin_and_without_one_none_does()
    {
        // The CORS headers then depend on Origin: a shared cache must not give one origin's answer to another.
        foreach (var origin in new[] { "https://allowed.example", "https://evil.example", null })
        {
            var r = await GetExtras("/books?select=id&id=eq.1", origin is null ? [] : [("Origin", origin)]);
            Assert.Equal("Accept, Prefer, Range, Origin", r.Header("Vary"));
        }
        var s = await api.ExtrasAsync(pg);
        var preflight = await s.SendRawAsync(s.RawRequest("OPTIONS", Encoding.ASCII.GetBytes("/books"),
            ("Origin", "https://allowed.example"), ("Access-Control-Request-Method", "GET")));
        Assert.Equal((200, "Origin"), (preflight.Status, preflight.Header("Vary")));
        var any = await Get("/books?select=id&id=eq.1", ("Origin", "https://any.example"));
        Assert.Equal("Accept, Prefer, Range", any.Header("Vary"));
    }

    [Fact]
    public async Task A_function_in_a_view_sets_response_headers_and_status()
    {
        var r = await Get("/shelf?order=id");
        Expect.Json(r, 203, Expect.Rows("""{"id":1,"title":"The Dispossessed"}""", """{"id":2,"title":"The Left Hand of Darkness"}"""));
        Assert.Equal("top", r.Header("X-Shelf"));
        Assert.Equal("max-age=60", r.Header("Cache-Control"));
    }

    [Fact]
    public async Task The_pre_request_function_runs_before_every_request()
    {
        var r = await GetExtras("/books?select=id&id=eq.1");
        Assert.Equal(200, r.Status);
        Assert.Equal("ran", r.Header("X-Pre-Request"));
    }

    [Fact]
    public async Task The_pre_request_function_can_refuse_a_request()
    {
        var r = await GetExtras("/books?select=id&id=eq.1", ("X-Block", "yes"));
        Expect.Error(r, 403, "PT403", "blocked by pre-request", "X-Block was set", "Drop the header");
        Assert.Null(r.Header("X-Pre-Request"));
    }

    [Fact]
    public async Task Server_timing_reports_each_stage()
    {
        var r = await GetExtras("/books?select=id&id=eq.1");
        Assert.Matches(ServerTiming(), r.Header("Server-Timing") ?? "");
        Assert.Null((await Get("/books?select=id&id=eq.1")).Header("Server-Timing"));
    }

    [Fact]
    public async Task The_trace_header_is_echoed_and_empty_when_absent()
    {
        Assert.Equal("abc-123", (await GetExtras("/books?select=id&id=eq.1", ("X-Request-Id", "abc-123"))).Header("X-Request-Id"));
        Assert.Equal("", (await GetExtras("/books?select=id&id=eq.1")).Header("X-Request-Id"));
        Assert.Null((await Get("/books?select=id&id=eq.1")).Header("X-Request-Id"));
    }

    [Fact]
    public async Task Reading_without_a_grant_as_the_anonymous_role_is_401()
    {
        var r = await Get("/secrets");
        Expect.Error(r, 401, "42501", "permission denied for table secrets");
        Assert.Equal("Bearer", r.Header("WWW-Authenticate"));
    }

    [Fact]
    public async Task Responses_vary_on_the_negotiated_headers()
    {
        Assert.Equal("Accept, Prefer, Range", (await Get("/books?select=id&id=eq.1")).Header("Vary"));
    }

    [GeneratedRegex(@"^jwt;dur=\d+\.\d, parse;dur=\d+\.\d, plan;dur=\d+\.\d, transaction;dur=\d+\.\d, response;dur=\d+\.\d$")]
    private static partial Regex ServerTiming();
}
