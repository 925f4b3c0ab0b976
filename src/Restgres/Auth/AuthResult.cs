namespace Restgres.Auth;

/// <summary>
/// Who the request runs as (PostgREST's AuthResult): the database role and the JWT claims as JSON with the role
/// inserted, as PostgREST sets them into <c>request.jwt.claims</c>.
/// </summary>
/// <param name="IsAnonymous">True when the role is db-anon-role, with or without a token (PostgREST App.hs: 42501 → 401 then, else 403).</param>
internal sealed record AuthResult(string Role, string ClaimsJson, bool IsAnonymous);
