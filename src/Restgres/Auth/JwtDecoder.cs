using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Restgres.Auth;

/// <summary>
/// PostgREST's <c>parseToken</c> for a three-part token: jose-jwt's <c>decode</c> with no expected algorithm. Every
/// parse failure (bad base64url, header not a JSON object, unknown <c>alg</c>, a JWE header, badly typed
/// <c>typ</c>/<c>cty</c>/<c>kid</c>) is "JWT cryptographic operation failed"; <c>alg: none</c> is refused with
/// BadAlgorithm; then the keys that fit the header are tried in turn (KeyError when none fits or none verifies).
/// Returns the verified payload bytes; the caller parses the claims.
/// </summary>
internal static class JwtDecoder
{
    private static readonly JsonDocumentOptions HeaderOptions = new() { MaxDepth = 64 };

    public static byte[] Decode(string token, JwtKeySet keys)
    {
        var dot1 = token.IndexOf('.', StringComparison.Ordinal);
        var dot2 = token.IndexOf('.', dot1 + 1);
        var headerPart = token.AsSpan(0, dot1);
        var payloadPart = token.AsSpan(dot1 + 1, dot2 - dot1 - 1);
        var signaturePart = token.AsSpan(dot2 + 1);

        if (!Base64Url.TryDecode(headerPart, out var headerBytes)) throw JwtErrors.BadCrypto();
        JwsAlg alg;
        string? kid;
        try
        {
            using var header = JsonDocument.Parse(headerBytes, HeaderOptions);
            var h = header.RootElement;
            if (h.ValueKind != JsonValueKind.Object) throw JwtErrors.BadCrypto();
            if (h.TryGetProperty("alg", out var algElement) && algElement.ValueKind == JsonValueKind.String
                && algElement.ValueEquals("none"))
            {
                // jose-jwt decodes the payload of an unsecured token before refusing it.
                if (!Base64Url.TryDecode(payloadPart, out _)) throw JwtErrors.BadCrypto();
                throw JwtErrors.BadAlgorithm(JwtErrors.UnsecuredDetails);
            }
            // A JWE header: its five-part form can never parse out of the three parts checked before.
            if (h.TryGetProperty("enc", out _)) throw JwtErrors.BadCrypto();
            // RFC 7515 §4.1.11: a token naming critical extensions the recipient does not understand must be refused.
            // Restgres understands none. (PostgREST's jose-jwt ignores "crit": a deliberate difference, for safety.)
            if (h.TryGetProperty("crit", out _)) throw JwtErrors.BadCrypto();
            if (algElement.ValueKind != JsonValueKind.String || !JwsAlgs.TryParse(algElement.GetString()!, out alg))
                throw JwtErrors.BadCrypto();
            if (!OptionalString(h, "typ", out _) || !OptionalString(h, "cty", out _) || !OptionalString(h, "kid", out kid))
                throw JwtErrors.BadCrypto();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string member holding a lone surrogate escape; such a header is refused.
            throw JwtErrors.BadCrypto();
        }

        if (!Base64Url.TryDecode(payloadPart, out var payload) || !Base64Url.TryDecode(signaturePart, out var signature))
            throw JwtErrors.BadCrypto();

        var anySuitable = false;
        var input = ArrayPool<byte>.Shared.Rent(dot2);
        try
        {
            // The parts were checked to be base64url, so the signing input is ASCII.
            var length = Encoding.ASCII.GetBytes(token.AsSpan(0, dot2), input);
            foreach (var key in keys.Keys)
            {
                if (!key.CanDecode(alg, kid)) continue;
                anySuitable = true;
                if (key.Verify(alg, input, length, signature)) return payload;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
        }
        throw JwtErrors.KeyError(anySuitable ? JwtErrors.NoKeyDecodedDetails : JwtErrors.NoSuitableKeyDetails);
    }

    /// <summary>aeson's <c>Maybe Text</c> field: absent or null is fine, otherwise it must be a string.</summary>
    private static bool OptionalString(JsonElement o, string name, out string? value)
    {
        value = null;
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return true;
        if (v.ValueKind != JsonValueKind.String) return false;
        value = v.GetString();
        return true;
    }
}
