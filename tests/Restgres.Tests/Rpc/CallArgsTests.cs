using System.Collections.Immutable;
using System.Text;
using Restgres.Errors;
using Restgres.Plan;
using Restgres.Requests;
using Xunit;
using static Restgres.Tests.Rpc.RpcFixtures;

namespace Restgres.Tests.Rpc;

/// <summary>Request bodies and query strings to function arguments (PostgREST's getPayload and toRpcParams).</summary>
public sealed class CallArgsTests
{
    private static CallPayload Parse(string contentType, string body, ImmutableArray<string>? columns = null) =>
        PayloadParser.ParseCall(MediaType.Decode(contentType), Encoding.UTF8.GetBytes(body), columns);

    private static string RawText(CallPayload p) => p switch
    {
        JsonCallPayload j => Encoding.UTF8.GetString(j.Raw.Span),
        RawJsonCallPayload r => Encoding.UTF8.GetString(r.Raw.Span),
        RawCallPayload r => Encoding.UTF8.GetString(r.Raw.Span),
        _ => "",
    };

    public static TheoryData<string, string, string, string[], string> Payloads => new()
    {
        // Content-Type, body, payload kind, argument names, parameter text
        { "application/json", """{"b":1,"a":{"x":2}}""", "json", ["a", "b"], """{"b":1,"a":{"x":2}}""" },
        { "application/json; charset=utf-8", """ {"name":"world"} """, "json", ["name"], """ {"name":"world"} """ },
        // An empty body is {} for a function call.
        { "application/json", "", "json", [], "" },
        // An array of objects: the keys of the first (all must have the same); the call takes the first row.
        { "application/json", """[{"a":1,"b":2},{"b":6,"a":4}]""", "json", ["a", "b"], """[{"a":1,"b":2},{"b":6,"a":4}]""" },
        // Anything else is an empty array without keys.
        { "application/json", "[]", "json", [], "[]" },
        { "application/json", "5", "json", [], "[]" },
        { "application/json", "\"text\"", "json", [], "[]" },
        // CSV becomes an array of objects with string values, NULL meaning null.
        { "text/csv", "a,b\n1,2\n4,NULL", "json", ["a", "b"], """[{"a":"1","b":"2"},{"a":"4","b":null}]""" },
        { "text/csv", "b,a\r\n\"x,y\",\"say \"\"hi\"\"\"\r\n", "json", ["a", "b"], """[{"a":"say \"hi\"","b":"x,y"}]""" },
        { "text/plain", "unnamed text arg", "raw", [], "unnamed text arg" },
        { "text/xml", "<a/>", "raw", [], "<a/>" },
        { "application/octet-stream", "\u0001\u0002", "raw", [], "\u0001\u0002" },
        { "application/x-www-form-urlencoded", "v=hi&v=there&x=a+b%21", "form", ["v", "x"], "" },
        { "application/x-www-form-urlencoded", "", "form", [], "" },
    };

    [Theory]
    [MemberData(nameof(Payloads))]
    public void Parses_the_body_by_content_type(string contentType, string body, string kind, string[] keys, string raw)
    {
        var p = Parse(contentType, body);
        Assert.Equal(kind, p switch { JsonCallPayload => "json", RawCallPayload => "raw", UrlEncodedCallPayload => "form", _ => "?" });
        Assert.Equal(keys.Order(StringComparer.Ordinal).ToArray(), p.Keys.ToArray());
        Assert.Equal(raw, RawText(p));
    }

    [Fact]
    public void Form_bodies_keep_repeated_names_in_order()
    {
        var p = Assert.IsType<UrlEncodedCallPayload>(Parse("application/x-www-form-urlencoded", "v=hi&v=there&x=a+b%21;y"));
        Assert.Equal(["v=hi", "v=there", "x=a b!", "y="], p.Params.Select(kv => kv.Key + "=" + kv.Value).ToArray());
    }

    [Fact]
    public void Columns_name_the_arguments_without_inspecting_the_json()
    {
        var p = Assert.IsType<RawJsonCallPayload>(Parse("application/json", """{"fake_id":13,"name":"John"}""", ["name"]));
        Assert.Equal(["name"], p.Keys.ToArray());
        Assert.Equal("""{"fake_id":13,"name":"John"}""", RawText(p));
    }

    [Theory]
    [InlineData("application/json", "sdfsdf", "Empty or invalid json")]
    [InlineData("application/json", "{\"a\":1", "Empty or invalid json")]
    [InlineData("application/json", "   ", "Empty or invalid json")]
    [InlineData("application/json", """[{"a":1},{"b":2}]""", "All object keys must match")]
    [InlineData("application/json", """[{"a":1},{"a":1,"b":2}]""", "All object keys must match")]
    [InlineData("application/json", """[1, 2]""", "All object keys must match")]
    [InlineData("application/json", """[{"a":1}, 2]""", "All object keys must match")]
    [InlineData("application/vnd.pgrst.object+json", "{}", "Content-Type not acceptable: application/vnd.pgrst.object+json")]
    [InlineData("image/png", "x", "Content-Type not acceptable: image/png")]
    public void Rejects_bodies_it_cannot_use_with_PGRST102(string contentType, string body, string message)
    {
        var e = Assert.Throws<ApiError>(() => Parse(contentType, body));
        Assert.Equal((400, "PGRST102", message), (e.Status, e.Code, e.Message));
    }

    [Fact]
    public void Repeated_arguments_keep_the_last_value_unless_the_parameter_is_variadic()
    {
        var fn = Fn("sayhello_variadic", P("name", "text"), P("v", "text[]", variadic: true));
        var args = CallArgsParser.ToRpcParams(fn, [new("name", "ignored"), new("v", "a"), new("name", "world"), new("v", "b")]);
        Assert.Equal(new FixedArg("world"), args["name"]);
        Assert.Equal(["a", "b"], Assert.IsType<VariadicArg>(args["v"]).Values.ToArray());

        var plain = CallArgsParser.ToRpcParams(Fn("sayhello", P("name", "text")), [new("name", "ignored"), new("name", "world")]);
        Assert.Equal(new FixedArg("world"), plain["name"]);
    }

    [Fact]
    public void Direct_arguments_encode_as_a_json_object_for_an_unnamed_parameter()
    {
        var fn = Fn("f", P("a", "text"), P("v", "text[]", variadic: true));
        var args = CallArgsParser.ToRpcParams(fn, [new("v", "x\"y"), new("a", "1"), new("v", "2")]);
        Assert.Equal("""{"a":"1","v":["x\"y","2"]}""", CallArgsParser.ToJsonObject(args));
    }

    [Fact]
    public void Hundreds_of_thousands_of_variadic_values_are_collected_in_linear_time()
    {
        // An ImmutableArray.Add per value copied the array each time: quadratic in a form body repeating the name.
        var fn = Fn("f", P("v", "text[]", variadic: true));
        var pairs = Enumerable.Range(0, 300_000).Select(i => new KeyValuePair<string, string>("v", i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var values = Assert.IsType<VariadicArg>(CallArgsParser.ToRpcParams(fn, pairs)["v"]).Values;
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), sw.Elapsed.ToString());
        Assert.Equal(300_000, values.Length);
        Assert.Equal(("0", "299999"), (values[0], values[^1]));
    }
}

