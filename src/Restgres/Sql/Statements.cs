using Restgres.Plan;
using Restgres.Requests;

namespace Restgres.Sql;

/// <summary>A statement ready to run: SQL text and its parameters.</summary>
internal sealed record Statement(string Sql, IReadOnlyList<SqlParam> Params);

/// <summary>
/// The main statements (PostgREST's Query/Statements.hs): the user's query in a CTE, aggregated by PostgreSQL into one
/// row holding the finished body, the counts and the response.headers / response.status GUCs. The body column is last
/// so it can be streamed with sequential access.
/// </summary>
internal static class Statements
{
    /// <summary>The CTE the main query runs in (PostgREST's sourceCTEName); the plans' reads select from it.</summary>
    public const string SourceCte = "pgrst_source";

    /// <summary>The CTE holding the rows a count query finds, when the page is not all of them.</summary>
    private const string SourceCountCte = SourceCte + "_count";

    /// <summary>The GUCs a request may set to shape its response, as the standard row's two columns.</summary>
    public const string ResponseGucs =
        "nullif(current_setting('response.headers', true), '') AS response_headers, " +
        "nullif(current_setting('response.status', true), '') AS response_status";

    /// <summary>
    /// The standard row's columns after the counts, for reads and calls. For EXPLAIN the columns keep PostgREST's order
    /// (body first, plus an empty response_inserted), so plan outputs read the same (PlanSpec).
    /// </summary>
    public static void ResponseColumns(SqlBuilder sb, MediaType media, string body)
    {
        if (media.Kind == MediaKind.Plan)
            sb.Append(body).Append(" AS body, ").Append(ResponseGucs).Append(", '' AS response_inserted");
        else
            sb.Append(ResponseGucs).Append(", ").Append(body).Append(" AS body");
    }

    /// <summary>
    /// The page's row count. <c>_postgrest_t</c> is a subquery alias here, so its whole-row value is never null and
    /// <c>count(*)</c> equals PostgREST's <c>count(_postgrest_t)</c> without building each row a second time (every
    /// aggregate evaluates its own whole-row argument; <c>json_agg</c> already builds one). EXPLAIN output keeps
    /// PostgREST's form so plans read the same.
    /// </summary>
    private static string RowCount(MediaType media) =>
        media.Kind == MediaKind.Plan ? "pg_catalog.count(_postgrest_t)" : "pg_catalog.count(*)";

    public static Statement MainRead(WrappedReadPlan wrp, Preferences prefs, long? maxRows, NonnegRange topRange, out Statement? explain)
    {
        var sb = new SqlBuilder();
        sb.Append("WITH ").Append(SourceCte).Append(" AS ( ");
        QueryBuilder.ReadPlanToQuery(sb, wrp.Plan);
        sb.Append(" )");

        string countResult;
        if (prefs.ShouldCount)
        {
            if (maxRows is not null || !topRange.IsAll)
            {
                // count=estimated counts exactly only up to max-rows + 1, then trusts the planner (PostgREST docs).
                countResult = CountCte(sb, wrp.Plan, prefs.Count == PreferCount.Estimated ? maxRows + 1 : null);
            }
            else countResult = RowCount(wrp.Media);
        }
        else countResult = "null::bigint";

        sb.Append(" SELECT ").Append(countResult).Append(" AS total_result_set, ")
          .Append(RowCount(wrp.Media)).Append(" AS page_total, ");
        ResponseColumns(sb, wrp.Media, Body(wrp.Handler));
        sb.Append(" FROM ( SELECT * FROM ").Append(SourceCte).Append(" ) _postgrest_t");

        explain = null;
        if (prefs.ShouldExplainCount)
        {
            var eb = new SqlBuilder();
            eb.Append("EXPLAIN (FORMAT JSON) ");
            QueryBuilder.ReadPlanToCountQuery(eb, wrp.Plan);
            explain = new Statement(eb.ToString(), eb.Params);
        }
        var main = new Statement(sb.ToString(), sb.Params);
        return wrp.Media.Kind == MediaKind.Plan ? Explain(wrp.Media, main) : main;
    }

    /// <summary>
    /// Appends the <c>pgrst_source_count</c> CTE (the count query, up to <paramref name="limit"/> rows) and returns the
    /// expression that counts its rows (PostgREST's countF when the page is not the whole result).
    /// </summary>
    public static string CountCte(SqlBuilder sb, ReadPlan plan, long? limit)
    {
        sb.Append(", ").Append(SourceCountCte).Append(" AS (");
        QueryBuilder.ReadPlanToCountQuery(sb, plan);
        if (limit is { } l) sb.Append(" LIMIT ").Append(l.ToString(System.Globalization.CultureInfo.InvariantCulture));
        sb.Append(')');
        return "(SELECT pg_catalog.count(*) FROM " + SourceCountCte + ")";
    }

    /// <summary>mtSnippet: with Accept: application/vnd.pgrst.plan the main statement is EXPLAINed with the requested options.</summary>
    public static Statement Explain(MediaType plan, Statement main)
    {
        var opts = new List<string> { plan.PlanJson ? "FORMAT JSON" : "FORMAT TEXT" };
        opts.AddRange((plan.PlanOptions ?? []).Select(o => o.ToUpperInvariant()));
        return main with { Sql = "EXPLAIN (" + string.Join(", ", opts) + ") " + main.Sql };
    }

    /// <summary>The body of a relation read: a builtin aggregate, or a custom aggregate over the rows (customFuncF).</summary>
    public static string Body(CallHandler h) => h.IsCustom
        ? QueryBuilder.FromQi(h.Function!.Value) + (h.Target is { } target ? "(_postgrest_t::" + QueryBuilder.FromQi(target) + ")" : "(_postgrest_t)")
        : BodyAggregate(h.Builtin);

    /// <summary>handlerF: how the rows become the response body (json or text; read as raw bytes).</summary>
    public static string BodyAggregate(MediaHandler handler) => handler switch
    {
        MediaHandler.Json => "coalesce(json_agg(_postgrest_t), '[]')",
        MediaHandler.JsonStripNulls => "coalesce(json_strip_nulls(json_agg(_postgrest_t)), '[]')",
        MediaHandler.SingleJson => "coalesce(json_agg(_postgrest_t)->0, 'null')",
        MediaHandler.SingleJsonStripNulls => "coalesce(json_strip_nulls(json_agg(_postgrest_t)->0), 'null')",
        MediaHandler.Csv => CsvBody,
        MediaHandler.GeoJson => "json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(ST_AsGeoJSON(_postgrest_t)::json), '[]'))",
        _ => "''::text",
    };

    /// <summary>asCsvF: a header row from the first row's keys, then each row's composite text without its parentheses.</summary>
    private const string CsvBody =
        "(SELECT coalesce(string_agg(a.k, ','), '')" +
        "  FROM (" +
        "    SELECT json_object_keys(r)::text as k" +
        "    FROM ( " +
        "      SELECT row_to_json(hh) as r from " + SourceCte + " as hh limit 1" +
        "    ) s" +
        "  ) a" +
        ") || '\n' || " +
        "coalesce(string_agg(substring(_postgrest_t::text, 2, length(_postgrest_t::text) - 2), '\n'), '')";
}
