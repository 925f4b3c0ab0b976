using System.Collections.Immutable;
using System.Text;
using NpgsqlTypes;
using Restgres.Catalog;
using Restgres.Plan;
using Restgres.Requests;
using Restgres.Sql;
using Xunit;
using static Restgres.Tests.Rpc.RpcFixtures;

namespace Restgres.Tests.Rpc;

/// <summary>Call plan → SQL (PostgREST's callPlanToQuery): arguments are parameters, identifiers quoted.</summary>
public sealed class CallStatementsTests
{
    private static readonly QualifiedIdentifier Qi = new("test", "fn");

    private static (string Sql, List<SqlParam> Params) Sql(CallParams ps, CallArgs args, bool scalar = false, bool setOfScalar = false,
        string[]? returning = null, string[]? filters = null)
    {
        var plan = new CallPlan(Qi, ps, args, scalar, setOfScalar, Keys(filters ?? []), Keys(returning ?? ["*"]));
        var sb = new SqlBuilder();
        CallStatements.CallPlanToQuery(sb, plan);
        return (sb.ToString(), sb.Params);
    }

    private static DirectArgs Direct(params (string Key, string Value)[] args) =>
        new(args.ToImmutableDictionary(a => a.Key, a => (RpcParamValue)new FixedArg(a.Value)));

    [Fact]
    public void Scalar_function_with_query_arguments_casts_each_to_its_parameter_type()
    {
        var (sql, ps) = Sql(new KeyParams([P("a"), P("b", "character", maxLength: "character varying")]), Direct(("a", "1"), ("b", "x")), scalar: true);
        Assert.Equal(
            """SELECT pgrst_call.pgrst_scalar FROM (SELECT "test"."fn"("a" := $1::integer, "b" := $2::character varying) pgrst_scalar) pgrst_call""",
            sql);
        Assert.Equal(["1", "x"], ps.Select(p => (string?)p.Value));
        Assert.All(ps, p => Assert.Equal(NpgsqlDbType.Unknown, p.Type));
    }

    [Fact]
    public void Json_body_is_one_parameter_expanded_with_json_to_record()
    {
        var body = Encoding.UTF8.GetBytes("""{"min":2,"max":4}""");
        var (sql, ps) = Sql(new KeyParams([P("min", "bigint"), P("max", "bigint")]), new BodyArgs(body));
        Assert.Equal(
            """SELECT "pgrst_call".* FROM (SELECT $1 AS json_data) pgrst_payload, LATERAL (SELECT "min", "max" FROM json_to_record(pgrst_payload.json_data) AS _("min" bigint, "max" bigint) LIMIT 1) pgrst_body , LATERAL "test"."fn"("min" := pgrst_body."min", "max" := pgrst_body."max") pgrst_call""",
            sql);
        Assert.Equal(new SqlParam("""{"min":2,"max":4}""", NpgsqlDbType.Json), Assert.Single(ps));
    }

    [Fact]
    public void Json_array_body_takes_the_first_row_of_json_to_recordset_and_passes_variadic()
    {
        var body = Encoding.UTF8.GetBytes(""" [{"v":["a"]}]""");
        var (sql, _) = Sql(new KeyParams([P("v", "text[]", variadic: true)]), new BodyArgs(body), setOfScalar: true);
        Assert.Equal(
            """SELECT pgrst_call.pgrst_scalar FROM (SELECT $1 AS json_data) pgrst_payload, LATERAL (SELECT "v" FROM json_to_recordset(pgrst_payload.json_data) AS _("v" text[]) LIMIT 1) pgrst_body , LATERAL (SELECT "test"."fn"(VARIADIC "v" := pgrst_body."v") pgrst_scalar) pgrst_call""",
            sql);
    }

    [Fact]
    public void Repeated_variadic_query_arguments_are_bound_as_a_text_array()
    {
        var args = new DirectArgs(ImmutableDictionary<string, RpcParamValue>.Empty.Add("v", new VariadicArg(["hi", "there"])));
        var (sql, ps) = Sql(new KeyParams([P("v", "text[]", required: false, variadic: true)]), args, setOfScalar: true);
        Assert.Equal("""SELECT pgrst_call.pgrst_scalar FROM (SELECT "test"."fn"(VARIADIC "v" := $1::text[]) pgrst_scalar) pgrst_call""", sql);
        var p = Assert.Single(ps);
        Assert.Equal(NpgsqlDbType.Array | NpgsqlDbType.Text, p.Type);
        Assert.Equal(["hi", "there"], (string[])p.Value!);
    }

    [Fact]
    public void No_arguments_call_the_function_without_any()
    {
        Assert.Equal("""SELECT "pgrst_call".* FROM "test"."fn"() pgrst_call""", Sql(new KeyParams([]), Direct()).Sql);
        Assert.Equal("""SELECT "pgrst_call".* FROM "test"."fn"() pgrst_call""", Sql(new KeyParams([]), new BodyArgs(null)).Sql);
    }

