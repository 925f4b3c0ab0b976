using System.Collections.Immutable;
using Restgres.Catalog;
using Restgres.Config;
using Restgres.Errors;
using Restgres.Requests;

namespace Restgres.Plan;

/// <summary>Which parameters the call passes (PostgREST's CallParams).</summary>
internal abstract record CallParams;

/// <summary>Named arguments <c>f(a := ..., b := ...)</c>: only the parameters the request gave, so defaults apply.</summary>
internal sealed record KeyParams(ImmutableArray<RoutineParam> Params) : CallParams;

/// <summary>The single unnamed parameter, passed positionally <c>f($1::type)</c>.</summary>
internal sealed record OnePosParam(RoutineParam Param) : CallParams;

/// <summary>
/// The function call that fills the <c>pgrst_source</c> CTE (PostgREST's CallPlan / FunctionCall).
/// <see cref="Returning"/> and <see cref="FilterFields"/> are the columns the outer read needs from it.
/// </summary>
internal sealed record CallPlan(
    QualifiedIdentifier Qi,
    CallParams Params,
    CallArgs Args,
    bool Scalar,
    bool SetOfScalar,
    ImmutableSortedSet<string> FilterFields,
    ImmutableSortedSet<string> Returning);

/// <summary>Everything one /rpc request needs (PostgREST's CallReadPlan).</summary>
internal sealed record CallReadPlan(
    ReadPlan ReadPlan,
    CallPlan CallPlan,
    bool ReadOnly,
    Routine Routine,
    CallHandler Handler,
    MediaType Media,
    InvokeMethod InvMethod,
    QualifiedIdentifier Qi);

/// <summary>
/// Plans a function call (PostgREST's callReadPlan in Plan.hs): choose the overload by argument names, plan the read
/// over its result (every read feature works on <c>pgrst_source</c>), negotiate the media type, decide the
/// transaction mode from the volatility. Pure.
/// </summary>
internal static class CallPlanner
{
    public static CallReadPlan Plan(AppConfig config, SchemaCache cache, ApiRequest req,
        QualifiedIdentifier target, InvokeMethod inv, CallPayload? payload, MediaHandlerMap handlers)
    {
        var isInv = inv == InvokeMethod.Inv;
        var paramKeys = isInv
            ? payload?.Keys ?? ImmutableSortedSet<string>.Empty.WithComparer(PayloadParser.KeyOrder)
            : req.QueryParams.RpcParams.Select(p => p.Key).ToImmutableSortedSet(PayloadParser.KeyOrder);
        var routine = FindProc(cache, target, paramKeys, req.ContentMediaType, isInv);

        // A function returning a table's rows reads as that table, so its columns' types and relationships apply.
        var relId = new QualifiedIdentifier(routine.Schema, routine.ReturnsComposite ? routine.ReturnType.Name : routine.Name);
        var rPlan = Planner.ReadPlanFor(config, cache, req, relId);
        if (rPlan.From != ReadPlan.Source)
            rPlan = rPlan with { From = ReadPlan.Source, FromAlias = relId.Name };

        CallArgs args = inv switch
        {
            InvokeMethod.Read or InvokeMethod.ReadHead => new DirectArgs(CallArgsParser.ToRpcParams(routine, req.QueryParams.RpcParams)),
            _ when payload is UrlEncodedCallPayload form => new DirectArgs(CallArgsParser.ToRpcParams(routine, form.Params)),
            _ when req.ContentMediaType.Kind == MediaKind.UrlEncoded => new DirectArgs(ImmutableDictionary<string, RpcParamValue>.Empty),
            _ => new BodyArgs(payload switch
            {
                JsonCallPayload j => j.Raw,
                RawJsonCallPayload r => r.Raw,
                RawCallPayload r => r.Raw,
                _ => null,
            }),
        };
        // GET/HEAD always run READ ONLY: a volatile function that writes fails with 25006 (405), as in PostgREST.
        var readOnly = !isInv || routine.Volatility != Volatility.Volatile;
        var cPlan = BuildCallPlan(routine, paramKeys, args, rPlan);
        var (handler, media) = Negotiator.Negotiate(config, req, relId, handlers, rPlan.IsDefaultSelect, withoutBody: inv == InvokeMethod.ReadHead);
        Planner.CheckPreferences(req);
        if (req.Preferences is { MaxAffected: not null, Handling: PreferHandling.Strict } && routine.ReturnsSingle)
            throw Pgrst.MaxAffectedRpcViolation();
        return new CallReadPlan(rPlan, cPlan, readOnly, routine, handler, media, inv, target);
    }

