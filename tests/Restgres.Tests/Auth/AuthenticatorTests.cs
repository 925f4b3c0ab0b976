using System.Diagnostics;
using System.Text;
using Restgres.Auth;
using Restgres.Config;
using Restgres.Errors;
using Xunit;
using static Restgres.Tests.Auth.Tokens;

namespace Restgres.Tests.Auth;

/// <summary>
/// JWT authentication against PostgREST v16's behaviour: a corpus of tokens with the exact status, code, message,
/// details and WWW-Authenticate header PostgREST answers (Error.hs, Auth/Jwt.hs, and the conformance cases
/// Auth.*, Query.ErrorSpec, jwt-*, no-jwt-secret, no-anon-role, whose tokens are reused verbatim).
/// </summary>
public sealed class AuthenticatorTests
{
    private const long Now = 1_700_000_000;

    // Tokens from PostgREST's spec suite (signed with Tokens.Secret unless said otherwise).
    private const string SpecAuthorToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb2xlIjoicG9zdGdyZXN0X3Rlc3RfYXV0aG9yIn0.Xod-F15qsGL0WhdOCr2j3DdKuTw9QJERVgoFD3vGaWA";
    private const string SpecExpiredToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE0NDY2NzgxNDksInJvbGUiOiJwb3N0Z3Jlc3RfdGVzdF9hdXRob3IiLCJpZCI6Impkb2UifQ.f8__E6VQwYcDqwHmr9PG03uaZn8Zh1b0vbJ9DYS0AdM";
    private const string SpecTwoPartToken = "ey9zdGdyZXN0X3Rlc3RfYXV0aG9yIiwiaWQiOiJqZG9lIn0.y4vZuu1dDdwAl0-S00MCRWRYMlJ5YAMSir6Es6WtWx0";
    private const string SpecRandomToken = "quifquirndsjagnrgniur.fonvoienqhhdj.iuqvnvhojah";
    private const string SpecAlgNoneToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.e30.yOBhlOIqn56T-4NvyEXCjfi3UmyQZ-BzXtePMO2NgRI";
    private const string SpecWrongSecretToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.H3g0RqFzidJC79JOsMrtqpo5I-TDENcFOiIREzFjE08";
    private const string SpecExpNotNumberToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOiJpbnZhbGlkIiwicm9sZSI6InBvc3RncmVzdF90ZXN0X2F1dGhvciJ9.mRt_b-V75Ss3jxsBrbHayFsD-mwByX47k43BKfV-8_U";
    private const string SpecNbfNotNumberToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYmYiOiJpbnZhbGlkIiwicm9sZSI6InBvc3RncmVzdF90ZXN0X2F1dGhvciJ9.EX3TlW_bdyGkvzBnyaz2NOnyyRQHQXbqoXVQRpVQh00";
    private const string SpecIatNotNumberToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOiJpbnZhbGlkIiwicm9sZSI6InBvc3RncmVzdF90ZXN0X2F1dGhvciJ9.vpA0BpcufzI4AiPsLaPbySOHO7F0sUP1ZhQ1YVHXuP8";
    private const string SpecAudObjectToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOnsiaW52YWxpZCI6InZhbHVlIn0sInJvbGUiOiJwb3N0Z3Jlc3RfdGVzdF9hdXRob3IifQ.cPo01d3lSoHmmQOvmJruc6EsqYF-572PUI498KdqbpU";
    private const string SpecAudMixedArrayToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOlt7ImludmFsaWQiOiJ2YWx1ZSJ9LCJ0ZXN0Il0sInJvbGUiOiJwb3N0Z3Jlc3RfdGVzdF9hdXRob3IifQ.LkAO7l-FxhkXmxrdiHwkAQn5-NzYEg48_n8dg2ds_nw";
    private const string SpecAudNotSetToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJub3Qgc2V0In0.fHsJl7kg8mp07q6A4oJSDlLGBpdO9wxejkoBOBpq8eE";
    private const string SpecPartialToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.bm90IGFuIG9iamVjdA";

    private static Authenticator Auth(AppConfig config) => new(config, new FixedTime(Now));

    private static string Bearer(string token) => "Bearer " + token;

    private sealed record ErrorCase(Func<AppConfig> Config, string? Header, int Status, string Code, string Message,
        string? Details = null);

