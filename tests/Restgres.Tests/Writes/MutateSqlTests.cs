using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Text;
using NpgsqlTypes;
using Restgres.Catalog;
using Restgres.Config;
using Restgres.Errors;
using Restgres.Plan;
using Restgres.Requests;
using Restgres.Sql;
using Xunit;

namespace Restgres.Tests.Writes;

/// <summary>Mutation plans and their SQL text (PostgREST's mutatePlan, mutatePlanToQuery and mainWrite).</summary>
public sealed class MutateSqlTests
{
    private static Column Col(string name, string type, string? def = null) =>
        new(name, null, true, type, type, null, def, [], type, false);

    private static Table Tbl(string name, string[] pk, params Column[] cols) => new()
    {
        Schema = "test",
        Name = name,
        Insertable = true,
        Updatable = true,
        Deletable = true,
        PrimaryKey = pk,
        Columns = cols,
        ColumnsByName = cols.ToFrozenDictionary(c => c.Name),
    };

    private static readonly SchemaCache Cache = new()
    {
        Tables = new[]
        {
            Tbl("items", ["id"], Col("id", "bigint", "nextval('test.items_id_seq'::regclass)"), Col("name", "text", "'Default'::text")),
            Tbl("no_pk", [], Col("a", "character varying"), Col("b", "character varying")),
            Tbl("todos", ["id"], Col("id", "integer"), Col("color", "test.color")),
        }.ToFrozenDictionary(t => t.Identifier),
        Relationships = FrozenDictionary<QualifiedIdentifier, IReadOnlyList<Relationship>>.Empty,
        Routines = FrozenDictionary<QualifiedIdentifier, IReadOnlyList<Routine>>.Empty,
        Representations = new[]
        {
            new DataRepresentation("json", "test.color", "test.json_to_color"),
            new DataRepresentation("text", "test.color", "test.text_to_color"),
        }.ToFrozenDictionary(r => (r.SourceType, r.TargetType)),
    };

    private static readonly AppConfig Config = new() { DbSchemas = ["test"] };

    private static (MutateReadPlan Plan, Statement Sql) Build(string method, string pathAndQuery, string? body, params (string, string)[] headers)
    {
        var q = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
        var path = q < 0 ? pathAndQuery : pathAndQuery[..q];
        var query = q < 0 ? "" : pathAndQuery[(q + 1)..];
        var bytes = body is null ? ReadOnlyMemory<byte>.Empty : Encoding.UTF8.GetBytes(body);
        var raw = new RawRequest(method, path, [.. path.Split('/', StringSplitOptions.RemoveEmptyEntries)], query,
            [.. headers.Select(h => new KeyValuePair<string, string>(h.Item1, h.Item2))], bytes);
        var prefs = Preferences.Parse(raw.HeaderValues("Prefer"), allowTxOverride: true);
        var req = Restgres.Requests.ApiRequest.FromRaw(Config, raw, prefs);
        var mut = Assert.IsType<RelationMut>(req.Action);
        var payload = PayloadParser.Parse(mut.Mutation, req.ContentMediaType, req.Body, req.QueryParams.Columns);
        var plan = MutatePlanner.Plan(Config, Cache, req, mut, payload);
        return (plan, MutateStatements.MainWrite(plan, req.Preferences));
    }

    private const string Tail = "nullif(current_setting('response.headers', true), '') AS response_headers, "
        + "nullif(current_setting('response.status', true), '') AS response_status, ";

    [Fact]
    public void Post_inserts_from_one_json_parameter_typed_from_the_schema_cache()
    {
        var (_, st) = Build("POST", "/items", """[{"id":1,"name":"a"},{"id":2,"name":"b"}]""");
        Assert.Equal(
            "WITH pgrst_source AS (INSERT INTO \"test\".\"items\"(\"id\", \"name\") SELECT \"pgrst_body\".\"id\", \"pgrst_body\".\"name\" "
            + "FROM (SELECT $1 AS json_data) pgrst_payload, LATERAL (SELECT \"id\", \"name\" FROM json_to_recordset(pgrst_payload.json_data) "
            + "AS _(\"id\" bigint, \"name\" text) ) pgrst_body  RETURNING 1) "
            + "SELECT null::bigint AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, " + Tail
            + "''::text AS body FROM (SELECT * FROM pgrst_source) _postgrest_t",
            st.Sql);
        var p = Assert.Single(st.Params);
        Assert.Equal(NpgsqlDbType.Json, p.Type);
        Assert.Equal("""[{"id":1,"name":"a"},{"id":2,"name":"b"}]""", p.Value);
    }

