using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace Restgres.Auth;

/// <summary>The JWS algorithms PostgREST's JWT library (jose-jwt) knows; anything else in a header is refused.</summary>
internal enum JwsAlg { HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512, EdDSA }

internal static class JwsAlgs
{
    public static bool TryParse(string name, out JwsAlg alg)
    {
        switch (name)
        {
            case "HS256": alg = JwsAlg.HS256; return true;
            case "HS384": alg = JwsAlg.HS384; return true;
            case "HS512": alg = JwsAlg.HS512; return true;
            case "RS256": alg = JwsAlg.RS256; return true;
            case "RS384": alg = JwsAlg.RS384; return true;
            case "RS512": alg = JwsAlg.RS512; return true;
            case "ES256": alg = JwsAlg.ES256; return true;
            case "ES384": alg = JwsAlg.ES384; return true;
            case "ES512": alg = JwsAlg.ES512; return true;
            case "EdDSA": alg = JwsAlg.EdDSA; return true;
            default: alg = default; return false;
        }
    }

    public static string Name(JwsAlg alg) => alg switch
    {
        JwsAlg.HS256 => "HS256",
        JwsAlg.HS384 => "HS384",
        JwsAlg.HS512 => "HS512",
        JwsAlg.RS256 => "RS256",
        JwsAlg.RS384 => "RS384",
        JwsAlg.RS512 => "RS512",
        JwsAlg.ES256 => "ES256",
        JwsAlg.ES384 => "ES384",
        JwsAlg.ES512 => "ES512",
        _ => "EdDSA",
    };

    /// <summary>Every <c>alg</c> value jose-jwt parses (JWS and JWE); a JWK naming another one is "unsupported".</summary>
    public static bool IsKnownJoseAlg(string name) => name is "none" or "HS256" or "HS384" or "HS512" or "RS256" or "RS384"
        or "RS512" or "ES256" or "ES384" or "ES512" or "EdDSA" or "RSA1_5" or "RSA-OAEP" or "RSA-OAEP-256" or "A128KW"
        or "A192KW" or "A256KW";
}

internal enum JwkKind { Symmetric, Rsa, Ec, Okp, Unsupported }

/// <summary>
/// One key of the configured key set, with jose-jwt's rule for which tokens it may verify (<c>canDecodeJws</c>:
/// not an encryption key, same <c>kid</c> when the token names one, same <c>alg</c> when the key names one, and a
/// key type that fits the algorithm).
/// </summary>
internal sealed class JwtKey
{
    private readonly byte[]? _secret;
    // RS256/384/512 or ES256/384/512 verifiers, by (alg - first alg of the family); null when unusable.
    private readonly SignatureProvider?[] _verifiers = new SignatureProvider?[3];

    private JwtKey(JwkKind kind, string? kid, bool isEncryptionKey, string? alg, byte[]? secret)
    {
        Kind = kind;
        Kid = kid;
        IsEncryptionKey = isEncryptionKey;
        Alg = alg;
        _secret = secret;
    }

    public JwkKind Kind { get; }
    public string? Kid { get; }
    public bool IsEncryptionKey { get; }
    /// <summary>The key's <c>alg</c>, when it restricts the key to one algorithm.</summary>
    public string? Alg { get; }

    /// <summary>A plain <c>jwt-secret</c>: PostgREST turns it into an HS256-only symmetric JWK without kid.</summary>
    public static JwtKey PlainSecret(byte[] secret) => new(JwkKind.Symmetric, null, false, "HS256", secret);

    public static JwtKey Symmetric(byte[] k, string? kid, bool isEnc, string? alg) => new(JwkKind.Symmetric, kid, isEnc, alg, k);

    public static JwtKey Unsupported() => new(JwkKind.Unsupported, null, false, null, null);

    /// <summary>Ed25519/Ed448 keys parse (as in PostgREST) but neither the BCL nor IdentityModel verifies EdDSA, so they
    /// are never offered a token.</summary>
    public static JwtKey Okp(string? kid) => new(JwkKind.Okp, kid, false, "EdDSA", null);