    private static readonly Dictionary<string, ErrorCase> ErrorCases = new()
    {
        ["an empty bearer token"] = new(() => AuthConfig(), "Bearer ", 401, "PGRST301",
            "Empty JWT is sent in Authorization header"),
        ["the bearer scheme without a token"] = new(() => AuthConfig(), "Bearer", 401, "PGRST301",
            "Empty JWT is sent in Authorization header"),
        ["a token in two parts"] = new(() => AuthConfig(), Bearer(SpecTwoPartToken), 401, "PGRST301",
            "Expected 3 parts in JWT; got 2"),
        ["a partial token"] = new(() => AuthConfig(), Bearer(SpecPartialToken), 401, "PGRST301",
            "Expected 3 parts in JWT; got 2"),
        ["a token in four parts"] = new(() => AuthConfig(), Bearer(SpecAuthorToken + ".abc"), 401, "PGRST301",
            "Expected 3 parts in JWT; got 4"),
        ["a token of random characters"] = new(() => AuthConfig(), Bearer(SpecRandomToken), 401, "PGRST301",
            "JWT cryptographic operation failed"),
        ["three empty parts"] = new(() => AuthConfig(), Bearer(".."), 401, "PGRST301", "JWT cryptographic operation failed"),
        ["a padded base64 header"] = new(() => AuthConfig(), Bearer(B64("{\"alg\":\"HS256\"}") + "=.e30.abc"), 401, "PGRST301",
            "JWT cryptographic operation failed"),
        ["a header that is not an object"] = new(() => AuthConfig(), Bearer(B64("[1]") + ".e30.abc"), 401, "PGRST301",
            "JWT cryptographic operation failed"),
        // RFC 7515 §4.1.11: critical extensions Restgres does not understand (it understands none), correctly signed.
        ["a signed token with an unknown critical extension"] = new(() => AuthConfig(),
            Bearer(Hs("""{"role":"postgrest_test_author"}""", header: """{"alg":"HS256","crit":["exp2"],"exp2":1}""")), 401, "PGRST301",
            "JWT cryptographic operation failed"),
        ["a signed token with a malformed crit"] = new(() => AuthConfig(),
            Bearer(Hs("""{"role":"postgrest_test_author"}""", header: """{"alg":"HS256","crit":"b64"}""")), 401, "PGRST301",
            "JWT cryptographic operation failed"),
        ["an unknown algorithm"] = new(() => AuthConfig(), Bearer(Hs("{}", header: "{\"alg\":\"PS256\"}")), 401, "PGRST301",
            "JWT cryptographic operation failed"),
        ["a missing algorithm"] = new(() => AuthConfig(), Bearer(Hs("{}", header: "{\"typ\":\"JWT\"}")), 401, "PGRST301",
            "JWT cryptographic operation failed"),
        ["a non-string typ"] = new(() => AuthConfig(), Bearer(Hs("{}", header: "{\"alg\":\"HS256\",\"typ\":1}")), 401,
            "PGRST301", "JWT cryptographic operation failed"),
        ["a JWE header"] = new(() => AuthConfig(), Bearer(Hs("{}", header: "{\"alg\":\"A128KW\",\"enc\":\"A128GCM\"}")), 401,
            "PGRST301", "JWT cryptographic operation failed"),
        ["alg none"] = new(() => AuthConfig(), Bearer(SpecAlgNoneToken), 401, "PGRST301",
            "Wrong or unsupported encoding algorithm", "JWT is unsecured but expected 'alg' was not 'none'"),
        ["alg none with an empty signature"] = new(() => AuthConfig(),
            Bearer(B64("{\"alg\":\"none\"}") + "." + B64("{\"role\":\"postgres\"}") + "."), 401, "PGRST301",
            "Wrong or unsupported encoding algorithm", "JWT is unsecured but expected 'alg' was not 'none'"),
        ["a token signed with another secret"] = new(() => AuthConfig(), Bearer(SpecWrongSecretToken), 401, "PGRST301",
            "No suitable key or wrong key type", "None of the keys was able to decode the JWT"),
        ["HS256 signed with the RSA public key text"] = new(() => AuthConfig(),
            Bearer(Hs("{\"role\":\"postgres\"}", RsaPublicKeyPem)), 401, "PGRST301",
            "No suitable key or wrong key type", "None of the keys was able to decode the JWT"),
        ["HS256 signed with the RSA public key text against an RSA JWK"] = new(() => AuthConfig(RsaJwk()),
            Bearer(Hs("{\"role\":\"postgres\"}", RsaPublicKeyPem)), 401, "PGRST301",
            "No suitable key or wrong key type", "No suitable key was found to decode the JWT"),
        ["HS384 against a plain secret, which PostgREST makes HS256-only"] = new(() => AuthConfig(),
            Bearer(Hs("{}", alg: "HS384")), 401, "PGRST301",
            "No suitable key or wrong key type", "No suitable key was found to decode the JWT"),
        ["an empty signature"] = new(() => AuthConfig(), Bearer(SpecAuthorToken[..(SpecAuthorToken.LastIndexOf('.') + 1)]),
            401, "PGRST301", "No suitable key or wrong key type", "None of the keys was able to decode the JWT"),
        ["a truncated signature"] = new(() => AuthConfig(), Bearer(SpecAuthorToken[..^4]), 401, "PGRST301",
            "No suitable key or wrong key type", "None of the keys was able to decode the JWT"),
        ["a signature truncated to an impossible base64 length"] = new(() => AuthConfig(), Bearer(SpecAuthorToken[..^2]),
            401, "PGRST301", "JWT cryptographic operation failed"),
        ["a tampered payload"] = new(() => AuthConfig(),
            Bearer(SpecAuthorToken.Split('.')[0] + "." + B64("{\"role\":\"postgres\"}") + "." + SpecAuthorToken.Split('.')[2]),
            401, "PGRST301", "No suitable key or wrong key type", "None of the keys was able to decode the JWT"),
        ["an RS256 token signed by another key"] = new(() => AuthConfig(RsaJwk()), Bearer(Rs("{}", OtherRsa)), 401,
            "PGRST301", "No suitable key or wrong key type", "None of the keys was able to decode the JWT"),
        ["an RS256 token naming an unknown kid"] = new(() => AuthConfig(JwkSet(RsaJwk(kid: "a"))), Bearer(Rs("{}", kid: "b")),
            401, "PGRST301", "No suitable key or wrong key type", "No suitable key was found to decode the JWT"),
        ["a kid against a key without kid"] = new(() => AuthConfig(RsaJwk()), Bearer(Rs("{}", kid: "a")),
            401, "PGRST301", "No suitable key or wrong key type", "No suitable key was found to decode the JWT"),
        ["RS384 against a key restricted to RS256"] = new(() => AuthConfig(RsaJwk()), Bearer(Rs("{}", alg: "RS384")),
            401, "PGRST301", "No suitable key or wrong key type", "No suitable key was found to decode the JWT"),
        ["a signature key marked for encryption"] = new(() => AuthConfig(RsaJwk(use: "enc")), Bearer(Rs("{}")),
            401, "PGRST301", "No suitable key or wrong key type", "No suitable key was found to decode the JWT"),
        ["an EdDSA token, which nothing here can verify"] = new(
            () => AuthConfig("""{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"""),
            Bearer(B64("{\"alg\":\"EdDSA\"}") + ".e30." + B64(new byte[64])), 401, "PGRST301",
            "No suitable key or wrong key type", "No suitable key was found to decode the JWT"),
        ["claims that are not an object"] = new(() => AuthConfig(), Bearer(Hs("[\"role\"]")), 401, "PGRST303",
            "Parsing claims failed"),
        ["claims that are not JSON"] = new(() => AuthConfig(), Bearer(Hs("not an object")), 401, "PGRST303",
            "Parsing claims failed"),
        ["an expired token"] = new(() => AuthConfig(), Bearer(SpecExpiredToken), 401, "PGRST303", "JWT expired"),
        ["a token expired 31 seconds ago"] = new(() => AuthConfig(), Bearer(Hs($"{{\"exp\":{Now - 31}}}")), 401, "PGRST303",
            "JWT expired"),
        ["a fractional exp, which PostgREST reads as 0"] = new(() => AuthConfig(), Bearer(Hs($"{{\"exp\":{Now + 1000}.5}}")),
            401, "PGRST303", "JWT expired"),
        ["an exp beyond Int64, which PostgREST reads as 0"] = new(() => AuthConfig(),
            Bearer(Hs("{\"exp\":1e30}")), 401, "PGRST303", "JWT expired"),
        ["a token not valid for another 31 seconds"] = new(() => AuthConfig(), Bearer(Hs($"{{\"nbf\":{Now + 31}}}")), 401,
            "PGRST303", "JWT not yet valid"),
        ["a token issued 31 seconds in the future"] = new(() => AuthConfig(), Bearer(Hs($"{{\"iat\":{Now + 31}}}")), 401,
            "PGRST303", "JWT issued at future"),
        ["exp before nbf and iat"] = new(() => AuthConfig(),
            Bearer(Hs($"{{\"iat\":{Now + 100},\"nbf\":\"x\",\"exp\":{Now - 100}}}")), 401, "PGRST303", "JWT expired"),
        ["a non-numeric exp"] = new(() => AuthConfig(), Bearer(SpecExpNotNumberToken), 401, "PGRST303",
            "The JWT 'exp' claim must be a number"),
        ["a non-numeric nbf"] = new(() => AuthConfig(), Bearer(SpecNbfNotNumberToken), 401, "PGRST303",
            "The JWT 'nbf' claim must be a number"),
        ["a non-numeric iat"] = new(() => AuthConfig(), Bearer(SpecIatNotNumberToken), 401, "PGRST303",
            "The JWT 'iat' claim must be a number"),
        ["an aud object"] = new(() => AuthConfig(), Bearer(SpecAudObjectToken), 401, "PGRST303",
            "The JWT 'aud' claim must be a string or an array of strings"),
        ["an aud array with a non-string"] = new(() => AuthConfig(), Bearer(SpecAudMixedArrayToken), 401, "PGRST303",
            "The JWT 'aud' claim must be a string or an array of strings"),
        ["a token for another audience"] = new(() => AuthConfig(aud: "spec tests"), Bearer(SpecAudNotSetToken), 401,
            "PGRST303", "JWT not in audience"),
        ["an empty audience"] = new(() => AuthConfig(aud: "youraudience"), Bearer(Hs("{\"aud\":\"\"}")), 401, "PGRST303",
            "JWT not in audience"),
        ["an audience array without ours"] = new(() => AuthConfig(aud: "youraudience"),
            Bearer(Hs("{\"aud\":[\"notyouraudience\",\"another\"]}")), 401, "PGRST303", "JWT not in audience"),
        ["a token but no jwt-secret"] = new(() => AuthConfig(secret: null), Bearer(SpecAuthorToken), 500, "PGRST300",
            "Server lacks JWT secret"),
        ["an empty token but no jwt-secret"] = new(() => AuthConfig(secret: null), "Bearer ", 500, "PGRST300",
            "Server lacks JWT secret"),
        ["no token and no anonymous role"] = new(() => AuthConfig(anonRole: null), null, 401, "PGRST302",
            "Anonymous access is disabled"),
        ["a token without role and no anonymous role"] = new(() => AuthConfig(anonRole: null), Bearer(Hs("{\"id\":1}")), 401,
            "PGRST302", "Anonymous access is disabled"),
        ["another scheme and no anonymous role"] = new(() => AuthConfig(anonRole: null), "Basic dXNlcjpwYXNz", 401,
            "PGRST302", "Anonymous access is disabled"),
    };

