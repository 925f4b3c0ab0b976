using System.Diagnostics;
using System.Text;
using Restgres.Errors;
using Restgres.Requests;
using Xunit;

namespace Restgres.Tests.Requests;

/// <summary>
/// Hostile and malformed input: huge query strings, thousands of filters, invalid UTF-8, deep nesting, unbalanced
/// parentheses and quotes, control characters. Each ends quickly, either parsed or with a 4xx <see cref="ApiError"/>
/// (PGRST100), never with another exception and never with a stack overflow (which would kill the server).
/// </summary>
public sealed class BadInputTests
{
    // Generous for a loaded CI machine and a Debug build (these take well under a second on a quiet one); it catches
    // quadratic or exponential behaviour, which would take minutes at these sizes.
    private static readonly TimeSpan Quickly = TimeSpan.FromSeconds(10);

    /// <summary>Parses and returns the ApiError, or null when the query parsed; fails on any other exception or when slow.</summary>
    private static ApiError? Outcome(Action parse)
    {
        var sw = Stopwatch.StartNew();
        ApiError? error = null;
        try
        {
            parse();
        }
        catch (ApiError e)
        {
            error = e;
        }
        sw.Stop();
        Assert.True(sw.Elapsed < Quickly, $"took {sw.Elapsed}");
        if (error is not null)
        {
            Assert.InRange(error.Status, 400, 499);
            Assert.Equal("PGRST100", error.Code);
        }
        return error;
    }

    private static ApiError Rejected(string query, bool isRpcRead = false) =>
        Outcome(() => QueryParams.Parse(isRpcRead, query)) ?? throw new Xunit.Sdk.XunitException($"expected PGRST100 for {query[..Math.Min(80, query.Length)]}");

    private static string Repeat(string s, int n) => new StringBuilder(s.Length * n).Insert(0, s, n).ToString();

