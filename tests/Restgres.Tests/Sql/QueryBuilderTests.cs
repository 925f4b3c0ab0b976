using System.Collections.Immutable;
using Restgres.Catalog;
using Restgres.Plan;
using Restgres.Requests;
using Restgres.Sql;
using Xunit;

namespace Restgres.Tests.Sql;

/// <summary>
/// Plan → SQL text (PostgREST's Query/SqlFragment.hs: pgFmtFilter, pgFmtField, pgFmtSelectItem, pgFmtOrderTerm,
/// limitOffsetF, pgFmtLogicTree). Each case shows the SQL and its parameters; values only ever travel as parameters.
/// </summary>
public sealed class QueryBuilderTests
{
    private static readonly QualifiedIdentifier Qi = new("api", "items");

    private static CoercibleField Col(string name, params JsonOperation[] path) => CoercibleField.Unknown(name, [.. path]);

    private static JsonOperation Key(string k, bool text = false) => new(text, false, k);

    private static JsonOperation Idx(string i, bool text = false) => new(text, true, i);

    private static CoercibleFilter Flt(CoercibleField f, Operation op, bool not = false) => new(f, new OpExpr(not, op, ""));

    private static string Show(SqlBuilder sb) =>
        sb + " | " + string.Join(", ", sb.Params.Select(p => p.Value is null ? "NULL" : "'" + p.Value + "'"));

    private static string FilterSql(CoercibleFilter f)
    {
        var sb = new SqlBuilder();
        QueryBuilder.Filter(sb, Qi, f);
        return Show(sb);
    }

