namespace Restgres.Auth;

/// <summary>
/// Unpadded base64url decoding exactly as PostgREST's JWT library (jose-jwt, via memory's
/// <c>Base64URLUnpadded</c>) accepts it: only <c>A-Z a-z 0-9 - _</c>, no <c>=</c> padding, no whitespace, a length
/// that is not 1 modulo 4, and unused trailing bits ignored. The BCL decoders differ on the last two points (they
/// accept padding and reject non-zero trailing bits), and the difference decides between PGRST301 messages.
/// </summary>
internal static class Base64Url
{
    private static readonly sbyte[] Alphabet = BuildAlphabet();

    private static sbyte[] BuildAlphabet()
    {
        var table = new sbyte[128];
        Array.Fill(table, (sbyte)-1);
        const string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for (var i = 0; i < chars.Length; i++) table[chars[i]] = (sbyte)i;
        return table;
    }

    public static int DecodedLength(int encodedLength) => encodedLength / 4 * 3 + (encodedLength % 4) switch
    {
        2 => 1,
        3 => 2,
        _ => 0,
    };

    /// <summary>Decodes <paramref name="text"/> into a new array; false when it is not valid unpadded base64url.</summary>
    public static bool TryDecode(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = [];
        if (text.Length % 4 == 1) return false;
        var result = new byte[DecodedLength(text.Length)];
        if (!TryDecode(text, result)) return false;
        bytes = result;
        return true;
    }

    /// <summary>Decodes into <paramref name="destination"/>, which must be <see cref="DecodedLength"/> long.</summary>
    public static bool TryDecode(ReadOnlySpan<char> text, Span<byte> destination)
    {
        if (text.Length % 4 == 1) return false;
        var d = 0;
        var i = 0;
        for (; i + 4 <= text.Length; i += 4)
        {
            int a = Value(text[i]), b = Value(text[i + 1]), c = Value(text[i + 2]), e = Value(text[i + 3]);
            if ((a | b | c | e) < 0) return false;
            destination[d++] = (byte)((a << 2) | (b >> 4));
            destination[d++] = (byte)((b << 4) | (c >> 2));
            destination[d++] = (byte)((c << 6) | e);
        }
        var rest = text.Length - i;
        if (rest >= 2)
        {
            int a = Value(text[i]), b = Value(text[i + 1]);
            if ((a | b) < 0) return false;
            destination[d++] = (byte)((a << 2) | (b >> 4));
            if (rest == 3)
            {
                var c = Value(text[i + 2]);
                if (c < 0) return false;
                destination[d] = (byte)((b << 4) | (c >> 2));
            }
        }
        return true;
    }

    private static int Value(char c) => c < 128 ? Alphabet[c] : -1;
}
