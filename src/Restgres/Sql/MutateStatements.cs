using System.Collections.Immutable;
using NpgsqlTypes;
using Restgres.Catalog;
using Restgres.Plan;
using Restgres.Requests;

namespace Restgres.Sql;

/// <summary>
/// Mutation SQL (PostgREST's mutatePlanToQuery in QueryBuilder.hs, fromJsonBodyF in SqlFragment.hs and mainWrite in
/// Statements.hs). The whole body is one json (or jsonb, for missing=default) parameter expanded by
/// <c>json_to_recordset</c> with a column list typed from the schema cache: one statement whatever the row count,
/// and no SQL text is ever built from values.
/// </summary>
internal static class MutateStatements
{
    private const string BodyAlias = "pgrst_body";

    /// <summary>
    /// mainWrite: the write in the <c>pgrst_source</c> CTE, then one row with the counts, the response GUCs, the
    /// Location bindings (headers-only inserts), the rows inserted by an upsert (pgrst.inserted) and the body last.
    /// </summary>
    public static Statement MainWrite(MutateReadPlan plan, Preferences prefs)
    {
        var sb = new SqlBuilder();
        sb.Append("WITH ").Append(Statements.SourceCte).Append(" AS (");
        MutatePlanToQuery(sb, plan.Mutate);
        sb.Append(") SELECT ");

        var ins = plan.Mutate as InsertPlan;
        var location = ins is { PkColumns.IsEmpty: false } && prefs.Representation == PreferRepresentation.HeadersOnly;
        // 201 vs 200 is decided by counting inserted rows, for PUT and merge-duplicates only.
        var counted = ins is not null && (ins.IsPut || ins.OnConflict is { Resolution: PreferResolution.MergeDuplicates });
        if (plan.Media.Kind == MediaKind.Plan)
        {
            // EXPLAIN shows the output columns: keep PostgREST's list and order (PlanSpec looks at them).
            sb.Append("'' AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, ");
            if (location) LocationCase(sb, ins!.PkColumns);
            else sb.Append("array[]::text[]");
            sb.Append(" AS header, ").Append(Statements.Body(plan.Handler)).Append(" AS body, ")
              .Append(Statements.ResponseGucs).Append(", ")
              .Append(counted ? "nullif(current_setting('pgrst.inserted', true),'')::int" : "''").Append(" AS response_inserted ");
        }
        else
        {
            sb.Append("null::bigint AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, ")
              .Append(Statements.ResponseGucs).Append(", ");
            if (location)
            {
                LocationCase(sb, ins!.PkColumns);
                sb.Append(" AS location, ");
            }
            if (counted) sb.Append("nullif(current_setting('pgrst.inserted', true), '')::bigint AS response_inserted, ");
            sb.Append(Statements.Body(plan.Handler)).Append(" AS body ");
        }

        sb.Append("FROM (");
        // With no body to build, the select list must not touch ?select= columns (they may not be returned).
        if (plan.Handler == CallHandler.NoAgg) sb.Append("SELECT * FROM ").Append(Statements.SourceCte);
        else QueryBuilder.ReadPlanToQuery(sb, plan.Read);
        sb.Append(") _postgrest_t");
        var main = new Statement(sb.ToString(), sb.Params);
        return plan.Media.Kind == MediaKind.Plan ? Statements.Explain(plan.Media, main) : main;
    }

    /// <summary>The Location bindings, only when exactly one row was inserted (mainWrite's locF).</summary>
    private static void LocationCase(SqlBuilder sb, IEnumerable<string> pk)
    {
        sb.Append("CASE WHEN pg_catalog.count(_postgrest_t) = 1 THEN coalesce(");
        LocationF(sb, pk);
        sb.Append(", array[]::text[]) ELSE array[]::text[] END");
    }

    /// <summary>locationF: <c>pk=eq.value</c> (or <c>pk=is.null</c>) for the key columns of the first returned row.</summary>
    private static void LocationF(SqlBuilder sb, IEnumerable<string> pk)
    {
        sb.Append("(WITH data AS (SELECT row_to_json(_) AS row FROM ").Append(Statements.SourceCte).Append(" AS _ LIMIT 1) ")
          .Append("SELECT array_agg(json_data.key || '=' || coalesce('eq.' || json_data.value, 'is.null')) ")
          .Append("FROM data CROSS JOIN json_each_text(data.row) AS json_data WHERE json_data.key IN (")
          .Append(string.Join(", ", pk.Select(Literal))).Append("))");
    }

