using System.Collections.Immutable;
using System.Text;
using static Restgres.ApiRequest.Parsec;

namespace Restgres.ApiRequest;

/// <summary>
/// The URL grammar of PostgREST v16 (ApiRequest/QueryParams.hs): select trees, filters, order, logic trees, JSON paths,
/// column lists. Each rule mirrors PostgREST's so that results and error messages match; see the table-driven tests.
/// </summary>
internal static class Grammar
{
    private static readonly P<string> Ws = Map(Many(OneOf(" \t")), _ => "");

    private static P<T> Lexeme<T>(P<T> p) => Right(Ws, Left(p, Ws));

    private static readonly P<char> Delimiter = Label(Char('.'), "delimiter (.)");

    /// <summary>pQuotedValue: <c>"..."</c> with backslash escapes.</summary>
    public static readonly P<string> QuotedValue =
        Between(Char('"'), Char('"'),
            Map(Many(Or(NoneOf("\\\""), Right(Char('\\'), AnyChar))), cs => new string([.. cs])));

    private static readonly P<char> IdentifierChar = Or(Letter, Digit, OneOf("_ $"));

    /// <summary>pIdentifier: letters, digits, <c>_</c>, space and <c>$</c>, trimmed.</summary>
    public static readonly P<string> Identifier = Map(Many1(IdentifierChar), cs => new string([.. cs]).Trim());

    private static readonly P<char> Dash = Map(Try(Left(Char('-'), NotFollowedByChar(c => c == '>'))), _ => '-');

    private static P<string> SepByDash(P<string> ident) => Map(SepBy1(ident, Dash), parts => string.Join("-", parts));

    /// <summary>pFieldName: a quoted name or dash-separated identifiers.</summary>
    public static readonly P<string> FieldName = Label(Or(QuotedValue, SepByDash(Identifier)), "field name (* or [a..z0..9_$])");

    private static readonly P<string> JsonKeyIdentifier = Map(Many1(NoneOf("(-:.,>)")), cs => new string([.. cs]).Trim());

    private static readonly P<string> JsonKeyName =
        Label(Or(QuotedValue, SepByDash(JsonKeyIdentifier)), "any non reserved character different from: .,>()");

    private static readonly P<bool> JsonIdxEnd = Or(
        Try(LookAhead(Map(Str("->"), _ => true))),
        Try(LookAhead(Map(Str("::"), _ => true))),
        Try(LookAhead(Map(Str("."), _ => true))),
        Try(LookAhead(Map(Str(","), _ => true))),
        Try(Eof));

    private static readonly P<JsonOperation> JsonOp =
        Bind(Or(Try(Map(Str("->>"), _ => true)), Try(Map(Str("->"), _ => false))), text =>
            Or(
                Try(Bind(Option('+', Char('-')), sign => Bind(Many1(Digit), digits => Map(JsonIdxEnd, _ =>
                    new JsonOperation(text, true, sign + new string([.. digits])))))),
                Try(Map(JsonKeyName, k => new JsonOperation(text, false, k)))));

    public static readonly P<ImmutableArray<JsonOperation>> JsonPath = Map(Many(JsonOp), ops => ops.ToImmutableArray());

    public static readonly P<Field> Field = Lexeme(Bind(FieldName, n => Map(JsonPath, jp => new Field(n, jp))));

    private static readonly P<bool> AliasSeparator = Right(Char(':'), NotFollowedByChar(c => c == ':'));

    private static readonly P<bool> SelectEnd = Or(
        Try(LookAhead(Map(Str(")"), _ => true))),
        Try(LookAhead(Map(Str(","), _ => true))),
        Try(Eof));

    private static readonly P<string?> OptAlias = OptionMaybe(Try(Left(FieldName, AliasSeparator)));

    private static readonly P<string?> OptCast = OptionMaybe(Right(Str("::"), Identifier));

    private static readonly P<AggregateFunction?> Aggregation = Or(
        Map(Str("sum"), _ => (AggregateFunction?)AggregateFunction.Sum),
        Map(Str("avg"), _ => (AggregateFunction?)AggregateFunction.Avg),
        Map(Str("count"), _ => (AggregateFunction?)AggregateFunction.Count),
        Try(Map(Str("max"), _ => (AggregateFunction?)AggregateFunction.Max)),
        Try(Map(Str("min"), _ => (AggregateFunction?)AggregateFunction.Min)));