    [Fact]
    public void Single_unnamed_parameter_gets_the_raw_body()
    {
        var text = Sql(new OnePosParam(P("", "text")), new BodyArgs(Encoding.UTF8.GetBytes("hello")), scalar: true);
        Assert.Equal("""SELECT pgrst_call.pgrst_scalar FROM (SELECT "test"."fn"($1::text) pgrst_scalar) pgrst_call""", text.Sql);
        Assert.Equal(SqlParam.Unknown("hello"), Assert.Single(text.Params));

        var bytes = new byte[] { 0, 1, 255 };
        var bytea = Sql(new OnePosParam(P("", "bytea")), new BodyArgs(bytes), scalar: true);
        Assert.Equal("""SELECT pgrst_call.pgrst_scalar FROM (SELECT "test"."fn"($1) pgrst_scalar) pgrst_call""", bytea.Sql);
        var p = Assert.Single(bytea.Params);
        Assert.Equal(NpgsqlDbType.Bytea, p.Type);
        Assert.Equal(bytes, (byte[])p.Value!);
    }

    [Fact]
    public void Selected_and_filtered_columns_are_all_the_call_returns()
    {
        var (sql, _) = Sql(new KeyParams([]), Direct(), returning: ["id"], filters: ["name", "id"]);
        Assert.Equal("""SELECT "pgrst_call"."id", "pgrst_call"."name" FROM "test"."fn"() pgrst_call""", sql);
        Assert.Equal("""SELECT * FROM "test"."fn"() pgrst_call""", Sql(new KeyParams([]), Direct(), returning: []).Sql);
    }

    [Theory]
    [InlineData(" \n\t{\"a\":1}", true)]
    [InlineData("[{\"a\":1}]", false)]
    [InlineData("", false)]
    public void Object_or_array_is_told_by_the_first_significant_byte(string body, bool isObject) =>
        Assert.Equal(isObject, CallStatements.IsJsonObject(Encoding.UTF8.GetBytes(body)));
    [Theory]
    // Content-Type, body, shape: what the plan cache keys a call's plan by (argument names, object or array).
    [InlineData("application/json", """{"b":1,"a":2}""", "{1:a1:b")]
    [InlineData("application/json", """ {"a":9, "b":[1]}""", "{1:a1:b")]
    [InlineData("application/json", """[{"a":1,"b":2}]""", "[1:a1:b")]
    [InlineData("application/json", "{}", "{")]
    [InlineData("application/json", "", "[")]
    [InlineData("application/json", """{"a:1":0}""", "{3:a:1")]
    [InlineData("application/json", """{"a":0,"1":0}""", "{1:11:a")]
    [InlineData("text/csv", "a,b\n1,2", "[1:a1:b")]
    [InlineData("text/plain", "hello", null)]
    [InlineData("application/x-www-form-urlencoded", "a=1", null)]
    public void Payload_shape_is_the_argument_names_and_the_json_kind(string contentType, string body, string? shape) =>
        Assert.Equal(shape, CallStatements.PayloadShape(
            PayloadParser.ParseCall(global::Restgres.Requests.MediaType.Decode(contentType), Encoding.UTF8.GetBytes(body), null)));

    [Fact]
    public void A_get_call_has_one_shape() => Assert.Equal("", CallStatements.PayloadShape(null));

    [Fact]
    public void Re_binding_a_json_body_gives_what_planning_that_body_gives()
    {
        var ps = new KeyParams([P("min", "bigint"), P("max", "bigint")]);
        var first = new BodyArgs(Encoding.UTF8.GetBytes("""{"min":2,"max":4}"""));
        var second = Encoding.UTF8.GetBytes("""{"max":40,"min":20}""");
        var (sql1, ps1) = Sql(ps, first, filters: ["min"]);
        var (sql2, ps2) = Sql(ps, new BodyArgs(second), filters: ["min"]);
        var plan = new CallPlan(Qi, ps, first, false, false, Keys("min"), Keys("*"));
        var rebound = CallStatements.WithPayload(new Statement(sql1, ps1), plan, new JsonCallPayload(second, Keys("max", "min")));
        Assert.Equal(sql2, rebound.Sql);
        Assert.Equal(ps2, rebound.Params);
    }

    [Fact]
    public void Calls_without_arguments_or_with_url_arguments_keep_their_statement()
    {
        var none = new CallPlan(Qi, new KeyParams([]), new BodyArgs(null), false, false, Keys(), Keys("*"));
        var planned = new Statement("SELECT 1", []);
        Assert.Same(planned, CallStatements.WithPayload(planned, none, new JsonCallPayload("{}"u8.ToArray(), Keys())));
        var url = new CallPlan(Qi, new KeyParams([P("a")]), Direct(("a", "1")), false, false, Keys(), Keys("*"));
        Assert.Same(planned, CallStatements.WithPayload(planned, url, null));
        Assert.True(CallStatements.CanRebind(none) && CallStatements.CanRebind(url));
        Assert.False(CallStatements.CanRebind(new CallPlan(Qi, new OnePosParam(P("", "json")), new BodyArgs(null), false, false, Keys(), Keys("*"))));
    }
}