    /// <summary>PostgREST's OPTIONS on /rpc/fn plans the call like a HEAD (errors included) and answers from the volatility.</summary>
    public static string AllowHeader(Routine routine) =>
        routine.Volatility == Volatility.Volatile ? "OPTIONS,POST" : "OPTIONS,GET,HEAD,POST";

    public static CallPlan BuildCallPlan(Routine routine, ImmutableSortedSet<string> paramKeys, CallArgs args, ReadPlan rPlan)
    {
        CallParams callParams = routine.Params is [{ Name: "" } single]
            ? new OnePosParam(single)
            : new KeyParams([.. routine.Params.Where(p => paramKeys.Contains(p.Name))]);
        return new CallPlan(
            new QualifiedIdentifier(routine.Schema, routine.Name),
            callParams,
            args,
            routine.ReturnsScalar,
            routine.ReturnsSetOfScalar,
            FilterFieldNames(rPlan),
            Returnings(rPlan));
    }

    /// <summary>getFilterFieldNames: the columns filtered on anywhere in the read plan tree.</summary>
    private static ImmutableSortedSet<string> FilterFieldNames(ReadPlan plan)
    {
        var names = ImmutableSortedSet.CreateBuilder<string>(PayloadParser.KeyOrder);
        void Tree(CoercibleLogicTree t)
        {
            switch (t)
            {
                case CoercibleLogicStmt s: names.Add(s.Filter.Field.Name); break;
                case CoercibleLogicExpr e: foreach (var c in e.Children) Tree(c); break;
            }
        }
        void Node(ReadPlan p)
        {
            foreach (var w in p.Where) Tree(w);
            foreach (var c in p.Children) Node(c);
        }
        Node(plan);
        return names.ToImmutable();
    }

    /// <summary>
    /// inferColsEmbedNeeds: <c>*</c> when selected, else the selected columns. With embedded resources the join
    /// columns are needed too; we return every column then, which gives the same rows to the outer read.
    /// </summary>
    private static ImmutableSortedSet<string> Returnings(ReadPlan plan)
    {
        var names = plan.Select.Select(s => s.Field.Name).ToImmutableSortedSet(PayloadParser.KeyOrder);
        if (names.Contains("*") || !plan.Children.IsEmpty) return ["*"];
        return names;
    }

    // ---- findProc ----

    /// <summary>The overloads of a function, least parameters first (PostgREST's Ord Routine).</summary>
    public static IReadOnlyList<Routine> Overloads(SchemaCache cache, QualifiedIdentifier qi) =>
        cache.Routines.TryGetValue(qi, out var list) ? [.. list.Order(RoutineOrder.Instance)] : [];

    /// <summary>
    /// findProc: the overload whose parameters match the argument names (all required ones, any optional ones);
    /// failing that, a function with a single unnamed json/jsonb, text, xml or bytea parameter that takes the whole
    /// POST body of the matching Content-Type. None: PGRST202 with a hint; several: PGRST203.
    /// </summary>
    public static Routine FindProc(SchemaCache cache, QualifiedIdentifier qi, ImmutableSortedSet<string> argumentKeys,
        MediaType contentType, bool isInvPost) =>
        FindProc(Overloads(cache, qi), cache.Routines.Keys, qi, argumentKeys, contentType, isInvPost);