    public static void MutatePlanToQuery(SqlBuilder sb, MutatePlan plan)
    {
        switch (plan)
        {
            case InsertPlan ins:
                Insert(sb, ins);
                break;
            case UpdatePlan upd:
                Update(sb, upd);
                break;
            case DeletePlan del:
                sb.Append("DELETE FROM ").Append(QueryBuilder.FromQi(del.Target));
                Where(sb, del.Target, del.Where);
                sb.Append(' ');
                Returning(sb, del.Target, del.Returning);
                break;
        }
    }

    private static void Insert(SqlBuilder sb, InsertPlan ins)
    {
        sb.Append("INSERT INTO ").Append(QueryBuilder.FromQi(ins.Target));
        if (ins.Columns.IsEmpty) sb.Append(' ');
        else
        {
            sb.Append('(');
            for (var i = 0; i < ins.Columns.Length; i++)
            {
                if (i > 0) sb.Append(", ");
                sb.Ident(ins.Columns[i].Name);
            }
            sb.Append(") ");
        }
        FromJsonBody(sb, ins.Body, ins.Columns, includeSelect: true, ins.ApplyDefaults);

        var mergeDups = ins.OnConflict is { Resolution: PreferResolution.MergeDuplicates };
        if (ins.IsPut)
        {
            // PUT: only the body row matching the URL's key is inserted; PGRST115 if none is (MainTx's failPut).
            sb.Append("WHERE ");
            AddPgrstInserted(sb, true);
            new QueryBuilder.Conditions(sb, " AND ").LogicTrees(new QualifiedIdentifier("", BodyAlias), ins.Where);
        }
        else if (mergeDups)
        {
            sb.Append("WHERE ");
            AddPgrstInserted(sb, true);
        }

        if (ins.OnConflict is { } oc && !oc.Columns.IsEmpty)
        {
            sb.Append(" ON CONFLICT(");
            for (var i = 0; i < oc.Columns.Length; i++)
            {
                if (i > 0) sb.Append(", ");
                sb.Ident(oc.Columns[i]);
            }
            sb.Append(") ");
            if (oc.Resolution == PreferResolution.IgnoreDuplicates || ins.Columns.IsEmpty)
                sb.Append("DO NOTHING");
            else
            {
                sb.Append("DO UPDATE SET ");
                for (var i = 0; i < ins.Columns.Length; i++)
                {
                    if (i > 0) sb.Append(", ");
                    sb.Ident(ins.Columns[i].Name).Append(" = EXCLUDED.").Ident(ins.Columns[i].Name);
                }
                if (ins.IsPut || mergeDups)
                {
                    sb.Append(" WHERE ");
                    AddPgrstInserted(sb, false);
                }
            }
        }
        sb.Append(' ');
        Returning(sb, ins.Target, ins.Returning);
    }

    private static void Update(SqlBuilder sb, UpdatePlan upd)
    {
        if (upd.Columns.IsEmpty)
        {
            // No columns to SET: an empty result that still has the returned columns, so ?select= keeps working.
            sb.Append("SELECT ");
            if (upd.Returning.IsEmpty) sb.Append("NULL");
            var unqualified = new QualifiedIdentifier("", upd.Target.Name);
            for (var i = 0; i < upd.Returning.Length; i++)
            {
                if (i > 0) sb.Append(", ");
                Column(sb, unqualified, upd.Returning[i]);
            }
            sb.Append(" FROM ").Append(QueryBuilder.FromQi(upd.Target)).Append(" WHERE false");
            return;
        }
        sb.Append("UPDATE ").Append(QueryBuilder.FromQi(upd.Target)).Append(" SET ");
        var body = new QualifiedIdentifier("", BodyAlias);
        for (var i = 0; i < upd.Columns.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Ident(upd.Columns[i].Name).Append(" = ");
            Column(sb, body, upd.Columns[i].Name);
        }
        sb.Append(' ');
        FromJsonBody(sb, upd.Body, upd.Columns, includeSelect: false, upd.ApplyDefaults);
        Where(sb, upd.Target, upd.Where);
        sb.Append(' ');
        Returning(sb, upd.Target, upd.Returning);
    }

    private static void Where(SqlBuilder sb, QualifiedIdentifier qi, ImmutableArray<CoercibleLogicTree> where) =>
        new QueryBuilder.Conditions(sb, " WHERE ").LogicTrees(qi, where);

    /// <summary>returningF: <c>RETURNING 1</c> counts rows when nothing is returned.</summary>
    private static void Returning(SqlBuilder sb, QualifiedIdentifier qi, IReadOnlyList<string> returning)
    {
        if (returning.Count == 0)
        {
            sb.Append("RETURNING 1");
            return;
        }
        sb.Append("RETURNING ");
        for (var i = 0; i < returning.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            Column(sb, qi, returning[i]);
        }
    }

