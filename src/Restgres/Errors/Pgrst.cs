namespace Restgres.Errors;

/// <summary>
/// The PGRST error catalogue (PostgREST docs: references/errors.rst; source: Error.hs). Codes are literal strings so
/// they stay greppable. Groups: PGRST0xx connection, PGRST1xx request, PGRST2xx schema cache, PGRST3xx JWT.
/// </summary>
internal static class Pgrst
{
    // PGRST0xx: connection
    public static ApiError DbConnection(string? details, bool authenticationFailed = false) =>
        new(503, "PGRST000", "Database connection error.", ApiError.Str(details)) { ConnectionLost = true, AuthenticationFailed = authenticationFailed };
    public static ApiError DbClient(string? details) =>
        new(503, "PGRST001", "Database client error. Retrying the connection.", ApiError.Str(details)) { ConnectionLost = true };
    public static ApiError NoSchemaCache() =>
        new(503, "PGRST002", "Could not query the database for the schema cache. Retrying.") { ConnectionLost = true };
    public static ApiError PoolTimeout() =>
        new(504, "PGRST003", "Timed out acquiring connection from connection pool.");

    // PGRST1xx: API request
    public static ApiError QueryParam(string message, string details) =>
        new(400, "PGRST100", message, ApiError.Str(details));
    public static ApiError InvalidRpcMethod(string method) =>
        new(405, "PGRST101", $"Cannot use the {method} method on RPC");
    public static ApiError InvalidBody(string message) => new(400, "PGRST102", message);
    public static ApiError InvalidRangeOutOfBounds(long lower, long total) =>
        new(416, "PGRST103", "Requested range not satisfiable",
            ApiError.Str($"An offset of {lower} was requested, but there are only {total} rows."));
    public static ApiError InvalidRangeNegativeLimit() =>
        new(416, "PGRST103", "Requested range not satisfiable", ApiError.Str("Limit should be greater than or equal to zero."));
    public static ApiError InvalidRangeLowerGtUpper() =>
        new(416, "PGRST103", "Requested range not satisfiable",
            ApiError.Str("The lower boundary must be lower than or equal to the upper boundary in the Range header."));
    public static ApiError InvalidFilters() =>
        new(405, "PGRST105", "Filters must include all and only primary key columns with 'eq' operators");
    public static ApiError UnacceptableSchema(string schema, IEnumerable<string> exposed) =>
        new(406, "PGRST106", $"Invalid schema: {schema}", null,
            ApiError.Str("Only the following schemas are exposed: " + string.Join(", ", exposed)));
    public static ApiError MediaType(IEnumerable<string> mediaTypes) =>
        new(406, "PGRST107", "None of these media types are available: " + string.Join(", ", mediaTypes));
    public static ApiError NotEmbedded(string resource) =>
        new(400, "PGRST108", $"'{resource}' is not an embedded resource in this request", null,
            ApiError.Str($"Verify that '{resource}' is included in the 'select' query parameter."));
    public static ApiError NotEmbeddedAlias(string name, string alias) =>
        new(400, "PGRST108", $"'{name}' is not an embedded resource in this request",
            ApiError.Str("Target names are not allowed in filters if they have an alias"),
            ApiError.Str($"Change '{name}' to '{alias}' in filters, orders or limits."));
    public static ApiError GucHeaders() =>
        new(500, "PGRST111", "response.headers guc must be a JSON array composed of objects with a single key and a string value");
    public static ApiError GucStatus() =>
        new(500, "PGRST112", "response.status guc must be a valid status code");
    public static ApiError PutLimitNotAllowed() =>
        new(400, "PGRST114", "limit/offset querystring parameters are not allowed for PUT");
    public static ApiError PutMatchingPk() =>
        new(400, "PGRST115", "Payload values do not match URL in primary key column(s)");
    public static ApiError Singularity(long rows) =>
        new(406, "PGRST116", "Cannot coerce the result to a single JSON object", ApiError.Str($"The result contains {rows} rows"));
    public static ApiError UnsupportedMethod(string method) =>
        new(405, "PGRST117", $"Unsupported HTTP method: {method}");
    public static ApiError RelatedOrderNotToOne(string origin, string target) =>
        new(400, "PGRST118", $"A related order on '{target}' is not possible",
            ApiError.Str($"'{origin}' and '{target}' do not form a many-to-one or one-to-one relationship"));
    public static ApiError UnacceptableFilter(string target) =>
        new(400, "PGRST120", $"Bad operator on the '{target}' embedded resource",
            ApiError.Str("Only is null or not is null filters are allowed on embedded resources"));
    public static ApiError RaiseParse(string details, string hint) =>
        new(500, "PGRST121", "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error", ApiError.Str(details), ApiError.Str(hint));
    public static ApiError InvalidPreferences(IEnumerable<string> prefs) =>
        new(400, "PGRST122", "Invalid preferences given with handling=strict",
            ApiError.Str("Invalid preferences: " + string.Join(", ", prefs)));
    public static ApiError AggregatesNotAllowed() =>
        new(400, "PGRST123", "Use of aggregate functions is not allowed");
    public static ApiError MaxAffectedViolation(long rows) =>
        new(400, "PGRST124", "Query result exceeds max-affected preference constraint", ApiError.Str($"The query affects {rows} rows"));
    public static ApiError InvalidResourcePath() =>
        new(404, "PGRST125", "Invalid path specified in request URL");
    public static ApiError OpenApiDisabled() =>
        new(404, "PGRST126", "Root endpoint metadata is disabled");
    public static ApiError NotImplemented(string details) =>
        new(400, "PGRST127", "Feature not implemented", ApiError.Str(details));
    public static ApiError MaxAffectedRpcViolation() =>
        new(400, "PGRST128", "Function must return SETOF or TABLE when max-affected preference is used with handling=strict");

    // PGRST2xx: schema cache
    public static ApiError ColumnNotFound(string relation, string column) =>
        new(400, "PGRST204", $"Could not find the '{column}' column of '{relation}' in the schema cache");
    public static ApiError TableNotFound(string schema, string name, string? hint) =>
        new(404, "PGRST205", $"Could not find the table '{schema}.{name}' in the schema cache", null, ApiError.Str(hint));

    // PGRST3xx: JWT
    public static ApiError JwtSecretMissing() => new(500, "PGRST300", "Server lacks JWT secret");
    public static ApiError JwtTokenRequired() =>
        new(401, "PGRST302", "Anonymous access is disabled", headers: [new("WWW-Authenticate", "Bearer")]);
}
