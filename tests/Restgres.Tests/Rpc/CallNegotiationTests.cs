using System.Collections.Immutable;
using Restgres.Catalog;
using Restgres.Config;
using Restgres.Errors;
using Restgres.Plan;
using Restgres.Requests;
using Restgres.Sql;
using Xunit;
using static Restgres.Tests.Rpc.RpcFixtures;
using ApiReq = Restgres.Requests.ApiRequest;

namespace Restgres.Tests.Rpc;

/// <summary>Content negotiation for calls (Plan/Negotiate.hs) and the body each handler aggregates (handlerF).</summary>
public sealed class CallNegotiationTests
{
    private static readonly QualifiedIdentifier Fn1 = new("test", "fn");

    /// <summary>A function returning the "text/plain" domain, a "*/*" handler for another one, an aggregate for any row.</summary>
    private static readonly MediaHandlerMap Handlers = new(
    [
        (new QualifiedIdentifier("test", "text/plain"), Fn1, "text/plain", "text/plain"),
        (new QualifiedIdentifier("test", "*/*"), new QualifiedIdentifier("test", "anything"), "*/*", "application/octet-stream"),
        (new QualifiedIdentifier("test", "twkb_agg"), null, "application/vnd.twkb", "application/vnd.twkb"),
    ]);

    private static ApiReq Request(string method, string? accept, string path = "/rpc/fn")
    {
        var headers = accept is null ? ImmutableArray<KeyValuePair<string, string>>.Empty : [new("Accept", accept)];
        var raw = new RawRequest(method, path, [.. path.Split('/', StringSplitOptions.RemoveEmptyEntries)], "", headers, ReadOnlyMemory<byte>.Empty);
        return ApiReq.FromRaw(Config(false), raw, Preferences.None);
    }

    private static AppConfig Config(bool planEnabled) => new() { DbSchemas = ["test"], DbPlanEnabled = planEnabled };

    private static string Describe((CallHandler Handler, MediaType Media) r) =>
        (r.Handler.Function is { } f ? "custom " + f.Name : r.Handler.Builtin.ToString()) + " " + r.Media.ToContentType();