    public static TheoryData<string> ErrorCaseNames => new(ErrorCases.Keys);

    [Theory]
    [MemberData(nameof(ErrorCaseNames))]
    public void Refuses_with_PostgRESTs_exact_error(string name)
    {
        var c = ErrorCases[name];
        var e = Assert.Throws<ApiError>(() => Auth(c.Config()).Authenticate(c.Header));
        Assert.Equal(c.Status, e.Status);
        Assert.Equal(c.Code, e.Code);
        Assert.Equal(c.Message, e.Message);
        Assert.Equal(c.Details is null ? null : JsonText.Quote(c.Details), e.DetailsJson);
        Assert.Null(e.HintJson);
        KeyValuePair<string, string>[] expectedHeaders = c.Code switch
        {
            "PGRST301" or "PGRST303" =>
                [new("WWW-Authenticate", $"Bearer error=\"invalid_token\", error_description=\"{c.Message}\"")],
            "PGRST302" => [new("WWW-Authenticate", "Bearer")],
            _ => [],
        };
        Assert.Equal(expectedHeaders, e.Headers);
    }

    [Fact]
    public void The_WWW_Authenticate_header_quotes_the_message_as_Haskell_show_does()
    {
        var e = Assert.Throws<ApiError>(() => Auth(AuthConfig()).Authenticate(Bearer(SpecExpiredToken)));
        Assert.Equal("Bearer error=\"invalid_token\", error_description=\"JWT expired\"", Assert.Single(e.Headers).Value);
        Assert.Equal("\"a \\\"b\\\" \\\\ \\n \\SOH \\SO\\&H \\DEL \\233\\&1\"", JwtErrors.HaskellShow("a \"b\" \\ \n \u0001 \u000eH \u007f é1"));
    }

