using System.Text;
using System.Text.Json;
using Restgres.Config;
using Restgres.Errors;

namespace Restgres.Auth;

/// <summary>What the claims checks need from the config: <c>jwt-aud</c>, the role path and <c>db-anon-role</c>.</summary>
internal sealed record ClaimsPolicy(string? Audience, RoleClaimPath RolePath, string? AnonRole);

internal enum NumericDateState : byte { Absent, NotNumber, Value }

/// <summary>A time claim as PostgREST reads it: absent/null is skipped, a non-number is an error, and a number that
/// is not an integer within Int64 counts as 0 (<c>fromMaybe 0 . toBoundedInteger</c>).</summary>
internal readonly record struct NumericDate(NumericDateState State, long Seconds);

/// <summary>
/// A token whose signature checked out, digested once so that a cache hit only compares three integers: the time
/// claims, the outcome of the <c>aud</c> check, and the resulting <see cref="AuthResult"/>. PostgREST caches the
/// decoded claims and re-runs <c>validateClaims</c> on every request (Auth/Jwt.hs); the time-independent parts of
/// that are precomputed here, the time checks run on each <see cref="Check"/> in PostgREST's order (exp, nbf, iat,
/// aud; the first failure wins).
/// </summary>
internal sealed class ValidatedToken
{
    /// <summary>PostgREST's <c>allowedSkewSeconds</c>.</summary>
    public const long AllowedSkewSeconds = 30;

    private static readonly JsonDocumentOptions ClaimsOptions = new() { MaxDepth = 256 };

    private readonly NumericDate _exp;
    private readonly NumericDate _nbf;
    private readonly NumericDate _iat;
    private readonly string? _audError;
    // Null when the role claim is missing and there is no db-anon-role: PGRST302 after the claims checks.
    private readonly AuthResult? _result;

    private ValidatedToken(NumericDate exp, NumericDate nbf, NumericDate iat, string? audError, AuthResult? result)
    {
        _exp = exp;
        _nbf = nbf;
        _iat = iat;
        _audError = audError;
        _result = result;
    }

    /// <summary>Parses the verified payload; anything but a JSON object is "Parsing claims failed" (PGRST303).</summary>
    public static ValidatedToken FromPayload(byte[] payload, ClaimsPolicy policy)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload, ClaimsOptions);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw JwtErrors.Claims(JwtErrors.ParsingClaimsFailedMessage);
            return FromClaims(doc.RootElement, policy);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a lone surrogate escape in a string we had to read.
            throw JwtErrors.Claims(JwtErrors.ParsingClaimsFailedMessage);
        }
    }

    /// <summary>The request without a token: PostgREST evaluates the role path on empty claims.</summary>
    public static ValidatedToken Anonymous(ClaimsPolicy policy)
    {
        using var doc = JsonDocument.Parse("{}");
        return FromClaims(doc.RootElement, policy);
    }

    private static ValidatedToken FromClaims(JsonElement claims, ClaimsPolicy policy)
    {
        var exp = ReadDate(claims, "exp");
        var nbf = ReadDate(claims, "nbf");
        var iat = ReadDate(claims, "iat");
        var audError = CheckAudience(claims, policy.Audience);
        // parseClaims: the role is the first value the path selects, a string unquoted, any other value as JSON;
        // without one, db-anon-role.
        string? role = policy.RolePath.TryEvaluate(claims, out var value)
            ? value.ValueKind == JsonValueKind.String ? value.GetString()! : AesonJson.Encode(value)
            : policy.AnonRole;
        AuthResult? result = null;
        if (role is not null)
        {
            // PostgREST inserts the resolved role into request.jwt.claims (Query/PreQuery.hs); "authenticated" means
            // a role other than db-anon-role, which decides 401 vs 403 on permission errors.
            var claimsJson = AesonJson.EncodeObjectWithRole(claims, role);
            result = new AuthResult(role, claimsJson, string.Equals(role, policy.AnonRole, StringComparison.Ordinal));
        }
        return new ValidatedToken(exp, nbf, iat, audError, result);
    }

    /// <summary>True once <c>exp</c> is past (with the skew): the token can never become valid again.</summary>
    public bool IsExpired(long now) => _exp.State == NumericDateState.Value && now - AllowedSkewSeconds > _exp.Seconds;

    /// <summary>PostgREST's <c>checkForErrors</c> then the role; throws the first failure.</summary>
    public AuthResult Check(long now)
    {
        switch (_exp.State)
        {
            case NumericDateState.NotNumber: throw JwtErrors.Claims(JwtErrors.ExpNotNumberMessage);
            case NumericDateState.Value when now - AllowedSkewSeconds > _exp.Seconds:
                throw JwtErrors.Claims(JwtErrors.ExpiredMessage);
        }
        switch (_nbf.State)
        {
            case NumericDateState.NotNumber: throw JwtErrors.Claims(JwtErrors.NbfNotNumberMessage);
            case NumericDateState.Value when now + AllowedSkewSeconds < _nbf.Seconds:
                throw JwtErrors.Claims(JwtErrors.NotYetValidMessage);
        }
        switch (_iat.State)
        {
            case NumericDateState.NotNumber: throw JwtErrors.Claims(JwtErrors.IatNotNumberMessage);
            case NumericDateState.Value when now + AllowedSkewSeconds < _iat.Seconds:
                throw JwtErrors.Claims(JwtErrors.IssuedAtFutureMessage);
        }
        if (_audError is not null) throw JwtErrors.Claims(_audError);
        return _result ?? throw JwtErrors.TokenRequired();
    }

    private static NumericDate ReadDate(JsonElement claims, string name)
    {
        if (!claims.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
            return new NumericDate(NumericDateState.Absent, 0);
        if (v.ValueKind != JsonValueKind.Number) return new NumericDate(NumericDateState.NotNumber, 0);
        if (v.TryGetInt64(out var seconds)) return new NumericDate(NumericDateState.Value, seconds);
        // 1.0, 1e3: integral values written otherwise; fractions and out-of-range values become 0.
        if (v.TryGetDecimal(out var d) && decimal.Truncate(d) == d && d >= long.MinValue && d <= long.MaxValue)
            return new NumericDate(NumericDateState.Value, (long)d);
        return new NumericDate(NumericDateState.Value, 0);
    }

    /// <summary>PostgREST's <c>aud</c> check: a string or an array of strings (an empty array always passes), matched
    /// against <c>jwt-aud</c> when it is set; any other JSON type is an error even without <c>jwt-aud</c>.</summary>
    private static string? CheckAudience(JsonElement claims, string? audience)
    {
        if (!claims.TryGetProperty("aud", out var aud) || aud.ValueKind == JsonValueKind.Null) return null;
        switch (aud.ValueKind)
        {
            case JsonValueKind.String:
                return audience is null || aud.ValueEquals(audience) ? null : JwtErrors.NotInAudienceMessage;
            case JsonValueKind.Array:
                var any = false;
                var matched = audience is null;
                foreach (var item in aud.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String) return JwtErrors.AudNotStringOrArrayMessage;
                    any = true;
                    if (!matched && item.ValueEquals(audience)) matched = true;
                }
                return !any || matched ? null : JwtErrors.NotInAudienceMessage;
            default:
                return JwtErrors.AudNotStringOrArrayMessage;
        }
    }
}

