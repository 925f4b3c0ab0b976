using System.Text;
using System.Text.Json;
using Restgres.Errors;
using Restgres.Requests;
using Xunit;

namespace Restgres.Tests.Writes;

/// <summary>Body parsing for writes, as PostgREST's ApiRequest/Payload.hs does it.</summary>
public sealed class PayloadParserTests
{
    private static ParsedPayload Json(string body, Mutation m = Mutation.Create, string[]? columns = null) =>
        PayloadParser.Parse(m, MediaType.Json, Encoding.UTF8.GetBytes(body), columns is null ? null : [.. columns]);

    private static string Error(Action a)
    {
        var e = Assert.Throws<ApiError>(a);
        Assert.Equal("PGRST102", e.Code);
        Assert.Equal(400, e.Status);
        return e.Message;
    }

    public static TheoryData<string, bool, string> ValidJson => new()
    {
        // body, is object, sorted keys joined with '|'
        { """{"b":1,"a":2}""", true, "a|b" },
        { " \t\n{ \"data\": { \"foo\":\"bar\" } }\t \n", true, "data" },
        { """[{"id":1,"body":"x"},{"body":"y","id":2}]""", false, "body|id" },
        { """[{"a":1,"a":2},{"a":3}]""", false, "a" },
        { """[{"k\u0031":1},{"k1":2}]""", false, "k1" },
        { "{}", true, "" },
        { "[{}]", false, "" },
        { "[{},{}]", false, "" },
        { """{"nested":[1,{"x":[]}],"s":"\u00e9"}""", true, "nested|s" },
    };

    [Theory]
    [MemberData(nameof(ValidJson))]
    public void Json_objects_and_uniform_arrays_give_their_sorted_keys(string body, bool isObject, string keys)
    {
        var p = Json(body);
        Assert.NotNull(p.Payload);
        Assert.Equal(body, p.Payload.Json);
        Assert.Equal(isObject, p.Payload.IsObject);
        Assert.Equal(keys, string.Join('|', p.Columns));
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("1")]
    [InlineData("\"text\"")]
    [InlineData("null")]
    [InlineData(" true ")]
    public void Empty_arrays_and_scalars_become_an_empty_array(string body)
    {
        var p = Json(body);
        Assert.Equal("[]", p.Payload!.Json);
        Assert.False(p.Payload.IsObject);
        Assert.Empty(p.Columns);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("}{ x = 2")]
    [InlineData("{\"a\":1")]
    [InlineData("{\"a\":1} x")]
    [InlineData("{\"a\":1,}")]
    [InlineData("[{\"a\":1},]")]
    [InlineData("{'a':1}")]
    [InlineData("[{\"a\":1},{\"b\":2}")]
    [InlineData("[1,{\"a\":tru}]")]
    public void Invalid_json_is_rejected_before_key_checks(string body) =>
        Assert.Equal("Empty or invalid json", Error(() => Json(body)));

    [Fact]
    public void Invalid_utf8_is_invalid_json() =>
        Assert.Equal("Empty or invalid json", Error(() => PayloadParser.Parse(Mutation.Create, MediaType.Json, new byte[] { (byte)'"', 0xff, (byte)'"' }, null)));

    [Theory]
    [InlineData("""[{"body":"xxxxx","id":100},123,"xxxx",{"body":"xxxx","id":111}]""")]
    [InlineData("""[{"body":"xxxxx","id":100},{"body":"xxxx","id":111,"owner":"me"}]""")]
    [InlineData("""[{"a":1,"b":2},{"a":1}]""")]
    [InlineData("""[{"a":1},{"b":1}]""")]
    [InlineData("""[1,{"a":1}]""")]
    [InlineData("""[[],[]]""")]
    public void Arrays_must_hold_objects_with_the_same_keys(string body) =>
        Assert.Equal("All object keys must match", Error(() => Json(body)));