    public static TheoryData<string, string?, string, bool, string> Cases => new()
    {
        // method, Accept, relation, default select?, handler and Content-Type
        { "GET", null, "fn", true, "Json application/json; charset=utf-8" },
        { "GET", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "fn", true, "Json application/json; charset=utf-8" },
        { "GET", "text/csv", "fn", true, "Csv text/csv; charset=utf-8" },
        { "GET", "application/vnd.pgrst.object+json", "fn", true, "SingleJson application/vnd.pgrst.object+json; charset=utf-8" },
        { "GET", "application/vnd.pgrst.array+json;nulls=stripped", "fn", true, "JsonStripNulls application/vnd.pgrst.array+json;nulls=stripped; charset=utf-8" },
        // A function returning a media-type domain answers that type, but only with the default select.
        { "POST", "text/plain", "fn", true, "custom text/plain text/plain; charset=utf-8" },
        // "*/*" as a domain makes the function's handler the default for any Accept.
        { "GET", null, "anything", true, "custom */* application/octet-stream" },
        { "GET", "application/json", "anything", true, "custom */* application/octet-stream" },
        { "GET", "application/json", "anything", false, "Json application/json; charset=utf-8" },
        // Aggregates over anyelement apply to every relation.
        { "GET", "application/vnd.twkb", "fn", false, "custom twkb_agg application/vnd.twkb" },
        // HEAD needs no aggregate (PostgREST issue #2849).
        { "HEAD", "text/csv", "fn", true, "NoAgg text/csv; charset=utf-8" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Picks_the_first_acceptable_handler(string method, string? accept, string relation, bool defaultSelect, string expected)
    {
        var req = Request(method, accept);
        var r = Negotiator.Negotiate(Config(false), req, new QualifiedIdentifier("test", relation), Handlers, defaultSelect, method == "HEAD");
        Assert.Equal(expected, Describe(r));
    }

    [Theory]
    [InlineData("audio/mpeg3", false)]
    [InlineData("text/plain", false)]
    [InlineData("application/vnd.pgrst.plan+json", false)]
    public void Unavailable_media_types_are_PGRST107(string accept, bool defaultSelect)
    {
        var e = Assert.Throws<ApiError>(() => Negotiator.Negotiate(Config(false), Request("GET", accept), Fn1, Handlers, defaultSelect, false));
        Assert.Equal((406, "PGRST107"), (e.Status, e.Code));
    }

    [Fact]
    public void Plan_media_type_uses_the_handler_of_the_type_it_describes_when_enabled()
    {
        var req = Request("GET", "application/vnd.pgrst.plan+json; for=\"text/plain\"; options=verbose");
        var (handler, media) = Negotiator.Negotiate(Config(true), req, Fn1, Handlers, true, false);
        Assert.Equal("text/plain", handler.Function?.Name);
        Assert.Equal(MediaKind.Plan, media.Kind);
    }

    private static CallReadPlan PlanFor(Routine routine, CallHandler handler) =>
        new(new ReadPlan { Select = [], From = ReadPlan.Source, FromAlias = routine.Name, RelName = routine.Name },
            CallPlanner.BuildCallPlan(routine, Keys(), new DirectArgs(ImmutableDictionary<string, RpcParamValue>.Empty),
                new ReadPlan { Select = [], From = ReadPlan.Source, RelName = routine.Name }),
            true, routine, handler, MediaType.Json, InvokeMethod.Read, new QualifiedIdentifier("test", routine.Name));

    public static TheoryData<bool, bool, string, string> Bodies => new()
    {
        // returns set?, composite?, handler, body expression
        { false, false, "Json", "coalesce(json_agg(_postgrest_t.pgrst_scalar)->0, 'null')" },
        { true, false, "Json", "coalesce(json_agg(_postgrest_t.pgrst_scalar), '[]')" },
        { false, true, "Json", "coalesce(json_agg(_postgrest_t)->0, 'null')" },
        { true, true, "Json", "coalesce(json_agg(_postgrest_t), '[]')" },
        { true, true, "JsonStripNulls", "coalesce(json_strip_nulls(json_agg(_postgrest_t)), '[]')" },
        { false, false, "SingleJsonStripNulls", "coalesce(json_strip_nulls(json_agg(_postgrest_t.pgrst_scalar)->0), 'null')" },
        { true, true, "SingleJson", "coalesce(json_agg(_postgrest_t)->0, 'null')" },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public void Scalar_results_aggregate_pgrst_scalar_and_single_results_are_not_arrays(bool set, bool composite, string handler, string body)
    {
        var routine = new Routine
        {
            Schema = "test", Name = "fn", Params = [], ReturnType = new QualifiedIdentifier("test", "items"),
            ReturnsSet = set, ReturnsComposite = composite,
        };
        Assert.Equal(body, CallStatements.Body(PlanFor(routine, new CallHandler(Enum.Parse<MediaHandler>(handler)))));
    }

    [Fact]
    public void Custom_handlers_apply_the_domain_to_a_scalar_or_aggregate_the_rows()
    {
        var scalar = new Routine { Schema = "test", Name = "fn", Params = [], ReturnType = new QualifiedIdentifier("pg_catalog", "text") };
        Assert.Equal("\"test\".\"text/plain\"(_postgrest_t.pgrst_scalar)",
            CallStatements.Body(PlanFor(scalar, new CallHandler(MediaHandler.Json, new QualifiedIdentifier("test", "text/plain"), Fn1))));
        var rows = new Routine
        {
            Schema = "test", Name = "fn", Params = [], ReturnType = new QualifiedIdentifier("test", "lines"), ReturnsSet = true, ReturnsComposite = true,
        };
        Assert.Equal("\"test\".\"twkb_agg\"(_postgrest_t::\"test\".\"lines\")",
            CallStatements.Body(PlanFor(rows, new CallHandler(MediaHandler.Json, new QualifiedIdentifier("test", "twkb_agg"), new QualifiedIdentifier("test", "lines")))));
        Assert.Equal("\"test\".\"twkb_agg\"(_postgrest_t)",
            CallStatements.Body(PlanFor(rows, new CallHandler(MediaHandler.Json, new QualifiedIdentifier("test", "twkb_agg")))));
    }
}
