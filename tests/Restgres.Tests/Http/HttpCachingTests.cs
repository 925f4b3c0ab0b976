using System.IO.Compression;
using System.Net;
using System.Text;
using Restgres.Config;
using Restgres.Http;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Http;

/// <summary>The pure parts of server-etag, server-cache-control and server-compression.</summary>
public sealed class HttpCachingRulesTests
{
    private const string Tag = "\"abc\"";

    [Theory]
    [InlineData("\"abc\"", true)]
    [InlineData("W/\"abc\"", true)]
    [InlineData("*", true)]
    [InlineData("\"x\", \"abc\"", true)]
    [InlineData("\"x\",W/\"abc\"", true)]
    [InlineData("\"a,b\", \"abc\"", true)]
    [InlineData("\"abcd\"", false)]
    [InlineData("abc", false)]
    [InlineData("\"abc", false)]
    [InlineData("", false)]
    [InlineData("bogus, \"abc\"", false)]
    public void If_None_Match_compares_weakly_and_accepts_star_and_lists(string header, bool matches) =>
        Assert.Equal(matches, HttpCaching.IfNoneMatchMatches(header, Tag));

    [Fact]
    public void The_entity_tag_is_strong_and_differs_per_coding()
    {
        var body = Encoding.UTF8.GetBytes("[{\"id\":1}]");
        var identity = HttpCaching.EntityTag(body, null);
        Assert.Matches("^\"[0-9a-f]{32}\"$", identity);
        Assert.Equal(identity, HttpCaching.EntityTag(body, null));
        Assert.Equal(identity[..^1] + "-gzip\"", HttpCaching.EntityTag(body, "gzip"));
        Assert.NotEqual(identity, HttpCaching.EntityTag(Encoding.UTF8.GetBytes("[{\"id\":2}]"), null));
    }