    private static readonly P<SelectItem> FieldSelect = Lexeme(Or(
        Try(Bind(Str("*"), _ => Map(SelectEnd, _ => (SelectItem)new SelectField(Restgres.ApiRequest.Field.Plain("*"), null, null, null, null)))),
        Try(Bind(OptAlias, alias => Bind(Str("count()"), _ => Bind(OptCast, aggCast => Map(SelectEnd, _ =>
            (SelectItem)new SelectField(Restgres.ApiRequest.Field.Plain("*"), AggregateFunction.Count, aggCast, null, alias)))))),
        Bind(OptAlias, alias => Bind(Field, fld => Bind(OptCast, cast =>
            Bind(Option<AggregateFunction?>(null, Try(Left(Right(Char('.'), Aggregation), Str("()")))), agg =>
                Bind(OptCast, aggCast => Map(SelectEnd, _ =>
                    (SelectItem)new SelectField(fld, agg, aggCast, cast, alias)))))))));

    private static readonly P<(string? Hint, JoinType? Join)> EmbedParams =
        Bind(Option<object?>(null, EmbedParam()), p1 => Map(Option<object?>(null, EmbedParam()), p2 =>
            ((p1 as string) ?? (p2 as string), (p1 as JoinType?) ?? (p2 as JoinType?))));

    private static P<object?> EmbedParam() =>
        Right(Char('!'), Or(
            Try(Map(Str("left"), _ => (object?)JoinType.Left)),
            Try(Map(Str("inner"), _ => (object?)JoinType.Inner)),
            Try(Map(FieldName, h => (object?)h))));

    private static readonly P<bool> OpenParenAhead = Try(LookAhead(Map(Str("("), _ => true)));

    private static readonly P<(string? Alias, string Name, string? Hint, JoinType? Join)> RelationSelect = Lexeme(
        Bind(OptAlias, alias => Bind(FieldName, name =>
            name == "count"
                ? Fail<(string?, string, string?, JoinType?)>("count")
                : Bind(EmbedParams, ep => Map(OpenParenAhead, _ => (alias, name, ep.Hint, ep.Join))))));

    private static readonly P<(string Name, string? Hint, JoinType? Join)> SpreadRelationSelect = Lexeme(
        Bind(Str("..."), _ => Bind(FieldName, name => Bind(EmbedParams, ep => Map(OpenParenAhead, _ => (name, ep.Hint, ep.Join))))));

    private static readonly P<List<SelectItem>> FieldForestLazy = Lazy(() => FieldForest!);

    private static readonly P<ImmutableArray<SelectItem>> Children =
        Map(Between(Char('('), Char(')'), FieldForestLazy), l => l.ToImmutableArray());

    private static readonly P<SelectItem> FieldTree = Or(
        Bind(Try(SpreadRelationSelect), sp => Map(Children, ch => (SelectItem)new SpreadRelation(sp.Name, sp.Hint, sp.Join, ch))),
        Bind(Try(RelationSelect), rel => Map(Children, ch => (SelectItem)new SelectRelation(rel.Name, rel.Alias, rel.Hint, rel.Join, ch))),
        FieldSelect);

    /// <summary>pFieldForest: the <c>select=</c> grammar.</summary>
    public static readonly P<List<SelectItem>> FieldForest = SepBy(FieldTree, Lexeme(Char(',')));

    // ---- filters ----

    private static readonly P<string> SingleVal = Map(Many(AnyChar), cs => new string([.. cs]));

    private static readonly P<ImmutableArray<string>> ListVal =
        Right(Lexeme(Char('(')), Left(
            Map(SepBy1(Or(Try(Left(QuotedValue, NotFollowedByChar(c => c != ',' && c != ')'))), Map(Many(NoneOf(",)")), cs => new string([.. cs]))), Char(',')),
                l => l.ToImmutableArray()),
            Lexeme(Char(')'))));

    private static P<string> CiString(string s) => (input, pos) =>
    {
        // Parsec's traverse of ciChar: char c <|> char (toUpper c) for each character.
        var cur = pos;
        for (var i = 0; i < s.Length; i++)
        {
            var lower = Char(s[i]);
            var upper = Char(char.ToUpperInvariant(s[i]));
            var r = Or(lower, upper)(input, cur);
            if (!r.Ok) return new Reply<string>(false, cur != pos, null!, r.Pos, r.Err);
            cur = r.Pos;
        }
        return new Reply<string>(true, cur != pos, s, cur, Error.Unknown(cur));
    };

