using Restgres.Config;
using Restgres.Errors;
using Restgres.OpenApi;
using Restgres.Plan;
using Restgres.Requests;
using Restgres.Sql;

namespace Restgres.App;

/// <summary>
/// What a request will do, decided before any I/O (PostgREST's ActionPlan, Plan.hs): answer from the schema cache
/// alone (<see cref="InfoPlan"/>), describe the schema (<see cref="InspectPlan"/>), or run one transaction
/// (<see cref="DbActionPlan"/>). The plan cache keeps these, so a repeated request skips straight to execution.
/// </summary>
internal abstract record ActionPlan;

/// <summary>OPTIONS on a relation, a function or the root: the Allow header, no database work (PostgREST's NoDb InfoPlan).</summary>
internal sealed record InfoPlan(string Allow) : ActionPlan;

/// <summary>GET/HEAD on the root: the OpenAPI document or the docs page (PostgREST's MayUseDb InspectPlan).</summary>
internal sealed record InspectPlan(SchemaRead Read, OpenApiFormat Format) : ActionPlan;

/// <summary>
/// A plan whose main statement runs in one transaction (PostgREST's DbCrud): everything the execution step needs
/// besides the request, already turned into SQL.
/// </summary>
internal abstract record DbActionPlan(Statement Main) : ActionPlan
{
    /// <summary>The negotiated media type; <see cref="MediaKind.Plan"/> runs the EXPLAIN instead of the statement.</summary>
    public abstract MediaType Media { get; }

    public abstract bool ReadOnly { get; }

    /// <summary>The planner's row estimate, run after the main statement for <c>Prefer: count=planned|estimated</c>.</summary>
    public virtual Statement? Explain => null;

    /// <summary>Function <c>SET</c> options listed in db-hoisted-tx-settings, applied to the whole transaction.</summary>
    public virtual IReadOnlyList<KeyValuePair<string, string>>? Hoisted => null;

    /// <summary>A function's default_transaction_isolation, which wins over the role's.</summary>
    public virtual string? IsolationLevel => null;

    /// <summary>The read plan under the action (what a write returns, what a function's result is read as).</summary>
    public abstract ReadPlan Read { get; }
}

/// <summary>GET/HEAD on a table or view.</summary>
internal sealed record ReadActionPlan(WrappedReadPlan Plan, Statement Main, Statement? ExplainStatement) : DbActionPlan(Main)
{
    public override MediaType Media => Plan.Media;
    public override ReadPlan Read => Plan.Plan;
    public override bool ReadOnly => true;
    public override Statement? Explain => ExplainStatement;
}

/// <summary>POST/PUT/PATCH/DELETE on a table or view.</summary>
internal sealed record MutateActionPlan(MutateReadPlan Plan, Statement Main) : DbActionPlan(Main)
{
    public override MediaType Media => Plan.Media;
    public override ReadPlan Read => Plan.Read;
    public override bool ReadOnly => false;
}

/// <summary>A function call; <see cref="DbActionPlan.Main"/> is bound to the body it was planned with.</summary>
internal sealed record CallActionPlan(CallReadPlan Plan, Statement Main, IReadOnlyList<KeyValuePair<string, string>> HoistedSettings) : DbActionPlan(Main)
{
    public override MediaType Media => Plan.Media;
    public override ReadPlan Read => Plan.ReadPlan;
    public override bool ReadOnly => Plan.ReadOnly;
    public override IReadOnlyList<KeyValuePair<string, string>>? Hoisted => HoistedSettings;
    public override string? IsolationLevel => Plan.Routine.IsolationLevel;
}

