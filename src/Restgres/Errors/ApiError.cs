using System.Text;
using Restgres.Config;

namespace Restgres.Errors;

/// <summary>
/// One error response in PostgREST's shape: <c>{"code","details","hint","message"}</c> with its HTTP status and extra
/// headers. The catalogue of PGRST codes lives in <see cref="Pgrst"/>; database errors are mapped by
/// <see cref="PgErrorMapper"/>. Details and hints are raw JSON values (usually strings, sometimes arrays).
/// </summary>
internal sealed class ApiError : Exception
{
    public ApiError(int status, string code, string message, string? detailsJson = null, string? hintJson = null,
        IReadOnlyList<KeyValuePair<string, string>>? headers = null)
        : base(message)
    {
        Status = status;
        Code = code;
        DetailsJson = detailsJson;
        HintJson = hintJson;
        Headers = headers ?? [];
    }

    public int Status { get; }
    public string Code { get; }
    /// <summary>The <c>details</c> value as JSON text, or null for JSON null.</summary>
    public string? DetailsJson { get; }
    /// <summary>The <c>hint</c> value as JSON text, or null for JSON null.</summary>
    public string? HintJson { get; }
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>
    /// The database could not be reached or the connection broke (PGRST000/001/002, SQLSTATE class 08, 57P01–57P03):
    /// the server starts its recovery (flush the pool, reload the schema cache with backoff). Set where the error is
    /// made, from what failed, rather than read back from the response.
    /// </summary>
    public bool ConnectionLost { get; init; }

    /// <summary>
    /// PostgreSQL raised it (PostgREST's PgError): when its status is 5xx the server logs it (PostgREST's
    /// QueryErrorCodeHighObs), since a 5xx from the database is the operator's problem, not the client's.
    /// </summary>
    public bool FromDatabase { get; init; }

    /// <summary>
    /// The database refused the authenticator's credentials: retrying cannot help, so the server stops (PostgREST's
    /// ExitDBFatalError ServerAuthError) instead of answering 503 forever.
    /// </summary>
    public bool AuthenticationFailed { get; init; }

    /// <summary>The body, with keys in aeson's (sorted) order so Content-Length matches PostgREST's.</summary>
    public string ToJson(ErrorVerbosity verbosity)
    {
        var sb = new StringBuilder(128);
        sb.Append("{\"code\":");
        JsonText.WriteString(sb, Code);
        if (verbosity == ErrorVerbosity.Verbose)
        {
            sb.Append(",\"details\":").Append(DetailsJson ?? "null");
            sb.Append(",\"hint\":").Append(HintJson ?? "null");
        }
        sb.Append(",\"message\":");
        JsonText.WriteString(sb, Message);
        sb.Append('}');
        return sb.ToString();
    }

    public static string? Str(string? s) => s is null ? null : JsonText.Quote(s);
}
