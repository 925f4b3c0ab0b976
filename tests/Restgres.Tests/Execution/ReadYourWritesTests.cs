using Restgres.Config;
using Restgres.Execution;
using Restgres.Requests;
using Xunit;

namespace Restgres.Tests.Execution;

/// <summary>The Restgres-LSN token as a read sends it (header or cookie), and when a write is asked for the cookie.</summary>
public sealed class ReadYourWritesTests
{
    private static ApiRequest Request(params (string Name, string Value)[] headers)
    {
        var raw = new RawRequest("GET", "/t", ["t"], "", [.. headers.Select(h => new KeyValuePair<string, string>(h.Name, h.Value))],
            ReadOnlyMemory<byte>.Empty);
        return ApiRequest.FromRaw(new AppConfig(), raw, Preferences.None);
    }

    [Theory]
    [InlineData("Restgres-LSN", "0/3A1C2F8", "0/3A1C2F8")]
    [InlineData("restgres-lsn", " 16/B374D848 ", "16/B374D848")]
    [InlineData("Cookie", "a=1; restgres_lsn=0/10", "0/10")]
    [InlineData("Restgres-LSN", "not-a-position", "malformed")]
    [InlineData("Restgres-LSN", "1/2/3", "malformed")]
    [InlineData("Restgres-LSN", "cookie", "malformed")]
    [InlineData("Restgres-LSN", "0/0", "malformed")]
    [InlineData("Cookie", "restgres_lsn=", "malformed")]
    [InlineData("Cookie", "other=0/10", "none")]
    [InlineData("X-Other", "0/10", "none")]
    public void A_read_token_is_a_position_malformed_or_absent(string header, string value, string expected)
    {
        var token = ReadYourWrites.Token(Request((header, value)));
        var seen = token is not { } lsn ? "none" : lsn == ReadYourWrites.Malformed ? "malformed" : lsn.ToString();
        Assert.Equal(expected, seen);
    }

    [Fact]
    public void The_header_wins_over_the_cookie() =>
        Assert.Equal("0/20", ReadYourWrites.Token(Request(("Restgres-LSN", "0/20"), ("Cookie", "restgres_lsn=0/10")))!.Value.ToString());

    [Theory]
    [InlineData("Restgres-LSN", "cookie", true)]
    [InlineData("Restgres-LSN", "Cookie", true)]
    [InlineData("Cookie", "restgres_lsn=0/10", true)]
    [InlineData("Restgres-LSN", "0/10", false)]
    [InlineData("Cookie", "session=1", false)]
    public void A_write_gets_the_cookie_when_it_asks_or_already_has_it(string header, string value, bool expected)
    {
        var headers = new List<KeyValuePair<string, string>>();
        ReadYourWrites.AddTo(headers, Request((header, value)), "0/30");
        Assert.Equal(new KeyValuePair<string, string>("Restgres-LSN", "0/30"), headers[0]);
        Assert.Equal(expected, headers.Exists(h => h is { Key: "Set-Cookie", Value: "restgres_lsn=0/30; Path=/; HttpOnly; SameSite=Lax" }));
    }
}
