using System.Diagnostics;
using System.Text;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Http;

/// <summary>
/// Malformed and hostile requests: each gets a PostgREST-shaped 4xx quickly (or Kestrel's bare 400/414/431 for
/// request lines and headers it refuses before the API sees them), never a 500, a hang or a stack trace, and the
/// server keeps serving.
/// </summary>
[Collection("pg")]
public sealed partial class BadInputTests(PgClusterFixture pg, ReadPathApi api) : IClassFixture<ReadPathApi>
{
    // Generous: the point is to catch hangs, and CI machines can be busy.
    private static readonly TimeSpan Quickly = TimeSpan.FromSeconds(10);

    private async Task<Reply> Timed(Func<TestServer, Task<Reply>> send) => await Timed(await api.DefaultAsync(pg), send);

    private static async Task<Reply> Timed(TestServer s, Func<TestServer, Task<Reply>> send)
    {
        var sw = Stopwatch.StartNew();
        var r = await send(s);
        Assert.True(sw.Elapsed < Quickly, $"took {sw.Elapsed}");
        Assert.DoesNotContain("   at ", r.Body, StringComparison.Ordinal);
        // Still serving afterwards.
        Expect.Ok(await s.GetAsync("/books?select=id&id=eq.1"), """[{"id":1}]""");
        return r;
    }

    private Task<Reply> Get(string url, params (string, string)[] headers) => Timed(s => s.GetAsync(url, headers));

    private Task<Reply> Raw(byte[] target, params (string, string)[] headers) =>
        Timed(s => s.SendRawAsync(s.RawRequest("GET", target, headers)));

