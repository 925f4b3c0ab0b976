using System.Diagnostics;
using System.Runtime.CompilerServices;
using Npgsql;
using NpgsqlTypes;
using Restgres.ApiRequest;
using Restgres.Errors;
using Restgres.Execution;
using Restgres.Plan;
using Restgres.Response;
using Restgres.SchemaCache;
using Restgres.Sql;

namespace Restgres.Http;

/// <summary>/rpc/fn (and a db-root-spec function on GET /): GET/HEAD/POST calls and OPTIONS.</summary>
public static class CallAction
{
    public static async Task<PgrstResponse> RunAsync(RequestContext rc, RoutineCall call)
    {
        var (config, req) = (rc.Config, rc.Request);
        var t = Stopwatch.GetTimestamp();
        // PostgREST parses the body with the rest of the request, so body errors (PGRST102) come before a missing function.
        var payload = call.Method == InvokeMethod.Inv
            ? CallArgsParser.ParsePayload(req.ContentMediaType, req.Body, req.QueryParams.Columns)
            : null;
        var handlers = await MediaHandlersAsync(rc);
        var plan = CallPlanner.Plan(config, rc.Cache, req, call.Target, call.Method, payload, handlers);
        var main = CallStatements.MainCall(plan, req.Preferences, config.DbMaxRows, req.TopLevelRange);
        t = rc.Mark(2, t);
        // Only the function's SET options listed in db-hoisted-tx-settings apply to the whole transaction.
        var hoisted = plan.Routine.Settings.Where(s => config.DbHoistedTxSettings.Contains(s.Key)).ToList();
        var tx = TxSettingsBuilder.Build(config, req, rc.Auth, plan.ReadOnly, hoisted);
        if (plan.Media.Kind == MediaKind.Plan)
        {
            // Accept: application/vnd.pgrst.plan (db-plan-enabled): the EXPLAIN output, whatever the function returns.
            var planBody = await MainTx.RunPlanAsync(rc.State.DataSource, tx, main, rc.Aborted);
            rc.Mark(3, t);
            return Responses.Plan(req, plan.Media, planBody);
        }
        var rs = await MainTx.RunAsync(rc.State.DataSource, tx, main, null, Check(plan, req.Preferences), rc.Aborted);
        t = rc.Mark(3, t);
        var resp = CallResponses.Call(config, req, plan, rs);
        rc.Mark(4, t);
        return resp;
    }

    /// <summary>OPTIONS plans the call as PostgREST does (a HEAD without arguments), so an unknown function is a 404.</summary>
    public static PgrstResponse Info(RequestContext rc, RoutineInfo info)
    {
        var handlers = CachedMediaHandlers(rc.Cache) ?? MediaHandlerMap.Builtin;
        var plan = CallPlanner.Plan(rc.Config, rc.Cache, rc.Request, info.Target, InvokeMethod.ReadHead, null, handlers);
        return CallResponses.Info(plan);
    }

    /// <summary>
    /// Checks on the result before the transaction ends (MainTx.hs, CallReadPlan): a singular media type needs one
    /// row (PGRST116); <c>Prefer: max-affected</c> with handling=strict caps the rows returned (PGRST124).
    /// </summary>
    private static Func<ResultSet, ApiError?>? Check(CallReadPlan plan, Preferences prefs)
    {
        var singular = plan.Media.Kind == MediaKind.SingularJson;
        var maxAffected = prefs.Handling == PreferHandling.Strict ? prefs.MaxAffected : null;
        if (!singular && maxAffected is null) return null;
        return rs =>
        {
            if (singular && rs.QueryTotal != 1) return Pgrst.Singularity(rs.QueryTotal);
            if (maxAffected is { } n && rs.QueryTotal > n) return Pgrst.MaxAffectedViolation(rs.QueryTotal);
            return null;
        };
    }

    // ---- media handlers ----
    //
    // PostgREST keeps custom media handlers in its schema cache (SchemaCache.hs mediaHandlers): aggregates returning a
    // media-type domain, and functions returning one (e.g. "text/plain"), which give /rpc their raw outputs. Our schema
    // cache does not load them yet, so calls load them once per schema cache snapshot here.

