using System.Text;
using Xunit;

namespace Restgres.Tests.Http;

/// <summary>
/// The reliability issue's findings 1–5 tried over HTTP as an anonymous client would: each request once crashed the
/// process or cost seconds of CPU and hundreds of MB. Each now gets its ordinary answer quickly, and the server keeps
/// serving.
/// </summary>
public sealed partial class BadInputTests
{
    private const long SmallLimit = 1000;

    private Task<TestServer> Default() => api.DefaultAsync(pg);

    private Task<TestServer> SmallBodies() => api.ServerAsync(pg, "small-bodies", c => c with { ServerMaxBodySize = SmallLimit });

    private static byte[] Concat(byte[] head, byte[] body) => [.. head, .. body];

    [Fact]
    public async Task Sixty_thousand_parentheses_in_limit_are_no_limit_not_a_stack_overflow()
    {
        // Finding 1: one stack frame per "(" killed the process (a stack overflow cannot be caught in .NET).
        var s = await Default();
        var r = await Timed(s, s => s.SendRawAsync(s.RawRequest("GET", Ascii("/books?select=id&order=id&limit=" + new string('(', 60_000)))));
        Assert.Equal(200, r.Status);
        Assert.Equal("0-4/*", r.Header("Content-Range"));
        var offset = await Timed(s, s => s.SendRawAsync(s.RawRequest("GET", Ascii("/books?select=id&order=id&offset=" + new string('(', 30_000) + "3" + new string(')', 30_000)))));
        Assert.Equal("3-4/*", offset.Header("Content-Range"));
        var prefer = await Timed(s, s => s.SendRawAsync(s.RawRequest("GET", Ascii("/books?select=id"),
            ("Prefer", "max-affected=" + new string('(', 60_000)), ("Accept", "application/json;q=" + new string('(', 60_000)))));
        Assert.Equal(200, prefer.Status);
    }

    [Fact]
    public async Task Sixty_thousand_hex_digits_in_limit_offset_and_q_values_cost_linear_time()
    {
        // Finding 2: a BigInteger grown per digit, ~0.5 s of CPU per 60k-digit value.
        var s = await Default();
        var digits = new string('f', 40_000);
        var r = await Timed(s, s => s.SendRawAsync(s.RawRequest("GET", Ascii($"/books?select=id&order=id&limit=0x{digits}&offset=0x{digits}"),
            ("Accept", "application/json;q=0x" + digits))));
        Assert.Equal((200, "[]"), (r.Status, r.Body));
        // A huge offset plus a huge limit is far past the last row (it wrapped around to an empty range: 416).
        Assert.Equal("*/*", r.Header("Content-Range"));
    }

    [Fact]
    public async Task A_name_longer_than_any_identifier_gets_its_404_without_a_suggestion()
    {
        // Finding 3: "did you mean" grids of |name| x |candidate| per table, function or relationship.
        var s = await Default();
        var name = new string('b', 60_000);
        Expect.Error(await Timed(s, s => s.SendRawAsync(s.RawRequest("GET", Ascii("/" + name)))), 404, "PGRST205",
            $"Could not find the table 'api.{name}' in the schema cache");
        var call = await Timed(s, s => s.SendRawAsync(s.RawRequest("GET", Ascii("/rpc/" + name))));
        Assert.Equal((404, "PostgREST; error=PGRST202"), (call.Status, call.Header("Proxy-Status")));
        Assert.Contains("\"hint\":null", call.Body, StringComparison.Ordinal);
        var embed = await Timed(s, s => s.SendRawAsync(s.RawRequest("GET", Ascii($"/books?select=id,{name}(*)"))));
        Assert.Equal((400, "PostgREST; error=PGRST200"), (embed.Status, embed.Header("Proxy-Status")));
        Assert.Contains("\"hint\":null", embed.Body, StringComparison.Ordinal);
        // A near miss of ordinary length still gets its hint.
        Expect.Error(await s.GetAsync("/book"), 404, "PGRST205", "Could not find the table 'api.book' in the schema cache", null,
            "Perhaps you meant the table 'api.books'");
    }

    [Fact]
    public async Task Two_hundred_thousand_variadic_form_values_are_all_passed_in_linear_time()
    {
        // Finding 4: an ImmutableArray copy per repeated value, quadratic in the body.
        var s = await Default();
        var body = string.Join('&', Enumerable.Repeat("v=x", 200_000));
        var r = await Timed(s, s => s.SendAsync(HttpMethod.Post, "/rpc/count_args", body, ("Content-Type", "application/x-www-form-urlencoded")));
        Expect.Ok(r, "200000");
        var get = await Timed(s, s => s.SendRawAsync(s.RawRequest("GET", Ascii("/rpc/count_args?" + string.Join('&', Enumerable.Repeat("v=x", 30_000))))));
        Assert.Equal((200, "30000"), (get.Status, get.Body));
    }