    private static void Column(SqlBuilder sb, QualifiedIdentifier qi, string column)
    {
        sb.Append(QueryBuilder.FromQi(qi)).Append('.');
        if (column == "*") sb.Append('*');
        else sb.Ident(column);
    }

    /// <summary>
    /// The pgrst.inserted counter: +1 for each candidate row of an upsert, −1 for each row taken by DO UPDATE, so
    /// the final value is the number of rows inserted (PostgREST's addConfigPgrstInserted).
    /// </summary>
    private static void AddPgrstInserted(SqlBuilder sb, bool add) =>
        sb.Append("set_config('pgrst.inserted', (coalesce(nullif(current_setting('pgrst.inserted', true), '')::int, 0) ")
          .Append(add ? "+" : "-").Append(" 1)::text, true) <> '").Append(add ? "0" : "-1").Append('\'');

    /// <summary>
    /// fromJsonBodyF: <c>FROM (SELECT $n AS json_data) pgrst_payload, LATERAL (SELECT cols FROM
    /// json_to_record[set](...) AS _(typed cols)) pgrst_body</c>; with missing=default the payload is jsonb and each
    /// object is first merged over the columns' defaults. An empty column list still yields one row per object.
    /// </summary>
    public static void FromJsonBody(SqlBuilder sb, Payload? body, IReadOnlyList<MutateField> fields, bool includeSelect, bool includeDefaults)
    {
        var isObject = body?.IsObject ?? false;
        if (includeSelect)
        {
            sb.Append("SELECT ");
            var bodyQi = new QualifiedIdentifier("", BodyAlias);
            for (var i = 0; i < fields.Count; i++)
            {
                if (i > 0) sb.Append(", ");
                Column(sb, bodyQi, fields[i].Name);
            }
            sb.Append(' ');
        }
        sb.Append("FROM (SELECT ").Param(new SqlParam(body?.Json, includeDefaults ? NpgsqlDbType.Jsonb : NpgsqlDbType.Json))
          .Append(" AS json_data) pgrst_payload, ");
        if (includeDefaults)
        {
            if (isObject)
                sb.Append("LATERAL (SELECT ").Append(DefaultsJsonb(fields)).Append(" || pgrst_payload.json_data AS val) pgrst_json_defs, ");
            else
                sb.Append("LATERAL (SELECT jsonb_agg(").Append(DefaultsJsonb(fields))
                  .Append(" || elem) AS val from jsonb_array_elements(pgrst_payload.json_data) elem) pgrst_json_defs, ");
        }
        var finalBody = includeDefaults ? "pgrst_json_defs.val" : "pgrst_payload.json_data";
        sb.Append("LATERAL (SELECT ");
        for (var i = 0; i < fields.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            var f = fields[i];
            if (f.Transform is { } fn)
                sb.Append(fn).Append('(').Ident(f.Name).Append(") AS ").Ident(f.Name);
            else sb.Ident(f.Name);
        }
        sb.Append(" FROM ");
        if (fields.Count == 0)
        {
            if (isObject) sb.Append("(values(1)) _ ");
            else sb.Append(includeDefaults ? "jsonb_array_elements" : "json_array_elements").Append('(').Append(finalBody).Append(") _ ");
        }
        else
        {
            var recordFn = (includeDefaults ? "jsonb" : "json") + (isObject ? "_to_record" : "_to_recordset");
            sb.Append(recordFn).Append('(').Append(finalBody).Append(") AS _(");
            for (var i = 0; i < fields.Count; i++)
            {
                if (i > 0) sb.Append(", ");
                // The type comes from the schema cache (format_type), never from the request.
                sb.Ident(fields[i].Name).Append(' ').Append(fields[i].IrType);
            }
            sb.Append(") ");
        }
        sb.Append(") ").Append(BodyAlias).Append(' ');
    }

    /// <summary>jsonb_build_object of the defaults (catalog expressions) of the written columns that have one.</summary>
    private static string DefaultsJsonb(IReadOnlyList<MutateField> fields) =>
        "jsonb_build_object(" + string.Join(",", fields.Where(f => f.Default is not null).Select(f => Literal(f.Name) + ", " + f.Default)) + ")";

    /// <summary>pgFmtLit: a string literal, in E'' form when it contains a backslash. Only used for catalog names.</summary>
    public static string Literal(string s)
    {
        var escaped = s.Replace("'", "''", StringComparison.Ordinal);
        return s.Contains('\\', StringComparison.Ordinal)
            ? "E'" + escaped.Replace("\\", "\\\\", StringComparison.Ordinal) + "'"
            : "'" + escaped + "'";
    }
}