    private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);

    [Fact]
    public async Task An_unknown_table_is_PGRST205()
    {
        Expect.Error(await Get("/nonexistent"), 404, "PGRST205", "Could not find the table 'api.nonexistent' in the schema cache");
    }

    [Fact]
    public async Task A_misspelt_table_is_PGRST205_with_a_suggestion()
    {
        Expect.Error(await Get("/book"), 404, "PGRST205", "Could not find the table 'api.book' in the schema cache", null,
            "Perhaps you meant the table 'api.books'");
    }

    [Fact]
    public async Task An_unknown_column_in_select_or_in_a_filter_is_PostgreSQLs_42703()
    {
        Expect.Error(await Get("/books?select=nope"), 400, "42703", "column books.nope does not exist");
        Expect.Error(await Get("/books?nope=eq.1"), 400, "42703", "column books.nope does not exist");
    }

    [Fact]
    public async Task An_unknown_operator_is_PGRST100()
    {
        Expect.Error(await Get("/books?id=foo.1"), 400, "PGRST100", "\"failed to parse filter (foo.1)\" (line 1, column 1)",
            "unexpected \"f\" expecting \"not\" or operator (eq, gt, ...)");
    }

    [Fact]
    public async Task An_unknown_is_value_is_PGRST100()
    {
        Expect.Error(await Get("/books?id=is.maybe"), 400, "PGRST100", "\"failed to parse filter (is.maybe)\" (line 1, column 4)",
            "unexpected \"m\" expecting isVal: (null, not_null, true, false, unknown)");
    }

    [Fact]
    public async Task An_unknown_order_direction_is_PGRST100()
    {
        Expect.Error(await Get("/books?order=id.sideways"), 400, "PGRST100", "\"failed to parse order (id.sideways)\" (line 1, column 4)",
            "unexpected \"s\" expecting \"asc\", \"desc\", \"nullsfirst\" or \"nullslast\"");
    }

    [Fact]
    public async Task Unbalanced_lists_and_logic_trees_are_PGRST100()
    {
        Expect.Error(await Get("/books?id=in.(1,2"), 400, "PGRST100", "\"failed to parse filter (in.(1,2)\" (line 1, column 8)",
            "unexpected end of input expecting \",\" or \")\"");
        Expect.Error(await Get("/books?or=(id.eq.1"), 400, "PGRST100", "\"failed to parse logic tree ((id.eq.1)\" (line 1, column 11)",
            "unexpected end of input expecting \",\" or \")\"");
        Expect.Error(await Get("/books?and=()"), 400, "PGRST100", "\"failed to parse logic tree (())\" (line 1, column 5)",
            "unexpected \")\" expecting field name (* or [a..z0..9_$]), negation operator (not) or logic operator (and, or)");
    }

    [Fact]
    public async Task Not_before_the_column_in_a_logic_tree_is_PGRST100()
    {
        Expect.Error(await Get("/books?or=(id.eq.5,and(available.is.true,not.price.lt.9))"), 400, "PGRST100",
            "\"failed to parse logic tree ((id.eq.5,and(available.is.true,not.price.lt.9)))\" (line 1, column 38)",
            "unexpected \"p\" expecting logic operator (and, or)");
    }

    [Fact]
    public async Task A_trailing_comma_in_select_is_PGRST100()
    {
        var r = await Get("/books?select=id,");
        Expect.Error(r, 400, "PGRST100", "\"failed to parse select parameter (id,)\" (line 1, column 4)",
            "unexpected end of input expecting \"...\", field name (* or [a..z0..9_$]), \"*\" or \"count()\"");
    }

    [Fact]
    public async Task An_unsupported_method_is_PGRST117()
    {
        var r = await Timed(s => s.SendAsync(new HttpMethod("PURGE"), "/books"));
        Expect.Error(r, 405, "PGRST117", "Unsupported HTTP method: PURGE");
    }

    [Fact]
    public async Task A_nested_path_is_PGRST125()
    {
        Expect.Error(await Get("/books/1"), 404, "PGRST125", "Invalid path specified in request URL");
    }

    [Fact]
    public async Task An_unknown_accept_profile_even_a_long_one_is_PGRST106()
    {
        var schema = new string('z', 5000);
        Expect.Error(await Get("/books", ("Accept-Profile", schema)), 406, "PGRST106", "Invalid schema: " + schema, null,
            "Only the following schemas are exposed: api, v2");
    }

    [Fact]
    public async Task Oversized_range_numbers_and_malformed_limits_are_ignored_like_PostgREST_does()
    {
        var r = await Get("/books?select=id&order=id&limit=abc", ("Range", "0-99999999999999999999999"));
        Assert.Equal(200, r.Status);
        Assert.Equal("0-4/*", r.Header("Content-Range"));
    }

    [Fact]
    public async Task A_64_KB_url_with_a_long_in_list_is_answered()
    {
        var url = new StringBuilder("/books?select=id&order=id&id=in.(");
        for (var i = 3; url.Length < 64 * 1024 - 8; i += 2) url.Append(i).Append(',');
        url.Append("1)");
        Assert.True(url.Length >= 64 * 1024 - 8);
        // Raw: the echoed Content-Location is itself 64 KB, more than HttpClient accepts in response headers.
        var r = await Raw(Ascii(url.ToString()));
        Assert.Equal(200, r.Status);
        Assert.Equal(Expect.Rows("""{"id":1}""", """{"id":3}""", """{"id":5}"""), r.Body);
    }

    [Fact]
    public async Task A_64_KB_url_of_garbage_is_PGRST100()
    {
        var r = await Raw(Ascii("/books?select=id&x=" + new string('a', 64 * 1024)));
        Expect.PgrstShaped4xx(r);
        Assert.Equal("PostgREST; error=PGRST100", r.Header("Proxy-Status"));
    }

    [Fact]
    public async Task A_url_beyond_128_KB_is_refused_by_Kestrel_with_414()
    {
        var r = await Raw(Ascii("/books?select=id&x=" + new string('a', 200 * 1024)));
        Assert.Equal(414, r.Status);
        Assert.Equal("", r.Body);
    }

    [Fact]
    public async Task Five_thousand_filters_are_all_applied()
    {
        var r = await Get("/books?select=id&order=id" + string.Concat(Enumerable.Repeat("&id=gt.1", 4999)) + "&id=lt.4");
        Expect.Ok(r, Expect.Rows("""{"id":2}""", """{"id":3}"""));
    }

    [Fact]
    public async Task Five_thousand_filters_on_unknown_columns_are_one_42703()
    {
        var r = await Get("/books?select=id" + string.Concat(Enumerable.Range(0, 5000).Select(i => $"&c{i}=eq.1")));
        Expect.Error(r, 400, "42703", "column books.c0 does not exist");
    }

    [Fact]
    public async Task Five_thousand_filters_with_unknown_operators_are_one_PGRST100()
    {
        var r = await Get("/books?select=id" + string.Concat(Enumerable.Range(0, 5000).Select(i => $"&c{i}=zz.1")));
        Expect.Error(r, 400, "PGRST100", "\"failed to parse filter (zz.1)\" (line 1, column 1)",
            "unexpected \"z\" expecting \"not\" or operator (eq, gt, ...)");
    }

    [Theory]
    [InlineData("/books?title=eq.%FF", "eq.%FF")]
    [InlineData("/books?ti%FFtle=eq.x", "ti%FFtle")]
    [InlineData("/books?title=eq.%C5", "eq.%C5")]
    public async Task Percent_encoded_invalid_UTF8_in_the_query_is_PGRST100(string target, string part)
    {
        Expect.Error(await Raw(Ascii(target)), 400, "PGRST100", "Invalid UTF-8 in the query string", $"Could not decode '{part}' as UTF-8");
    }

    [Fact]
    public async Task Percent_encoded_invalid_UTF8_in_the_path_is_PGRST100()
    {
        var r = await Raw(Ascii("/bo%FFoks"));
        Expect.PgrstShaped4xx(r);
        Assert.Equal("PostgREST; error=PGRST100", r.Header("Proxy-Status"));
    }

    [Fact]
    public async Task Raw_non_ASCII_bytes_in_the_request_line_are_refused_by_Kestrel_with_400()
    {
        var r = await Raw([.. Ascii("/books?title=eq."), 0xFF, 0xFE]);
        Assert.Equal(400, r.Status);
        Assert.Equal("", r.Body);
    }

    [Fact]
    public async Task Invalid_percent_escapes_are_kept_literally()
    {
        Expect.Error(await Raw(Ascii("/books?select=id&id=eq.%G1%")), 400, "22P02", "invalid input syntax for type integer: \"%G1%\"");
    }

    [Fact]
    public async Task A_NUL_byte_in_a_value_is_PostgreSQLs_400()
    {
        Expect.Error(await Raw(Ascii("/books?select=id&title=eq.a%00b")), 400, "22021", "invalid byte sequence for encoding \"UTF8\": 0x00");
    }

    [Theory]
    [InlineData(150)]
    [InlineData(20000)]
    public async Task A_deeply_nested_or_is_PGRST100(int depth)
    {
        var target = "/books?select=id&or=(" + string.Concat(Enumerable.Repeat("or(", depth)) + "id.eq.1" + new string(')', depth) + ")";
        var r = await Raw(Ascii(target));
        Expect.PgrstShaped4xx(r);
        Assert.Equal("PostgREST; error=PGRST100", r.Header("Proxy-Status"));
    }

    [Fact]
    public async Task A_deeply_nested_select_is_PGRST100()
    {
        var target = "/books?select=" + string.Concat(Enumerable.Repeat("authors(", 8000)) + "id" + new string(')', 8000);
        var r = await Raw(Ascii(target));
        Expect.PgrstShaped4xx(r);
        Assert.Equal("PostgREST; error=PGRST100", r.Header("Proxy-Status"));
    }

    // authors -> books -> authors -> ...: every level is a real relationship around a cycle.
    private static string Nest(int levels) => levels == 0 ? "id" : "id," + (levels % 2 == 0 ? "books" : "authors") + "(" + Nest(levels - 1) + ")";

    [Fact]
    public async Task Embedding_50_levels_deep_around_a_cycle_is_PGRST100()
    {
        // PostgreSQL's planning time grows exponentially with nested lateral joins (50 levels never finishes), so
        // restgres caps embedding at Planner.MaxEmbedDepth levels rather than hang a backend.
        Expect.Error(await Get("/authors?select=" + Nest(50) + "&id=eq.1"), 400, "PGRST100", "Resource embedding is nested too deeply",
            "The select parameter embeds more than 20 levels deep; at most 20 are allowed.");
    }

    [Fact]
    public async Task Embedding_20_levels_deep_around_a_cycle_works()
    {
        var r = await Get("/authors?select=" + Nest(20) + "&id=eq.1");
        Assert.True(r.Status == 200, r.ToString());
        // Follow the first book / the author down: 20 levels of embedded objects, alternating.
        using var doc = System.Text.Json.JsonDocument.Parse(r.Body);
        var node = doc.RootElement[0];
        var depth = 0;
        while (node.TryGetProperty(depth % 2 == 0 ? "books" : "authors", out var child))
        {
            node = child.ValueKind == System.Text.Json.JsonValueKind.Array ? child[0] : child;
            depth++;
        }
        Assert.Equal(20, depth);
    }

    [Fact]
    public async Task An_unknown_relationship_deep_in_an_embed_is_PGRST200()
    {
        var r = await Timed(s => s.GetAsync("/authors?select=id,books(id,authors(id,books(id,nowhere(id))))"));
        Expect.PgrstShaped4xx(r);
        Assert.Equal("PostgREST; error=PGRST200", r.Header("Proxy-Status"));
    }

    [Theory]
    // Unknown function, unknown argument, and an argument PostgreSQL cannot read as the parameter's type.
    [InlineData("/rpc/nope", """{"a":1}""", 404, "PGRST202")]
    [InlineData("/rpc/add", """{"a":1,"zz":2}""", 404, "PGRST202")]
    [InlineData("/rpc/add", """{"a":"one","b":2}""", 400, "22P02")]
    [InlineData("/rpc/add", """{"a":99999999999,"b":2}""", 400, "22003")]
    [InlineData("/rpc/add", """{"a":[1],"b":2}""", 400, "22P02")]
    public async Task Bad_function_calls_are_4xx(string path, string body, int status, string code)
    {
        var r = await Timed(s => s.SendAsync(HttpMethod.Post, path, body, ("Content-Type", "application/json")));
        Assert.Equal(status, r.Status);
        Expect.PgrstShaped4xx(r);
        Assert.Contains($"\"code\":\"{code}\"", r.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_query_argument_to_a_function_is_4xx()
    {
        var r = await Timed(s => s.GetAsync("/rpc/add?a=x&b=1"));
        Assert.Equal(400, r.Status);
        Expect.PgrstShaped4xx(r);
    }

    [Fact]
    public async Task A_moderately_nested_or_still_works()
    {
        var target = "/books?select=id&or=(" + string.Concat(Enumerable.Repeat("or(", 50)) + "id.eq.1" + new string(')', 50) + ")";
        Expect.Ok(await Get(target), """[{"id":1}]""");
    }

    [Fact]
    public async Task A_60_KB_header_is_accepted()
    {
        var r = await Raw(Ascii("/books?select=id&id=eq.1"), ("X-Big", new string('b', 60 * 1024)));
        Assert.Equal(200, r.Status);
        Assert.Equal("""[{"id":1}]""", r.Body);
    }

    [Fact]
    public async Task Headers_beyond_128_KB_are_refused_by_Kestrel_with_431()
    {
        var r = await Raw(Ascii("/books?select=id&id=eq.1"), ("X-Big", new string('b', 200 * 1024)));
        Assert.Equal(431, r.Status);
        Assert.Equal("", r.Body);
    }

    [Fact]
    public async Task Thousands_of_preferences_and_media_types_are_handled_quickly()
    {
        var prefer = await Get("/books?select=id", ("Prefer", string.Join(",", Enumerable.Repeat("count=exact", 5000))));
        Assert.Equal(200, prefer.Status);
        Assert.Equal("0-4/5", prefer.Header("Content-Range"));
        var accept = await Get("/books?select=id", ("Accept", string.Join(",", Enumerable.Range(0, 2000).Select(i => $"x/y{i}"))));
        Assert.Equal(406, accept.Status);
        Assert.Equal("PostgREST; error=PGRST107", accept.Header("Proxy-Status"));
    }

    [Fact]
    public async Task Invalid_preferences_with_strict_handling_are_PGRST122()
    {
        Expect.Error(await Get("/books?select=id", ("Prefer", "count=bogus, handling=strict")), 400, "PGRST122",
            "Invalid preferences given with handling=strict", "Invalid preferences: count=bogus");
    }

    [Fact]
    public async Task A_10_KB_table_name_is_PGRST205()
    {
        var name = new string('t', 10000);
        Expect.Error(await Get("/" + name), 404, "PGRST205", $"Could not find the table 'api.{name}' in the schema cache");
    }
}
