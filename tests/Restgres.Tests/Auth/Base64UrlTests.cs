using Restgres.Auth;
using Xunit;

namespace Restgres.Tests.Auth;

/// <summary>Unpadded base64url as jose-jwt (memory's Base64URLUnpadded) decodes JWT parts.</summary>
public sealed class Base64UrlTests
{
    public static TheoryData<string, string?> Cases => new()
    {
        // text, decoded bytes as hex (null: refused)
        { "", "" },
        { "QQ", "41" },
        { "QR", "41" }, // unused trailing bits are ignored, unlike the BCL decoders
        { "QUI", "4142" },
        { "QUJD", "414243" },
        { "-_8", "FBFF" },
        { "Q", null }, // a length of 1 modulo 4 can hold no whole byte
        { "QQ==", null }, // no padding
        { "QUJ+", null }, // standard base64 characters are not base64url
        { "QU J", null },
        { "QUJé", null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decodes_only_unpadded_base64url(string text, string? hex)
    {
        var ok = Base64Url.TryDecode(text, out var bytes);
        Assert.Equal(hex is not null, ok);
        if (hex is not null) Assert.Equal(hex, Convert.ToHexString(bytes));
    }
}
