using System.Text;
using NpgsqlTypes;
using Restgres.Catalog;
using Restgres.Plan;
using Restgres.Requests;

namespace Restgres.Sql;

/// <summary>
/// The main statement of a function call (PostgREST's mainCall and callPlanToQuery): the call fills the
/// <c>pgrst_source</c> CTE, the read plan selects from it, and PostgreSQL aggregates the body. Arguments are always
/// parameters; parameter types and names come from the schema cache.
/// </summary>
internal static class CallStatements
{
    public static Statement MainCall(CallReadPlan plan, Preferences prefs, long? maxRows, NonnegRange topRange)
    {
        var sb = new SqlBuilder();
        sb.Append("WITH ").Append(Statements.SourceCte).Append(" AS (");
        CallPlanToQuery(sb, plan.CallPlan);
        sb.Append(") ");

        var pageCount = plan.Routine.ReturnsSingle ? "1::bigint" : "pg_catalog.count(_postgrest_t)";
        string countResult;
        if (prefs.ShouldCount)
        {
            if (maxRows is not null || !topRange.IsAll)
            {
                countResult = Statements.CountCte(sb, plan.ReadPlan, limit: null);
                sb.Append(' ');
            }
            // Without db-max-rows and limits the total is the page count; no second scan.
            else countResult = pageCount;
        }
        else countResult = "null::bigint";

        sb.Append("SELECT ").Append(countResult).Append(" AS total_result_set, ")
          .Append(pageCount).Append(" AS page_total, ");
        Statements.ResponseColumns(sb, plan.Media, Body(plan));
        sb.Append(" FROM (");
        QueryBuilder.ReadPlanToQuery(sb, plan.ReadPlan);
        sb.Append(") _postgrest_t");
        var main = new Statement(sb.ToString(), sb.Params);
        return plan.Media.Kind == MediaKind.Plan ? Statements.Explain(plan.Media, main) : main;
    }

    /// <summary>
    /// handlerF for a routine: scalar results aggregate their <c>pgrst_scalar</c> column, a single composite is an
    /// object rather than an array. The body is read as raw bytes, so json, text and bytea need no cast.
    /// </summary>
    public static string Body(CallReadPlan plan)
    {
        var r = plan.Routine;
        var h = plan.Handler;
        if (h.IsCustom)
        {
            var fn = QueryBuilder.FromQi(h.Function!.Value);
            if (r.ReturnsScalar) return fn + "(_postgrest_t.pgrst_scalar)";
            return h.Target is { } target ? fn + "(_postgrest_t::" + QueryBuilder.FromQi(target) + ")" : fn + "(_postgrest_t)";
        }
        return h.Builtin switch
        {
            MediaHandler.Json => AsJson(r, false),
            MediaHandler.JsonStripNulls => AsJson(r, true),
            MediaHandler.SingleJson => AsJsonSingle(r, false),
            MediaHandler.SingleJsonStripNulls => AsJsonSingle(r, true),
            _ => Statements.BodyAggregate(h.Builtin),
        };
    }

    private static string Strip(bool strip, string snippet) => strip ? "json_strip_nulls(" + snippet + ")" : snippet;

    private static string AsJson(Routine r, bool strip)
    {
        if (r.ReturnsSingleComposite) return "coalesce(" + Strip(strip, "json_agg(_postgrest_t)->0") + ", 'null')";
        if (r.ReturnsScalar) return "coalesce(" + Strip(strip, "json_agg(_postgrest_t.pgrst_scalar)->0") + ", 'null')";
        if (r.ReturnsSetOfScalar) return "coalesce(" + Strip(strip, "json_agg(_postgrest_t.pgrst_scalar)") + ", '[]')";
        return "coalesce(" + Strip(strip, "json_agg(_postgrest_t)") + ", '[]')";
    }

    private static string AsJsonSingle(Routine r, bool strip) => r.ReturnsScalar
        ? "coalesce(" + Strip(strip, "json_agg(_postgrest_t.pgrst_scalar)->0") + ", 'null')"
        : "coalesce(" + Strip(strip, "json_agg(_postgrest_t)->0") + ", 'null')";