    [Fact]
    public void Columns_parameter_sends_the_raw_body_unvalidated_for_post_and_patch()
    {
        var p = Json("""[{"x":1},2]""", Mutation.Create, ["id", "body", "id"]);
        Assert.Equal("""[{"x":1},2]""", p.Payload!.Json);
        Assert.Equal("body|id", string.Join('|', p.Columns));
        Assert.False(p.Payload.IsObject);
        Assert.True(Json("  {\"a\":1}", Mutation.Update, ["a"]).Payload!.IsObject);
    }

    [Fact]
    public void Put_ignores_the_columns_parameter() =>
        Assert.Equal("Empty or invalid json", Error(() => Json("nope", Mutation.SingleUpsert, ["a"])));

    [Fact]
    public void Delete_reads_no_body()
    {
        var p = Json("}{ not json", Mutation.Delete);
        Assert.Null(p.Payload);
        Assert.Empty(p.Columns);
    }

    [Fact]
    public void Unsupported_content_types_are_rejected() =>
        Assert.Equal("Content-Type not acceptable: text/plain",
            Error(() => PayloadParser.Parse(Mutation.Create, MediaType.Decode("text/plain"), "x"u8.ToArray(), null)));

    private static (ParsedPayload P, JsonElement Json) Csv(string body)
    {
        var p = PayloadParser.Parse(Mutation.Create, MediaType.Csv, Encoding.UTF8.GetBytes(body), null);
        return (p, JsonDocument.Parse(p.Payload!.Json).RootElement.Clone());
    }

    public static TheoryData<string, string, string> CsvBodies => new()
    {
        // body, expected JSON (compared structurally), keys
        { "a,b\nbar,baz", """[{"a":"bar","b":"baz"}]""", "a|b" },
        { "a,b\r\nNULL,foo\r\n", """[{"a":null,"b":"foo"}]""", "a|b" },
        { "id,name,client_id\n8,Xenix,1\n9,Windows NT,1", """[{"id":"8","name":"Xenix","client_id":"1"},{"id":"9","name":"Windows NT","client_id":"1"}]""", "client_id|id|name" },
        { "a,b\n\"x, \"\"y\"\"\",\"line\nbreak\"\n", """[{"a":"x, \"y\"","b":"line\nbreak"}]""", "a|b" },
        { "a,b\n1,2\n\n3,4\n", """[{"a":"1","b":"2"},{"a":"3","b":"4"}]""", "a|b" },
        { "a,b\n1,2,3", """[{"a":"1","b":"2"}]""", "a|b" },
        { "a,b\n\"NULL\",", """[{"a":null,"b":""}]""", "a|b" },
    };

    [Theory]
    [MemberData(nameof(CsvBodies))]
    public void Csv_becomes_an_array_of_string_objects(string body, string expected, string keys)
    {
        var (p, json) = Csv(body);
        Assert.False(p.Payload!.IsObject);
        Assert.Equal(keys, string.Join('|', p.Columns));
        Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(expected).RootElement, json), p.Payload.Json);
    }

    [Fact]
    public void Csv_with_a_short_line_is_rejected() =>
        Assert.Equal("All lines must have same number of fields",
            Error(() => Csv("a,b\nfoo,bar\nbaz")));

    [Fact]
    public void Csv_with_only_a_header_is_an_empty_array()
    {
        var (p, _) = Csv("a,b\n");
        Assert.Equal("[]", p.Payload!.Json);
        Assert.Empty(p.Columns);
    }

    [Fact]
    public void Form_bodies_become_one_object_of_strings()
    {
        var p = PayloadParser.Parse(Mutation.Create, MediaType.Decode("application/x-www-form-urlencoded"),
            "integer=7&double=2.71828&varchar=forms+are+fun&money=$3.99&enc=%C3%A9%26&integer=8&flag"u8.ToArray(), ["ignored"]);
        Assert.True(p.Payload!.IsObject);
        Assert.Equal("double|enc|flag|integer|money|varchar", string.Join('|', p.Columns));
        var json = JsonDocument.Parse(p.Payload.Json).RootElement;
        Assert.Equal("8", json.GetProperty("integer").GetString());
        Assert.Equal("forms are fun", json.GetProperty("varchar").GetString());
        Assert.Equal("é&", json.GetProperty("enc").GetString());
        Assert.Equal("", json.GetProperty("flag").GetString());
    }
}