    [Fact]
    public void A_one_megabyte_token_is_refused_quickly()
    {
        var big = B64("{\"alg\":\"HS256\"}") + "." + new string('a', 1024 * 1024) + ".sig";
        var auth = Auth(AuthConfig());
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<ApiError>(() => auth.Authenticate(Bearer(big)));
        sw.Stop();
        Assert.Equal(401, e.Status);
        Assert.Equal("PGRST301", e.Code);
        Assert.Equal("JWT cryptographic operation failed", e.Message);
        Assert.True(sw.ElapsedMilliseconds < 500, $"took {sw.ElapsedMilliseconds} ms");
        Assert.Equal(0, auth.JwtCacheCount);
    }

    private static string JwkSet(params string[] keys) => "{\"keys\":[" + string.Join(",", keys) + "]}";

    // The config factory is typed object: theory parameters must be public types, and the server's are internal.
    public static TheoryData<string, object, string, string> AcceptedTokens => new()
    {
        { "the spec's author token", () => AuthConfig(), Bearer(SpecAuthorToken), "postgrest_test_author" },
        { "a lower-case bearer scheme", () => AuthConfig(), "bearer " + SpecAuthorToken, "postgrest_test_author" },
        { "an upper-case bearer scheme and extra spaces", () => AuthConfig(), "BEARER   " + SpecAuthorToken, "postgrest_test_author" },
        { "an unexpired token", () => AuthConfig(), Bearer(Hs($"{{\"exp\":{Now + 60},\"role\":\"a\"}}")), "a" },
        { "a token expired within the 30 s skew", () => AuthConfig(), Bearer(Hs($"{{\"exp\":{Now - 30},\"role\":\"a\"}}")), "a" },
        { "a token valid within the 30 s skew", () => AuthConfig(), Bearer(Hs($"{{\"nbf\":{Now + 30},\"iat\":{Now + 30},\"role\":\"a\"}}")), "a" },
        { "an integral exp written as 1e10", () => AuthConfig(), Bearer(Hs("{\"exp\":1e10,\"role\":\"a\"}")), "a" },
        { "null time claims", () => AuthConfig(), Bearer(Hs("{\"exp\":null,\"nbf\":null,\"iat\":null,\"aud\":null,\"role\":\"a\"}")), "a" },
        { "any audience when jwt-aud is unset", () => AuthConfig(), Bearer(Hs("{\"aud\":[\"x\",\"y\"],\"role\":\"a\"}")), "a" },
        { "our audience as a string", () => AuthConfig(aud: "youraudience"), Bearer(Hs("{\"aud\":\"youraudience\",\"role\":\"a\"}")), "a" },
        { "our audience in an array", () => AuthConfig(aud: "youraudience"), Bearer(Hs("{\"aud\":[\"other\",\"youraudience\"],\"role\":\"a\"}")), "a" },
        { "an empty audience array", () => AuthConfig(aud: "youraudience"), Bearer(Hs("{\"aud\":[],\"role\":\"a\"}")), "a" },
        { "no audience claim", () => AuthConfig(aud: "youraudience"), Bearer(Hs("{\"role\":\"a\"}")), "a" },
        { "a token without a role claim", () => AuthConfig(), Bearer(Hs("{\"id\":\"jdoe\"}")), AnonRole },
        { "a token with no claims", () => AuthConfig(), Bearer(Hs("{}")), AnonRole },
        { "no Authorization header", () => AuthConfig(), null!, AnonRole },
        { "another scheme", () => AuthConfig(), "Basic dXNlcjpwYXNz", AnonRole },
        { "no token and no jwt-secret", () => AuthConfig(secret: null), null!, AnonRole },
        { "no anonymous role when the token has a role", () => AuthConfig(anonRole: null), Bearer(SpecAuthorToken), "postgrest_test_author" },
        { "the spec's RS256 token and its JWK", () => AuthConfig(SpecRsaJwk), Bearer(SpecRsaToken), "postgrest_test_author" },
        { "the spec's RS256 token and its JWK set", () => AuthConfig(JwkSet(SpecRsaJwk)), Bearer(SpecRsaToken), "postgrest_test_author" },
        { "an RS256 token picked by kid", () => AuthConfig(JwkSet(RsaJwk(OtherRsa, kid: "other"), RsaJwk(kid: "mine"))), Bearer(Rs("{\"role\":\"a\"}", kid: "mine")), "a" },
        { "an RS256 token without kid tried on every key", () => AuthConfig(JwkSet(RsaJwk(OtherRsa), RsaJwk())), Bearer(Rs("{\"role\":\"a\"}")), "a" },
        { "an RS512 token and an RSA key without alg", () => AuthConfig(RsaJwk(alg: null, use: null)), Bearer(Rs("{\"role\":\"a\"}", alg: "RS512")), "a" },
        { "an RS256 token and a 512-bit key, which jose-jwt accepts too", () => AuthConfig(RsaJwk(SmallRsa)), Bearer(Rs("{\"role\":\"a\"}", SmallRsa)), "a" },
        { "an ES256 token and its EC JWK", () => AuthConfig(EcJwk()), Bearer(Es("{\"role\":\"a\"}")), "a" },
        { "an ES256 token with kid in a mixed key set", () => AuthConfig(JwkSet(SpecRsaJwk, EcJwk("ec"))), Bearer(Es("{\"role\":\"a\"}", "ec")), "a" },
        { "an HS512 token and an oct JWK without alg", () => AuthConfig("{\"kty\":\"oct\",\"k\":\"" + B64("short") + "\"}"), Bearer(Hs("{\"role\":\"a\"}", Encoding.UTF8.GetBytes("short"), "HS512")), "a" },
        { "an unsupported key next to a usable one", () => AuthConfig(JwkSet("{\"kty\":\"XYZ\"}", RsaJwk())), Bearer(Rs("{\"role\":\"a\"}")), "a" },
        { "a JSON secret that is no JWK, used as a plain secret", () => AuthConfig("{\"not\":\"a key\",\"padding\":\"xxxxxxxxx\"}"), Bearer(Hs("{\"role\":\"a\"}", "{\"not\":\"a key\",\"padding\":\"xxxxxxxxx\"}")), "a" },
        { "a base64 secret", () => AuthConfig(Convert.ToBase64String(Enumerable.Range(0, 40).Select(i => (byte)(i * 7)).ToArray()), secretIsBase64: true), Bearer(Hs("{\"role\":\"a\"}", Enumerable.Range(0, 40).Select(i => (byte)(i * 7)).ToArray())), "a" },
        { "a URL-safe base64 secret", () => AuthConfig(Convert.ToBase64String(Enumerable.Range(0, 40).Select(i => (byte)(255 - i)).ToArray()).Replace('+', '-').Replace('/', '_').Replace('=', '.'), secretIsBase64: true), Bearer(Hs("{\"role\":\"a\"}", Enumerable.Range(0, 40).Select(i => (byte)(255 - i)).ToArray())), "a" },
    };