    /// <param name="procs">The overloads of <paramref name="qi"/> in <see cref="RoutineOrder"/>.</param>
    /// <param name="allProcs">Every function name, for the "Perhaps you meant" hint.</param>
    public static Routine FindProc(IReadOnlyList<Routine> procs, IEnumerable<QualifiedIdentifier> allProcs, QualifiedIdentifier qi,
        ImmutableSortedSet<string> argumentKeys, MediaType contentType, bool isInvPost)
    {
        var matched = new List<Routine>();
        var fallback = new List<Routine>();
        foreach (var p in procs)
        {
            if (MatchesParams(p, argumentKeys, contentType, isInvPost)) matched.Add(p);
            else if (HasSingleUnnamedParam(p, contentType, isInvPost)) fallback.Add(p);
        }
        return (matched.Count, fallback.Count) switch
        {
            (0, 0) => throw NoRpc(allProcs, qi, argumentKeys, contentType, isInvPost, procs),
            (0, 1) => fallback[0],
            (0, _) => throw AmbiguousRpc(fallback),
            (1, _) => matched[0],
            _ => throw AmbiguousRpc(matched),
        };
    }

    private static bool IsRawBody(MediaType ct) => ct.Kind is MediaKind.OctetStream or MediaKind.TextPlain or MediaKind.TextXml;

    public static bool MatchesParams(Routine proc, ImmutableSortedSet<string> keys, MediaType contentType, bool isInvPost)
    {
        var ps = proc.Params;
        if (ps.Count == 0) return keys.IsEmpty && !(isInvPost && IsRawBody(contentType));
        var required = ps.Where(p => p.Required).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var optional = ps.Where(p => !p.Required).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        if (optional.Count == 0) return required.SetEquals(keys);
        if (required.Count == 0) return keys.IsSubsetOf(optional);
        return required.SetEquals(keys.Except(optional));
    }

    public static bool HasSingleUnnamedParam(Routine proc, MediaType contentType, bool isInvPost) =>
        isInvPost && proc.Params is [{ Name: "" } p] && (contentType.Kind, p.Type) switch
        {
            (MediaKind.ApplicationJson, "json" or "jsonb") => true,
            (MediaKind.TextPlain, "text") => true,
            (MediaKind.TextXml, "xml") => true,
            (MediaKind.OctetStream, "bytea") => true,
            _ => false,
        };

    /// <summary>PGRST203: the candidates as <c>schema.name(param =&gt; type, ...)</c>.</summary>
    public static ApiError AmbiguousRpc(IEnumerable<Routine> procs) =>
        new(300, "PGRST203",
            "Could not choose the best candidate function between: " + string.Join(", ", procs.Select(p =>
                p.Schema + "." + p.Name + "(" + string.Join(", ", p.Params.Select(a => a.Name + " => " + a.Type)) + ")")),
            null,
            ApiError.Str("Try renaming the parameters or the function itself in the database so function overloading can be resolved"));

    /// <summary>PGRST202 with PostgREST's message, details and "Perhaps you meant ..." hint texts (Error.hs NoRpc).</summary>
    public static ApiError NoRpc(IEnumerable<QualifiedIdentifier> allProcs, QualifiedIdentifier qi, ImmutableSortedSet<string> keys,
        MediaType contentType, bool isInvPost, IReadOnlyList<Routine> overloads)
    {
        var onlySingleParams = isInvPost && IsRawBody(contentType);
        var func = qi.Schema + "." + qi.Name;
        var prms = string.Join(", ", keys);
        string FmtPrms(string p) => keys.IsEmpty ? " without parameters" : p;
        var message = "Could not find the function " + func + (onlySingleParams ? "" : FmtPrms("(" + prms + ")")) + " in the schema cache";
        var prmsDet = " with parameter" + (keys.Count > 1 ? "s " : " ") + prms;
        var searched = (isInvPost, contentType.Kind) switch
        {
            (true, MediaKind.TextPlain) => " with a single unnamed text parameter",
            (true, MediaKind.TextXml) => " with a single unnamed xml parameter",
            (true, MediaKind.OctetStream) => " with a single unnamed bytea parameter",
            (true, MediaKind.ApplicationJson) => FmtPrms(prmsDet) + " or with a single unnamed json/jsonb parameter",
            _ => FmtPrms(prmsDet),
        };
        var details = "Searched for the function " + func + searched + ", but no matches were found in the schema cache.";
        var hint = onlySingleParams ? null : NoRpcHint(qi.Schema, qi.Name, keys, allProcs, overloads);
        return new ApiError(404, "PGRST202", message, ApiError.Str(details), ApiError.Str(hint));
    }

