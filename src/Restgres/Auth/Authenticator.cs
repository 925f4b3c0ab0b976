using Restgres.Config;
using Restgres.Errors;

namespace Restgres.Auth;

/// <summary>
/// Turns the Authorization header into an <see cref="AuthResult"/> (PostgREST's Auth.hs). Placeholder: anonymous
/// requests only; a bearer token is refused until JWT validation lands, so nothing ever runs with more privileges
/// than the anonymous role.
/// </summary>
public sealed class Authenticator(AppConfig config)
{
    public AuthResult Authenticate(string? authorization)
    {
        if (authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            if (config.JwtSecret is null) throw Pgrst.JwtSecretMissing();
            throw new ApiError(401, "PGRST301", "JWT couldn't be decoded", headers:
                [new("WWW-Authenticate", "Bearer error=\"invalid_token\", error_description=\"JWT couldn't be decoded\"")]);
        }
        var role = config.DbAnonRole ?? throw Pgrst.JwtTokenRequired();
        return new AuthResult(role, "{\"role\":" + JsonText.Quote(role) + "}", true);
    }
}
