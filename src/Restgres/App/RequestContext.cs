using Npgsql;
using Restgres.Auth;
using Restgres.Config;
using Restgres.Observability;

namespace Restgres.App;

/// <summary>
/// Everything one request's execution needs, passed explicitly: the config and schema cache snapshots it was planned
/// against, the parsed request, who it runs as, the pool, and what it reports back (timings, the logged query).
/// </summary>
internal sealed record RequestContext(
    AppConfig Config,
    Catalog.SchemaCache Cache,
    Requests.ApiRequest Request,
    AuthResult Auth,
    NpgsqlDataSource DataSource,
    CancellationToken Aborted)
{
    /// <summary>Stage timings, when server-timing-enabled is on.</summary>
    public ServerTiming? Timing { get; init; }

    /// <summary>db-group-commit's batcher (Execution/GroupCommit.cs), shared by the server's requests.</summary>
    public Execution.GroupCommit? GroupCommit { get; init; }

    /// <summary>The request's <c>Idempotency-Key</c> when server-idempotency names its path (Execution/Idempotency.cs).</summary>
    public Execution.IdempotentRequest? Idempotency { get; init; }

    /// <summary>db-read-replicas' pools and health (Execution/ReadReplicas.cs); null without replicas.</summary>
    public Execution.ReadReplicas? Replicas { get; init; }

    /// <summary>The access log's record of this request, when anything will be logged.</summary>
    public RequestObservation? Observation { get; init; }

    /// <summary>log-query (PostgREST's QueryObs): remembers the main statement for the access log.</summary>
    public void LogQuery(string sql)
    {
        if (Config.LogQuery && Observation is { } o) o.Sql = sql;
    }
}
