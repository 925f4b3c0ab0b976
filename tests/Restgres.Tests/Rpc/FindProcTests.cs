using Restgres.Catalog;
using Restgres.Errors;
using Restgres.Plan;
using Restgres.Requests;
using Xunit;
using static Restgres.Tests.Rpc.RpcFixtures;

namespace Restgres.Tests.Rpc;

/// <summary>Overload resolution by argument names (PostgREST's findProc in Plan.hs).</summary>
public sealed class FindProcTests
{
    private static Routine Find(string name, bool post, string contentType, params string[] keys) =>
        CallPlanner.FindProc(Overloads(name), AllNames, new QualifiedIdentifier("test", name), Keys(keys),
            MediaType.Decode(contentType), post);

    private static string Signature(Routine r) => r.Name + "(" + string.Join(",", r.Params.Select(p => p.Name + ":" + p.Type)) + ")";

    public static TheoryData<string, bool, string, string[], string> Matches => new()
    {
        // function, POST?, Content-Type, argument names, chosen overload
        { "noparams", false, "application/json", [], "noparams()" },
        { "noparams", true, "application/json", [], "noparams()" },
        { "noparams", true, "application/x-www-form-urlencoded", [], "noparams()" },
        // Only required parameters: the names must be exactly those.
        { "add_them", false, "application/json", ["a", "b"], "add_them(a:integer,b:integer)" },
        { "add_them", true, "application/json", ["b", "a"], "add_them(a:integer,b:integer)" },
        // Only optional parameters: any subset, including none.
        { "three_defaults", false, "application/json", [], "three_defaults(a:integer,b:integer,c:integer)" },
        { "three_defaults", false, "application/json", ["b"], "three_defaults(a:integer,b:integer,c:integer)" },
        // Required and optional: all required ones, any optional ones.
        { "many_inout_params", false, "application/json", ["num", "str"], "many_inout_params(num:integer,str:text,b:boolean)" },
        { "many_inout_params", false, "application/json", ["num", "str", "b"], "many_inout_params(num:integer,str:text,b:boolean)" },
        // Overloads are told apart by their names.
        { "overloaded", false, "application/json", [], "overloaded()" },
        { "overloaded", false, "application/json", ["a", "b"], "overloaded(a:integer,b:integer)" },
        { "overloaded", false, "application/json", ["a", "b", "c"], "overloaded(a:text,b:text,c:text)" },
        // A named match wins over the single unnamed json parameter; without one the whole body goes to it.
        { "overloaded", true, "application/json", [], "overloaded()" },
        { "overloaded", true, "application/json", ["x", "y"], "overloaded(:json)" },
        { "overloaded_unnamed_param", true, "application/json", [], "overloaded_unnamed_param()" },
        { "overloaded_unnamed_param", true, "application/json", ["x", "y"], "overloaded_unnamed_param(x:integer,y:integer)" },
        { "overloaded_unnamed_param", true, "application/json", ["A", "B"], "overloaded_unnamed_param(:json)" },
        { "overloaded_unnamed_param", true, "text/plain", [], "overloaded_unnamed_param(:text)" },
        { "overloaded_unnamed_param", true, "application/octet-stream", [], "overloaded_unnamed_param(:bytea)" },
        // GET never sends the body to an unnamed parameter, whatever the Content-Type.
        { "overloaded_unnamed_param", false, "text/plain", [], "overloaded_unnamed_param()" },
        { "overloaded_unnamed_param", false, "application/octet-stream", [], "overloaded_unnamed_param()" },
        { "unnamed_text_param", true, "text/plain; charset=utf-8", [], "unnamed_text_param(:text)" },
        { "unnamed_xml_param", true, "text/xml", [], "unnamed_xml_param(:xml)" },
        { "unnamed_bytea_param", true, "application/octet-stream", [], "unnamed_bytea_param(:bytea)" },
        { "variadic_param", false, "application/json", [], "variadic_param(v:text[])" },
        { "variadic_param", false, "application/json", ["v"], "variadic_param(v:text[])" },
    };

    [Theory]
    [MemberData(nameof(Matches))]
    public void Chooses_the_overload_matching_the_argument_names(string name, bool post, string contentType, string[] keys, string expected) =>
        Assert.Equal(expected, Signature(Find(name, post, contentType, keys)));

