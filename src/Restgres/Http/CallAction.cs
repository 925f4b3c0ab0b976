using System.Diagnostics;
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
        var payload = ParsePayload(req, call);
        var handlers = rc.Cache.MediaHandlers;
        var plan = CallPlanner.Plan(config, rc.Cache, req, call.Target, call.Method, payload, handlers);
        var main = CallStatements.MainCall(plan, req.Preferences, config.DbMaxRows, req.TopLevelRange);
        // Only the function's SET options listed in db-hoisted-tx-settings apply to the whole transaction.
        var planned = new PlannedCall(plan, main, [.. plan.Routine.Settings.Where(s => config.DbHoistedTxSettings.Contains(s.Key))]);
        if (rc.PlanCacheKey is { } key && plan.Media.Kind != MediaKind.Plan && CallStatements.CanRebind(plan.CallPlan)
            && CallStatements.PayloadShape(payload) is { } shape)
        {
            var cache = PlanCache.For(rc.Cache, config);
            if (cache.TryGet(key, out var known) && known is CachedCall entry) entry.Add(shape, planned);
            else
            {
                entry = new CachedCall(req with { Headers = [], Cookies = [], Body = ReadOnlyMemory<byte>.Empty }, call);
                entry.Add(shape, planned);
                cache.Add(key, entry);
            }
        }
        t = rc.Mark(2, t);
        return await ExecuteAsync(rc, planned, main, t);
    }

    /// <summary>
    /// A call whose URL and headers were planned before (see <see cref="PlanCache"/>): only the body is parsed, and
    /// when its shape was planned too, the statement is re-bound to it. Null when this shape is new.
    /// </summary>
    internal static Task<PgrstResponse>? TryRunPlanned(RequestContext rc, CachedCall cached)
    {
        var t = Stopwatch.GetTimestamp();
        var payload = ParsePayload(rc.Request, cached.Action);
        if (CallStatements.PayloadShape(payload) is not { } shape || !cached.TryGet(shape, out var planned)) return null;
        var main = CallStatements.WithPayload(planned.Main, planned.Plan.CallPlan, payload);
        t = rc.Mark(2, t);
        return ExecuteAsync(rc, planned, main, t);
    }

    private static CallPayload? ParsePayload(ApiRequest.ApiRequest req, RoutineCall call) => call.Method == InvokeMethod.Inv
        ? PayloadParser.ParseCall(req.ContentMediaType, req.Body, req.QueryParams.Columns)
        : null;

    private static async Task<PgrstResponse> ExecuteAsync(RequestContext rc, PlannedCall planned, Statement main, long t)
    {
        var (config, req, plan) = (rc.Config, rc.Request, planned.Plan);
        var tx = TxSettingsBuilder.Build(config, req, rc.Auth, plan.ReadOnly, planned.Hoisted, rc.Cache, plan.Routine.IsolationLevel);
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
        var handlers = rc.Cache.MediaHandlers;
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
}
