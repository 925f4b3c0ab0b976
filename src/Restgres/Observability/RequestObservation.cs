namespace Restgres.Observability;

/// <summary>
/// What the request pipeline reports back to the access log while a request runs: the role it was authenticated as
/// and, with <c>log-query</c>, the main SQL statement. Created only when something will be logged; the request
/// handler finds it as an HttpContext feature, the execution layer through <see cref="QueryLog"/>.
/// </summary>
public sealed class RequestObservation
{
    /// <summary>The role after authentication (PostgREST's authRole), or null when authentication failed.</summary>
    public string? Role { get; set; }

    /// <summary>The main statement's SQL, when <c>log-query</c> is on.</summary>
    public string? Sql { get; set; }
}

/// <summary>
/// Carries the current request's <see cref="RequestObservation"/> to the code that runs its transaction, which has
/// no HttpContext, so that <c>log-query</c> can log the statement PostgREST logs (QueryObs, Logger.hs). Set only when
/// <c>log-query</c> is on; with it off, <see cref="Record"/> is a single async-local read.
/// </summary>
public static class QueryLog
{
    private static readonly AsyncLocal<RequestObservation?> Current = new();

    internal static void Begin(RequestObservation observation) => Current.Value = observation;

    /// <summary>Remembers the main statement of the current request, if its SQL is to be logged.</summary>
    public static void Record(string sql)
    {
        if (Current.Value is { } o) o.Sql = sql;
    }
}
