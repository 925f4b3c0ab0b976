using System.Diagnostics;
using Restgres.ApiRequest;
using Restgres.Errors;
using Restgres.Execution;
using Restgres.Plan;
using Restgres.Response;
using Restgres.Sql;

namespace Restgres.Http;

/// <summary>GET/HEAD on a table or view: plan, one read-only transaction, response.</summary>
public static class ReadAction
{
    public static async Task<PgrstResponse> RunAsync(RequestContext rc, RelationRead read)
    {
        var (config, req) = (rc.Config, rc.Request);
        var t = Stopwatch.GetTimestamp();
        var plan = Planner.WrappedRead(config, rc.Cache, req, read.Target, read.HeadersOnly);
        var main = Statements.MainRead(plan, req.Preferences, config.DbMaxRows, req.TopLevelRange, out var explain);
        if (rc.PlanCacheKey is { } key)
            PlanCache.For(rc.Cache, config).Add(key, new CachedRead(req with { Headers = [], Cookies = [] }, read, plan, main, explain));
        t = rc.Mark(2, t);
        return await ExecuteAsync(rc, plan, main, explain, t);
    }

    /// <summary>A read planned by an earlier identical request (see <see cref="PlanCache"/>).</summary>
    internal static Task<PgrstResponse> RunPlannedAsync(RequestContext rc, CachedRead cached) =>
        ExecuteAsync(rc, cached.Plan, cached.Main, cached.Explain, Stopwatch.GetTimestamp());

    private static async Task<PgrstResponse> ExecuteAsync(RequestContext rc, WrappedReadPlan plan, Statement main, Statement? explain, long t)
    {
        var (config, req) = (rc.Config, rc.Request);
        var tx = TxSettingsBuilder.Build(config, req, rc.Auth, readOnly: true, cache: rc.Cache);
        if (plan.Media.Kind == MediaKind.Plan)
        {
            var planBody = await MainTx.RunPlanAsync(rc.State.DataSource, tx, main, rc.Aborted);
            rc.Mark(3, t);
            return Responses.Plan(req, plan.Media, planBody);
        }
        var rs = await MainTx.RunAsync(rc.State.DataSource, tx, main, explain, SingularCheck(plan.Media), rc.Aborted);
        t = rc.Mark(3, t);
        var resp = Responses.Read(config, req, plan, rs);
        rc.Mark(4, t);
        return resp;
    }

    /// <summary>application/vnd.pgrst.object+json needs exactly one row (PGRST116).</summary>
    public static Func<ResultSet, ApiError?>? SingularCheck(MediaType media) =>
        media.Kind == MediaKind.SingularJson || media.PlanFor?.Kind == MediaKind.SingularJson
            ? rs => rs.QueryTotal != 1 ? Pgrst.Singularity(rs.QueryTotal) : null
            : null;
}