    public static TheoryData<string, object, string> Filters => new()
    {
        // case, filter, SQL | parameters
        { "eq", Flt(Col("a"), new QuantOp(QuantOperator.Equal, null, "1")), "\"api\".\"items\".\"a\" = $1 | '1'" },
        { "gt", Flt(Col("a"), new QuantOp(QuantOperator.GreaterThan, null, "1")), "\"api\".\"items\".\"a\" > $1 | '1'" },
        { "gte", Flt(Col("a"), new QuantOp(QuantOperator.GreaterThanEqual, null, "1")), "\"api\".\"items\".\"a\" >= $1 | '1'" },
        { "lt", Flt(Col("a"), new QuantOp(QuantOperator.LessThan, null, "1")), "\"api\".\"items\".\"a\" < $1 | '1'" },
        { "lte", Flt(Col("a"), new QuantOp(QuantOperator.LessThanEqual, null, "1")), "\"api\".\"items\".\"a\" <= $1 | '1'" },
        { "match", Flt(Col("a"), new QuantOp(QuantOperator.Match, null, "^a*")), "\"api\".\"items\".\"a\" ~ $1 | '^a*'" },
        { "imatch", Flt(Col("a"), new QuantOp(QuantOperator.IMatch, null, "^a*")), "\"api\".\"items\".\"a\" ~* $1 | '^a*'" },
        { "like: * becomes %", Flt(Col("a"), new QuantOp(QuantOperator.Like, null, "*a*b%")), "\"api\".\"items\".\"a\" like $1 | '%a%b%'" },
        { "ilike: * becomes %", Flt(Col("a"), new QuantOp(QuantOperator.ILike, null, "*A*")), "\"api\".\"items\".\"a\" ilike $1 | '%A%'" },
        { "eq(any)", Flt(Col("a"), new QuantOp(QuantOperator.Equal, Quantifier.Any, "{1,2}")), "\"api\".\"items\".\"a\" = ANY($1) | '{1,2}'" },
        { "gt(all)", Flt(Col("a"), new QuantOp(QuantOperator.GreaterThan, Quantifier.All, "{1,2}")), "\"api\".\"items\".\"a\" > ALL($1) | '{1,2}'" },
        { "like(any)", Flt(Col("a"), new QuantOp(QuantOperator.Like, Quantifier.Any, "{a*,*b}")), "\"api\".\"items\".\"a\" like ANY($1) | '{a%,%b}'" },
        { "ilike(all)", Flt(Col("a"), new QuantOp(QuantOperator.ILike, Quantifier.All, "{*x*}")), "\"api\".\"items\".\"a\" ilike ALL($1) | '{%x%}'" },
        { "neq", Flt(Col("a"), new SimpleOp(SimpleOperator.NotEqual, "1")), "\"api\".\"items\".\"a\" <> $1 | '1'" },
        { "cs", Flt(Col("a"), new SimpleOp(SimpleOperator.Contains, "{1}")), "\"api\".\"items\".\"a\" @> $1 | '{1}'" },
        { "cd", Flt(Col("a"), new SimpleOp(SimpleOperator.Contained, "{1}")), "\"api\".\"items\".\"a\" <@ $1 | '{1}'" },
        { "ov", Flt(Col("a"), new SimpleOp(SimpleOperator.Overlap, "[1,2]")), "\"api\".\"items\".\"a\" && $1 | '[1,2]'" },
        { "sl", Flt(Col("a"), new SimpleOp(SimpleOperator.StrictlyLeft, "(1,2)")), "\"api\".\"items\".\"a\" << $1 | '(1,2)'" },
        { "sr", Flt(Col("a"), new SimpleOp(SimpleOperator.StrictlyRight, "(1,2)")), "\"api\".\"items\".\"a\" >> $1 | '(1,2)'" },
        { "nxr", Flt(Col("a"), new SimpleOp(SimpleOperator.NotExtendsRight, "(1,2)")), "\"api\".\"items\".\"a\" &< $1 | '(1,2)'" },
        { "nxl", Flt(Col("a"), new SimpleOp(SimpleOperator.NotExtendsLeft, "(1,2)")), "\"api\".\"items\".\"a\" &> $1 | '(1,2)'" },
        { "adj", Flt(Col("a"), new SimpleOp(SimpleOperator.Adjacent, "(1,2)")), "\"api\".\"items\".\"a\" -|- $1 | '(1,2)'" },
        { "not.eq", Flt(Col("a"), new QuantOp(QuantOperator.Equal, null, "1"), not: true), "NOT \"api\".\"items\".\"a\" = $1 | '1'" },
        { "not.like", Flt(Col("a"), new QuantOp(QuantOperator.Like, null, "a*"), not: true), "NOT \"api\".\"items\".\"a\" like $1 | 'a%'" },
        // in: one array parameter, every element quoted and escaped; an empty list is ANY('{}').
        { "in", Flt(Col("a"), new InOp(["1", "2", "3"])), "\"api\".\"items\".\"a\" = ANY ($1)  | '{\"1\",\"2\",\"3\"}'" },
        { "in, quotes and backslashes", Flt(Col("a"), new InOp(["a,b", "c\"d", "e\\f", "NULL", ""])), "\"api\".\"items\".\"a\" = ANY ($1)  | '{\"a,b\",\"c\\\"d\",\"e\\\\f\",\"NULL\",\"\"}'" },
        { "in, NUL characters dropped", Flt(Col("a"), new InOp(["a\0b"])), "\"api\".\"items\".\"a\" = ANY ($1)  | '{\"ab\"}'" },
        { "in, empty list", Flt(Col("a"), new InOp([""])), "\"api\".\"items\".\"a\" = ANY('{}')  | " },
        { "not.in", Flt(Col("a"), new InOp(["1"]), not: true), "NOT \"api\".\"items\".\"a\" = ANY ($1)  | '{\"1\"}'" },
        // is: keywords, never parameters (IS cannot be prepared).
        { "is.null", Flt(Col("a"), new IsOp(IsValue.Null)), "\"api\".\"items\".\"a\" IS NULL | " },
        { "is.not_null", Flt(Col("a"), new IsOp(IsValue.NotNull)), "\"api\".\"items\".\"a\" IS NOT NULL | " },
        { "is.true", Flt(Col("a"), new IsOp(IsValue.True)), "\"api\".\"items\".\"a\" IS TRUE | " },
        { "is.false", Flt(Col("a"), new IsOp(IsValue.False)), "\"api\".\"items\".\"a\" IS FALSE | " },
        { "is.unknown", Flt(Col("a"), new IsOp(IsValue.Unknown)), "\"api\".\"items\".\"a\" IS UNKNOWN | " },
        { "not.is.null", Flt(Col("a"), new IsOp(IsValue.Null), not: true), "NOT \"api\".\"items\".\"a\" IS NULL | " },
        { "isdistinct", Flt(Col("a"), new IsDistinctOp("x")), "\"api\".\"items\".\"a\" IS DISTINCT FROM $1 | 'x'" },
        // full-text search, with the language as a parameter before the query text.
        { "fts", Flt(Col("a"), new FtsOp(FtsOperator.Fts, null, "cat & dog")), "\"api\".\"items\".\"a\" @@ to_tsquery($1)  | 'cat & dog'" },
        { "fts(english)", Flt(Col("a"), new FtsOp(FtsOperator.Fts, "english", "cat")), "\"api\".\"items\".\"a\" @@ to_tsquery($1, $2)  | 'english', 'cat'" },
        { "plfts", Flt(Col("a"), new FtsOp(FtsOperator.Plain, "simple", "fat cat")), "\"api\".\"items\".\"a\" @@ plainto_tsquery($1, $2)  | 'simple', 'fat cat'" },
        { "phfts", Flt(Col("a"), new FtsOp(FtsOperator.Phrase, null, "fat cat")), "\"api\".\"items\".\"a\" @@ phraseto_tsquery($1)  | 'fat cat'" },
        { "wfts", Flt(Col("a"), new FtsOp(FtsOperator.Websearch, "french", "\"chat\" -chien")), "\"api\".\"items\".\"a\" @@ websearch_to_tsquery($1, $2)  | 'french', '\"chat\" -chien'" },
        {
            "fts on a non-tsvector column",
            Flt(Col("a") with { ToTsVector = true, ToTsVectorLang = "english" }, new FtsOp(FtsOperator.Fts, "english", "cat")),
            "to_tsvector($1, \"api\".\"items\".\"a\") @@ to_tsquery($2, $3)  | 'english', 'english', 'cat'"
        },
        { "fts, to_tsvector without language", Flt(Col("a") with { ToTsVector = true }, new FtsOp(FtsOperator.Plain, null, "cat")), "to_tsvector(\"api\".\"items\".\"a\") @@ plainto_tsquery($1)  | 'cat'" },
        // JSON paths: keys and indexes are parameters, indexes cast to int; to_jsonb when the column is not json(b).
        { "json ->", Flt(Col("data", Key("a")), new QuantOp(QuantOperator.Equal, null, "1")), "\"api\".\"items\".\"data\"->$1 = $2 | 'a', '1'" },
        { "json ->>", Flt(Col("data", Key("a"), Key("b", text: true)), new QuantOp(QuantOperator.Equal, null, "x")), "\"api\".\"items\".\"data\"->$1->>$2 = $3 | 'a', 'b', 'x'" },
        { "json index", Flt(Col("data", Idx("+0"), Idx("-1", text: true)), new IsOp(IsValue.Null)), "\"api\".\"items\".\"data\"->$1::int->>$2::int IS NULL | '+0', '-1'" },
        { "json, to_jsonb", Flt(Col("rec", Key("f", text: true)) with { ToJson = true }, new QuantOp(QuantOperator.Like, null, "*x")), "to_jsonb(\"api\".\"items\".\"rec\")->>$1 like $2 | 'f', '%x'" },
        { "json key with quotes", Flt(Col("data", Key("a'b\"c", text: true)), new InOp(["1"])), "\"api\".\"items\".\"data\"->>$1 = ANY ($2)  | 'a'b\"c', '{\"1\"}'" },
        // Data representations: the parser function wraps the value (not for like/ilike/isdistinct).
        { "transform eq", Flt(Col("c") with { Transform = "api.color_from_text" }, new QuantOp(QuantOperator.Equal, null, "red")), "\"api\".\"items\".\"c\" = api.color_from_text($1) | 'red'" },
        { "transform neq", Flt(Col("c") with { Transform = "api.color_from_text" }, new SimpleOp(SimpleOperator.NotEqual, "red")), "\"api\".\"items\".\"c\" <> api.color_from_text($1) | 'red'" },
        { "transform like", Flt(Col("c") with { Transform = "api.color_from_text" }, new QuantOp(QuantOperator.Like, null, "r*")), "\"api\".\"items\".\"c\" like $1 | 'r%'" },
        {
            "transform in",
            Flt(Col("c") with { Transform = "api.color_from_text" }, new InOp(["red", "blue"])),
            "\"api\".\"items\".\"c\" = ANY ((SELECT api.color_from_text(unnest($1::text[]))))  | '{\"red\",\"blue\"}'"
        },
        // Identifiers are quoted with doubled quotes.
        { "quoted identifier", Flt(Col("we\"ird col"), new QuantOp(QuantOperator.Equal, null, "1")), "\"api\".\"items\".\"we\"\"ird col\" = $1 | '1'" },
    };