    /// <summary>
    /// callPlanToQuery: <c>SELECT ... FROM f(args) pgrst_call</c>. Scalar results are wrapped so they get a column
    /// name (<c>pgrst_scalar</c>). Named arguments from a JSON body go through <c>json_to_record</c> typed with the
    /// parameters' types, taking the first object of an array.
    /// </summary>
    public static void CallPlanToQuery(SqlBuilder sb, CallPlan plan)
    {
        sb.Append("SELECT ");
        if (plan.Scalar || plan.SetOfScalar) sb.Append("pgrst_call.pgrst_scalar");
        else ReturnedColumns(sb, plan);
        sb.Append(' ');
        switch (plan.Params)
        {
            case OnePosParam one:
                sb.Append("FROM ");
                CallIt(sb, plan, () => SingleParameter(sb, SingleBody(plan.Args), one.Param.Type));
                break;
            case KeyParams { Params.IsEmpty: true }:
                sb.Append("FROM ");
                CallIt(sb, plan, () => { });
                break;
            case KeyParams keys when plan.Args is DirectArgs direct:
                sb.Append("FROM ");
                CallIt(sb, plan, () => FmtArgs(sb, keys, direct));
                break;
            case KeyParams keys:
                FromJsonBody(sb, ((BodyArgs)plan.Args).Raw, keys);
                sb.Append(", LATERAL ");
                CallIt(sb, plan, () =>
                {
                    for (var i = 0; i < keys.Params.Length; i++)
                    {
                        var p = keys.Params[i];
                        if (i > 0) sb.Append(", ");
                        if (p.Variadic) sb.Append("VARIADIC ");
                        sb.Ident(p.Name).Append(" := pgrst_body.").Ident(p.Name);
                    }
                });
                break;
        }
    }

    private static void CallIt(SqlBuilder sb, CallPlan plan, Action args)
    {
        var fn = QueryBuilder.FromQi(plan.Qi);
        if (plan.Scalar || plan.SetOfScalar)
        {
            sb.Append("(SELECT ").Append(fn).Append('(');
            args();
            sb.Append(") pgrst_scalar) pgrst_call");
        }
        else
        {
            sb.Append(fn).Append('(');
            args();
            sb.Append(") pgrst_call");
        }
    }

    /// <summary>The columns the outer read uses: all, or the selected and filtered ones.</summary>
    private static void ReturnedColumns(SqlBuilder sb, CallPlan plan)
    {
        if (plan.Returning.IsEmpty)
        {
            sb.Append('*');
            return;
        }
        if (plan.Returning is { Count: 1 } r && r.Min == "*")
        {
            sb.Append("\"pgrst_call\".*");
            return;
        }
        var first = true;
        foreach (var c in plan.Returning.Union(plan.FilterFields))
        {
            if (!first) sb.Append(", ");
            first = false;
            if (c == "*") sb.Append("\"pgrst_call\".*");
            else sb.Append("\"pgrst_call\".").Ident(c);
        }
    }

    /// <summary>The single unnamed argument: the raw body (or the query arguments as a JSON object).</summary>
    private static byte[]? SingleBody(CallArgs args) => args switch
    {
        BodyArgs b => b.Raw?.ToArray(),
        DirectArgs d => Encoding.UTF8.GetBytes(CallArgsParser.ToJsonObject(d.Args)),
        _ => null,
    };

    /// <summary>singleParameter: bytea is bound as binary; other types are sent as text and cast.</summary>
    private static void SingleParameter(SqlBuilder sb, byte[]? body, string type)
    {
        if (type == "bytea")
        {
            sb.Param(new SqlParam(body, NpgsqlDbType.Bytea));
            return;
        }
        sb.Param(body is null ? null : Encoding.UTF8.GetString(body)).Append("::").Append(type);
    }

    /// <summary>fmtArgs: <c>"name" := $n::type</c> per given argument; VARIADIC ones bound as a text array.</summary>
    private static void FmtArgs(SqlBuilder sb, KeyParams keys, DirectArgs direct)
    {
        for (var i = 0; i < keys.Params.Length; i++)
        {
            var p = keys.Params[i];
            if (i > 0) sb.Append(", ");
            if (p.Variadic) sb.Append("VARIADIC ");
            sb.Ident(p.Name).Append(" := ");
            switch (direct.Args.GetValueOrDefault(p.Name))
            {
                case VariadicArg v:
                    sb.Param(new SqlParam(v.Values.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text));
                    break;
                case FixedArg f:
                    sb.Param(f.Value);
                    break;
                default:
                    sb.Append("NULL");
                    break;
            }
            sb.Append("::").Append(p.TypeMaxLength);
        }
    }

