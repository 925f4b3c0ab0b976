namespace Restgres.Observability;

/// <summary>
/// What the request pipeline reports back to the access log while a request runs: the role it was authenticated as
/// and, with <c>log-query</c>, the main SQL statement. Created only when something will be logged; the request
/// handler finds it as an HttpContext feature and passes it to the execution step (App.RequestContext).
/// </summary>
internal sealed class RequestObservation
{
    /// <summary>The role after authentication (PostgREST's authRole), or null when authentication failed.</summary>
    public string? Role { get; set; }

    /// <summary>The main statement's SQL, when <c>log-query</c> is on.</summary>
    public string? Sql { get; set; }

    /// <summary>A CORS preflight answered by the CORS layer: counted, not logged (PostgREST's CORS middleware answers
    /// it before the logger sees it).</summary>
    public bool IsPreflight { get; set; }
}