    [Theory]
    [InlineData("gzip, deflate, br", "br")]
    [InlineData("gzip", "gzip")]
    [InlineData("br;q=0.5, gzip;q=0.8", "gzip")]
    [InlineData("*", "br")]
    [InlineData("*;q=0.1, br;q=0", "gzip")]
    [InlineData("identity", null)]
    [InlineData("identity;q=0", null)]
    [InlineData("gzip;q=0, br;q=0", null)]
    [InlineData("GZIP;Q=1.0", "gzip")]
    [InlineData("gzip;q=bad", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void Accept_Encoding_is_negotiated_with_q_values_and_the_server_order(string? header, string? coding) =>
        Assert.Equal(coding, Compression.Negotiate(["br", "gzip"], header));

    [Fact]
    public void Cache_control_rules_map_paths_to_directives_with_a_star_fallback()
    {
        var rules = CacheControlRules.Parse("server-cache-control", "items: public, max-age=60; /rpc/stats: no-store; *: no-cache")!;
        Assert.Equal("public, max-age=60", rules.For("items"));
        Assert.Equal("no-store", rules.For("rpc/stats"));
        Assert.Equal("no-cache", rules.For("other"));
        Assert.Equal("items: public, max-age=60; rpc/stats: no-store; *: no-cache", rules.ToString());
        Assert.Null(CacheControlRules.Parse("server-cache-control", "items: max-age=1")!.For("other"));
        Assert.Null(CacheControlRules.Parse("server-cache-control", " ; "));
    }

    [Theory]
    [InlineData("items")]
    [InlineData("items:")]
    [InlineData(": max-age=1")]
    [InlineData("a: x; a: y")]
    [InlineData("a: max-age=1\u0001")]
    public void Malformed_cache_control_rules_are_refused(string text) =>
        Assert.Throws<ConfigException>(() => CacheControlRules.Parse("server-cache-control", text));
}

/// <summary>server-etag, server-cache-control and server-compression against the read-path fixture.</summary>
[Collection("pg")]
public sealed class HttpCachingTests(PgClusterFixture pg, ReadPathApi api) : IClassFixture<ReadPathApi>
{
    private Task<TestServer> Server() => api.ServerAsync(pg, "caching", c => c with
    {
        ServerEtag = true,
        ServerCacheControl = CacheControlRules.Parse("server-cache-control", "books: public, max-age=60; rpc/add: no-store; shelf: no-cache"),
        ServerCompression = ["br", "gzip"],
        ServerCompressionMinSize = 64,
    });

    private async Task<Reply> Get(string url, params (string, string)[] headers) => await (await Server()).GetAsync(url, headers);

    [Fact]
    public async Task A_GET_gets_a_strong_ETag_and_the_same_body_gets_the_same_one()
    {
        var a = await Get("/books?select=id&order=id");
        var b = await Get("/books?select=id&order=id");
        Assert.Equal(200, a.Status);
        Assert.Matches("^\"[0-9a-f]{32}\"$", a.Header("ETag"));
        Assert.Equal(a.Header("ETag"), b.Header("ETag"));
        Assert.NotEqual(a.Header("ETag"), (await Get("/books?select=id&order=id.desc")).Header("ETag"));
    }

    [Fact]
    public async Task A_matching_If_None_Match_gets_304_with_no_body_and_the_caching_headers()
    {
        var first = await Get("/books?select=id&order=id");
        var etag = first.Header("ETag")!;
        var r = await Get("/books?select=id&order=id", ("If-None-Match", "\"other\", W/" + etag));
        Assert.Equal(304, r.Status);
        Assert.Equal("", r.Body);
        Assert.Equal(etag, r.Header("ETag"));
        Assert.Equal("public, max-age=60", r.Header("Cache-Control"));
        Assert.Equal(first.Header("Content-Location"), r.Header("Content-Location"));
        Assert.Equal(first.Header("Vary"), r.Header("Vary"));
        Assert.Null(r.Header("Content-Range"));
        Assert.Equal(304, (await Get("/books?select=id&order=id", ("If-None-Match", "*"))).Status);
        Assert.Equal(200, (await Get("/books?select=id&order=id", ("If-None-Match", "\"other\""))).Status);
    }

    [Fact]
    public async Task HEAD_gets_the_ETag_GET_would_send_and_honours_If_None_Match()
    {
        var server = await Server();
        var get = await server.GetAsync("/books?select=id,title&order=id");
        var head = await server.SendAsync(HttpMethod.Head, "/books?select=id,title&order=id");
        Assert.Equal(200, head.Status);
        Assert.Equal("", head.Body);
        Assert.Equal(get.Header("ETag"), head.Header("ETag"));
        Assert.Equal(Encoding.UTF8.GetByteCount(get.Body).ToString(System.Globalization.CultureInfo.InvariantCulture), head.Header("Content-Length"));
        var notModified = await server.SendAsync(HttpMethod.Head, "/books?select=id,title&order=id", ("If-None-Match", get.Header("ETag")!));
        Assert.Equal(304, notModified.Status);
    }

    [Fact]
    public async Task Only_200s_to_GET_and_HEAD_get_an_ETag()
    {
        var partial = await Get("/books?select=id&order=id", ("Range-Unit", "items"), ("Range", "0-0"), ("Prefer", "count=exact"));
        Assert.Equal(206, partial.Status);
        Assert.Null(partial.Header("ETag"));
        Assert.Null((await Get("/nope")).Header("ETag"));
        Assert.Null((await Get("/shelf")).Header("ETag"));
        var server = await Server();
        Assert.Null((await server.SendAsync(HttpMethod.Post, "/rpc/add", """{"a":1,"b":2}""", ("Content-Type", "application/json"))).Header("ETag"));
    }

    [Fact]
    public async Task Cache_Control_comes_from_the_rule_for_the_path_and_adds_Authorization_to_Vary()
    {
        var r = await Get("/books?select=id");
        Assert.Equal("public, max-age=60", r.Header("Cache-Control"));
        Assert.Contains("Authorization", r.Header("Vary"), StringComparison.Ordinal);
        Assert.Equal("no-store", (await Get("/rpc/add?a=1&b=2")).Header("Cache-Control"));
        Assert.Null((await Get("/authors")).Header("Cache-Control"));
        Assert.Null((await Get("/nope")).Header("Cache-Control"));
    }

    [Fact]
    public async Task The_database_s_own_Cache_Control_wins_over_the_rule()
    {
        var r = await Get("/shelf?order=id");
        Assert.Equal(203, r.Status);
        Assert.Equal("max-age=60", r.Header("Cache-Control"));
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("br")]
    public async Task A_body_above_the_threshold_is_compressed_when_the_client_accepts_it(string coding)
    {
        var server = await Server();
        var plain = await server.GetAsync("/books?order=id");
        Assert.Null(plain.Header("Content-Encoding"));
        Assert.Contains("Accept-Encoding", plain.Header("Vary"), StringComparison.Ordinal);

        using var client = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None, UseProxy = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server.BaseAddress, "/books?order=id"));
        request.Headers.TryAddWithoutValidation("Accept-Encoding", coding);
        using var response = await client.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(coding, Assert.Single(response.Content.Headers.ContentEncoding));
        Assert.Equal(bytes.Length, response.Content.Headers.ContentLength);
        using var decoder = coding == "gzip"
            ? (Stream)new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress)
            : new BrotliStream(new MemoryStream(bytes), CompressionMode.Decompress);
        using var reader = new StreamReader(decoder, Encoding.UTF8);
        Assert.Equal(plain.Body, await reader.ReadToEndAsync());
        Assert.Equal(plain.Header("ETag")![..^1] + "-" + coding + "\"", response.Headers.ETag!.ToString());
    }

    [Fact]
    public async Task An_ETag_set_upstream_gets_the_coding_appended_when_the_body_is_compressed()
    {
        // The docs page sets its own ETag and gzips itself; a client that takes only br gets it compressed here.
        const string browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        var identity = await Get("/", ("Accept", browser));
        Assert.Equal("text/html; charset=utf-8", identity.Header("Content-Type"));
        var tag = identity.Header("ETag")!;
        var br = await Get("/", ("Accept", browser), ("Accept-Encoding", "br"));
        Assert.Equal("br", br.Header("Content-Encoding"));
        Assert.Equal(tag[..^1] + "-br\"", br.Header("ETag"));
        var gzip = await Get("/", ("Accept", browser), ("Accept-Encoding", "gzip"));
        Assert.Equal("gzip", gzip.Header("Content-Encoding"));
        Assert.Equal(tag[..^1] + "-gzip\"", gzip.Header("ETag"));
        Assert.Equal(304, (await Get("/", ("Accept", browser), ("If-None-Match", "W/" + tag))).Status);
    }

    [Fact]
    public async Task Small_bodies_HEAD_and_304s_are_not_compressed()
    {
        var server = await Server();
        var small = await Get("/books?select=id&id=eq.1", ("Accept-Encoding", "gzip"));
        Assert.Null(small.Header("Content-Encoding"));
        Assert.Equal("""[{"id":1}]""", small.Body);
        Assert.Null((await server.SendAsync(HttpMethod.Head, "/books?order=id", ("Accept-Encoding", "gzip"))).Header("Content-Encoding"));
        var gz = await Get("/books?order=id", ("Accept-Encoding", "gzip"));
        var notModified = await Get("/books?order=id", ("Accept-Encoding", "gzip"), ("If-None-Match", gz.Header("ETag")!));
        Assert.Equal(304, notModified.Status);
        Assert.Null(notModified.Header("Content-Encoding"));
        Assert.Equal("", notModified.Body);
    }

    [Fact]
    public async Task Without_the_options_nothing_changes()
    {
        var server = await api.DefaultAsync(pg);
        var r = await server.GetAsync("/books?order=id", ("Accept-Encoding", "gzip, br"), ("If-None-Match", "*"));
        Assert.Equal(200, r.Status);
        Assert.Null(r.Header("ETag"));
        Assert.Null(r.Header("Content-Encoding"));
        Assert.Null(r.Header("Cache-Control"));
        Assert.Equal("Accept, Prefer, Range", r.Header("Vary"));
    }
}