    public static JwtKey Rsa(byte[] n, byte[] e, string? kid, bool isEnc, string? alg)
    {
        var key = new JwtKey(JwkKind.Rsa, kid, isEnc, alg, null);
        try
        {
            var rsa = System.Security.Cryptography.RSA.Create();
            rsa.ImportParameters(new RSAParameters { Modulus = TrimLeadingZeros(n), Exponent = TrimLeadingZeros(e) });
            key.CreateVerifiers(new RsaSecurityKey(rsa), JwsAlg.RS256);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            // A key the platform cannot load verifies nothing, as a malformed key would in PostgREST.
        }
        return key;
    }

    public static JwtKey Ec(string crv, byte[] x, byte[] y, string? kid, bool isEnc, string? alg)
    {
        var key = new JwtKey(JwkKind.Ec, kid, isEnc, alg, null);
        var (curve, size) = crv switch
        {
            "P-256" => (ECCurve.NamedCurves.nistP256, 32),
            "P-384" => (ECCurve.NamedCurves.nistP384, 48),
            _ => (ECCurve.NamedCurves.nistP521, 66),
        };
        var px = LeftPad(TrimLeadingZeros(x), size);
        var py = LeftPad(TrimLeadingZeros(y), size);
        if (px is null || py is null) return key;
        try
        {
            var ecdsa = ECDsa.Create(new ECParameters { Curve = curve, Q = new ECPoint { X = px, Y = py } });
            key.CreateVerifiers(new ECDsaSecurityKey(ecdsa), JwsAlg.ES256);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            // Not a point of the curve: the key verifies nothing.
        }
        return key;
    }

    private void CreateVerifiers(SecurityKey securityKey, JwsAlg first)
    {
        for (var i = 0; i < 3; i++)
        {
            var alg = JwsAlgs.Name(first + i);
            if (Alg is not null && Alg != alg) continue;
            try
            {
                _verifiers[i] = CryptoProviderFactory.Default.CreateForVerifying(securityKey, alg, cacheProvider: false);
            }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException or CryptographicException
                                           or InvalidOperationException)
            {
                // A key IdentityModel cannot use with this algorithm verifies nothing.
            }
        }
    }

    /// <summary>jose-jwt's <c>canDecodeJws</c>, minus EdDSA which nothing here can verify.</summary>
    public bool CanDecode(JwsAlg alg, string? kid)
    {
        if (IsEncryptionKey) return false;
        if (kid is not null && kid != Kid) return false;
        if (Alg is not null && Alg != JwsAlgs.Name(alg)) return false;
        return Kind switch
        {
            JwkKind.Symmetric => alg is JwsAlg.HS256 or JwsAlg.HS384 or JwsAlg.HS512,
            JwkKind.Rsa => alg is JwsAlg.RS256 or JwsAlg.RS384 or JwsAlg.RS512,
            JwkKind.Ec => alg is JwsAlg.ES256 or JwsAlg.ES384 or JwsAlg.ES512,
            _ => false,
        };
    }

    /// <summary>Checks the signature over <c>header.payload</c> (ASCII bytes in <paramref name="input"/>).</summary>
    public bool Verify(JwsAlg alg, byte[] input, int inputLength, byte[] signature)
    {
        if (Kind == JwkKind.Symmetric)
        {
            // HMAC through the BCL one-shot rather than IdentityModel: IdentityModel refuses HMAC keys under 256 bits
            // (IDX10653) while PostgREST accepts any JWK "oct" key, and the one-shot allocates nothing.
            Span<byte> mac = stackalloc byte[64];
            var data = input.AsSpan(0, inputLength);
            var n = alg switch
            {
                JwsAlg.HS256 => HMACSHA256.HashData(_secret, data, mac),
                JwsAlg.HS384 => HMACSHA384.HashData(_secret, data, mac),
                _ => HMACSHA512.HashData(_secret, data, mac),
            };
            return CryptographicOperations.FixedTimeEquals(mac[..n], signature);
        }
        var index = alg switch
        {
            JwsAlg.RS256 or JwsAlg.ES256 => 0,
            JwsAlg.RS384 or JwsAlg.ES384 => 1,
            _ => 2,
        };
        var verifier = _verifiers[index];
        if (verifier is null || signature.Length == 0) return false;
        try
        {
            return verifier.Verify(input, 0, inputLength, signature, 0, signature.Length);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or InvalidOperationException)
        {
            // A signature of the wrong size for the key is a failed verification, as in jose-jwt.
            return false;
        }
    }

    private static byte[] TrimLeadingZeros(byte[] bytes)
    {
        var i = 0;
        while (i < bytes.Length - 1 && bytes[i] == 0) i++;
        return i == 0 ? bytes : bytes[i..];
    }

    private static byte[]? LeftPad(byte[] bytes, int size)
    {
        if (bytes.Length > size) return null;
        if (bytes.Length == size) return bytes;
        var padded = new byte[size];
        bytes.CopyTo(padded, size - bytes.Length);
        return padded;
    }
}