    [Fact]
    public void Post_with_representation_reads_the_returned_rows_from_the_cte()
    {
        var (_, st) = Build("POST", "/items?select=name", """{"name":"a"}""", ("Prefer", "return=representation"));
        Assert.Equal(
            "WITH pgrst_source AS (INSERT INTO \"test\".\"items\"(\"name\") SELECT \"pgrst_body\".\"name\" "
            + "FROM (SELECT $1 AS json_data) pgrst_payload, LATERAL (SELECT \"name\" FROM json_to_record(pgrst_payload.json_data) "
            + "AS _(\"name\" text) ) pgrst_body  RETURNING \"test\".\"items\".\"id\", \"test\".\"items\".\"name\") "
            + "SELECT null::bigint AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, " + Tail
            + "coalesce(json_agg(_postgrest_t), '[]') AS body FROM (SELECT \"items\".\"name\" FROM \"pgrst_source\" AS \"items\") _postgrest_t",
            st.Sql);
    }

    [Fact]
    public void Headers_only_insert_builds_location_bindings_from_the_primary_key()
    {
        var (_, st) = Build("POST", "/items", """{"name":"a"}""", ("Prefer", "return=headers-only"));
        Assert.Contains(
            "CASE WHEN pg_catalog.count(_postgrest_t) = 1 THEN coalesce((WITH data AS (SELECT row_to_json(_) AS row FROM pgrst_source AS _ LIMIT 1) "
            + "SELECT array_agg(json_data.key || '=' || coalesce('eq.' || json_data.value, 'is.null')) FROM data CROSS JOIN json_each_text(data.row) AS json_data "
            + "WHERE json_data.key IN ('id')), array[]::text[]) ELSE array[]::text[] END AS location, ",
            st.Sql, StringComparison.Ordinal);
        Assert.Contains("RETURNING \"test\".\"items\".*)", st.Sql, StringComparison.Ordinal);
    }

    [Fact]
    public void Merge_duplicates_counts_inserted_rows_and_updates_the_payload_columns()
    {
        var (_, st) = Build("POST", "/items", """[{"id":1,"name":"a"}]""", ("Prefer", "resolution=merge-duplicates"));
        Assert.Contains(
            " pgrst_body WHERE set_config('pgrst.inserted', (coalesce(nullif(current_setting('pgrst.inserted', true), '')::int, 0) + 1)::text, true) <> '0'"
            + " ON CONFLICT(\"id\") DO UPDATE SET \"id\" = EXCLUDED.\"id\", \"name\" = EXCLUDED.\"name\""
            + " WHERE set_config('pgrst.inserted', (coalesce(nullif(current_setting('pgrst.inserted', true), '')::int, 0) - 1)::text, true) <> '-1' RETURNING 1)",
            st.Sql, StringComparison.Ordinal);
        Assert.Contains("nullif(current_setting('pgrst.inserted', true), '')::bigint AS response_inserted, ''::text AS body", st.Sql, StringComparison.Ordinal);
    }