    public static TheoryData<string, bool, string, string[], int, string> Failures => new()
    {
        // function, POST?, Content-Type, argument names, status, code
        { "noparams", true, "text/plain", [], 404, "PGRST202" },
        { "noparams", false, "application/json", ["x"], 404, "PGRST202" },
        { "add_them", false, "application/json", ["a"], 404, "PGRST202" },
        { "add_them", false, "application/json", ["a", "b", "c"], 404, "PGRST202" },
        { "three_defaults", false, "application/json", ["d"], 404, "PGRST202" },
        { "many_inout_params", false, "application/json", ["str", "b"], 404, "PGRST202" },
        { "many_inout_params", false, "application/json", ["num", "str", "x"], 404, "PGRST202" },
        { "named_json_param", true, "application/json", ["A", "B", "C"], 404, "PGRST202" },
        { "unnamed_text_param", true, "text/xml", [], 404, "PGRST202" },
        { "unnamed_text_param", false, "text/plain", [], 404, "PGRST202" },
        { "fake", false, "application/json", [], 404, "PGRST202" },
        { "overloaded_unnamed_json_jsonb_param", true, "application/json", ["A"], 300, "PGRST203" },
        { "overloaded_same_args", false, "application/json", ["arg"], 300, "PGRST203" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Fails_with_PGRST202_or_PGRST203(string name, bool post, string contentType, string[] keys, int status, string code)
    {
        var e = Assert.Throws<ApiError>(() => Find(name, post, contentType, keys));
        Assert.Equal(status, e.Status);
        Assert.Equal(code, e.Code);
    }

    [Fact]
    public void Ambiguity_lists_the_candidates_least_parameters_first_then_by_parameter_type()
    {
        var e = Assert.Throws<ApiError>(() => Find("overloaded_same_args", false, "application/json", "arg"));
        Assert.Equal(
            "Could not choose the best candidate function between: test.overloaded_same_args(arg => integer), "
            + "test.overloaded_same_args(arg => xml), test.overloaded_same_args(arg => text, num => integer)",
            e.Message);
        Assert.Null(e.DetailsJson);
        Assert.Equal("\"Try renaming the parameters or the function itself in the database so function overloading can be resolved\"", e.HintJson);

        var unnamed = Assert.Throws<ApiError>(() => Find("overloaded_unnamed_json_jsonb_param", true, "application/json", "A", "B", "C"));
        Assert.Equal(
            "Could not choose the best candidate function between: test.overloaded_unnamed_json_jsonb_param( => json), "
            + "test.overloaded_unnamed_json_jsonb_param( => jsonb)",
            unnamed.Message);
    }

    public static TheoryData<string, bool, string, string[], string, string, string?> NoRpcTexts => new()
    {
        // function, POST?, Content-Type, argument names, message, details, hint (RpcSpec expectations)
        {
            "sayhell", false, "application/json", [],
            "Could not find the function test.sayhell without parameters in the schema cache",
            "Searched for the function test.sayhell without parameters, but no matches were found in the schema cache.",
            "Perhaps you meant to call the function test.sayhello"
        },
        {
            "sayhello", false, "application/json", ["nam"],
            "Could not find the function test.sayhello(nam) in the schema cache",
            "Searched for the function test.sayhello with parameter nam, but no matches were found in the schema cache.",
            "Perhaps you meant to call the function test.sayhello(name)"
        },
        {
            "add_them", false, "application/json", ["a", "b", "smthelse"],
            "Could not find the function test.add_them(a, b, smthelse) in the schema cache",
            "Searched for the function test.add_them with parameters a, b, smthelse, but no matches were found in the schema cache.",
            "Perhaps you meant to call the function test.add_them(a, b)"
        },
        {
            "overloaded", false, "application/json", ["wrong_arg"],
            "Could not find the function test.overloaded(wrong_arg) in the schema cache",
            "Searched for the function test.overloaded with parameter wrong_arg, but no matches were found in the schema cache.",
            null
        },
        {
            "overloaded", false, "application/json", ["a", "b", "wrong_arg"],
            "Could not find the function test.overloaded(a, b, wrong_arg) in the schema cache",
            "Searched for the function test.overloaded with parameters a, b, wrong_arg, but no matches were found in the schema cache.",
            "Perhaps you meant to call the function test.overloaded(a, b, c)"
        },
        {
            "named_json_param", true, "application/json", ["A", "B", "C"],
            "Could not find the function test.named_json_param(A, B, C) in the schema cache",
            "Searched for the function test.named_json_param with parameters A, B, C or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.",
            null
        },
        {
            "unnamed_int_param", true, "text/plain", [],
            "Could not find the function test.unnamed_int_param in the schema cache",
            "Searched for the function test.unnamed_int_param with a single unnamed text parameter, but no matches were found in the schema cache.",
            null
        },
        {
            "unnamed_int_param", true, "application/octet-stream", [],
            "Could not find the function test.unnamed_int_param in the schema cache",
            "Searched for the function test.unnamed_int_param with a single unnamed bytea parameter, but no matches were found in the schema cache.",
            null
        },
        {
            "overloaded_unnamed_param", true, "text/csv", ["a", "b"],
            "Could not find the function test.overloaded_unnamed_param(a, b) in the schema cache",
            "Searched for the function test.overloaded_unnamed_param with parameters a, b, but no matches were found in the schema cache.",
            "Perhaps you meant to call the function test.overloaded_unnamed_param(x, y)"
        },
    };

    [Theory]
    [MemberData(nameof(NoRpcTexts))]
    public void PGRST202_explains_what_was_searched_and_suggests_close_names(
        string name, bool post, string contentType, string[] keys, string message, string details, string? hint)
    {
        var e = Assert.Throws<ApiError>(() => Find(name, post, contentType, keys));
        Assert.Equal("PGRST202", e.Code);
        Assert.Equal(message, e.Message);
        Assert.Equal(ApiError.Str(details), e.DetailsJson);
        Assert.Equal(ApiError.Str(hint), e.HintJson);
    }

    [Fact]
    public void Allow_header_depends_on_volatility()
    {
        Assert.Equal("OPTIONS,POST", CallPlanner.AllowHeader(Fn("f", Volatility.Volatile)));
        Assert.Equal("OPTIONS,GET,HEAD,POST", CallPlanner.AllowHeader(Fn("f", Volatility.Stable)));
        Assert.Equal("OPTIONS,GET,HEAD,POST", CallPlanner.AllowHeader(Fn("f", Volatility.Immutable)));
    }
}
