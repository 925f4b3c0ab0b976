using System.Collections.Immutable;
using Restgres.Catalog;
using Restgres.Plan;
using Restgres.Requests;

namespace Restgres.Tests.Rpc;

/// <summary>Routines shaped like PostgREST's spec fixtures (test/spec/fixtures/schema.sql), built without a database.</summary>
internal static class RpcFixtures
{
    public static RoutineParam P(string name, string type = "integer", bool required = true, bool variadic = false, string? maxLength = null) =>
        new(name, type, maxLength ?? type, required, variadic);

    public static Routine Fn(string name, params RoutineParam[] ps) => Fn(name, Volatility.Volatile, ps);

    public static Routine Fn(string name, Volatility volatility, params RoutineParam[] ps) => new()
    {
        Schema = "test",
        Name = name,
        Params = ps,
        ReturnType = new QualifiedIdentifier("pg_catalog", "int4"),
        Volatility = volatility,
        HasVariadic = ps.Any(p => p.Variadic),
    };

    public static ImmutableSortedSet<string> Keys(params string[] keys) => keys.ToImmutableSortedSet(PayloadParser.KeyOrder);

    /// <summary>Overload sets by function name, least parameters first like the schema cache orders them.</summary>
    public static readonly Dictionary<string, Routine[]> Procs = new()
    {
        ["noparams"] = [Fn("noparams")],
        ["add_them"] = [Fn("add_them", P("a"), P("b"))],
        ["three_defaults"] = [Fn("three_defaults", P("a", required: false), P("b", required: false), P("c", required: false))],
        ["many_inout_params"] = [Fn("many_inout_params", P("num"), P("str", "text"), P("b", "boolean", required: false))],
        ["overloaded"] =
        [
            Fn("overloaded"),
            Fn("overloaded", P("", "json")),
            Fn("overloaded", P("a"), P("b")),
            Fn("overloaded", P("a", "text"), P("b", "text"), P("c", "text")),
        ],
        ["overloaded_unnamed_param"] =
        [
            Fn("overloaded_unnamed_param"),
            Fn("overloaded_unnamed_param", P("", "bytea")),
            Fn("overloaded_unnamed_param", P("", "json")),
            Fn("overloaded_unnamed_param", P("", "text")),
            Fn("overloaded_unnamed_param", P("x"), P("y")),
        ],
        ["overloaded_unnamed_json_jsonb_param"] =
        [
            Fn("overloaded_unnamed_json_jsonb_param", P("", "json")),
            Fn("overloaded_unnamed_json_jsonb_param", P("", "jsonb")),
        ],
        ["overloaded_same_args"] =
        [
            Fn("overloaded_same_args", P("arg", "xml")),
            Fn("overloaded_same_args", P("arg", "text"), P("num", required: false)),
            Fn("overloaded_same_args", P("arg")),
        ],
        ["named_json_param"] = [Fn("named_json_param", P("data", "json"))],
        ["unnamed_text_param"] = [Fn("unnamed_text_param", P("", "text"))],
        ["unnamed_xml_param"] = [Fn("unnamed_xml_param", P("", "xml"))],
        ["unnamed_bytea_param"] = [Fn("unnamed_bytea_param", P("", "bytea"))],
        ["variadic_param"] = [Fn("variadic_param", P("v", "text[]", required: false, variadic: true))],
        ["sayhello"] = [Fn("sayhello", P("name", "text"))],
    };

    public static IReadOnlyList<Routine> Overloads(string name) =>
        Procs.TryGetValue(name, out var procs) ? [.. procs.Order(RoutineOrder.Instance)] : [];

    public static IEnumerable<QualifiedIdentifier> AllNames => Procs.Keys.Select(k => new QualifiedIdentifier("test", k));
}