/// <summary>Resolves a parsed request into its action plan: planning and SQL generation together. Pure.</summary>
internal static class ActionPlanner
{
    public static ActionPlan Plan(AppConfig config, Catalog.SchemaCache cache, ApiRequest req) => req.Action switch
    {
        RelationRead read => PlanRead(config, cache, req, read),
        RelationMut mut => PlanMutate(config, cache, req, mut),
        RoutineCall call => PlanCall(config, cache, req, call),
        SchemaRead read => new InspectPlan(read, OpenApiNegotiation.Choose(req.AcceptMediaTypes)
            ?? throw Pgrst.MediaType(req.AcceptMediaTypes.Select(m => m.ToMime()))),
        RelationInfo info => new InfoPlan(RelationAllow(Planner.FindTable(cache, info.Target))),
        // OPTIONS plans the call as PostgREST does (a HEAD without arguments), so an unknown function is a 404.
        RoutineInfo info => new InfoPlan(CallPlanner.AllowHeader(
            CallPlanner.Plan(config, cache, req, info.Target, InvokeMethod.ReadHead, null, cache.MediaHandlers).Routine)),
        SchemaInfo => new InfoPlan("OPTIONS,GET,HEAD"),
        _ => throw Pgrst.NotImplemented($"{req.Method} {req.Path} is not implemented yet in this Restgres build"),
    };

    private static ReadActionPlan PlanRead(AppConfig config, Catalog.SchemaCache cache, ApiRequest req, RelationRead read)
    {
        var plan = Planner.WrappedRead(config, cache, req, read.Target, read.HeadersOnly);
        var main = Statements.MainRead(plan, req.Preferences, config.DbMaxRows, req.TopLevelRange, out var explain);
        return new ReadActionPlan(plan, main, explain);
    }

    private static MutateActionPlan PlanMutate(AppConfig config, Catalog.SchemaCache cache, ApiRequest req, RelationMut mut)
    {
        var plan = MutatePlanner.Plan(config, cache, req, mut, req.MutationPayload
            ?? throw new InvalidOperationException("a mutation's payload is parsed with its request"));
        return new MutateActionPlan(plan, MutateStatements.MainWrite(plan, req.Preferences));
    }

    private static CallActionPlan PlanCall(AppConfig config, Catalog.SchemaCache cache, ApiRequest req, RoutineCall call)
    {
        var plan = CallPlanner.Plan(config, cache, req, call.Target, call.Method, req.CallPayload, cache.MediaHandlers);
        var main = CallStatements.MainCall(plan, req.Preferences, config.DbMaxRows, req.TopLevelRange);
        return new CallActionPlan(plan, main, [.. plan.Routine.Settings.Where(s => config.DbHoistedTxSettings.Contains(s.Key))]);
    }

    /// <summary>OPTIONS on a relation: the methods its privileges and keys allow (PostgREST's RelInfoPlan).</summary>
    private static string RelationAllow(Catalog.Table table)
    {
        var hasPk = table.PrimaryKey.Count > 0;
        var allow = new System.Text.StringBuilder("OPTIONS,GET,HEAD");
        if (table.Insertable) allow.Append(",POST");
        if (table.Insertable && table.Updatable && hasPk) allow.Append(",PUT");
        if (table.Updatable) allow.Append(",PATCH");
        if (table.Deletable) allow.Append(",DELETE");
        return allow.ToString();
    }

    /// <summary>
    /// The checks on the main result before the transaction ends (PostgREST's MainTx: failNotSingular, failPut,
    /// failExceedsMaxAffectedPref), so a failure rolls back: PUT must touch exactly one row (PGRST115), a singular
    /// media type needs one row (PGRST116), and with <c>handling=strict</c> PATCH, DELETE and calls honour
    /// <c>max-affected</c> (PGRST124). Null when nothing needs checking, so the transaction may end in the same
    /// round trip.
    /// </summary>
    public static Func<Execution.ResultSet, ApiError?>? ResultCheck(DbActionPlan plan, Preferences prefs)
    {
        if (plan is MutateActionPlan { Plan.Mutation: Mutation.SingleUpsert })
            return rs => rs.QueryTotal != 1 ? Pgrst.PutMatchingPk() : null;
        var singular = plan.Media.Kind == MediaKind.SingularJson;
        var maxAffected = prefs.Handling == PreferHandling.Strict
            && plan is CallActionPlan or MutateActionPlan { Plan.Mutation: Mutation.Update or Mutation.Delete }
            ? prefs.MaxAffected : null;
        if (!singular && maxAffected is null) return null;
        return rs =>
        {
            if (singular && rs.QueryTotal != 1) return Pgrst.Singularity(rs.QueryTotal);
            if (maxAffected is { } n && rs.QueryTotal > n) return Pgrst.MaxAffectedViolation(rs.QueryTotal);
            return null;
        };
    }
}
