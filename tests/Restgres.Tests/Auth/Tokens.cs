using System.Security.Cryptography;
using System.Text;
using Restgres.Config;

namespace Restgres.Tests.Auth;

/// <summary>Builds signed test tokens with the BCL (so the tests do not share code with the validator).</summary>
internal static class Tokens
{
    public const string Secret = "reallyreallyreallyreallyverysafe";
    public const string AnonRole = "postgrest_test_anonymous";

    /// <summary>The RS256 public JWK of PostgREST's AsymmetricJwtSpec (conformance config jwt-secret-jwk).</summary>
    public const string SpecRsaJwk = """{"alg":"RS256","e":"AQAB","key_ops":["verify"],"kty":"RSA","n":"0etQ2Tg187jb04MWfpuogYGV75IFrQQBxQaGH75eq_FpbkyoLcEpRUEWSbECP2eeFya2yZ9vIO5ScD-lPmovePk4Aa4SzZ8jdjhmAbNykleRPCxMg0481kz6PQhnHRUv3nF5WP479CnObJKqTVdEagVL66oxnX9VhZG9IZA7k0Th5PfKQwrKGyUeTGczpOjaPqbxlunP73j9AfnAt4XCS8epa-n3WGz1j-wfpr_ys57Aq-zBCfqP67UYzNpeI1AoXsJhD9xSDOzvJgFRvc3vm2wjAW4LEMwi48rCplamOpZToIHEPIaPzpveYQwDnB1HFTR1ove9bpKJsHmi-e2uzQ","use":"sig"}""";

    /// <summary>The token AsymmetricJwtSpec signs with that key's private half: {"role": "postgrest_test_author"}.</summary>
    public const string SpecRsaToken = "eyJhbGciOiJSUzI1NiJ9.eyJyb2xlIjogInBvc3RncmVzdF90ZXN0X2F1dGhvciJ9Cg.CBOYWDvqgAR0YYnZnyDGTQi6AJLc2Pds6_eV3YuBG6I36mj_h05eLhkEKNEDA5ZteMzCiY83P60rC_xtxVd7B6vo3BeF5uoanPS3rrbuHzKPwzsrgrD_CqvEuJ4n7Q9epkQiLsNkcexneENZDRqFjbwZx3DrXiCWwlK3Ytr5NAIGxmy0od-0xNpb2U1nXQyO_Q3mumWFViRt4tmFn_3goDHNKG3Ha_AzImfUNvHnWL78kAc4rbn15vLtWXD8PwtSnZaB4lY4V6RfsaW937srQsmRetvytM1i_bHBnjkjQLAqGbXPyItjtlXPs0uGNBadE8-wgkLtfmSCC4v2DjUthw";

    public static readonly RSA Rsa = RSA.Create(2048);
    public static readonly RSA OtherRsa = RSA.Create(2048);
    public static readonly RSA SmallRsa = RSA.Create(512);
    public static readonly ECDsa Ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>The base config of PostgREST's spec suite (conformance README, section 2).</summary>
    public static AppConfig AuthConfig(string? secret = Secret, string? anonRole = AnonRole, string? aud = null,
        string roleClaimKey = "$.role", int cacheMaxEntries = 10, bool secretIsBase64 = false) => new()
    {
        JwtSecret = secret,
        JwtSecretIsBase64 = secretIsBase64,
        DbAnonRole = anonRole,
        JwtAud = aud,
        JwtRoleClaimKey = roleClaimKey,
        JwtRoleClaimPath = RoleClaimPath.Parse(roleClaimKey),
        JwtCacheMaxEntries = cacheMaxEntries,
    };

    public static string B64(string text) => B64(Encoding.UTF8.GetBytes(text));

    public static string B64(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Hs(string claimsJson, string secret = Secret, string alg = "HS256", string? header = null) =>
        Hs(claimsJson, Encoding.UTF8.GetBytes(secret), alg, header);

    public static string Hs(string claimsJson, byte[] key, string alg = "HS256", string? header = null)
    {
        var input = B64(header ?? $$"""{"alg":"{{alg}}","typ":"JWT"}""") + "." + B64(claimsJson);
        var data = Encoding.ASCII.GetBytes(input);
        var mac = alg switch
        {
            "HS384" => HMACSHA384.HashData(key, data),
            "HS512" => HMACSHA512.HashData(key, data),
            _ => HMACSHA256.HashData(key, data),
        };
        return input + "." + B64(mac);
    }

    public static string Rs(string claimsJson, RSA? key = null, string? kid = null, string alg = "RS256")
    {
        var header = kid is null ? $$"""{"alg":"{{alg}}"}""" : $$"""{"alg":"{{alg}}","kid":"{{kid}}"}""";
        var input = B64(header) + "." + B64(claimsJson);
        var hash = alg switch { "RS384" => HashAlgorithmName.SHA384, "RS512" => HashAlgorithmName.SHA512, _ => HashAlgorithmName.SHA256 };
        var sig = (key ?? Rsa).SignData(Encoding.ASCII.GetBytes(input), hash, RSASignaturePadding.Pkcs1);
        return input + "." + B64(sig);
    }

    public static string Es(string claimsJson, string? kid = null)
    {
        var header = kid is null ? """{"alg":"ES256"}""" : $$"""{"alg":"ES256","kid":"{{kid}}"}""";
        var input = B64(header) + "." + B64(claimsJson);
        var sig = Ec.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256);
        return input + "." + B64(sig);
    }

    public static string RsaJwk(RSA? key = null, string? kid = null, string? alg = "RS256", string? use = "sig")
    {
        var p = (key ?? Rsa).ExportParameters(false);
        var extra = (kid is null ? "" : $",\"kid\":\"{kid}\"") + (alg is null ? "" : $",\"alg\":\"{alg}\"")
            + (use is null ? "" : $",\"use\":\"{use}\"");
        return $"{{\"kty\":\"RSA\",\"n\":\"{B64(p.Modulus)}\",\"e\":\"{B64(p.Exponent)}\"{extra}}}";
    }

    public static string EcJwk(string? kid = null)
    {
        var p = Ec.ExportParameters(false);
        var extra = kid is null ? "" : $",\"kid\":\"{kid}\"";
        return $"{{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"{B64(p.Q.X)}\",\"y\":\"{B64(p.Q.Y)}\"{extra}}}";
    }

    public static string RsaPublicKeyPem => Rsa.ExportSubjectPublicKeyInfoPem();
}

/// <summary>A clock stopped at a given Unix time.</summary>
internal sealed class FixedTime(long unixSeconds) : TimeProvider
{
    public long UnixSeconds { get; set; } = unixSeconds;

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeSeconds(UnixSeconds);
}
