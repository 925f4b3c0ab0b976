using System.Text;
using Restgres.Errors;
using Restgres.Requests;
using Xunit;

namespace Restgres.Tests.Requests;

/// <summary>
/// CSV bodies, read the same way for writes and for calls: PostgREST parses them once (ApiRequest/Payload.hs) with
/// cassava's decodeByName, csvToJson and payloadAttributes.
/// </summary>
public sealed class CsvPayloadTests
{
    public static TheoryData<string, string, string> Bodies => new()
    {
        // body, JSON sent to PostgreSQL, keys (sorted, joined with '|')
        { "a,b\nbar,baz", """[{"a":"bar","b":"baz"}]""", "a|b" },
        // Each object's keys are in order: aeson encodes csvToJson's Map sorted.
        { "b,a\n1,2", """[{"a":"2","b":"1"}]""", "a|b" },
        { "a,b\r\nNULL,foo\r\n", """[{"a":null,"b":"foo"}]""", "a|b" },
        // A quoted "NULL" is null too: cassava hands over the unescaped text.
        { "a,b\n\"NULL\",", """[{"a":null,"b":""}]""", "a|b" },
        { "a,b\n\"x, \"\"y\"\"\",\"line\nbreak\"\n", """[{"a":"x, \"y\"","b":"line\nbreak"}]""", "a|b" },
        // Blank lines are skipped (removeBlankLines), wherever they are after the header.
        { "a,b\n1,2\n\n3,4\n", """[{"a":"1","b":"2"},{"a":"3","b":"4"}]""", "a|b" },
        { "a,b\n\n1,2", """[{"a":"1","b":"2"}]""", "a|b" },
        { "a,b\r\n\r\n1,2\r\n\r\n", """[{"a":"1","b":"2"}]""", "a|b" },
        // A lone carriage return ends a line too (cassava's endOfLine).
        { "a,b\r1,2\r3,4", """[{"a":"1","b":"2"},{"a":"3","b":"4"}]""", "a|b" },
        // toNamedRecord zips the header with the fields: extra fields are dropped...
        { "a,b\n1,2,3", """[{"a":"1","b":"2"}]""", "a|b" },
        // ...and short records have fewer keys, which is fine when every record has the first one's keys.
        { "a,b\n1\n2", """[{"a":"1"},{"a":"2"}]""", "a" },
        // A repeated header name keeps its last field among those the record reaches.
        { "a,a\n1,2", """[{"a":"2"}]""", "a" },
        { "a,b,a\n1,2\n3,4,5", """[{"a":"1","b":"2"},{"a":"5","b":"4"}]""", "a|b" },
        // A header alone is PostgREST's empty array, with no keys.
        { "a,b\n", "[]", "" },
        { "a,b\n\n", "[]", "" },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public void Csv_becomes_the_same_json_for_writes_and_calls(string body, string json, string keys)
    {
        var write = PayloadParser.Parse(Mutation.Create, MediaType.Csv, Encoding.UTF8.GetBytes(body), null);
        Assert.Equal(json, write.Payload!.Json);
        Assert.False(write.Payload.IsObject);
        Assert.Equal(keys, string.Join('|', write.Columns));

        var call = Assert.IsType<JsonCallPayload>(PayloadParser.ParseCall(MediaType.Csv, Encoding.UTF8.GetBytes(body), null));
        Assert.Equal(json, Encoding.UTF8.GetString(call.Raw.Span));
        Assert.Equal(keys, string.Join('|', call.Keys));
    }

    public static TheoryData<string, string> Rejected => new()
    {
        // body, PGRST102 message
        { "a,b\nfoo,bar\nbaz", PayloadParser.CsvFieldCount },
        { "a,b\n1\n2,3", PayloadParser.CsvFieldCount },
        // The header must end with a line break.
        { "a,b", "parse error (not enough input) at \"\"" },
        { "", "parse error (not enough input) at \"\"" },
        { "a,b\n\"open", "parse error (not enough input) at \"\"" },
        { "a,b\n1\"2,3", "parse error (endOfInput) at \"\"2,3\"" },
        // Parse errors come before the field count check.
        { "a,b\n1\n2,3\n4\"", "parse error (endOfInput) at \"\"\"" },
    };

    [Theory]
    [MemberData(nameof(Rejected))]
    public void Malformed_csv_is_rejected_the_same_way_for_writes_and_calls(string body, string message)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var write = Assert.Throws<ApiError>(() => PayloadParser.Parse(Mutation.Create, MediaType.Csv, bytes, null));
        var call = Assert.Throws<ApiError>(() => PayloadParser.ParseCall(MediaType.Csv, bytes, null));
        Assert.Equal(("PGRST102", 400, message), (write.Code, write.Status, write.Message));
        Assert.Equal(("PGRST102", 400, message), (call.Code, call.Status, call.Message));
    }

    [Fact]
    public void Json_bodies_are_validated_the_same_way_for_writes_and_calls()
    {
        byte[] invalidUtf8 = [(byte)'{', (byte)'"', 0xff, (byte)'"', (byte)':', (byte)'1', (byte)'}'];
        Assert.Equal("Empty or invalid json", Assert.Throws<ApiError>(() => PayloadParser.Parse(Mutation.Create, MediaType.Json, invalidUtf8, null)).Message);
        Assert.Equal("Empty or invalid json", Assert.Throws<ApiError>(() => PayloadParser.ParseCall(MediaType.Json, invalidUtf8, null)).Message);
        // aeson has no nesting limit, and neither parser recurses: PostgreSQL decides what it accepts.
        var deep = Encoding.UTF8.GetBytes("{\"a\":" + new string('[', 10_000) + new string(']', 10_000) + "}");
        Assert.Equal("a", string.Join('|', PayloadParser.Parse(Mutation.Create, MediaType.Json, deep, null).Columns));
        Assert.Equal("a", string.Join('|', PayloadParser.ParseCall(MediaType.Json, deep, null).Keys));
    }
}
