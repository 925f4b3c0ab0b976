using Restgres.Config;
using Restgres.Execution;
using Restgres.OpenApi;
using Restgres.Response;

namespace Restgres.App;

/// <summary>
/// Runs an action plan (PostgREST's App.hs after planning): the transaction, or none, and the response built from its
/// result. The one place where a planned request meets the database; every action goes through
/// <see cref="RunAsync"/>.
/// </summary>
internal static class Pipeline
{
    public static async Task<PgrstResponse> RunAsync(RequestContext rc, ActionPlan plan) => plan switch
    {
        InfoPlan info => Responses.Info(info.Allow),
        InspectPlan inspect => await InspectAsync(rc, inspect),
        DbActionPlan db => await RunDbAsync(rc, db),
        _ => throw new InvalidOperationException("unknown action plan " + plan.GetType().Name),
    };

    private static async Task<PgrstResponse> RunDbAsync(RequestContext rc, DbActionPlan plan)
    {
        var tx = TxSettingsBuilder.Build(rc.Config, rc.Request, rc.Auth, plan.ReadOnly, plan.Hoisted, rc.Cache, plan.IsolationLevel);
        rc.LogQuery(plan.Main.Sql);
        // db-read-replicas: the one place a transaction's server is chosen (docs/read-replicas.md).
        if (rc.Replicas is not { } replicas) return await RunOnAsync(rc, plan, tx, rc.DataSource);
        if (ReadReplicas.Eligible(plan, tx, rc.Request) && await replicas.ChooseAsync(rc.Request, rc.Aborted) is { } replica)
        {
            try
            {
                var served = await RunOnAsync(rc, plan, tx, replica.DataSource);
                replica.Served();
                return served;
            }
            catch (Exception e) when (ReadReplicas.IsReplicaFailure(e))
            {
                // A read sends nothing before its transaction ends: the primary can serve it instead.
                replicas.MarkDown(replica, e.Message);
            }
        }
        replicas.ServedByPrimary();
        return await RunOnAsync(rc, plan, tx, rc.DataSource);
    }

    private static async Task<PgrstResponse> RunOnAsync(RequestContext rc, DbActionPlan plan, TxSettings tx, Npgsql.NpgsqlDataSource ds)
    {
        var (config, req) = (rc.Config, rc.Request);
        if (plan.Media.Kind == Requests.MediaKind.Plan)
        {
            // Accept: application/vnd.pgrst.plan (db-plan-enabled): the EXPLAIN output; an EXPLAINed write runs (and,
            // with analyze, takes effect) like any other, without result checks.
            var planBody = await MainTx.RunPlanAsync(ds, tx, plan.Main, rc.Aborted);
            rc.Timing?.TransactionDone();
            return Responses.Plan(req, plan.Media, planBody);
        }
        var check = ActionPlanner.ResultCheck(plan, req.Preferences);
        // server-idempotency: a write that commits stores its response in the same transaction (docs/idempotency.md).
        // A read-only transaction or tx=rollback changes nothing to protect, so it runs as if no key was sent.
        var idem = rc.Idempotency is { } key && !plan.ReadOnly && !tx.Rollback && plan is MutateActionPlan or CallActionPlan ? key : null;
        // With read replicas, a write's commit position comes back for read-your-writes.
        var commitLsn = rc.Replicas is not null && !tx.ReadOnly && !tx.Rollback;
        PgrstResponse? stored = null;
        ResultSet rs;
        try
        {
            // Idempotent requests bypass group commit: their begin and finish statements need their own transaction.
            rs = idem is null && rc.GroupCommit is { } group && GroupCommit.Applies(config, plan, tx, check is not null)
                ? await group.RunAsync(config, ds, GroupCommit.Target(plan), tx, plan.Main, CacheNotify(config, rc.Cache, plan), rc.Aborted, commitLsn)
                : await MainTx.RunAsync(ds, tx, plan.Main, plan.Explain, check, rc.Aborted, CacheNotify(config, rc.Cache, plan),
                    idem, idem is null ? null : result => idem.Finish(stored = Build(config, req, plan, result)), commitLsn);
        }
        catch (IdempotentReplay replay)
        {
            rc.Timing?.TransactionDone();
            return replay.Response;
        }
        rc.Timing?.TransactionDone();
        if (stored is not null)
        {
            if (rs.CommitLsn is { } storedLsn) ReadYourWrites.AddTo(stored.Headers, req, storedLsn);
            rc.Timing?.ResponseDone();
            return stored;
        }
        PgrstResponse resp;
        try
        {
            resp = Build(config, req, plan, rs);
            if (rs.CommitLsn is { } lsn) ReadYourWrites.AddTo(resp.Headers, req, lsn);
        }
        catch
        {
            // The body buffer is the response's once it is built; until then (e.g. an invalid response.status,
            // PGRST111) it is ours to return.
            MainTx.Release(rs);
            throw;
        }
        rc.Timing?.ResponseDone();
        return resp;
    }