/// <summary>
/// JSON text the way aeson writes a decoded value: compact, object keys in code point order (aeson's KeyMap is
/// ordered), duplicate keys collapsed to the last one, strings escaped as <see cref="JsonText"/> does. Numbers keep
/// their original text.
/// </summary>
internal static class AesonJson
{
    public static string Encode(JsonElement value)
    {
        var sb = new StringBuilder();
        Write(sb, value);
        return sb.ToString();
    }

    /// <summary>The claims object with <c>"role"</c> set to <paramref name="role"/> (PostgREST's <c>KM.insert</c>).</summary>
    public static string EncodeObjectWithRole(JsonElement claims, string role)
    {
        var sb = new StringBuilder(256);
        WriteObject(sb, claims, role);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                WriteObject(sb, value, null);
                break;
            case JsonValueKind.Array:
                sb.Append('[');
                var first = true;
                foreach (var item in value.EnumerateArray())
                {
                    if (!first) sb.Append(',');
                    first = false;
                    Write(sb, item);
                }
                sb.Append(']');
                break;
            case JsonValueKind.String:
                JsonText.WriteString(sb, value.GetString()!);
                break;
            case JsonValueKind.Number:
                sb.Append(value.GetRawText());
                break;
            case JsonValueKind.True:
                sb.Append("true");
                break;
            case JsonValueKind.False:
                sb.Append("false");
                break;
            default:
                sb.Append("null");
                break;
        }
    }

    private static void WriteObject(StringBuilder sb, JsonElement obj, string? role)
    {
        var names = new List<string>();
        var values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var member in obj.EnumerateObject())
        {
            if (!values.ContainsKey(member.Name)) names.Add(member.Name);
            values[member.Name] = member.Value;
        }
        if (role is not null && !values.ContainsKey("role")) names.Add("role");
        names.Sort(CompareCodePoints);
        sb.Append('{');
        for (var i = 0; i < names.Count; i++)
        {
            if (i > 0) sb.Append(',');
            var name = names[i];
            JsonText.WriteString(sb, name);
            sb.Append(':');
            if (role is not null && name == "role") JsonText.WriteString(sb, role);
            else Write(sb, values[name]);
        }
        sb.Append('}');
    }

    /// <summary>Ordinal order by code point rather than UTF-16 unit (they differ only above U+FFFF vs U+E000-U+FFFF).</summary>
    internal static int CompareCodePoints(string? a, string? b)
    {
        a ??= "";
        b ??= "";
        var n = Math.Min(a.Length, b.Length);
        for (var i = 0; i < n; i++)
        {
            var x = a[i];
            var y = b[i];
            if (x != y) return Fix(x) - Fix(y);
        }
        return a.Length - b.Length;

        static int Fix(char c) => c >= 0xD800 ? (c >= 0xE000 ? c - 0x800 : c + 0x2000) : c;
    }
}