/// <summary>
/// The keys <c>jwt-secret</c> stands for, as PostgREST's <c>parseSecret</c> reads it: a JSON Web Key Set, else a
/// single JSON Web Key, else the bytes themselves as an HS256 secret (docs: references/auth.rst, "JWT from Auth0",
/// "JWK"). JWKs follow jose-jwt's parser: a key whose <c>kty</c> or <c>alg</c> is unknown is kept but unusable,
/// a malformed key makes the whole JSON fall back to being a plain secret.
/// </summary>
internal sealed class JwtKeySet
{
    private JwtKeySet(ImmutableArray<JwtKey> keys) => Keys = keys;

    public ImmutableArray<JwtKey> Keys { get; }

    public static JwtKeySet Parse(byte[] secret)
    {
        try
        {
            using var doc = JsonDocument.Parse(secret);
            var root = doc.RootElement;
            if (TryParseSet(root, out var keys)) return new JwtKeySet(keys);
            if (TryParseJwk(root, out var key)) return new JwtKeySet([key]);
        }
        catch (JsonException)
        {
            // Not JSON: a plain secret.
        }
        return new JwtKeySet([JwtKey.PlainSecret(secret)]);
    }

    /// <summary>
    /// Why <paramref name="secret"/> cannot be used, or null. PostgREST (jose) takes JSON that is not a valid JWK or
    /// key set as a plain HS256 secret; when that JSON is a key set's public keys, anyone who can read them can sign
    /// tokens. Restgres refuses instead: a JSON object is a valid JWK or key set, or a startup error.
    /// </summary>
    public static string? Problem(byte[] secret)
    {
        try
        {
            using var doc = JsonDocument.Parse(secret);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || TryParseSet(root, out _) || TryParseJwk(root, out _)) return null;
            return "Invalid jwt-secret: it is a JSON object but not a valid JSON Web Key (RFC 7517: kty and its "
                + "parameters, base64url values) or key set ({\"keys\": [...]}, every key valid). It would otherwise be "
                + "used as a shared HS256 secret, which anyone who can read it could sign tokens with.";
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool TryParseSet(JsonElement root, out ImmutableArray<JwtKey> keys)
    {
        keys = [];
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("keys", out var list)
            || list.ValueKind != JsonValueKind.Array)
            return false;
        var builder = ImmutableArray.CreateBuilder<JwtKey>();
        foreach (var item in list.EnumerateArray())
        {
            if (!TryParseJwk(item, out var key)) return false;
            builder.Add(key);
        }
        keys = builder.ToImmutable();
        return true;
    }