    [Fact]
    public async Task Twelve_thousand_query_parameters_in_reverse_order_are_answered()
    {
        // The canonical query string was built by insertion sort (quadratic in the parameter count; the 200k case is
        // a unit test, since Kestrel's 128 KB request line bounds what HTTP can send).
        var s = await Default();
        var query = string.Join('&', Enumerable.Range(0, 12_000).Reverse().Select(i => $"id=gt.{i % 10}"));
        var r = await Timed(s, s => s.SendRawAsync(s.RawRequest("GET", Ascii("/books?select=id&" + query))));
        Assert.Equal((200, "[]"), (r.Status, r.Body));
    }

    [Fact]
    public async Task A_declared_body_over_the_limit_is_413_before_it_is_read()
    {
        // Finding 5: bodies of up to 100 MiB were buffered whole for any method, ~230 MB at peak per request.
        var s = await Default();
        var r = await Timed(s, s => s.SendRawAsync(s.RawRequest("POST", Ascii("/books"),
            ("Content-Type", "application/json"), ("Content-Length", "200000000"))));
        Expect.Error(r, 413, "PGRST102", "Request body too large", "The request body is larger than 10485760 bytes (server-max-body-size).");
    }

    [Fact]
    public async Task The_limit_is_configurable_and_applies_to_declared_and_chunked_bodies()
    {
        var s = await SmallBodies();
        var fits = "{\"a\":1,\"b\":2" + new string(' ', (int)SmallLimit - 13) + "}";
        Assert.Equal(SmallLimit, Encoding.UTF8.GetByteCount(fits));
        Expect.Ok(await Timed(s, s => s.SendAsync(HttpMethod.Post, "/rpc/add", fits, ("Content-Type", "application/json"))), "3");
        var tooBig = fits + " ";
        var declared = await Timed(s, s => s.SendAsync(HttpMethod.Post, "/rpc/add", tooBig, ("Content-Type", "application/json")));
        Expect.Error(declared, 413, "PGRST102", "Request body too large", "The request body is larger than 1000 bytes (server-max-body-size).");

        var chunk = Encoding.ASCII.GetBytes(new string(' ', 600));
        var chunked = Concat(Concat(Ascii("258\r\n"), chunk), Ascii("\r\n258\r\n"));
        chunked = Concat(Concat(chunked, chunk), Ascii("\r\n0\r\n\r\n"));
        var r = await Timed(s, s => s.SendRawAsync(Concat(s.RawRequest("POST", Ascii("/rpc/add"),
            ("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")), chunked)));
        Expect.Error(r, 413, "PGRST102", "Request body too large", "The request body is larger than 1000 bytes (server-max-body-size).");
    }

    [Theory]
    [InlineData("GET", "/books?select=id&id=eq.1", 200)]
    [InlineData("DELETE", "/books?id=eq.-1", 401)]
    public async Task Bodies_of_GET_and_DELETE_are_not_read(string method, string target, int status)
    {
        // The body is declared but never sent: a server that read it would wait for it until the test's 10 s cap.
        var s = await SmallBodies();
        var r = await Timed(s, s => s.SendRawAsync(s.RawRequest(method, Ascii(target), ("Content-Length", "100000"))));
        Assert.Equal(status, r.Status);
        if (status == 200) Assert.Equal("""[{"id":1}]""", r.Body);
    }

    [Fact]
    public async Task Invalid_UTF8_in_a_call_bodys_key_is_PGRST102_not_a_500()
    {
        // Reliability finding F2: the key's bytes were transcoded after validation and threw (500 PGRSTX00).
        var s = await Default();
        byte[] body = [.. Encoding.ASCII.GetBytes("{\"a\":1,\""), 0xE2, 0x82, .. Encoding.ASCII.GetBytes("b\":2}")];
        var head = s.RawRequest("POST", Encoding.ASCII.GetBytes("/rpc/add"),
            ("Content-Type", "application/json"), ("Content-Length", body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var r = await Timed(s, s => s.SendRawAsync(Concat(head, body)));
        Assert.Equal((400, "PostgREST; error=PGRST102"), (r.Status, r.Header("Proxy-Status")));
    }
}