    [Theory]
    [MemberData(nameof(Filters))]
    public void Filter_renders_like_pgFmtFilter(string name, object filter, string expected)
    {
        Assert.NotNull(name);
        Assert.Equal(expected, FilterSql((CoercibleFilter)filter));
    }

    [Theory]
    [InlineData("1; DROP TABLE items; --")]
    [InlineData("' OR '1'='1")]
    [InlineData("$1")]
    [InlineData("\") OR true --")]
    [InlineData("*/ SELECT pg_sleep(10) /*")]
    [InlineData("\0")]
    public void Values_are_only_ever_parameters(string value)
    {
        // The SQL text is the same whatever the value: it only travels as an unknown-typed parameter.
        Func<string, CoercibleFilter>[] filters =
        [
            v => Flt(Col("a"), new QuantOp(QuantOperator.Equal, null, v)),
            v => Flt(Col("a"), new QuantOp(QuantOperator.ILike, Quantifier.Any, v)),
            v => Flt(Col("a"), new SimpleOp(SimpleOperator.Contains, v)),
            v => Flt(Col("a"), new IsDistinctOp(v)),
            v => Flt(Col("a"), new InOp([v, v])),
            v => Flt(Col("a") with { Transform = "api.parse" }, new InOp([v])),
            v => Flt(Col("a"), new FtsOp(FtsOperator.Websearch, v, v)),
            v => Flt(Col("a", Key(v), Idx(v)), new QuantOp(QuantOperator.Equal, null, v)),
            v => Flt(Col("a") with { ToTsVector = true, ToTsVectorLang = v }, new FtsOp(FtsOperator.Fts, null, v)),
        ];
        foreach (var make in filters)
        {
            var harmless = new SqlBuilder();
            QueryBuilder.Filter(harmless, Qi, make("x"));
            var hostile = new SqlBuilder();
            QueryBuilder.Filter(hostile, Qi, make(value));
            Assert.Equal(harmless.ToString(), hostile.ToString());
            Assert.NotEqual(harmless.Params.Select(p => p.Value), hostile.Params.Select(p => p.Value));
            Assert.All(hostile.Params, p => Assert.Equal(NpgsqlTypes.NpgsqlDbType.Unknown, p.Type));
        }
    }

