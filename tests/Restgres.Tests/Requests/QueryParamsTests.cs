using Restgres.Errors;
using Restgres.Requests;
using Xunit;

namespace Restgres.Tests.Requests;

/// <summary>
/// <c>QueryParams.Parse</c> end to end: which parameters are filters, RPC arguments, order, logic, limit/offset; the
/// canonical query string; and the PGRST100 message/details of every parameter kind. Expected errors, canonical forms
/// and trees were produced by PostgREST's own <c>QueryParams.parse</c> (GHC, http-types, parsec).
/// </summary>
public sealed class QueryParamsTests
{
    internal static string ShowFilters(QueryParams qp) =>
        "[" + string.Join(",", qp.Filters.Select(f => "(" + HsShow.StrList(f.Path) + "," + HsShow.Filter(f.Filter, 0) + ")")) + "]";

    private static string ShowOrder(QueryParams qp) =>
        "[" + string.Join(",", qp.Order.Select(o => "(" + HsShow.StrList(o.Path) + "," + HsShow.Order(o.Terms) + ")")) + "]";

    private static string ShowLogic(QueryParams qp) =>
        "[" + string.Join(",", qp.Logic.Select(l => "(" + HsShow.StrList(l.Path) + "," + HsShow.LogicTree(l.Tree, 0) + ")")) + "]";

    private static string ShowRpc(QueryParams qp) =>
        "[" + string.Join(",", qp.RpcParams.Select(p => "(" + HsShow.Str(p.Key) + "," + HsShow.Str(p.Value) + ")")) + "]";

    private static string ShowRange(NonnegRange r) => r.Upper is { } u ? $"{r.Lower}..{u}" : $"{r.Lower}..";