    [Fact]
    public void Ignore_duplicates_on_conflict_columns_does_nothing()
    {
        var (_, st) = Build("POST", "/no_pk?on_conflict=a", """[{"a":"1","b":"2"}]""", ("Prefer", "resolution=ignore-duplicates"));
        Assert.Contains(" pgrst_body  ON CONFLICT(\"a\") DO NOTHING RETURNING 1)", st.Sql, StringComparison.Ordinal);
        Assert.DoesNotContain("response_inserted", st.Sql, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolution_without_a_key_or_on_conflict_has_no_conflict_clause()
    {
        var (_, st) = Build("POST", "/no_pk", """[{"a":"1","b":"2"}]""", ("Prefer", "resolution=merge-duplicates"));
        Assert.DoesNotContain("ON CONFLICT", st.Sql, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_default_merges_the_payload_over_column_defaults_as_jsonb()
    {
        var (_, st) = Build("POST", "/items?columns=id,name", """[{"name":"a"}]""", ("Prefer", "missing=default"));
        Assert.Contains(
            "FROM (SELECT $1 AS json_data) pgrst_payload, LATERAL (SELECT jsonb_agg(jsonb_build_object('id', nextval('test.items_id_seq'::regclass),'name', 'Default'::text) || elem) AS val "
            + "from jsonb_array_elements(pgrst_payload.json_data) elem) pgrst_json_defs, LATERAL (SELECT \"id\", \"name\" FROM jsonb_to_recordset(pgrst_json_defs.val) "
            + "AS _(\"id\" bigint, \"name\" text) ) pgrst_body ",
            st.Sql, StringComparison.Ordinal);
        Assert.Equal(NpgsqlDbType.Jsonb, st.Params[0].Type);
    }

    [Fact]
    public void Data_representations_parse_json_values_and_text_filters()
    {
        var (_, st) = Build("PATCH", "/todos?color=eq.red", """{"color":"#001100"}""");
        Assert.Equal(
            "WITH pgrst_source AS (UPDATE \"test\".\"todos\" SET \"color\" = \"pgrst_body\".\"color\" FROM (SELECT $1 AS json_data) pgrst_payload, "
            + "LATERAL (SELECT test.json_to_color(\"color\") AS \"color\" FROM json_to_record(pgrst_payload.json_data) AS _(\"color\" json) ) pgrst_body "
            + " WHERE \"test\".\"todos\".\"color\" = test.text_to_color($2) RETURNING 1) "
            + "SELECT null::bigint AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, " + Tail
            + "''::text AS body FROM (SELECT * FROM pgrst_source) _postgrest_t",
            st.Sql);
        Assert.Equal("red", st.Params[1].Value);
    }

    [Fact]
    public void Patch_with_an_empty_object_selects_nothing_but_keeps_the_returned_columns()
    {
        var (_, st) = Build("PATCH", "/items?select=name", "{}", ("Prefer", "return=representation"));
        Assert.StartsWith("WITH pgrst_source AS (SELECT \"items\".\"id\", \"items\".\"name\" FROM \"test\".\"items\" WHERE false) ", st.Sql, StringComparison.Ordinal);
        Assert.Empty(st.Params);
    }

    [Fact]
    public void Delete_filters_with_root_filters_and_logic_trees()
    {
        var (plan, st) = Build("DELETE", "/items?id=gt.1&or=(name.eq.a,name.eq.b)&limit=1", null);
        Assert.StartsWith(
            "WITH pgrst_source AS (DELETE FROM \"test\".\"items\" WHERE \"test\".\"items\".\"id\" > $1 AND  (\"test\".\"items\".\"name\" = $2 OR \"test\".\"items\".\"name\" = $3) RETURNING 1) ",
            st.Sql, StringComparison.Ordinal);
        Assert.Empty(plan.Read.Where);
        Assert.True(plan.Read.Range.IsAll);
    }

    [Fact]
    public void Put_inserts_only_the_body_row_matching_the_url_key()
    {
        var (plan, st) = Build("PUT", "/items?id=eq.1", """{"id":1,"name":"x"}""");
        Assert.Contains(
            " pgrst_body WHERE set_config('pgrst.inserted', (coalesce(nullif(current_setting('pgrst.inserted', true), '')::int, 0) + 1)::text, true) <> '0'"
            + " AND \"pgrst_body\".\"id\" = $2 ON CONFLICT(\"id\") DO UPDATE SET",
            st.Sql, StringComparison.Ordinal);
        Assert.DoesNotContain("AS location", st.Sql, StringComparison.Ordinal);
        Assert.Equal(Mutation.SingleUpsert, plan.Mutation);
    }

    [Theory]
    [InlineData("/items?name=eq.x")]
    [InlineData("/items?id=neq.1")]
    [InlineData("/items?id=not.eq.1")]
    [InlineData("/items?id=eq.1&name=eq.x")]
    [InlineData("/items?id=eq.1&or=(id.eq.1)")]
    [InlineData("/items?id=in.(1)")]
    [InlineData("/items")]
    [InlineData("/no_pk?a=eq.1&b=eq.2")]
    public void Put_needs_exactly_the_key_with_eq_filters(string url)
    {
        var e = Assert.Throws<ApiError>(() => Build("PUT", url, """{"id":1}"""));
        Assert.Equal("PGRST105", e.Code);
        Assert.Equal(405, e.Status);
    }

    [Fact]
    public void Unknown_columns_are_pgrst204_in_sorted_order()
    {
        var e = Assert.Throws<ApiError>(() => Build("POST", "/items?columns=zzz,id,helicopter", "{}"));
        Assert.Equal("PGRST204", e.Code);
        Assert.Equal("Could not find the 'helicopter' column of 'items' in the schema cache", e.Message);
    }

    [Fact]
    public void Returning_adds_the_primary_key_to_the_selected_columns() =>
        Assert.Equal("id|name", string.Join('|', Build("DELETE", "/items?select=name", null, ("Prefer", "return=representation")).Plan.Mutate.Returning));
}