    [Theory]
    [MemberData(nameof(AcceptedTokens))]
    public void Accepts(string description, object config, string header, string role)
    {
        Assert.NotNull(description);
        var result = Auth(((Func<AppConfig>)config)()).Authenticate(header);
        Assert.Equal(role, result.Role);
        Assert.Equal(role == AnonRole, result.IsAnonymous);
    }

    [Fact]
    public void The_loaders_secret_bytes_take_precedence_over_the_secret_text()
    {
        var key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var config = AuthConfig(secret: "ignored because the loader decoded it") with { JwtSecretBytes = [.. key] };
        Assert.Equal("a", Auth(config).Authenticate(Bearer(Hs("{\"role\":\"a\"}", key))).Role);
    }

    public static TheoryData<string, string, string> RoleClaimPaths => new()
    {
        // jwt-role-claim-key, claims, resolved role
        { "$.role", """{"role":"author"}""", "author" },
        { ".role", """{"role":"author"}""", "author" },
        { "$.postgrest.role", """{"postgrest":{"role":"nested"}}""", "nested" },
        { "$['https://example.com/role']", """{"https://example.com/role":"uri"}""", "uri" },
        { ".\"https://example.com/role\"", """{"https://example.com/role":"uri"}""", "uri" },
        { "$.roles[0]", """{"roles":["first","second"]}""", "first" },
        { "$.roles[1]", """{"roles":["first","second"]}""", "second" },
        { "$.roles[?(@ == 'admin')]", """{"roles":["user","admin"]}""", "admin" },
        { ".roles[?(@ ^== \"adm\")]", """{"roles":["user","administrator"]}""", "administrator" },
        { ".roles[?(@ *== \"mini\")]", """{"roles":["user","administrator"]}""", "administrator" },
        { "$.role", """{"role":123}""", "123" },
        { "$.role", """{"role":true}""", "true" },
        { "$.role", """{"role":{"b": 1, "a": [1, 2]}}""", """{"a":[1,2],"b":1}""" },
        { "$.roles[5]", """{"roles":["first"]}""", AnonRole },
        { "$.missing", """{"role":"author"}""", AnonRole },
    };