    private static readonly ConditionalWeakTable<SchemaCache.SchemaCache, Task<MediaHandlerMap>> Handlers = new();

    private static MediaHandlerMap? CachedMediaHandlers(SchemaCache.SchemaCache cache) =>
        Handlers.TryGetValue(cache, out var task) && task.IsCompletedSuccessfully ? task.Result : null;

    private static async Task<MediaHandlerMap> MediaHandlersAsync(RequestContext rc)
    {
        var task = Handlers.GetValue(rc.Cache, _ => LoadMediaHandlersAsync(rc.State.DataSource, [.. rc.Config.DbSchemas]));
        try
        {
            return await task;
        }
        catch (ApiError)
        {
            Handlers.Remove(rc.Cache);
            throw;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            // Retried by the next call; this one goes on with the builtin handlers and its own transaction reports
            // any connection problem the way PostgREST does.
            Handlers.Remove(rc.Cache);
            return MediaHandlerMap.Builtin;
        }
    }

    private static async Task<MediaHandlerMap> LoadMediaHandlersAsync(NpgsqlDataSource ds, string[] schemas)
    {
        await using var conn = await MainTx.OpenAsync(ds, CancellationToken.None);
        await using var tx = await conn.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted);
        await using var cmd = new NpgsqlCommand(MediaHandlersQuery, conn, tx);
        cmd.Parameters.Add(new NpgsqlParameter
        {
            Value = schemas.Select(SqlText.QuoteIdent).ToArray(),
            NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text,
        });
        var list = new List<(QualifiedIdentifier, QualifiedIdentifier?, string, string)>();
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var handler = new QualifiedIdentifier(reader.GetString(0), reader.GetString(1));
                var target = new QualifiedIdentifier(reader.GetString(2), reader.GetString(3));
                QualifiedIdentifier? rel = target is { Schema: "pg_catalog", Name: "anyelement" } ? null : target;
                list.Add((handler, rel, reader.GetString(4), reader.GetString(5)));
            }
        }
        await tx.CommitAsync();
        return new MediaHandlerMap(list);
    }

    /// <summary>
    /// The custom media handlers in the exposed schemas ($1, quoted): aggregates over a relation's rows (or
    /// anyelement) that return a media-type domain such as <c>"text/csv"</c>, and functions returning such a domain,
    /// whose body is the domain applied to the result (functional cast notation). <c>"*/*"</c> produces
    /// application/octet-stream. Columns: handler schema and name, target schema and name, media type, resolved type.
    /// </summary>
    private const string MediaHandlersQuery = """
        WITH media_types AS (
          SELECT t.oid, t.typname, t.typnamespace,
                 CASE WHEN t.typname = '*/*' THEN 'application/octet-stream' ELSE t.typname END AS resolved
          FROM pg_type t
          WHERE t.typtype = 'd'
            AND (t.typname ~* '^[A-Za-z0-9.-]+/[A-Za-z0-9.\+-]+$' OR t.typname = '*/*')
        )
        SELECT hn.nspname, p.proname, an.nspname, at.typname::text, lower(m.typname), m.resolved::text
        FROM pg_aggregate a
        JOIN pg_proc p ON p.oid = a.aggfnoid
        JOIN media_types m ON m.oid = p.prorettype
        JOIN pg_namespace hn ON hn.oid = p.pronamespace
        JOIN pg_type at ON at.oid = p.proargtypes[0]
        JOIN pg_namespace an ON an.oid = at.typnamespace
        WHERE p.pronargs = 1
          AND p.pronamespace = ANY ($1::regnamespace[])
          AND (at.typname = 'anyelement' OR at.oid IN (SELECT reltype FROM pg_class WHERE relkind IN ('v', 'r', 'm', 'f', 'p')))
        UNION
        SELECT mn.nspname, m.typname::text, pn.nspname, p.proname::text, lower(m.typname), m.resolved::text
        FROM pg_proc p
        JOIN media_types m ON m.oid = p.prorettype
        JOIN pg_namespace mn ON mn.oid = m.typnamespace
        JOIN pg_namespace pn ON pn.oid = p.pronamespace
        WHERE p.prokind = 'f' AND NOT p.proretset
          AND p.pronamespace = ANY ($1::regnamespace[])
        """;
}