    private static CoercibleLogicTree Stmt(string col, string val) =>
        new CoercibleLogicStmt(Flt(Col(col), new QuantOp(QuantOperator.Equal, null, val)));

    public static TheoryData<string, object, string> Logic => new()
    {
        { "or", new CoercibleLogicExpr(false, false, [Stmt("a", "1"), Stmt("b", "2")]), " (\"api\".\"items\".\"a\" = $1 OR \"api\".\"items\".\"b\" = $2) | '1', '2'" },
        { "and", new CoercibleLogicExpr(false, true, [Stmt("a", "1"), Stmt("b", "2")]), " (\"api\".\"items\".\"a\" = $1 AND \"api\".\"items\".\"b\" = $2) | '1', '2'" },
        { "not.or", new CoercibleLogicExpr(true, false, [Stmt("a", "1")]), "NOT (\"api\".\"items\".\"a\" = $1) | '1'" },
        {
            "nested with not",
            new CoercibleLogicExpr(false, false, [Stmt("a", "1"), new CoercibleLogicExpr(true, true, [Stmt("b", "2"), new CoercibleLogicStmt(Flt(Col("c"), new IsOp(IsValue.Null), not: true))])]),
            " (\"api\".\"items\".\"a\" = $1 OR NOT (\"api\".\"items\".\"b\" = $2 AND NOT \"api\".\"items\".\"c\" IS NULL)) | '1', '2'"
        },
    };