    /// <summary>
    /// noRpcHint: with no function of that name, the closest function name in the schema (similarity ≥ 0.75);
    /// otherwise the closest parameter list among the overloads, written <c>(a, b, c)</c> sorted (default 0.33).
    /// </summary>
    public static string? NoRpcHint(string schema, string procName, IEnumerable<string> keys,
        IEnumerable<QualifiedIdentifier> allProcs, IReadOnlyList<Routine> overloads)
    {
        static string ListToText(IEnumerable<string> names) =>
            "(" + string.Join(", ", names.Order(StringComparer.Ordinal)) + ")";
        string? possible;
        if (overloads.Count == 0)
        {
            if (!Fuzzy.Hintable(procName)) return null;
            var set = new FuzzySet(allProcs.Where(k => k.Schema == schema).Select(k => k.Name));
            possible = set.GetOne(procName, FuzzySet.NameMinScore);
        }
        else
        {
            var set = new FuzzySet(overloads.Select(o => ListToText(o.Params.Select(p => p.Name))));
            var best = set.GetOne(ListToText(keys), FuzzySet.DefaultMinScore);
            possible = best is null ? null : procName + best;
        }
        return possible is null ? null : "Perhaps you meant to call the function " + schema + "." + possible;
    }
}

/// <summary>
/// PostgREST's <c>Ord Routine</c>: overloads with fewer parameters first, then by description, parameters (name,
/// type, ...), return type, volatility and the rest. PGRST203 lists candidates in this order.
/// </summary>
internal sealed class RoutineOrder : IComparer<Routine>
{
    public static readonly RoutineOrder Instance = new();

    public int Compare(Routine? x, Routine? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        if (x.Schema == y.Schema && x.Name == y.Name && x.Params.Count != y.Params.Count)
            return x.Params.Count.CompareTo(y.Params.Count);
        int c;
        if ((c = string.CompareOrdinal(x.Schema, y.Schema)) != 0) return c;
        if ((c = string.CompareOrdinal(x.Name, y.Name)) != 0) return c;
        if ((c = CompareMaybe(x.Description, y.Description)) != 0) return c;
        for (var i = 0; i < Math.Min(x.Params.Count, y.Params.Count); i++)
            if ((c = CompareParam(x.Params[i], y.Params[i])) != 0) return c;
        if ((c = x.Params.Count.CompareTo(y.Params.Count)) != 0) return c;
        // RetType: Single < SetOf; PgType: Scalar < Composite, then the type name and the alias flag.
        if ((c = x.ReturnsSet.CompareTo(y.ReturnsSet)) != 0) return c;
        if ((c = x.ReturnsComposite.CompareTo(y.ReturnsComposite)) != 0) return c;
        if ((c = string.CompareOrdinal(x.ReturnType.Schema, y.ReturnType.Schema)) != 0) return c;
        if ((c = string.CompareOrdinal(x.ReturnType.Name, y.ReturnType.Name)) != 0) return c;
        if ((c = x.ReturnsCompositeAlias.CompareTo(y.ReturnsCompositeAlias)) != 0) return c;
        // FuncVolatility's constructors are declared Volatile, Stable, Immutable.
        if ((c = VolRank(x.Volatility).CompareTo(VolRank(y.Volatility))) != 0) return c;
        if ((c = x.HasVariadic.CompareTo(y.HasVariadic)) != 0) return c;
        return CompareMaybe(x.IsolationLevel, y.IsolationLevel);
    }

    private static int VolRank(Volatility v) => v switch { Volatility.Volatile => 0, Volatility.Stable => 1, _ => 2 };

    private static int CompareMaybe(string? a, string? b) =>
        a is null ? (b is null ? 0 : -1) : b is null ? 1 : string.CompareOrdinal(a, b);

    private static int CompareParam(RoutineParam a, RoutineParam b)
    {
        int c;
        if ((c = string.CompareOrdinal(a.Name, b.Name)) != 0) return c;
        if ((c = string.CompareOrdinal(a.Type, b.Type)) != 0) return c;
        if ((c = string.CompareOrdinal(a.TypeMaxLength, b.TypeMaxLength)) != 0) return c;
        if ((c = a.Required.CompareTo(b.Required)) != 0) return c;
        return a.Variadic.CompareTo(b.Variadic);
    }
}