    /// <summary>
    /// fromJsonBodyF for a call: the body as one json parameter, expanded with json_to_record (an object) or
    /// json_to_recordset (an array, first row only) into the parameters' types.
    /// </summary>
    private static void FromJsonBody(SqlBuilder sb, ReadOnlyMemory<byte>? raw, KeyParams keys)
    {
        var isObject = IsJsonObject(raw);
        sb.Append("FROM (SELECT ")
          .Param(new SqlParam(raw is { } r ? Encoding.UTF8.GetString(r.Span) : null, NpgsqlDbType.Json))
          .Append(" AS json_data) pgrst_payload, LATERAL (SELECT ");
        for (var i = 0; i < keys.Params.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Ident(keys.Params[i].Name);
        }
        sb.Append(" FROM ").Append(isObject ? "json_to_record" : "json_to_recordset").Append("(pgrst_payload.json_data) AS _(");
        for (var i = 0; i < keys.Params.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Ident(keys.Params[i].Name).Append(' ').Append(keys.Params[i].TypeMaxLength);
        }
        sb.Append(") LIMIT 1) pgrst_body ");
    }

    /// <summary>Whether the body starts (after JSON whitespace) with <c>{</c>; PostgreSQL validates the rest.</summary>
    public static bool IsJsonObject(ReadOnlyMemory<byte>? raw)
    {
        if (raw is not { } r) return false;
        foreach (var b in r.Span)
        {
            if (b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r') continue;
            return b == (byte)'{';
        }
        return false;
    }

    /// <summary>
    /// What of a call's payload the plan and <see cref="MainCall"/>'s SQL text depend on, for the plan cache: nothing
    /// for GET/HEAD (the arguments are in the URL); for a JSON body (or CSV turned into one) the argument names, which
    /// choose the overload and the columns of <c>json_to_record</c>, and whether it is an object or an array
    /// (<c>json_to_record</c> or <c>json_to_recordset</c>). Null for other bodies: those calls are planned every time.
    /// </summary>
    public static string? PayloadShape(CallPayload? payload)
    {
        if (payload is null) return "";
        if (payload is not JsonCallPayload json) return null;
        var sb = new StringBuilder(IsJsonObject(json.Raw) ? "{" : "[");
        // Length-prefixed, so that no two key sets give the same text whatever characters the names contain.
        foreach (var k in json.Keys) sb.Append(k.Length).Append(':').Append(k);
        return sb.ToString();
    }

    /// <summary>
    /// Whether <see cref="WithPayload"/> can re-bind a statement planned for <paramref name="plan"/> to another payload
    /// of the same shape: calls with arguments from the URL (nothing to re-bind), and named arguments from a JSON body,
    /// which is the statement's first parameter (<c>pgrst_payload</c>) or, without arguments, not a parameter at all.
    /// </summary>
    public static bool CanRebind(CallPlan plan) => plan.Args is DirectArgs || (plan.Args is BodyArgs && plan.Params is KeyParams);

    /// <summary>
    /// <paramref name="planned"/> (<see cref="MainCall"/> for a plan with <see cref="CanRebind"/>) with the body
    /// parameter replaced by <paramref name="payload"/>'s: the same text and parameters MainCall gives for that payload.
    /// </summary>
    public static Statement WithPayload(Statement planned, CallPlan plan, CallPayload? payload)
    {
        if (plan.Args is DirectArgs || plan.Params is KeyParams { Params.IsEmpty: true }) return planned;
        if (plan.Params is not KeyParams || payload is not JsonCallPayload json)
            throw new InvalidOperationException("this call's statement cannot be re-bound to another payload");
        var ps = new SqlParam[planned.Params.Count];
        // FromJsonBody binds the body first: nothing before the pgrst_payload subquery takes a parameter.
        ps[0] = new SqlParam(Encoding.UTF8.GetString(json.Raw.Span), NpgsqlDbType.Json);
        for (var i = 1; i < ps.Length; i++) ps[i] = planned.Params[i];
        return planned with { Params = ps };
    }
}