    [Theory]
    [MemberData(nameof(Logic))]
    public void Logic_tree_renders_like_pgFmtLogicTree(string name, object logic, string expected)
    {
        Assert.NotNull(name);
        var sb = new SqlBuilder();
        QueryBuilder.LogicTree(sb, Qi, (CoercibleLogicTree)logic);
        Assert.Equal(expected, Show(sb));
    }

    private static CoercibleSelectField Sel(CoercibleField f, AggregateFunction? agg = null, string? aggCast = null, string? cast = null, string? alias = null) =>
        new(f, agg, aggCast, cast, alias);

    private static ReadPlan Plan(params CoercibleSelectField[] select) =>
        new() { Select = [.. select], From = Qi, RelName = "items" };

    private static string ReadSql(ReadPlan plan)
    {
        var sb = new SqlBuilder();
        QueryBuilder.ReadPlanToQuery(sb, plan);
        return Show(sb);
    }

    public static TheoryData<string, object, string> Reads => new()
    {
        { "no select is every column", Plan(), "SELECT \"api\".\"items\".* FROM \"api\".\"items\" | " },
        { "star", Plan(Sel(Col("*"))), "SELECT \"api\".\"items\".* FROM \"api\".\"items\" | " },
        { "columns", Plan(Sel(Col("a")), Sel(Col("b"))), "SELECT \"api\".\"items\".\"a\", \"api\".\"items\".\"b\" FROM \"api\".\"items\" | " },
        { "alias", Plan(Sel(Col("a"), alias: "x y")), "SELECT \"api\".\"items\".\"a\" AS \"x y\" FROM \"api\".\"items\" | " },
        { "cast", Plan(Sel(Col("a"), cast: "text")), "SELECT CAST( \"api\".\"items\".\"a\" AS text ) FROM \"api\".\"items\" | " },
        { "cast and alias", Plan(Sel(Col("a"), cast: "int", alias: "n")), "SELECT CAST( \"api\".\"items\".\"a\" AS int ) AS \"n\" FROM \"api\".\"items\" | " },
        {
            "json path with alias",
            Plan(Sel(Col("data", Key("a"), Idx("+0", text: true)), alias: "first")),
            "SELECT \"api\".\"items\".\"data\"->$1->>$2::int AS \"first\" FROM \"api\".\"items\" | 'a', '+0'"
        },
        {
            "json path on a composite column uses to_jsonb",
            Plan(Sel(Col("rec", Key("f")) with { ToJson = true })),
            "SELECT to_jsonb(\"api\".\"items\".\"rec\")->$1 FROM \"api\".\"items\" | 'f'"
        },
        {
            "data representation formatter",
            Plan(Sel(Col("c") with { Transform = "api.color_to_text" }, alias: "c")),
            "SELECT api.color_to_text(\"api\".\"items\".\"c\") AS \"c\" FROM \"api\".\"items\" | "
        },
        {
            "aggregates group by the other columns",
            Plan(Sel(Col("a")), Sel(Col("b"), alias: "bee"), Sel(Col("n"), AggregateFunction.Sum), Sel(Col("*"), AggregateFunction.Count, alias: "cnt")),
            "SELECT \"api\".\"items\".\"a\", \"api\".\"items\".\"b\" AS \"bee\", SUM(\"api\".\"items\".\"n\"), COUNT(\"api\".\"items\".*) AS \"cnt\" FROM \"api\".\"items\" GROUP BY \"api\".\"items\".\"a\", \"bee\" | "
        },
        {
            "aggregate with casts",
            Plan(Sel(Col("n"), AggregateFunction.Avg, aggCast: "int", cast: "numeric", alias: "m")),
            "SELECT CAST( AVG(CAST( \"api\".\"items\".\"n\" AS numeric )) AS int ) AS \"m\" FROM \"api\".\"items\" | "
        },
        { "only aggregates: no GROUP BY", Plan(Sel(Col("n"), AggregateFunction.Max), Sel(Col("n"), AggregateFunction.Min)), "SELECT MAX(\"api\".\"items\".\"n\"), MIN(\"api\".\"items\".\"n\") FROM \"api\".\"items\" | " },
        {
            "where: filters are ANDed",
            Plan(Sel(Col("a"))) with { Where = [Stmt("a", "1"), new CoercibleLogicExpr(false, false, [Stmt("b", "2"), Stmt("c", "3")])] },
            "SELECT \"api\".\"items\".\"a\" FROM \"api\".\"items\" WHERE \"api\".\"items\".\"a\" = $1 AND  (\"api\".\"items\".\"b\" = $2 OR \"api\".\"items\".\"c\" = $3) | '1', '2', '3'"
        },
        {
            "order",
            Plan() with
            {
                Order =
                [
                    new CoercibleOrderTerm(null, Col("a"), OrderDirection.Desc, OrderNulls.Last),
                    new CoercibleOrderTerm(null, Col("b"), null, OrderNulls.First),
                    new CoercibleOrderTerm(null, Col("c"), OrderDirection.Asc, null),
                    new CoercibleOrderTerm(null, Col("d", Key("k", text: true)), null, null),
                ],
            },
            "SELECT \"api\".\"items\".* FROM \"api\".\"items\" ORDER BY \"api\".\"items\".\"a\" DESC NULLS LAST, \"api\".\"items\".\"b\" NULLS FIRST, \"api\".\"items\".\"c\" ASC, \"api\".\"items\".\"d\"->>$1 | 'k'"
        },
        {
            "related order uses the embed's alias",
            Plan() with { Order = [new CoercibleOrderTerm("clients", Col("name"), OrderDirection.Desc, OrderNulls.Last)] },
            "SELECT \"api\".\"items\".* FROM \"api\".\"items\" ORDER BY \"clients\".\"name\" DESC NULLS LAST | "
        },
        { "all rows: no LIMIT", Plan() with { Range = NonnegRange.All }, "SELECT \"api\".\"items\".* FROM \"api\".\"items\" | " },
        { "limit", Plan() with { Range = NonnegRange.All.Restrict(10) }, "SELECT \"api\".\"items\".* FROM \"api\".\"items\" LIMIT 10 OFFSET 0 | " },
        { "limit and offset", Plan() with { Range = NonnegRange.Geq(20).Restrict(10) }, "SELECT \"api\".\"items\".* FROM \"api\".\"items\" LIMIT 10 OFFSET 20 | " },
        { "offset only", Plan() with { Range = NonnegRange.Geq(5) }, "SELECT \"api\".\"items\".* FROM \"api\".\"items\" LIMIT ALL OFFSET 5 | " },
        { "limit=0", Plan() with { Range = NonnegRange.LimitZero }, "SELECT \"api\".\"items\".* FROM \"api\".\"items\" LIMIT 0 OFFSET 0 | " },
        {
            "everything, parameters numbered in order",
            Plan(Sel(Col("data", Key("k")), alias: "k")) with
            {
                Where = [Stmt("a", "1")],
                Order = [new CoercibleOrderTerm(null, Col("data", Key("o")), OrderDirection.Asc, null)],
                Range = NonnegRange.Geq(3).Restrict(2),
            },
            "SELECT \"api\".\"items\".\"data\"->$1 AS \"k\" FROM \"api\".\"items\" WHERE \"api\".\"items\".\"a\" = $2 ORDER BY \"api\".\"items\".\"data\"->$3 ASC LIMIT 2 OFFSET 3 | 'k', '1', 'o'"
        },
        {
            "a table alias (self joins, embeds)",
            Plan(Sel(Col("a"))) with { FromAlias = "items_1", Where = [Stmt("a", "1")] },
            "SELECT \"items_1\".\"a\" FROM \"api\".\"items\" AS \"items_1\" WHERE \"items_1\".\"a\" = $1 | '1'"
        },
    };