    private static string ShowRanges(QueryParams qp) =>
        string.Join(" ", qp.Ranges.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + ShowRange(kv.Value)));

    public static TheoryData<bool, string, string> Errors => new()
    {
        // isRpcRead, raw query string, PostgREST's "message | details" (or OK)
        // source names, columns and details of each parameter kind
        { false, "select=a(",
          "\"failed to parse select parameter (a()\" (line 1, column 3) | unexpected end of input expecting \"...\", field name (* or [a..z0..9_$]), \"*\", \"count()\" or \")\"" },
        { false, "select=",
          "OK" },
        { false, "select=a,b",
          "OK" },
        { false, "order=a.x",
          "\"failed to parse order (a.x)\" (line 1, column 3) | unexpected \"x\" expecting \"asc\", \"desc\", \"nullsfirst\" or \"nullslast\"" },
        { false, "a.order=",
          "\"failed to parse order ()\" (line 1, column 1) | unexpected end of input expecting field name (* or [a..z0..9_$])" },
        { false, "a..order=a",
          "\"failed to parse tree path (a..order)\" (line 1, column 3) | unexpected \".\" expecting field name (* or [a..z0..9_$])" },
        { false, "order=a&order=b.bad",
          "\"failed to parse order (b.bad)\" (line 1, column 3) | unexpected \"b\" expecting \"asc\", \"desc\", \"nullsfirst\" or \"nullslast\"" },
        { false, "or=()",
          "\"failed to parse logic tree (())\" (line 1, column 4) | unexpected \")\" expecting field name (* or [a..z0..9_$]), negation operator (not) or logic operator (and, or)" },
        { false, "and=(a.eq.1",
          "\"failed to parse logic tree ((a.eq.1)\" (line 1, column 11) | unexpected end of input expecting \",\" or \")\"" },
        { false, "not.or=(a.eq.1)",
          "OK" },
        { false, "a.not.and=(a.eq.1,b)",
          "\"failed to parse logic tree ((a.eq.1,b))\" (line 1, column 17) | unexpected \")\" expecting letter, digit, \"-\", \"->>\", \"->\" or delimiter (.)" },
        { false, "a..or=(a.eq.1)",
          "\"failed to parse logic path (a..or)\" (line 1, column 3) | unexpected \".\" expecting field name (* or [a..z0..9_$])" },
        { false, "columns=",
          "\"failed to parse columns parameter ()\" (line 1, column 1) | unexpected end of input expecting field name (* or [a..z0..9_$])" },
        { false, "columns=a,",
          "\"failed to parse columns parameter (a,)\" (line 1, column 3) | unexpected end of input expecting field name (* or [a..z0..9_$])" },
        { false, "columns=a,b",
          "OK" },
        { false, "on_conflict=",
          "\"failed to parse on_conflict parameter ()\" (line 1, column 1) | unexpected end of input expecting field name (* or [a..z0..9_$])" },
        { false, "on_conflict=a,b",
          "OK" },
        { false, "on_conflict=a..b",
          "OK" },
        { false, "id=0",
          "\"failed to parse filter (0)\" (line 1, column 1) | unexpected \"0\" expecting \"not\" or operator (eq, gt, ...)" },
        { false, "id=",
          "\"failed to parse filter ()\" (line 1, column 1) | unexpected end of input expecting \"not\" or operator (eq, gt, ...)" },
        { false, "id",
          "OK" },
        { false, "id=eq.1&id=x",
          "\"failed to parse filter (x)\" (line 1, column 1) | unexpected \"x\" expecting \"not\" or operator (eq, gt, ...)" },
        { false, "a..b=eq.1",
          "\"failed to parse tree path (a..b)\" (line 1, column 3) | unexpected \".\" expecting field name (* or [a..z0..9_$])" },
        { false, "=eq.1",
          "\"failed to parse tree path ()\" (line 1, column 1) | unexpected end of input expecting field name (* or [a..z0..9_$])" },
        { false, "a->=eq.1",
          "\"failed to parse tree path (a->)\" (line 1, column 4) | unexpected end of input expecting \"-\", digit or any non reserved character different from: .,>()" },
        { false, "a.b.c->d=eq.1",
          "OK" },
        { false, "limit=x",
          "OK" },
        { false, "offset=x",
          "OK" },
        { false, "a.limit=x&a.offset=-3",
          "OK" },
        { false, "select=a&select=b(",
          "OK" },
        { false, "select&select=a(",
          "OK" },
        { false, "columns&columns=,",
          "OK" },
        { false, "or=&and=",
          "\"failed to parse logic tree ()\" (line 1, column 3) | unexpected end of input expecting \"(\"" },
        { false, "order=",
          "\"failed to parse order ()\" (line 1, column 1) | unexpected end of input expecting field name (* or [a..z0..9_$])" },
        { false, "x=eq.1&&&y=eq.2",
          "OK" },
        { false, "x=eq.1;y=bad",
          "\"failed to parse filter (bad)\" (line 1, column 1) | unexpected \"b\" expecting \"not\" or operator (eq, gt, ...)" },
        // which error wins: order, logic, columns, select, filters, on_conflict
        { false, "on_conflict=,&id=bad&select=a(&columns=,&or=()&order=.",
          "\"failed to parse order (.)\" (line 1, column 1) | unexpected \".\" expecting field name (* or [a..z0..9_$])" },
        { false, "on_conflict=,&id=bad&select=a(&columns=,&or=()",
          "\"failed to parse logic tree (())\" (line 1, column 4) | unexpected \")\" expecting field name (* or [a..z0..9_$]), negation operator (not) or logic operator (and, or)" },
        { false, "on_conflict=,&id=bad&select=a(&columns=,",
          "\"failed to parse columns parameter (,)\" (line 1, column 1) | unexpected \",\" expecting field name (* or [a..z0..9_$])" },
        { false, "on_conflict=,&id=bad&select=a(",
          "\"failed to parse select parameter (a()\" (line 1, column 3) | unexpected end of input expecting \"...\", field name (* or [a..z0..9_$]), \"*\", \"count()\" or \")\"" },
        { false, "on_conflict=,&id=bad",
          "\"failed to parse filter (bad)\" (line 1, column 1) | unexpected \"b\" expecting \"not\" or operator (eq, gt, ...)" },
        { false, "b=bad&a=bad",
          "\"failed to parse filter (bad)\" (line 1, column 1) | unexpected \"b\" expecting \"not\" or operator (eq, gt, ...)" },
        { false, "b.order=.&a.order=,",
          "\"failed to parse order (.)\" (line 1, column 1) | unexpected \".\" expecting field name (* or [a..z0..9_$])" },
        // percent-encoding and +
        { false, "select=a%28",
          "\"failed to parse select parameter (a()\" (line 1, column 3) | unexpected end of input expecting \"...\", field name (* or [a..z0..9_$]), \"*\", \"count()\" or \")\"" },
        { false, "select=a+b(",
          "\"failed to parse select parameter (a b()\" (line 1, column 5) | unexpected end of input expecting \"...\", field name (* or [a..z0..9_$]), \"*\", \"count()\" or \")\"" },
        { false, "a%2Bb=bad",
          "\"failed to parse filter (bad)\" (line 1, column 1) | unexpected \"b\" expecting \"not\" or operator (eq, gt, ...)" },
        { false, "a=eq.%",
          "OK" },
        { false, "a=%zz",
          "\"failed to parse filter (%zz)\" (line 1, column 1) | unexpected \"%\" expecting \"not\" or operator (eq, gt, ...)" },
        { false, "a=%2",
          "\"failed to parse filter (%2)\" (line 1, column 1) | unexpected \"%\" expecting \"not\" or operator (eq, gt, ...)" },
        { false, "a=%C3%A9",
          "\"failed to parse filter (\u00E9)\" (line 1, column 1) | unexpected \"\\233\" expecting \"not\" or operator (eq, gt, ...)" },
        { false, "select=%22a%22,b(",
          "\"failed to parse select parameter (\"a\",b()\" (line 1, column 7) | unexpected end of input expecting \"...\", field name (* or [a..z0..9_$]), \"*\", \"count()\" or \")\"" },
        { false, "select=a%2Cb(",
          "\"failed to parse select parameter (a,b()\" (line 1, column 5) | unexpected end of input expecting \"...\", field name (* or [a..z0..9_$]), \"*\", \"count()\" or \")\"" },
        { false, "%73elect=a(",
          "\"failed to parse select parameter (a()\" (line 1, column 3) | unexpected end of input expecting \"...\", field name (* or [a..z0..9_$]), \"*\", \"count()\" or \")\"" },
        { false, "a%3Db=bad",
          "\"failed to parse filter (bad)\" (line 1, column 1) | unexpected \"b\" expecting \"not\" or operator (eq, gt, ...)" },
        { false, "a=1%3D2",
          "\"failed to parse filter (1=2)\" (line 1, column 1) | unexpected \"1\" expecting \"not\" or operator (eq, gt, ...)" },
        { false, "a=%00",
          "\"failed to parse filter (\u0000)\" (line 1, column 1) | unexpected \"\\NUL\" expecting \"not\" or operator (eq, gt, ...)" },
        { false, "a=%01",
          "\"failed to parse filter (\u0001)\" (line 1, column 1) | unexpected \"\\SOH\" expecting \"not\" or operator (eq, gt, ...)" },
        { false, "a=%7F",
          "\"failed to parse filter (\u007F)\" (line 1, column 1) | unexpected \"\\DEL\" expecting \"not\" or operator (eq, gt, ...)" },
        { false, "a=%09",
          "\"failed to parse filter (\u0009)\" (line 1, column 1) | unexpected \"\\t\" expecting \"not\" or operator (eq, gt, ...)" },
        { false, "select=%09a(",
          "\"failed to parse select parameter (\u0009a()\" (line 1, column 11) | unexpected end of input expecting \"...\", field name (* or [a..z0..9_$]), \"*\", \"count()\" or \")\"" },
        { false, "select=a%0Ab(",
          "\"failed to parse select parameter (a\u000Ab()\" (line 1, column 2) | unexpected '\\n' expecting letter, digit, \"-\", \"->>\", \"->\", \"::\", \".\", \")\", \",\" or end of input" },
        { false, "a=%F0%9F%98%80",
          "\"failed to parse filter (\U0001F600)\" (line 1, column 1) | unexpected \"\\128512\" expecting \"not\" or operator (eq, gt, ...)" },
        // quotes and control characters in messages
        { false, "select=a%22b(",
          "\"failed to parse select parameter (a\"b()\" (line 1, column 2) | unexpected '\"' expecting letter, digit, \"-\", \"->>\", \"->\", \"::\", \".\", \")\", \",\" or end of input" },
        { false, "select=a%5Cb(",
          "\"failed to parse select parameter (a\\b()\" (line 1, column 2) | unexpected '\\\\' expecting letter, digit, \"-\", \"->>\", \"->\", \"::\", \".\", \")\", \",\" or end of input" },
        { false, "a=%22",
          "\"failed to parse filter (\")\" (line 1, column 1) | unexpected \"\\\"\" expecting \"not\" or operator (eq, gt, ...)" },
        { false, "or=(a.eq.\"x)",
          "OK" },
        { false, "or=(a.eq.\"x\"",
          "\"failed to parse logic tree ((a.eq.\"x\")\" (line 1, column 12) | unexpected end of input expecting \",\" or \")\"" },
        { false, "select=\"a",
          "\"failed to parse select parameter (\"a)\" (line 1, column 3) | unexpected end of input expecting \"\\\\\" or \"\\\"\"" },
        { false, "select=a->\"b",
          "\"failed to parse select parameter (a->\"b)\" (line 1, column 6) | unexpected end of input expecting \"\\\\\" or \"\\\"\"" },
        { false, "order=\"a",
          "\"failed to parse order (\"a)\" (line 1, column 3) | unexpected end of input expecting \"\\\\\" or \"\\\"\"" },
        { false, "columns=\"a",
          "\"failed to parse columns parameter (\"a)\" (line 1, column 3) | unexpected end of input expecting \"\\\\\" or \"\\\"\"" },
        { false, "select=%01",
          "OK" },
        { false, "order=%01",
          "\"failed to parse order (\u0001)\" (line 1, column 1) | unexpected \"\\SOH\" expecting field name (* or [a..z0..9_$])" },
        { false, "or=(%01)",
          "\"failed to parse logic tree ((\u0001))\" (line 1, column 4) | unexpected \"\\SOH\" expecting field name (* or [a..z0..9_$]), negation operator (not) or logic operator (and, or)" },
        { false, "select=a%01",
          "\"failed to parse select parameter (a\u0001)\" (line 1, column 2) | unexpected '\\SOH' expecting letter, digit, \"-\", \"->>\", \"->\", \"::\", \".\", \")\", \",\" or end of input" },
        { false, "select=%C3%A9(",
          "\"failed to parse select parameter (\u00E9()\" (line 1, column 3) | unexpected end of input expecting \"...\", field name (* or [a..z0..9_$]), \"*\", \"count()\" or \")\"" },
        { false, "select=a->%C3%A9%25(",
          "\"failed to parse select parameter (a->\u00E9%()\" (line 1, column 6) | unexpected '(' expecting \"->>\", \"->\", \"::\", \".\", \")\", \",\" or end of input" },
        // RPC reads: values without an operator are arguments, but not. / in. / is. commit to an operator
        { true, "id=val",
          "OK" },
        { true, "id=1",
          "OK" },
        { true, "id=eq.1",
          "OK" },
        { true, "id=not.val",
          "\"failed to parse filter (not.val)\" (line 1, column 5) | unexpected \"v\" expecting operator (eq, gt, ...)" },
        { true, "id=not.eq.1",
          "OK" },
        { true, "id=in.val",
          "\"failed to parse filter (in.val)\" (line 1, column 4) | unexpected \"v\" expecting \"(\"" },
        { true, "id=in.(1)",
          "OK" },
        { true, "id=is.val",
          "\"failed to parse filter (is.val)\" (line 1, column 4) | unexpected \"v\" expecting isVal: (null, not_null, true, false, unknown)" },
        { true, "id=is.null",
          "OK" },
        { true, "id=isdistinct",
          "OK" },
        { true, "id=fts(x",
          "OK" },
        { true, "id=",
          "OK" },
        { true, "id=noteq",
          "OK" },
        { true, "id=not",
          "OK" },
        { true, "id=in",
          "OK" },
        { true, "id=is",
          "OK" },
        { true, "a..b=x",
          "\"failed to parse tree path (a..b)\" (line 1, column 3) | unexpected \".\" expecting field name (* or [a..z0..9_$])" },
        { true, "id=eq(any)x",
          "OK" },
        { true, "id=cs.x",
          "OK" },
        { true, "id=neq",
          "OK" },
        { true, "select=a(&id=not.val",
          "\"failed to parse select parameter (a()\" (line 1, column 3) | unexpected end of input expecting \"...\", field name (* or [a..z0..9_$]), \"*\", \"count()\" or \")\"" },
        // unbalanced parentheses and quotes, NUL and control characters (PostgREST ignores text after a complete select/columns/logic value)
        { false, "select=a)b",
          "OK" },
        { false, "select=a(b",
          "\"failed to parse select parameter (a(b)\" (line 1, column 4) | unexpected end of input expecting letter, digit, \"-\", \"->>\", \"->\", \"::\", \".\", \")\", \",\" or end of input" },
        { false, "select=a(b))",
          "OK" },
        { false, "select=a(b,c(d)",
          "\"failed to parse select parameter (a(b,c(d))\" (line 1, column 9) | unexpected end of input expecting \",\" or \")\"" },
        { false, "select=((a))",
          "OK" },
        { false, "select=)",
          "OK" },
        { false, "select=(",
          "OK" },
        { false, "a%00=eq.1",
          "OK" },
        { false, "a=eq.%00",
          "OK" },
        { false, "select=a%00",
          "\"failed to parse select parameter (a\u0000)\" (line 1, column 2) | unexpected '\\NUL' expecting letter, digit, \"-\", \"->>\", \"->\", \"::\", \".\", \")\", \",\" or end of input" },
        { false, "select=%00",
          "OK" },
        { false, "or=(a.eq.1))",
          "OK" },
        { false, "or=((a.eq.1)",
          "\"failed to parse logic tree (((a.eq.1))\" (line 1, column 4) | unexpected \"(\" expecting field name (* or [a..z0..9_$]), negation operator (not) or logic operator (and, or)" },
        { false, "or=(a.eq.1,(b.eq.2))",
          "\"failed to parse logic tree ((a.eq.1,(b.eq.2)))\" (line 1, column 11) | unexpected \"(\" expecting field name (* or [a..z0..9_$]), negation operator (not) or logic operator (and, or)" },
        { false, "or=(a.eq.1",
          "\"failed to parse logic tree ((a.eq.1)\" (line 1, column 10) | unexpected end of input expecting \",\" or \")\"" },
        { false, "or=(a.eq.(1)",
          "OK" },
        { false, "order=a)",
          "\"failed to parse order (a))\" (line 1, column 2) | unexpected ')' expecting letter, digit, \"-\", \"->>\", \"->\", delimiter (.), \",\" or end of input" },
        { false, "order=a(",
          "\"failed to parse order (a()\" (line 1, column 2) | unexpected '(' expecting letter, digit, \"-\", \"->>\", \"->\", delimiter (.), \",\" or end of input" },
        { false, "order=a(b",
          "\"failed to parse order (a(b)\" (line 1, column 2) | unexpected '(' expecting letter, digit, \"-\", \"->>\", \"->\", delimiter (.), \",\" or end of input" },
        { false, "a=in.(1,2",
          "\"failed to parse filter (in.(1,2)\" (line 1, column 8) | unexpected end of input expecting \",\" or \")\"" },
        { false, "a=in.(\"1)",
          "OK" },
        { false, "a=in.((\"1\"))",
          "OK" },
        { false, "columns=a)b",
          "OK" },
        { false, "columns=(a)",
          "\"failed to parse columns parameter ((a))\" (line 1, column 1) | unexpected \"(\" expecting field name (* or [a..z0..9_$])" },
        { false, "a=eq.\"",
          "OK" },
        { false, "a=like.%27",
          "OK" },
        { false, "on_conflict=%22a",
          "\"failed to parse on_conflict parameter (\"a)\" (line 1, column 3) | unexpected end of input expecting \"\\\\\" or \"\\\"\"" },
        { false, "select=a%1Fb",
          "\"failed to parse select parameter (a\u001Fb)\" (line 1, column 2) | unexpected '\\US' expecting letter, digit, \"-\", \"->>\", \"->\", \"::\", \".\", \")\", \",\" or end of input" },
        { false, "select=a%0Db(",
          "\"failed to parse select parameter (a\u000Db()\" (line 1, column 2) | unexpected '\\r' expecting letter, digit, \"-\", \"->>\", \"->\", \"::\", \".\", \")\", \",\" or end of input" },
        { false, "a=%1B[31m",
          "\"failed to parse filter (\u001B[31m)\" (line 1, column 1) | unexpected \"\\ESC\" expecting \"not\" or operator (eq, gt, ...)" },

    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Query_string_error_matches_PostgREST(bool isRpcRead, string query, string expected) =>
        Assert.Equal(expected, GrammarRunner.QueryError(isRpcRead, query));

    [Fact]
    public void Parse_errors_are_PGRST100_with_status_400_and_details()
    {
        var e = Assert.Throws<ApiError>(() => QueryParams.Parse(false, "order=id.asc.nullslasttt"));
        Assert.Equal(400, e.Status);
        Assert.Equal("PGRST100", e.Code);
        Assert.Equal("\"failed to parse order (id.asc.nullslasttt)\" (line 1, column 17)", e.Message);
        Assert.Equal("\"unexpected 't' expecting \\\",\\\" or end of input\"", e.DetailsJson);
        Assert.Null(e.HintJson);
    }

    public static TheoryData<string, string> Canonical => new()
    {
        // raw query string (parsed as an RPC read so that any value is accepted), PostgREST's qsCanonical
        { "a=1&c=3&b=2&d", "a=1&b=2&c=3&d=" },
        { "select=id,name&id=eq.1&order=id.desc", "id=eq.1&order=id.desc&select=id%2Cname" },
        { "b=2&a=1&b=1", "a=1&b=2,1" },
        { "a=%20x+y", "a=%20x%20y" },
        { "a=~-_.!*()%27", "a=~-_.%21%2A%28%29%27" },
        { "", "" },
        { "d&c=&b", "b=&c=&d=" },
        { "z=1&Z=2&_=3&0=4", "0=4&Z=2&_=3&z=1" },
        { "a=1&a&a=2", "a=1,,2" },
        { "a=%2B%26%3D%25", "a=%2B%26%3D%25" },
        { "a=1;b=2", "a=1&b=2" },
        { "?a=1", "a=1" },
        { "a=%zz", "a=%25zz" },
        { "a==1", "a=%3D1" },
        // Network.HTTP's urlEncodeVars sees the raw bytes as Latin-1 characters, so non-ASCII is UTF-8 encoded twice.
        { "x=%C3%A9&%C3%A9=1", "x=%C3%83%C2%A9&%C3%83%C2%A9=1" },
        { "x=%F0%9F%98%80", "x=%C3%B0%C2%9F%C2%98%C2%80" },
    };

    [Theory]
    [MemberData(nameof(Canonical))]
    public void Canonical_query_string_matches_PostgREST(string query, string expected) =>
        Assert.Equal(expected, QueryParams.Parse(true, query).Canonical);

    [Fact]
    public void Reserved_names_are_only_reserved_as_whole_keys_or_last_words()
    {
        var qp = QueryParams.Parse(true, "a.select=eq.1&order.x=eq.1&on_conflict.x=eq.2&select=a&x.limit.y=eq.3&columns.z=is.null");
        Assert.Equal(
            "[([\"a\"],Filter {field = (\"select\",[]), opExpr = OpExpr False (OpQuant OpEqual Nothing \"1\")}),"
            + "([\"order\"],Filter {field = (\"x\",[]), opExpr = OpExpr False (OpQuant OpEqual Nothing \"1\")}),"
            + "([\"on_conflict\"],Filter {field = (\"x\",[]), opExpr = OpExpr False (OpQuant OpEqual Nothing \"2\")}),"
            + "([\"x\",\"limit\"],Filter {field = (\"y\",[]), opExpr = OpExpr False (OpQuant OpEqual Nothing \"3\")}),"
            + "([\"columns\"],Filter {field = (\"z\",[]), opExpr = OpExpr False (Is IsNull)})]",
            ShowFilters(qp));
        Assert.Empty(qp.RpcParams);
        Assert.Empty(qp.FiltersRoot);
    }

    [Fact]
    public void Order_and_logic_parameters_keep_their_embed_paths()
    {
        var qp = QueryParams.Parse(false, "clients.order=name.desc,id&order=id&clients.not.or=(a.eq.1,b.eq.2)&and=(c.eq.3)");
        Assert.Equal(
            "[([\"clients\"],[OrderTerm {otTerm = (\"name\",[]), otDirection = Just OrderDesc, otNullOrder = Nothing},OrderTerm {otTerm = (\"id\",[]), otDirection = Nothing, otNullOrder = Nothing}]),"
            + "([],[OrderTerm {otTerm = (\"id\",[]), otDirection = Nothing, otNullOrder = Nothing}])]",
            ShowOrder(qp));
        Assert.Equal(
            "[([\"clients\"],Expr True Or [Stmnt (Filter {field = (\"a\",[]), opExpr = OpExpr False (OpQuant OpEqual Nothing \"1\")}),Stmnt (Filter {field = (\"b\",[]), opExpr = OpExpr False (OpQuant OpEqual Nothing \"2\")})]),"
            + "([],Expr False And [Stmnt (Filter {field = (\"c\",[]), opExpr = OpExpr False (OpQuant OpEqual Nothing \"3\")})])]",
            ShowLogic(qp));
        Assert.Empty(qp.Filters);
    }

    [Fact]
    public void Rpc_read_arguments_are_values_without_an_operator_named_by_their_last_field()
    {
        var qp = QueryParams.Parse(true, "a=1&b.c=2&d=eq.3&e->f=4&g=not.eq.5");
        Assert.Equal("[(\"a\",\"1\"),(\"c\",\"2\"),(\"e\",\"4\")]", ShowRpc(qp));
        Assert.Equal(
            "[([],Filter {field = (\"d\",[]), opExpr = OpExpr False (OpQuant OpEqual Nothing \"3\")}),([],Filter {field = (\"g\",[]), opExpr = OpExpr True (OpQuant OpEqual Nothing \"5\")})]",
            ShowFilters(qp));
    }

    [Fact]
    public void Filter_keeps_its_raw_value_and_root_filters_are_those_without_a_path()
    {
        var qp = QueryParams.Parse(false, "id=not.eq.5&clients.name=like.*x*");
        Assert.Equal("not.eq.5", qp.Filters[0].Filter.Expr.RawValue);
        Assert.Equal(["id"], qp.FiltersRoot.Select(f => f.Field.Name));
    }

    [Fact]
    public void Select_defaults_to_star_and_the_first_select_wins()
    {
        Assert.Equal("[Node {rootLabel = SelectField {selField = (\"*\",[]), selAggregateFunction = Nothing, selAggregateCast = Nothing, selCast = Nothing, selAlias = Nothing}, subForest = []}]",
            HsShow.Forest(QueryParams.Parse(false, "").Select));
        Assert.Equal("[]", HsShow.Forest(QueryParams.Parse(false, "select=").Select));
        Assert.Equal("b", ((SelectField)QueryParams.Parse(false, "select=b&select=c(").Select[0]).Field.Name);
        // A first "select" without "=" has no value: the default applies and later selects are ignored.
        Assert.Equal("*", ((SelectField)QueryParams.Parse(false, "select&select=c(").Select[0]).Field.Name);
    }

    [Fact]
    public void Columns_and_on_conflict_are_field_name_lists()
    {
        var qp = QueryParams.Parse(false, "columns=a, b,\"c,d\"&on_conflict=x,y");
        Assert.Equal(new[] { "a", "b", "c,d" }, qp.Columns!.Value.ToArray());
        Assert.Equal(new[] { "x", "y" }, qp.OnConflict!.Value.ToArray());
        Assert.Null(QueryParams.Parse(false, "a=eq.1").Columns);
        Assert.Null(QueryParams.Parse(false, "a=eq.1").OnConflict);
    }

    public static TheoryData<string, string> Ranges => new()
    {
        // query string, ranges per key (lower..upper, upper inclusive) as PostgREST's qsRanges holds them
        { "limit=10", "limit=0..9" },
        { "offset=5", "limit=5.." },
        { "limit=10&offset=5", "limit=5..14" },
        { "offset=5&limit=10", "limit=5..14" },
        { "limit=0", "limit=0..-1" },
        { "limit=0&offset=3", "limit=3..2" },
        { "limit=x", "limit=0.." },
        { "offset=x", "limit=0.." },
        // limit=x has no limit (rangeLimit is Nothing), so the combination takes 0 rows: o..o-1
        { "limit=x&offset=2", "limit=2..1" },
        { "limit=", "limit=0.." },
        { "limit", "" },
        { "limit=1&limit=5", "limit=0..4" },
        { "clients.limit=2&clients.offset=1", "clients.limit=1..2" },
        { "x.offset=3", "x.limit=3.." },
        { "a.b.limit=3&limit=1", "a.b.limit=0..2 limit=0..0" },
        { "limit=-1", "limit=0..-2" },
        // Haskell's readMaybe :: Integer: surrounding spaces (and + as space), parentheses, "- n", hex and octal literals.
        { "limit=+7", "limit=0..6" },
        { "limit=%207%20", "limit=0..6" },
        { "limit=(5)", "limit=0..4" },
        { "limit=(%20(5)%20)", "limit=0..4" },
        { "limit=-%201&offset=3", "limit=3..1" },
        { "limit=0x10", "limit=0..15" },
        { "limit=0O17", "limit=0..14" },
        { "limit=1e3", "limit=0.." },
        { "limit=1.0", "limit=0.." },
        { "limit=%2B5", "limit=0.." },
        { "limit=5x", "limit=0.." },
        { "limit=0b1", "limit=0.." },
        { "offset=%205&limit=(2)", "limit=5..6" },
    };

    [Theory]
    [MemberData(nameof(Ranges))]
    public void Limit_and_offset_combine_like_PostgREST(string query, string expected) =>
        Assert.Equal(expected, ShowRanges(QueryParams.Parse(false, query)));
}