    private static readonly P<IsValue> IsVal = Label(Or(
        Try(Map(CiString("null"), _ => IsValue.Null)),
        Try(Map(CiString("not_null"), _ => IsValue.NotNull)),
        Try(Map(CiString("true"), _ => IsValue.True)),
        Try(Map(CiString("false"), _ => IsValue.False)),
        Try(Map(CiString("unknown"), _ => IsValue.Unknown))), "isVal: (null, not_null, true, false, unknown)");

    private static readonly P<SimpleOperator> SimpleOperatorP = Label(Or(
        Try(Map(Str("neq"), _ => SimpleOperator.NotEqual)),
        Try(Map(Str("cs"), _ => SimpleOperator.Contains)),
        Try(Map(Str("cd"), _ => SimpleOperator.Contained)),
        Try(Map(Str("ov"), _ => SimpleOperator.Overlap)),
        Try(Map(Str("sl"), _ => SimpleOperator.StrictlyLeft)),
        Try(Map(Str("sr"), _ => SimpleOperator.StrictlyRight)),
        Try(Map(Str("nxr"), _ => SimpleOperator.NotExtendsRight)),
        Try(Map(Str("nxl"), _ => SimpleOperator.NotExtendsLeft)),
        Try(Map(Str("adj"), _ => SimpleOperator.Adjacent))), "unknown single value operator");

    private static readonly P<QuantOperator> QuantOperatorP = Label(Or(
        Try(Map(Str("eq"), _ => QuantOperator.Equal)),
        Try(Map(Str("gte"), _ => QuantOperator.GreaterThanEqual)),
        Try(Map(Str("gt"), _ => QuantOperator.GreaterThan)),
        Try(Map(Str("lte"), _ => QuantOperator.LessThanEqual)),
        Try(Map(Str("lt"), _ => QuantOperator.LessThan)),
        Try(Map(Str("like"), _ => QuantOperator.Like)),
        Try(Map(Str("ilike"), _ => QuantOperator.ILike)),
        Try(Map(Str("match"), _ => QuantOperator.Match)),
        Try(Map(Str("imatch"), _ => QuantOperator.IMatch))), "unknown single value operator");

    private static P<Operation> OperationP(P<string> sval)
    {
        var pIn = Map(Right(Try(Right(Str("in"), Delimiter)), ListVal), v => (Operation)new InOp(v));
        var pIs = Map(Right(Try(Right(Str("is"), Delimiter)), IsVal), v => (Operation)new IsOp(v));
        var pIsDist = Map(Right(Try(Right(Str("isdistinct"), Delimiter)), sval), v => (Operation)new IsDistinctOp(v));
        var pFts = Bind(Or(
                Try(Map(Str("fts"), _ => FtsOperator.Fts)),
                Try(Map(Str("plfts"), _ => FtsOperator.Plain)),
                Try(Map(Str("phfts"), _ => FtsOperator.Phrase)),
                Try(Map(Str("wfts"), _ => FtsOperator.Websearch))),
            op => Bind(OptionMaybe(Try(Between(Char('('), Char(')'), Identifier))), lang =>
                Right(Delimiter, Map(sval, v => (Operation)new FtsOp(op, lang, v)))));
        var pSimple = Bind(SimpleOperatorP, op => Right(Delimiter, Map(sval, v => (Operation)new SimpleOp(op, v))));
        var pQuant = Bind(QuantOperatorP, op =>
            Bind(Option<Quantifier?>(null, Try(Between(Char('('), Char(')'),
                Or(Try(Map(Str("any"), _ => (Quantifier?)Quantifier.Any)), Map(Str("all"), _ => (Quantifier?)Quantifier.All))))),
                q => Right(Delimiter, Map(sval, v => (Operation)new QuantOp(op, q, v)))));
        return Label(Or(pIn, pIs, pIsDist, Try(pFts), Try(pSimple), Try(pQuant)), "operator (eq, gt, ...)");
    }

    private static P<OpExpr> OpExprP(P<string> sval)
    {
        var op = OperationP(sval);
        return Bind(Or(Try(Map(Right(Str("not"), Delimiter), _ => true)), Pure(false)),
            not => Map(op, o => new OpExpr(not, o, "")));
    }

    /// <summary>pOpExpr pSingleVal: the value of a filter parameter, e.g. <c>not.eq.5</c>.</summary>
    public static readonly P<OpExpr> FilterExpr = OpExprP(SingleVal);

    /// <summary>pTreePath: <c>a.b.column-&gt;json</c> → (embed path, field).</summary>
    public static readonly P<(ImmutableArray<string> Path, Field Field)> TreePath =
        Bind(SepBy1(FieldName, Delimiter), names => Map(Option(ImmutableArray<JsonOperation>.Empty, JsonPath), jp =>
            (names.Take(names.Count - 1).ToImmutableArray(), new Field(names[^1], jp))));