    [Theory]
    [MemberData(nameof(Reads))]
    public void Read_plan_renders_as_SQL(string name, object plan, string expected)
    {
        Assert.NotNull(name);
        Assert.Equal(expected, ReadSql((ReadPlan)plan));
    }

    [Fact]
    public void Count_query_keeps_the_filters_but_not_order_or_limit()
    {
        var plan = Plan(Sel(Col("a"))) with
        {
            Where = [Stmt("a", "1")],
            Order = [new CoercibleOrderTerm(null, Col("a"), OrderDirection.Desc, null)],
            Range = NonnegRange.All.Restrict(5),
        };
        var sb = new SqlBuilder();
        QueryBuilder.ReadPlanToCountQuery(sb, plan);
        Assert.Equal("SELECT 1 FROM \"api\".\"items\" WHERE \"api\".\"items\".\"a\" = $1 | '1'", Show(sb));
    }

    [Fact]
    public void An_embed_null_filter_reads_the_embed_but_counts_with_EXISTS()
    {
        // ?or=(a.eq.1,tags.is.null) on items with a left-joined tags embed: the read tests the embed's column, the
        // count query (which joins no embeds) asks whether the embed would have rows (pgFmtLogicTreeCount).
        var tags = new ReadPlan { Select = [], From = new QualifiedIdentifier("api", "tags"), RelName = "tags", RelAggAlias = "items_tags_1" };
        var tree = new CoercibleLogicExpr(false, false, [Stmt("a", "1"), new CoercibleNullEmbedFilter(false, "items_tags_1")]);
        var plan = Plan(Sel(Col("a"))) with { Where = [tree], Children = [tags] };

        var read = new SqlBuilder();
        QueryBuilder.LogicTree(read, Qi, tree);
        Assert.Equal(" (\"api\".\"items\".\"a\" = $1 OR \"items_tags_1\" IS NOT DISTINCT FROM NULL) | '1'", Show(read));

        var count = new SqlBuilder();
        QueryBuilder.ReadPlanToCountQuery(count, plan);
        Assert.Equal("SELECT 1 FROM \"api\".\"items\" WHERE  (\"api\".\"items\".\"a\" = $1 OR NOT EXISTS (SELECT 1 FROM \"api\".\"tags\")) | '1'", Show(count));
    }