    [Theory]
    [MemberData(nameof(RoleClaimPaths))]
    public void Takes_the_role_from_jwt_role_claim_key(string path, string claims, string role)
    {
        var result = Auth(AuthConfig(roleClaimKey: path)).Authenticate(Bearer(Hs(claims)));
        Assert.Equal(role, result.Role);
    }

    public static TheoryData<string, string, bool> ClaimsJson => new()
    {
        // claims in the token, expected request.jwt.claims, expected IsAnonymous
        { """{"role":"author","id":"jdoe"}""", """{"id":"jdoe","role":"author"}""", false },
        { """{"id":"jdoe"}""", """{"id":"jdoe","role":"postgrest_test_anonymous"}""", true },
        { """{"role":"postgrest_test_anonymous"}""", """{"role":"postgrest_test_anonymous"}""", true },
        { """{ "z": [1, {"y": 2, "x": "\u00e9\n"}], "a": null, "role": "r", "a": true }""", """{"a":true,"role":"r","z":[1,{"x":"é\n","y":2}]}""", false },
        { """{"exp":9999999999,"nbf":1300819380,"http://postgrest.com/foo":true,"role":"r"}""", """{"exp":9999999999,"http://postgrest.com/foo":true,"nbf":1300819380,"role":"r"}""", false },
    };

