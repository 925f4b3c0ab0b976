using System.Globalization;
using System.Text;
using Restgres.Errors;

namespace Restgres.Auth;

/// <summary>
/// PostgREST's <c>JwtError</c> (Error.hs): PGRST300 (no secret, 500), PGRST301 (the token could not be decoded),
/// PGRST302 (anonymous access disabled) and PGRST303 (a claim is invalid), all 401 except PGRST300. PGRST301/303
/// carry <c>WWW-Authenticate: Bearer error="invalid_token", error_description=…</c> with the message quoted by
/// Haskell's <c>show</c>, PGRST302 a bare <c>WWW-Authenticate: Bearer</c> (RFC 6750 §3).
/// </summary>
internal static class JwtErrors
{
    // PGRST301 messages (JwtDecodeError).
    public const string EmptyAuthHeaderMessage = "Empty JWT is sent in Authorization header";
    public const string KeyErrorMessage = "No suitable key or wrong key type";
    public const string BadAlgorithmMessage = "Wrong or unsupported encoding algorithm";
    public const string BadCryptoMessage = "JWT cryptographic operation failed";
    public const string UnsupportedTokenTypeMessage = "Unsupported token type";

    // Details of KeyError / BadAlgorithm, the texts of the jose-jwt library PostgREST decodes with.
    public const string NoSuitableKeyDetails = "No suitable key was found to decode the JWT";
    public const string NoKeyDecodedDetails = "None of the keys was able to decode the JWT";
    public const string UnsecuredDetails = "JWT is unsecured but expected 'alg' was not 'none'";

    // PGRST303 messages (JwtClaimsError).
    public const string ExpiredMessage = "JWT expired";
    public const string NotYetValidMessage = "JWT not yet valid";
    public const string IssuedAtFutureMessage = "JWT issued at future";
    public const string NotInAudienceMessage = "JWT not in audience";
    public const string ParsingClaimsFailedMessage = "Parsing claims failed";
    public const string ExpNotNumberMessage = "The JWT 'exp' claim must be a number";
    public const string NbfNotNumberMessage = "The JWT 'nbf' claim must be a number";
    public const string IatNotNumberMessage = "The JWT 'iat' claim must be a number";
    public const string AudNotStringOrArrayMessage = "The JWT 'aud' claim must be a string or an array of strings";

    public static ApiError SecretMissing() => new(500, "PGRST300", "Server lacks JWT secret");

    public static ApiError TokenRequired() =>
        new(401, "PGRST302", "Anonymous access is disabled", headers: [new("WWW-Authenticate", "Bearer")]);

    public static ApiError EmptyAuthHeader() => Decode(EmptyAuthHeaderMessage);

    public static ApiError UnexpectedParts(int parts) =>
        Decode("Expected 3 parts in JWT; got " + parts.ToString(CultureInfo.InvariantCulture));

    public static ApiError KeyError(string details) => Decode(KeyErrorMessage, details);

    public static ApiError BadAlgorithm(string details) => Decode(BadAlgorithmMessage, details);

    public static ApiError BadCrypto() => Decode(BadCryptoMessage);

    public static ApiError Decode(string message, string? details = null) =>
        new(401, "PGRST301", message, ApiError.Str(details), headers: [InvalidTokenHeader(message)]);

    public static ApiError Claims(string message) =>
        new(401, "PGRST303", message, headers: [InvalidTokenHeader(message)]);

    /// <summary>PostgREST's <c>invalidTokenHeader</c>: the description is the message as Haskell <c>show</c>s it.</summary>
    public static KeyValuePair<string, string> InvalidTokenHeader(string message) =>
        new("WWW-Authenticate", "Bearer error=\"invalid_token\", error_description=" + HaskellShow(message));

    private static readonly string[] AsciiControlNames =
    [
        "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "a", "b", "t", "n", "v", "f", "r", "SO", "SI",
        "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US",
    ];

    /// <summary>
    /// Haskell's <c>show</c> for <c>Text</c>: double quotes around, <c>"</c> and <c>\</c> escaped, ASCII control
    /// characters by their mnemonic (<c>\n</c>, <c>\SOH</c>, <c>\DEL</c>), other non-ASCII characters as decimal
    /// escapes, and <c>\&amp;</c> where the next character would otherwise extend an escape, as GHC writes it. The
    /// messages above are plain ASCII, so in practice this only adds the quotes.
    /// </summary>
    public static string HaskellShow(string text)
    {
        var sb = new StringBuilder(text.Length + 2);
        sb.Append('"');
        var afterNumeric = false;
        var afterSO = false;
        foreach (var rune in text.EnumerateRunes())
        {
            var c = rune.Value;
            if ((afterNumeric && c is >= '0' and <= '9') || (afterSO && c == 'H')) sb.Append("\\&");
            afterNumeric = afterSO = false;
            if (c == '"') sb.Append("\\\"");
            else if (c == '\\') sb.Append("\\\\");
            else if (c < 0x20)
            {
                sb.Append('\\').Append(AsciiControlNames[c]);
                afterSO = c == 0x0e;
            }
            else if (c == 0x7f) sb.Append("\\DEL");
            else if (c < 0x7f) sb.Append((char)c);
            else
            {
                sb.Append('\\').Append(c.ToString(CultureInfo.InvariantCulture));
                afterNumeric = true;
            }
        }
        sb.Append('"');
        return sb.ToString();
    }
}
