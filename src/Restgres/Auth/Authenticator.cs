using System.Text;
using Restgres.Config;

namespace Restgres.Auth;

/// <summary>
/// Turns the Authorization header into an <see cref="AuthResult"/>, as PostgREST's Auth.hs / Auth/Jwt.hs /
/// Auth/JwtCache.hs do (docs: references/auth.rst):
/// <list type="bullet">
/// <item>no bearer token (no header, or another scheme) → the claims are <c>{}</c>, so the role is
/// <c>db-anon-role</c> (PGRST302 when unset);</item>
/// <item>a bearer token without <c>jwt-secret</c> → PGRST300; otherwise it is decoded and its signature checked
/// (PGRST301 on failure), its claims checked (PGRST303), and the role taken from <c>jwt-role-claim-key</c>,
/// falling back to <c>db-anon-role</c>.</item>
/// </list>
/// Successfully decoded tokens are cached (<c>jwt-cache-max-entries</c>, 0 disables), so a repeated token costs a
/// dictionary lookup and three integer comparisons.
/// </summary>
internal sealed class Authenticator
{
    /// <summary>
    /// Longer tokens are refused as undecodable (PGRST301) without being parsed. PostgREST has no such limit of its own (its
    /// HTTP server, Warp, bounds the total header size before it sees a token); this keeps a huge token cheap to refuse even
    /// when Kestrel's header limit is raised. The value is IdentityModel's default maximum token size.
    /// </summary>
    public const int MaxTokenLength = 250 * 1024;

    /// <summary>Longer tokens are validated but not cached, so that the cache stays small whatever tokens clients send.</summary>
    public const int MaxCachedTokenLength = 16 * 1024;

    private readonly JwtKeySet? _keys;
    private readonly ClaimsPolicy _policy;
    private readonly ValidatedToken _anonymous;
    private readonly JwtCache? _cache;
    private readonly TimeProvider _time;

    public Authenticator(AppConfig config) : this(config, TimeProvider.System)
    {
    }

    public Authenticator(AppConfig config, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _time = timeProvider;
        var secret = SecretBytes(config);
        _keys = secret is null ? null : JwtKeySet.Parse(secret);
        var rolePath = config.JwtRoleClaimPath.Text == config.JwtRoleClaimKey
            ? config.JwtRoleClaimPath
            : RoleClaimPath.Parse(config.JwtRoleClaimKey);
        _policy = new ClaimsPolicy(config.JwtAud, rolePath, config.DbAnonRole);
        _anonymous = ValidatedToken.Anonymous(_policy);
        // As PostgREST: no cache without a key (tokens are refused anyway) or with a non-positive size.
        if (_keys is not null && config.JwtCacheMaxEntries > 0) _cache = new JwtCache(config.JwtCacheMaxEntries);
    }

    /// <summary>Requests whose token was found in the validation cache.</summary>
    public long JwtCacheHits => _cache?.Hits ?? 0;

    /// <summary>Requests whose token had to be decoded (including tokens that then failed).</summary>
    public long JwtCacheMisses => _cache?.Misses ?? 0;

    /// <summary>Entries dropped to make room for new ones.</summary>
    public long JwtCacheEvictions => _cache?.Evictions ?? 0;

    /// <summary>Tokens currently cached.</summary>
    public int JwtCacheCount => _cache?.Count ?? 0;

    public AuthResult Authenticate(string? authorizationHeaderValue)
    {
        // Empty claims have no time claims, so the clock does not matter for the anonymous result.
        if (!TryGetBearerToken(authorizationHeaderValue, out var token)) return _anonymous.Check(0);
        if (_keys is null) throw JwtErrors.SecretMissing();
        if (token.IsEmpty) throw JwtErrors.EmptyAuthHeader();
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        if (_cache is not null && _cache.TryGet(token, out var cached))
        {
            if (cached.IsExpired(now)) _cache.Remove(token, cached);
            return cached.Check(now);
        }
        var parts = token.Count('.') + 1;
        if (parts != 3) throw JwtErrors.UnexpectedParts(parts);
        if (token.Length > MaxTokenLength) throw JwtErrors.BadCrypto();
        var text = token.ToString();
        var validated = ValidatedToken.FromPayload(JwtDecoder.Decode(text, _keys), _policy);
        if (_cache is not null && text.Length <= MaxCachedTokenLength && !validated.IsExpired(now)) _cache.Add(text, validated);
        return validated.Check(now);
    }

    /// <summary>
    /// wai-extra's <c>extractBearerAuth</c>, which PostgREST uses: the scheme is the text before the first space and
    /// must be "bearer" in any case; the token is the rest with leading spaces dropped (possibly empty). Any other
    /// scheme counts as no token at all.
    /// </summary>
    internal static bool TryGetBearerToken(string? header, out ReadOnlySpan<char> token)
    {
        token = default;
        if (header is null) return false;
        var s = header.AsSpan();
        var i = 0;
        while (i < s.Length && !IsSpace(s[i])) i++;
        if (!s[..i].Equals("bearer", StringComparison.OrdinalIgnoreCase)) return false;
        while (i < s.Length && IsSpace(s[i])) i++;
        token = s[i..];
        return true;
    }

    /// <summary>Data.ByteString.Char8's <c>isSpace</c>: space, \t \n \v \f \r and Latin-1's no-break space.</summary>
    private static bool IsSpace(char c) => c is ' ' or (>= '\t' and <= '\r') or '\u00a0';

    /// <summary>
    /// The key material: the loader's decoded bytes, or, for a config built in code, <c>jwt-secret</c> read the
    /// way PostgREST's <c>decodeSecret</c> does (URL-safe base64 characters accepted when <c>jwt-secret-is-base64</c>).
    /// </summary>
    private static byte[]? SecretBytes(AppConfig config)
    {
        if (!config.JwtSecretBytes.IsDefaultOrEmpty) return [.. config.JwtSecretBytes];
        if (config.JwtSecret is not { } secret) return null;
        if (!config.JwtSecretIsBase64) return Encoding.UTF8.GetBytes(secret);
        var standard = secret.Replace('_', '/').Replace('-', '+').Replace('.', '=').Trim();
        try
        {
            return Convert.FromBase64String(standard);
        }
        catch (FormatException e)
        {
            throw new ConfigException("jwt-secret-is-base64 is true but jwt-secret is not valid base64: " + e.Message,
                "jwt-secret");
        }
    }
}