    [Fact]
    public void Array_literal_quotes_every_element()
    {
        Assert.Equal("{\"1\",\"a b\",\"\\\"\",\"\\\\\",\"\"}", QueryBuilder.ArrayLiteral(["1", "a b", "\"", "\\", ""]));
        Assert.Equal("{}", QueryBuilder.ArrayLiteral([]));
        Assert.Equal("{\"{1}\",\"(x)\",\"NULL\"}", QueryBuilder.ArrayLiteral(["{1}", "(x)", "NULL"]));
    }

    [Fact]
    public void Parsed_query_string_to_SQL_end_to_end()
    {
        // The filter trees from the grammar, with untyped fields, produce the same SQL shapes.
        var qp = QueryParams.Parse(false, "a=like.*x*&b=in.(1,2)&c=not.is.null&d->e->>0=eq.z&f=fts(english).cat");
        var sql = qp.Filters.Select(f =>
        {
            var field = CoercibleField.Unknown(f.Filter.Field.Name, f.Filter.Field.JsonPath);
            return FilterSql(new CoercibleFilter(field, f.Filter.Expr));
        }).ToArray();
        Assert.Equal(
        [
            "\"api\".\"items\".\"a\" like $1 | '%x%'",
            "\"api\".\"items\".\"b\" = ANY ($1)  | '{\"1\",\"2\"}'",
            "NOT \"api\".\"items\".\"c\" IS NULL | ",
            "\"api\".\"items\".\"d\"->$1->>$2::int = $3 | 'e', '+0', 'z'",
            "\"api\".\"items\".\"f\" @@ to_tsquery($1, $2)  | 'english', 'cat'",
        ], sql);
    }

    [Theory]
    [InlineData(false, "pg_catalog.count(*) AS page_total")]
    [InlineData(true, "pg_catalog.count(_postgrest_t) AS page_total")]
    public void Main_read_counts_rows_without_rebuilding_them(bool explainMedia, string pageCount)
    {
        // count(*) for reads (the subquery alias's whole row is never null); EXPLAIN output keeps PostgREST's form.
        var media = explainMedia ? new MediaType(MediaKind.Plan, PlanFor: MediaType.Json) : MediaType.Json;
        var wrp = new WrappedReadPlan(Plan(), Qi, new CallHandler(MediaHandler.Json), media, false);
        var prefs = Preferences.Parse(["count=exact"], false);
        var main = Statements.MainRead(wrp, prefs, null, NonnegRange.All, out _);
        Assert.Contains(pageCount, main.Sql, StringComparison.Ordinal);
        Assert.Contains(pageCount.Replace("page_total", "total_result_set", StringComparison.Ordinal), main.Sql, StringComparison.Ordinal);
    }
}