    [Fact]
    public void A_64_KB_select_with_a_missing_parenthesis_is_rejected()
    {
        var query = "select=" + Repeat("column_name,", 64 * 1024 / 12) + "rel(a";
        Assert.True(query.Length > 64 * 1024);
        var e = Rejected(query);
        Assert.EndsWith($"(line 1, column {query.Length - "select=".Length + 1})", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_64_KB_filter_value_parses()
    {
        var value = Repeat("x", 64 * 1024);
        var qp = QueryParams.Parse(false, "name=eq." + value);
        Assert.Equal(value, ((QuantOp)qp.Filters[0].Filter.Expr.Operation!).Value);
    }

    [Fact]
    public void A_64_KB_in_list_and_logic_tree_parse()
    {
        var list = string.Join(",", Enumerable.Range(0, 14_000));
        Assert.True(list.Length > 64 * 1024);
        var qp = QueryParams.Parse(false, "id=in.(" + list + ")&or=(" + string.Join(",", Enumerable.Range(0, 6_000).Select(i => $"a.eq.{i}")) + ")");
        Assert.Equal(14_000, ((InOp)qp.Filters[0].Filter.Expr.Operation!).Values.Length);
        Assert.Equal(6_000, ((LogicExpr)qp.Logic[0].Tree).Children.Length);
    }

    [Fact]
    public void A_64_KB_json_path_parses()
    {
        var qp = QueryParams.Parse(false, "select=data" + Repeat("->k", 64 * 1024 / 3));
        Assert.Equal(64 * 1024 / 3, ((SelectField)qp.Select[0]).Field.JsonPath.Length);
    }

    [Fact]
    public void Five_thousand_filters_parse_and_a_bad_last_one_is_reported()
    {
        var filters = string.Join("&", Enumerable.Range(0, 5_000).Select(i => $"c{i}=eq.{i}"));
        Assert.Null(Outcome(() => Assert.Equal(5_000, QueryParams.Parse(false, filters).Filters.Length)));
        var e = Rejected(filters + "&last=bad");
        Assert.Equal("\"failed to parse filter (bad)\" (line 1, column 1)", e.Message);
    }

    [Fact]
    public void Five_thousand_rpc_arguments_and_repeated_keys_parse()
    {
        Assert.Null(Outcome(() => Assert.Equal(5_000, QueryParams.Parse(true, string.Join("&", Enumerable.Range(0, 5_000).Select(i => $"arg{i}={i}"))).RpcParams.Length)));
        Assert.Null(Outcome(() => Assert.StartsWith("a=eq.0,eq.1,", QueryParams.Parse(false, string.Join("&", Enumerable.Range(0, 5_000).Select(i => $"a=eq.{i}"))).Canonical, StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("a=eq.%FF")]
    [InlineData("a=eq.%C3")]
    [InlineData("a=eq.%C3%28")]
    [InlineData("a=eq.%E2%82")]
    [InlineData("a=eq.%ED%A0%80")] // an encoded UTF-16 surrogate
    [InlineData("a=eq.%F4%90%80%80")] // above U+10FFFF
    [InlineData("a=eq.%C0%AF")] // overlong "/"
    [InlineData("a=eq.%80")]
    [InlineData("%FF=eq.1")]
    [InlineData("select=%FE")]
    [InlineData("order=a&or=(a.eq.%C3)")]
    public void Invalid_utf8_in_the_query_string_is_a_PGRST100(string query)
    {
        var e = Rejected(query);
        Assert.Equal(400, e.Status);
    }

    [Theory]
    [InlineData("select=", "a(", ")")]
    [InlineData("select=", "...a(", ")")]
    [InlineData("select=", "x:a!inner(b,", ")")]
    [InlineData("or=", "(or", ")")]
    [InlineData("and=", "(a.eq.1,not.and", ")")]
    [InlineData("a.b.not.or=", "(and", ")")]
    public void Deep_nesting_fails_as_a_parse_error_without_overflowing_the_stack(string key, string open, string close)
    {
        // PostgREST has no limit; 100 levels parse, 101 and 10,000 and 100,000 are PGRST100 errors (never a stack overflow).
        string Query(int depth) => key + Repeat(open, depth) + (key.StartsWith('s') ? "b" : "(c.eq.1)") + Repeat(close, depth);
        Assert.Null(Outcome(() => QueryParams.Parse(false, Query(Parsec.MaxNesting - (key.StartsWith('s') ? 0 : 1)))));
        foreach (var depth in new[] { Parsec.MaxNesting + 1, 10_000, 100_000 })
        {
            var e = Rejected(Query(depth));
            Assert.Equal("\"nesting too deep: more than 100 levels of parentheses\"", e.DetailsJson);
        }
    }

    [Fact]
    public void Deep_nesting_reports_the_position_of_the_parenthesis_too_many()
    {
        var e = Rejected("select=" + Repeat("a(", 101) + "b" + Repeat(")", 101));
        Assert.Equal("\"failed to parse select parameter (" + Repeat("a(", 101) + "b" + Repeat(")", 101) + ")\" (line 1, column 202)", e.Message);
    }

    [Fact]
    public void Deep_nesting_is_caught_even_on_a_small_stack()
    {
        // A 256 KB thread cannot hold 100 levels: the stack check turns that into PGRST100 as well.
        Exception? caught = null;
        var t = new Thread(() =>
        {
            try
            {
                QueryParams.Parse(false, "select=" + Repeat("a(", 100) + "b" + Repeat(")", 100));
            }
            catch (Exception e)
            {
                caught = e;
            }
        }, 256 * 1024);
        t.Start();
        t.Join();
        Assert.True(caught is null or ApiError { Code: "PGRST100" }, caught?.ToString());
    }

    [Fact]
    public void Deep_nesting_where_the_grammar_does_not_recurse_is_harmless()
    {
        // Parenthesised and braced values, quoted text and order terms are read by loops, not recursion.
        Assert.Null(Outcome(() => QueryParams.Parse(false, "a=in.(" + Repeat("(", 100_000) + ")")));
        Assert.Null(Outcome(() => QueryParams.Parse(false, "or=(a.cs.{" + Repeat("[", 100_000) + "})")));
        Assert.Null(Outcome(() => QueryParams.Parse(false, "a=eq." + Repeat("(", 100_000))));
        Rejected("order=" + Repeat("a(", 10_000));
        // A select that starts with "(" has no items: PostgREST's pFieldForest stops there and ignores the rest.
        Assert.Null(Outcome(() => Assert.Empty(QueryParams.Parse(false, "select=" + Repeat("(", 100_000)).Select)));
        Rejected("or=(" + Repeat("not.", 100_000) + ")");
    }

    [Theory]
    [InlineData("select=a(b")]
    [InlineData("select=a(b,c(d)")]
    [InlineData("select=\"a")]
    [InlineData("select=a->\"b")]
    [InlineData("or=((a.eq.1)")]
    [InlineData("or=(a.eq.1")]
    [InlineData("or=(a.eq.\"x")]
    [InlineData("order=a(")]
    [InlineData("order=a(b")]
    [InlineData("order=\"a")]
    [InlineData("a=in.(1,2")]
    [InlineData("a=in.(\"1\"")]
    [InlineData("columns=\"a")]
    [InlineData("on_conflict=%22a")]
    [InlineData("a=eq(any.1")]
    [InlineData("a=fts(english.x")]
    public void Unbalanced_parentheses_and_quotes_are_rejected(string query) => Rejected(query);

    [Theory]
    [InlineData("select=a)b")]
    [InlineData("select=a(b))")]
    [InlineData("or=(a.eq.1))")]
    [InlineData("columns=a)b")]
    [InlineData("a=eq.\"")]
    [InlineData("a=in.(\"1)")]
    public void Text_after_a_complete_value_is_ignored_as_PostgREST_does(string query) =>
        Assert.Null(Outcome(() => QueryParams.Parse(false, query)));

    [Theory]
    [InlineData("select=a%00")]
    [InlineData("select=a%1Fb")]
    [InlineData("order=%01")]
    [InlineData("or=(%7F)")]
    [InlineData("a=%1B[31m")]
    [InlineData("%01=eq.1")]
    [InlineData("a=%0A")]
    public void Control_characters_are_rejected(string query) => Rejected(query);

    [Theory]
    [InlineData("a%00=eq.1")]
    [InlineData("select=%00")]
    [InlineData("a=eq.%00%01%1F%7F")]
    [InlineData("a=eq.\uD800")] // a lone surrogate in the raw string
    [InlineData("a=eq.\uDC00%20")]
    [InlineData("a=in.(\uD800,\"\uDFFF\")")]
    [InlineData("a=eq.\U0001F600&b=in.(\U0001F600,\"\U0001F600\")&\u00E9=eq.\U0001F600")]
    public void Control_characters_and_lone_surrogates_in_values_do_not_throw(string query) =>
        Assert.Null(Outcome(() => QueryParams.Parse(false, query)));

    [Theory]
    [InlineData("select=a\uD800(")]
    [InlineData("select=a->\uDC00(")]
    [InlineData("order=\uD800")]
    [InlineData("or=(\uD800)")]
    [InlineData("a=\uD800")]
    public void Lone_surrogates_in_errors_do_not_throw(string query) => Rejected(query);

    [Fact]
    public void Huge_numbers_do_not_overflow()
    {
        var qp = Outcome(() => QueryParams.Parse(false, "limit=99999999999999999999999999&offset=99999999999999999999999999&a.limit=-99999999999999999999"));
        Assert.Null(qp);
        Assert.Null(Outcome(() => NonnegRange.ParseHeader("99999999999999999999-99999999999999999999")));
        Assert.Null(Outcome(() => Preferences.Parse(["max-affected=99999999999999999999999"], true)));
    }

    [Fact]
    public void Huge_headers_parse_quickly()
    {
        var accept = string.Join(",", Enumerable.Range(0, 10_000).Select(i => $"type{i}/sub;q=0.{i % 10}"));
        Assert.Null(Outcome(() => Assert.Equal(10_000, MediaType.ParseAccept(accept).Count)));
        var prefer = string.Join(",", Enumerable.Range(0, 10_000).Select(i => $"x{i}"));
        Assert.Null(Outcome(() => Assert.Equal(10_000, Preferences.Parse([prefer], true).Invalid.Count)));
        Assert.Null(Outcome(() => MediaType.Decode("application/vnd.pgrst.plan" + Repeat("; options=analyze", 10_000))));
    }

    [Fact]
    public void Four_hundred_thousand_parameters_in_reverse_key_order_parse_in_n_log_n()
    {
        // Insertion sort for the canonical query string and an ImmutableArray copy per filter were quadratic: ~8e10
        // steps here, minutes of CPU. n log n takes about a second on this machine, so the bound is far from both and a
        // loaded machine does not make it fail (this is a guard against the quadratic path, not a benchmark).
        var query = string.Join('&', Enumerable.Range(0, 400_000).Reverse().Select(i => $"k{i:D6}=eq.{i}"));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var qp = QueryParams.Parse(false, query);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), sw.Elapsed.ToString());
        Assert.Equal(400_000, qp.Filters.Length);
        Assert.StartsWith("k000000=eq.0&k000001=eq.1&", qp.Canonical, StringComparison.Ordinal);
        Assert.EndsWith("&k399999=eq.399999", qp.Canonical, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("select=id::int $a$")]
    [InlineData("select=id::$1")]
    [InlineData("select=id::text $$,title::text $$")]
    [InlineData("select=id.count()::int $x$")]
    [InlineData("select=id::9int")]
    public void A_cast_that_could_open_a_dollar_quote_is_rejected(string query)
    {
        var e = Rejected(query);
        Assert.Equal("PGRST100", e.Code);
        Assert.Contains("invalid cast type", e.Message + e.DetailsJson, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("select=id::int")]
    [InlineData("select=id::double precision")]
    [InlineData("select=id::timestamp with time zone")]
    [InlineData("select=id::_int4,b::int4$x")]
    [InlineData("select=total:id.sum()::bigint")]
    public void Type_names_are_accepted_as_casts(string query) => Assert.Null(Outcome(() => QueryParams.Parse(false, query)));
}