    [Theory]
    [MemberData(nameof(ClaimsJson))]
    public void Sets_the_claims_with_the_resolved_role_inserted(string claims, string expected, bool anonymous)
    {
        var result = Auth(AuthConfig()).Authenticate(Bearer(Hs(claims)));
        Assert.Equal(expected, result.ClaimsJson);
        Assert.Equal(anonymous, result.IsAnonymous);
    }

    [Fact]
    public void The_role_claim_goes_into_the_claims_even_when_it_came_from_elsewhere()
    {
        var result = Auth(AuthConfig(roleClaimKey: "$.app.role")).Authenticate(Bearer(Hs("""{"app":{"role":"x"},"role":"y"}""")));
        Assert.Equal("x", result.Role);
        Assert.Equal("""{"app":{"role":"x"},"role":"x"}""", result.ClaimsJson);
    }

    [Fact]
    public void A_request_without_token_runs_as_the_anonymous_role()
    {
        var result = Auth(AuthConfig()).Authenticate(null);
        Assert.Equal(new AuthResult(AnonRole, """{"role":"postgrest_test_anonymous"}""", true), result);
    }

    [Fact]
    public void A_repeated_token_is_served_from_the_cache()
    {
        var auth = Auth(AuthConfig());
        var first = auth.Authenticate(Bearer(SpecAuthorToken));
        var second = auth.Authenticate(Bearer(SpecAuthorToken));
        var third = auth.Authenticate("bearer  " + SpecAuthorToken);
        Assert.Same(first, second);
        Assert.Same(first, third);
        Assert.Equal(2, auth.JwtCacheHits);
        Assert.Equal(1, auth.JwtCacheMisses);
        Assert.Equal(1, auth.JwtCacheCount);
    }

    [Fact]
    public void A_cache_hit_allocates_nothing()
    {
        var auth = Auth(AuthConfig());
        var header = Bearer(SpecAuthorToken);
        for (var i = 0; i < 100; i++) auth.Authenticate(header);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++) auth.Authenticate(header);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Failed_tokens_are_not_cached()
    {
        var auth = Auth(AuthConfig());
        for (var i = 0; i < 2; i++) Assert.Throws<ApiError>(() => auth.Authenticate(Bearer(SpecWrongSecretToken)));
        Assert.Equal(0, auth.JwtCacheCount);
        Assert.Equal(0, auth.JwtCacheHits);
        Assert.Equal(2, auth.JwtCacheMisses);
    }

