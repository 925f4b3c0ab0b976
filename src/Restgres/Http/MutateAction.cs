using System.Diagnostics;
using Restgres.ApiRequest;
using Restgres.Errors;
using Restgres.Execution;
using Restgres.Plan;
using Restgres.Response;
using Restgres.Sql;

namespace Restgres.Http;

/// <summary>POST/PUT/PATCH/DELETE on a table or view: body, plan, one write transaction, response.</summary>
public static class MutateAction
{
    public static async Task<PgrstResponse> RunAsync(RequestContext rc, RelationMut mut)
    {
        var (config, req) = (rc.Config, rc.Request);
        var t = Stopwatch.GetTimestamp();
        // PostgREST parses the body while building the ApiRequest, before the table is looked up.
        var payload = PayloadParser.Parse(mut.Mutation, req.ContentMediaType, req.Body, req.QueryParams.Columns);
        if (rc.Timings is { } timings) timings[1] += Stopwatch.GetElapsedTime(t).TotalMilliseconds;
        t = Stopwatch.GetTimestamp();
        var plan = MutatePlanner.Plan(config, rc.Cache, req, mut, payload);
        var main = MutateStatements.MainWrite(plan, req.Preferences);
        t = rc.Mark(2, t);
        var tx = TxSettingsBuilder.Build(config, req, rc.Auth, readOnly: false, cache: rc.Cache);
        if (plan.Media.Kind == MediaKind.Plan)
        {
            // The EXPLAINed write runs (and, with analyze, takes effect) like any other: no checks, tx end as configured.
            var planBody = await MainTx.RunPlanAsync(rc.State.DataSource, tx, main, rc.Aborted);
            rc.Mark(3, t);
            return Responses.Plan(req, plan.Media, planBody);
        }
        var rs = await MainTx.RunAsync(rc.State.DataSource, tx, main, null, Check(plan, req.Preferences), rc.Aborted);
        t = rc.Mark(3, t);
        var resp = MutateResponses.Build(req, plan, rs);
        rc.Mark(4, t);
        return resp;
    }

    /// <summary>
    /// MainTx's failMutation, run before the transaction ends so a failure rolls the write back: PUT must write
    /// exactly one row (PGRST115), vnd.pgrst.object needs exactly one (PGRST116), and PATCH/DELETE honour
    /// max-affected with handling=strict (PGRST124).
    /// </summary>
    /// <returns>Null when nothing needs checking, so the transaction may end without waiting for the result.</returns>
    public static Func<ResultSet, ApiError?>? Check(MutateReadPlan plan, Preferences prefs)
    {
        if (plan.Mutation == Mutation.SingleUpsert)
            return rs => rs.QueryTotal != 1 ? Pgrst.PutMatchingPk() : null;
        var singular = ReadAction.SingularCheck(plan.Media);
        var maxAffected = plan.Mutation is Mutation.Update or Mutation.Delete && prefs.Handling == PreferHandling.Strict
            ? prefs.MaxAffected : null;
        if (maxAffected is not { } n) return singular;
        return rs => singular?.Invoke(rs) ?? (rs.QueryTotal > n ? Pgrst.MaxAffectedViolation(rs.QueryTotal) : null);
    }
}
