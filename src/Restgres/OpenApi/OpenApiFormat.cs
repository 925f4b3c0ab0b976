using Restgres.Requests;

namespace Restgres.OpenApi;

/// <summary>What the root endpoint answers with.</summary>
internal enum OpenApiFormat
{
    /// <summary>PostgREST's Swagger 2.0 document (application/openapi+json, application/json, */*).</summary>
    Swagger2,
    /// <summary>Beyond PostgREST: OpenAPI 3.1 (application/vnd.oai.openapi+json;version=3.1).</summary>
    OpenApi31,
    /// <summary>Beyond PostgREST: the browsable API docs page (text/html).</summary>
    DocsPage,
}

/// <summary>
/// Content negotiation at the root. PostgREST (Plan.hs, inspectPlan) serves its document when any accepted type is
/// application/openapi+json, application/json or */*, and answers PGRST107 otherwise. Restgres also offers OpenAPI 3.1
/// and an HTML page, so it takes the client's most preferred type among all of them; a request PostgREST answers
/// still gets the Swagger 2.0 document unless it prefers one of the new types.
/// </summary>
internal static class OpenApiNegotiation
{
    public const string OpenApi31MediaType = "application/vnd.oai.openapi+json;version=3.1";

    /// <summary>The format for the Accept list (already sorted by preference), or null when none is available.</summary>
    public static OpenApiFormat? Choose(IReadOnlyList<MediaType> accepts)
    {
        foreach (var m in accepts)
        {
            switch (m.Kind)
            {
                case MediaKind.OpenApi or MediaKind.ApplicationJson or MediaKind.Any:
                    return OpenApiFormat.Swagger2;
                case MediaKind.Other when m.Other is { } text:
                    var (type, version) = TypeAndVersion(text);
                    if (type == "application/vnd.oai.openapi+json" && version is null or "3.1") return OpenApiFormat.OpenApi31;
                    if (type == "text/html") return OpenApiFormat.DocsPage;
                    break;
            }
        }
        return null;
    }

    private static (string Type, string? Version) TypeAndVersion(string text)
    {
        var parts = text.Split(';');
        string? version = null;
        foreach (var p in parts.Skip(1))
        {
            var eq = p.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && p[..eq].Trim().Equals("version", StringComparison.OrdinalIgnoreCase)) version = p[(eq + 1)..].Trim().Trim('"');
        }
        return (parts[0].Trim().ToLowerInvariant(), version);
    }
}