    /// <summary>jose-jwt's <c>parseJwk</c> and <c>createJwk</c>.</summary>
    internal static bool TryParseJwk(JsonElement o, out JwtKey key)
    {
        key = JwtKey.Unsupported();
        if (o.ValueKind != JsonValueKind.Object) return false;
        var algValue = Get(o, "alg");
        var ktyValue = Get(o, "kty");
        var algKnown = algValue is not { } a || (a.ValueKind == JsonValueKind.String && JwsAlgs.IsKnownJoseAlg(a.GetString()!));
        var ktyKnown = ktyValue is not { } t || (t.ValueKind == JsonValueKind.String && t.GetString() is "RSA" or "OKP" or "EC" or "oct");
        if (!algKnown || !ktyKnown) return true;
        if (ktyValue is not { } ktyElement) return false;
        var kty = ktyElement.GetString()!;

        if (!TryBytes(o, "n", out var n) || !TryBytes(o, "e", out var e) || !TryBytes(o, "d", out var d)
            || !TryBytes(o, "p", out var p) || !TryBytes(o, "q", out var q) || !TryBytes(o, "dp", out var dp)
            || !TryBytes(o, "dq", out var dq) || !TryBytes(o, "qi", out var qi) || !TryBytes(o, "k", out var k)
            || !TryBytes(o, "x", out var x) || !TryBytes(o, "y", out var y)
            || !TryString(o, "crv", out var crv) || !TryString(o, "kid", out var kid) || !TryString(o, "use", out var use)
            || !TryString(o, "x5u", out _) || !TryString(o, "x5t", out _) || !TryStringArray(o, "x5c"))
            return false;
        if (use is not (null or "sig" or "enc")) return false;
        var alg = algValue?.GetString();
        var isEnc = use == "enc";
        // jose-jwt's checks use `sequence`, so they only trip when every listed parameter is present.
        var allRsaPrivate = p is not null && q is not null && dp is not null && dq is not null && qi is not null;
        var allRsa = n is not null && e is not null && allRsaPrivate;
        var ecFree = crv is null && (x is null || y is null);

        switch (kty)
        {
            case "RSA":
                if (n is null || e is null || !ecFree) return false;
                if (d is null && allRsaPrivate) return false;
                key = JwtKey.Rsa(n, e, kid, isEnc, alg);
                return true;
            case "oct":
                if (k is null || (allRsa && d is not null) || !ecFree) return false;
                key = JwtKey.Symmetric(k, kid, isEnc, alg);
                return true;
            case "OKP":
                if (crv is null || x is null || allRsa) return false;
                var size = crv switch { "Ed25519" => 32, "Ed448" => 57, _ => 0 };
                if (size == 0 || x.Length != size || (d is not null && d.Length != size)) return false;
                key = JwtKey.Okp(kid);
                return true;
            default: // EC
                if (crv is not ("P-256" or "P-384" or "P-521") || x is null || y is null || allRsa) return false;
                key = JwtKey.Ec(crv, x, y, kid, isEnc, alg);
                return true;
        }
    }

    /// <summary>An optional member: absent and null both mean absent, as aeson reads a <c>Maybe</c> field.</summary>
    private static JsonElement? Get(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    private static bool TryBytes(JsonElement o, string name, out byte[]? bytes)
    {
        bytes = null;
        if (Get(o, name) is not { } v) return true;
        if (v.ValueKind != JsonValueKind.String || !Base64Url.TryDecode(v.GetString(), out var decoded)) return false;
        bytes = decoded;
        return true;
    }

    private static bool TryString(JsonElement o, string name, out string? value)
    {
        value = null;
        if (Get(o, name) is not { } v) return true;
        if (v.ValueKind != JsonValueKind.String) return false;
        value = v.GetString();
        return true;
    }

    private static bool TryStringArray(JsonElement o, string name)
    {
        if (Get(o, name) is not { } v) return true;
        if (v.ValueKind != JsonValueKind.Array) return false;
        foreach (var item in v.EnumerateArray())
            if (item.ValueKind != JsonValueKind.String) return false;
        return true;
    }
}