    [Fact]
    public void A_cached_token_still_expires_and_leaves_the_cache()
    {
        var clock = new FixedTime(Now);
        var auth = new Authenticator(AuthConfig(), clock);
        var token = Bearer(Hs($"{{\"exp\":{Now + 60},\"role\":\"a\"}}"));
        Assert.Equal("a", auth.Authenticate(token).Role);
        clock.UnixSeconds = Now + 90;
        Assert.Equal("a", auth.Authenticate(token).Role);
        Assert.Equal(1, auth.JwtCacheHits);
        clock.UnixSeconds = Now + 91;
        var e = Assert.Throws<ApiError>(() => auth.Authenticate(token));
        Assert.Equal("JWT expired", e.Message);
        Assert.Equal(0, auth.JwtCacheCount);
        // Decoded again, still expired, and not cached again.
        Assert.Throws<ApiError>(() => auth.Authenticate(token));
        Assert.Equal(0, auth.JwtCacheCount);
    }

    [Fact]
    public void A_cached_token_that_is_not_yet_valid_becomes_valid()
    {
        var clock = new FixedTime(Now);
        var auth = new Authenticator(AuthConfig(), clock);
        var token = Bearer(Hs($"{{\"nbf\":{Now + 100},\"role\":\"a\"}}"));
        Assert.Equal("JWT not yet valid", Assert.Throws<ApiError>(() => auth.Authenticate(token)).Message);
        Assert.Equal(1, auth.JwtCacheCount);
        clock.UnixSeconds = Now + 70;
        Assert.Equal("a", auth.Authenticate(token).Role);
        Assert.Equal(1, auth.JwtCacheHits);
    }

    [Fact]
    public void The_cache_keeps_at_most_jwt_cache_max_entries_and_spares_visited_entries()
    {
        var auth = Auth(AuthConfig(cacheMaxEntries: 3));
        string T(int i) => Bearer(Hs($"{{\"role\":\"r{i}\"}}"));
        auth.Authenticate(T(1));
        auth.Authenticate(T(2));
        auth.Authenticate(T(3));
        auth.Authenticate(T(1)); // visited: survives the next eviction
        auth.Authenticate(T(4)); // evicts 2, the oldest unvisited
        Assert.Equal(3, auth.JwtCacheCount);
        Assert.Equal(1, auth.JwtCacheEvictions);
        var hits = auth.JwtCacheHits;
        auth.Authenticate(T(1));
        auth.Authenticate(T(3));
        auth.Authenticate(T(4));
        Assert.Equal(hits + 3, auth.JwtCacheHits);
        auth.Authenticate(T(2));
        Assert.Equal(hits + 3, auth.JwtCacheHits);
        Assert.Equal(3, auth.JwtCacheCount);
        Assert.Equal(2, auth.JwtCacheEvictions);
    }

    [Fact]
    public void A_zero_jwt_cache_max_entries_disables_the_cache()
    {
        var auth = Auth(AuthConfig(cacheMaxEntries: 0));
        var first = auth.Authenticate(Bearer(SpecAuthorToken));
        var second = auth.Authenticate(Bearer(SpecAuthorToken));
        Assert.Equal(first, second);
        Assert.NotSame(first, second);
        Assert.Equal(0, auth.JwtCacheHits);
        Assert.Equal(0, auth.JwtCacheCount);
    }

    [Fact]
    public void The_cache_is_safe_under_concurrent_use()
    {
        var auth = Auth(AuthConfig(cacheMaxEntries: 8));
        var tokens = Enumerable.Range(0, 32).Select(i => Bearer(Hs($"{{\"role\":\"r{i}\"}}"))).ToArray();
        Parallel.For(0, 4000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var n = i * 7 % tokens.Length;
            Assert.Equal("r" + n, auth.Authenticate(tokens[n]).Role);
        });
        Assert.True(auth.JwtCacheCount <= 8);
        Assert.Equal(4000, auth.JwtCacheHits + auth.JwtCacheMisses);
    }

    public static TheoryData<string?, string?> BearerHeaders => new()
    {
        // header, token (null: no token at all)
        { null, null },
        { "", null },
        { "Basic abc", null },
        { "Bearerabc", null },
        { "Bearer", "" },
        { "Bearer ", "" },
        { "bEaReR \t abc", "abc" },
        { "Bearer abc def", "abc def" },
        { "Bearer\tabc", "abc" },
    };

    [Theory]
    [MemberData(nameof(BearerHeaders))]
    public void Extracts_the_bearer_token_as_wai_extra_does(string? header, string? token)
    {
        var found = Authenticator.TryGetBearerToken(header, out var span);
        Assert.Equal(token is not null, found);
        if (token is not null) Assert.Equal(token, span.ToString());
    }
}