    private static PgrstResponse Build(AppConfig config, Requests.ApiRequest req, DbActionPlan plan, ResultSet rs) => plan switch
    {
        ReadActionPlan read => Responses.Read(config, req, read.Plan, rs),
        MutateActionPlan mutate => MutateResponses.Build(req, mutate.Plan, rs),
        CallActionPlan call => CallResponses.Call(config, req, call.Plan, rs),
        _ => throw new InvalidOperationException("unknown database plan " + plan.GetType().Name),
    };

    /// <summary>
    /// With server-response-cache on and db-channel listened to: a write's <c>pg_notify</c> naming the relations it
    /// changes, sent in its transaction so that every instance (this one too) drops their cached responses when, and
    /// only if, it commits (Http/ResponseCache.cs).
    /// </summary>
    private static Sql.Statement? CacheNotify(AppConfig config, Catalog.SchemaCache cache, DbActionPlan plan)
    {
        if (plan is not MutateActionPlan mutate || config.ServerResponseCache is null || !config.DbChannelEnabled) return null;
        var payload = Http.ResponseCache.NotifyPayload(Http.ResponseCache.WrittenBy(cache, mutate.Plan.Target));
        // NOTIFY payloads are limited to 8000 bytes: a view over very many relations names only itself.
        if (System.Text.Encoding.UTF8.GetByteCount(payload) > 7900) payload = Http.ResponseCache.NotifyPayload([mutate.Plan.Target]);
        return new Sql.Statement("SELECT pg_notify($1, $2)",
            [new Sql.SqlParam(config.DbChannel, NpgsqlTypes.NpgsqlDbType.Text), new Sql.SqlParam(payload, NpgsqlTypes.NpgsqlDbType.Text)]);
    }

    /// <summary>
    /// The OpenAPI description of the request's schema: PostgREST's Swagger 2.0 document by default; OpenAPI 3.1 or the
    /// HTML docs page when the client prefers them.
    /// </summary>
    private static async Task<PgrstResponse> InspectAsync(RequestContext rc, InspectPlan plan)
    {
        var (config, req, read) = (rc.Config, rc.Request, plan.Read);
        if (plan.Format == OpenApiFormat.DocsPage)
            return DocsPage.Respond(config, req, read.HeadersOnly);

        // The statements run even for HEAD, as in PostgREST: the pre-request function may reject the request.
        var tx = TxSettingsBuilder.Build(config, req, rc.Auth, readOnly: true, cache: rc.Cache);
        var db = await OpenApiTx.RunAsync(rc.DataSource, tx, read.Schema,
            accessible: config.OpenApiMode == OpenApiMode.FollowPrivileges, rc.Aborted);
        rc.Timing?.TransactionDone();

        var resp = new PgrstResponse { Status = 200 };
        if (read.HeadersOnly)
        {
            resp.SuppressContentLength = true;
        }
        else
        {
            var api = ApiDescriptionBuilder.Build(config, rc.Cache, read.Schema, db);
            resp.Body = plan.Format == OpenApiFormat.OpenApi31 ? OpenApiV31.Write(config, api) : SwaggerV2.Write(config, api);
        }
        resp.Headers.Add(new("Content-Type", plan.Format == OpenApiFormat.OpenApi31
            ? OpenApiNegotiation.OpenApi31MediaType + "; charset=utf-8"
            : "application/openapi+json; charset=utf-8"));
        if (req.NegotiatedByProfile) resp.Headers.Add(new("Content-Profile", req.Schema));
        rc.Timing?.ResponseDone();
        return resp;
    }
}