    // ---- order ----

    private static readonly P<bool> OrderEnd = Or(Try(LookAhead(Map(Char(','), _ => true))), Try(Eof));

    private static readonly P<OrderDirection?> OrdDir = Or(
        Try(Right(Delimiter, Map(Str("asc"), _ => (OrderDirection?)OrderDirection.Asc))),
        Try(Right(Delimiter, Map(Str("desc"), _ => (OrderDirection?)OrderDirection.Desc))));

    private static readonly P<OrderNulls?> Nulls = Or(
        Try(Right(Delimiter, Map(Str("nullsfirst"), _ => (OrderNulls?)OrderNulls.First))),
        Try(Right(Delimiter, Map(Str("nullslast"), _ => (OrderNulls?)OrderNulls.Last))));

    private static P<OrderNulls?> NullsThenEnd() =>
        Or(Left(Or(Nulls, Pure<OrderNulls?>(null)), OrderEnd), Map(OrderEnd, _ => (OrderNulls?)null));

    private static readonly P<OrderTerm> OrderTermP =
        Bind(Field, fld => Bind(Or(OrdDir, Pure<OrderDirection?>(null)), dir => Map(NullsThenEnd(), nls => new OrderTerm(null, fld, dir, nls))));

    private static readonly P<OrderTerm> OrderRelationTermP =
        Bind(FieldName, rel => Bind(Between(Char('('), Char(')'), Field), fld =>
            Bind(Or(OrdDir, Pure<OrderDirection?>(null)), dir => Map(NullsThenEnd(), nls => new OrderTerm(rel, fld, dir, nls)))));

    /// <summary>pOrder: the <c>order=</c> grammar.</summary>
    public static readonly P<List<OrderTerm>> Order = SepBy1(Lexeme(Or(Try(OrderRelationTermP), OrderTermP)), Char(','));

    // ---- logic trees ----

    private static readonly P<string> PgArray =
        Bind(Str("{"), a => Bind(Many(NoneOf("{}")), b => Map(Str("}"), c => a + new string([.. b]) + c)));

    private static readonly P<string> LogicSingleVal = Or(
        Try(Left(QuotedValue, NotFollowedByChar(c => c != ',' && c != ')'))),
        Try(PgArray),
        Map(Many(NoneOf(",)")), cs => new string([.. cs])));

    private static readonly P<LogicTree> LogicTreeLazy = Lazy(() => LogicTreeP!);

    private static readonly P<LogicTree> LogicTreeP = Or(
        Map(Try(Bind(Field, fld => Right(Delimiter, Map(OpExprP(LogicSingleVal), op => new Filter(fld, op))))), f => (LogicTree)new LogicStatement(f)),
        Bind(Label(Or(Try(Map(Right(Str("not"), Delimiter), _ => true)), Pure(false)), "negation operator (not)"), not =>
            Bind(Label(Or(Try(Map(Str("and"), _ => true)), Map(Str("or"), _ => false)), "logic operator (and, or)"), isAnd =>
                Map(Right(Lexeme(Char('(')), Left(SepBy1(LogicTreeLazy, Lexeme(Char(','))), Lexeme(Char(')')))),
                    children => (LogicTree)new LogicExpr(not, isAnd, [.. children])))));

    /// <summary>pLogicTree, applied to <c>op + value</c> (e.g. <c>or(a.eq.1,b.eq.2)</c>) as PostgREST does.</summary>
    public static readonly P<LogicTree> LogicTree = LogicTreeP;

    /// <summary>pLogicPath: <c>a.b.not.or</c> → (embed path without "not", "not.or").</summary>
    public static readonly P<(ImmutableArray<string> Path, string Op)> LogicPath =
        Map(SepBy1(FieldName, Delimiter), names =>
        {
            var op = names[^1];
            var init = names.Take(names.Count - 1).ToList();
            var hasNot = names.Contains("not");
            return (init.Where(n => n != "not").ToImmutableArray(), hasNot ? "not." + op : op);
        });

    /// <summary>pColumns: <c>columns=</c> and <c>on_conflict=</c>.</summary>
    public static readonly P<List<string>> Columns = SepBy1(FieldName, Lexeme(Char(',')));

    internal static string Concat(IEnumerable<char> cs) => new StringBuilder().Append([.. cs]).ToString();
}
