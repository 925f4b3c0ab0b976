using System.Collections.Immutable;
using static Restgres.Requests.Parsec;

namespace Restgres.Requests;

/// <summary>
/// The URL grammar of PostgREST v16 (ApiRequest/QueryParams.hs): select trees, filters, order, logic trees, JSON paths,
/// column lists. Each rule mirrors PostgREST's so that results and error messages match; see the table-driven tests.
/// </summary>
internal static class Grammar
{
    private static readonly P<bool> Ws = SkipMany(OneOf(" \t"));

    private static P<T> Lexeme<T>(P<T> p) => Right(Ws, Left(p, Ws));

    private static readonly P<char> Delimiter = Label(Char('.'), "delimiter (.)");

    /// <summary>pQuotedValue: <c>"..."</c> with backslash escapes.</summary>
    public static readonly P<string> QuotedValue =
        Between(Char('"'), Char('"'),
            Map(Many(Or(Captured(NoneOf("\\\"")), Right(Char('\\'), Captured(AnyChar)))), string.Concat));

    private static readonly P<char> IdentifierChar = Or(Letter, Digit, OneOf("_ $"));

    /// <summary>pIdentifier: letters, digits, <c>_</c>, space and <c>$</c>, trimmed.</summary>
    public static readonly P<string> Identifier = Map(Captured(Many1(IdentifierChar)), HsStrip);

    private static readonly P<char> Dash = Map(Try(Left(Char('-'), NotFollowedBy(Char('>')))), _ => '-');

    private static P<string> SepByDash(P<string> ident) => Map(SepBy1(ident, Dash), parts => string.Join("-", parts));

    /// <summary>pFieldName: a quoted name or dash-separated identifiers.</summary>
    public static readonly P<string> FieldName = Label(Or(QuotedValue, SepByDash(Identifier)), "field name (* or [a..z0..9_$])");

    private static readonly P<string> JsonKeyIdentifier = Map(Captured(Many1(NoneOf("(-:.,>)"))), HsStrip);

    private static readonly P<string> JsonKeyName =
        Label(Or(QuotedValue, SepByDash(JsonKeyIdentifier)), "any non reserved character different from: .,>()");

    private static readonly P<bool> JsonIdxEnd = Or(
        Try(LookAhead(Map(Str("->"), _ => true))),
        Try(LookAhead(Map(Str("::"), _ => true))),
        Try(LookAhead(Map(Str("."), _ => true))),
        Try(LookAhead(Map(Str(","), _ => true))),
        Try(Eof));

    private static readonly P<bool> JsonArrow = Or(Try(Map(Str("->>"), _ => true)), Try(Map(Str("->"), _ => false)));

    private static readonly P<(bool IsIndex, string Text)> JsonOperand = Or(
        Try(Seq(Seq(Option('+', Char('-')), Captured(Many1(Digit)), (sign, digits) => sign + digits), JsonIdxEnd, (idx, _) => (true, idx))),
        Try(Map(JsonKeyName, k => (false, k))));

    private static readonly P<JsonOperation> JsonOp =
        Seq(JsonArrow, JsonOperand, (text, operand) => new JsonOperation(text, operand.IsIndex, operand.Text));

    public static readonly P<ImmutableArray<JsonOperation>> JsonPath = Map(Many(JsonOp), ops => ops.ToImmutableArray());

    public static readonly P<Field> Field = Lexeme(Seq(FieldName, JsonPath, (n, jp) => new Field(n, jp)));

    private static readonly P<bool> AliasSeparator = Right(Char(':'), NotFollowedBy(Char(':')));

    private static readonly P<bool> SelectEnd = Or(
        Try(LookAhead(Map(Str(")"), _ => true))),
        Try(LookAhead(Map(Str(","), _ => true))),
        Try(Eof));

    private static readonly P<string?> OptAlias = OptionMaybe(Try(Left(FieldName, AliasSeparator)));

    /// <summary>
    /// pOptCast: <c>::type</c>. The type goes into <c>CAST(... AS type)</c> unquoted (it may be several words, as in
    /// <c>double precision</c>), so beyond PostgREST's identifier characters each word must start with a letter or
    /// <c>_</c>: a <c>$</c> starting a word would open a dollar-quoted string and swallow the rest of the statement.
    /// </summary>
    private static readonly P<string?> OptCast = OptionMaybe(Right(Str("::"),
        Refuse(Identifier, type => IsTypeName(type) ? null : $"invalid cast type \"{type}\": each word must start with a letter or _")));

    internal static bool IsTypeName(string type)
    {
        foreach (var word in type.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            if (!(char.IsLetter(word[0]) || word[0] == '_')) return false;
        return type.Length > 0;
    }

    private static readonly P<AggregateFunction?> Aggregation = Or(
        Map(Str("sum"), _ => (AggregateFunction?)AggregateFunction.Sum),
        Map(Str("avg"), _ => (AggregateFunction?)AggregateFunction.Avg),
        Map(Str("count"), _ => (AggregateFunction?)AggregateFunction.Count),
        Try(Map(Str("max"), _ => (AggregateFunction?)AggregateFunction.Max)),
        Try(Map(Str("min"), _ => (AggregateFunction?)AggregateFunction.Min)));

    private static readonly P<AggregateFunction?> OptAggregation =
        Option<AggregateFunction?>(null, Try(Left(Right(Char('.'), Aggregation), Str("()"))));

    private static readonly SelectItem Star = new SelectField(Restgres.Requests.Field.Plain("*"), null, null, null, null);

    internal static readonly P<SelectItem> FieldSelect = Lexeme(Or(
        Try(Seq(Str("*"), SelectEnd, (_, _) => Star)),
        Try(Seq(Left(OptAlias, Str("count()")), Left(OptCast, SelectEnd), (alias, aggCast) =>
            (SelectItem)new SelectField(Restgres.Requests.Field.Plain("*"), AggregateFunction.Count, aggCast, null, alias))),
        Seq(Seq(OptAlias, Field, (alias, fld) => (alias, fld)), Seq(Seq(OptCast, OptAggregation, (cast, agg) => (cast, agg)), Left(OptCast, SelectEnd), (ca, aggCast) => (ca.cast, ca.agg, aggCast)),
            (af, rest) => (SelectItem)new SelectField(af.fld, rest.agg, rest.aggCast, rest.cast, af.alias))));

    private static readonly P<object?> EmbedParam =
        Right(Char('!'), Or(
            Try(Map(Str("left"), _ => (object?)JoinType.Left)),
            Try(Map(Str("inner"), _ => (object?)JoinType.Inner)),
            Try(Map(FieldName, h => (object?)h))));

    private static readonly P<object?> OptEmbedParam = Option<object?>(null, EmbedParam);

    private static readonly P<(string? Hint, JoinType? Join)> EmbedParams =
        Seq(OptEmbedParam, OptEmbedParam, (p1, p2) => ((p1 as string) ?? (p2 as string), (p1 as JoinType?) ?? (p2 as JoinType?)));

    private static readonly P<bool> OpenParenAhead = Try(LookAhead(Map(Str("("), _ => true)));

    private static readonly P<(string? Hint, JoinType? Join)> EmbedParamsThenParen = Left(EmbedParams, OpenParenAhead);

    internal static readonly P<(string? Alias, string Name, string? Hint, JoinType? Join)> RelationSelect = Lexeme(
        Seq(Seq(OptAlias, Where(FieldName, name => name != "count"), (alias, name) => (alias, name)), EmbedParamsThenParen,
            (an, ep) => (an.alias, an.name, ep.Hint, ep.Join)));

    internal static readonly P<(string Name, string? Hint, JoinType? Join)> SpreadRelationSelect = Lexeme(
        Seq(Right(Str("..."), FieldName), EmbedParamsThenParen, (name, ep) => (name, ep.Hint, ep.Join)));

    private static readonly P<List<SelectItem>> FieldForestLazy = Lazy(() => FieldForest!);

    private static readonly P<ImmutableArray<SelectItem>> Children =
        Nested(Map(Between(Char('('), Char(')'), FieldForestLazy), l => l.ToImmutableArray()));

    private static readonly P<SelectItem> FieldTree = Or(
        Seq(Try(SpreadRelationSelect), Children, (sp, ch) => (SelectItem)new SpreadRelation(sp.Name, sp.Hint, sp.Join, ch)),
        Seq(Try(RelationSelect), Children, (rel, ch) => (SelectItem)new SelectRelation(rel.Name, rel.Alias, rel.Hint, rel.Join, ch)),
        FieldSelect);

    /// <summary>pFieldForest: the <c>select=</c> grammar.</summary>
    public static readonly P<List<SelectItem>> FieldForest = SepBy(FieldTree, Lexeme(Char(',')));

    // ---- filters ----

    private static readonly P<string> SingleVal = Captured(Many(AnyChar));

    private static readonly P<ImmutableArray<string>> ListVal =
        Right(Lexeme(Char('(')), Left(
            Map(SepBy1(Or(Try(Left(QuotedValue, NotFollowedBy(NoneOf(",)")))), Captured(Many(NoneOf(",)")))), Char(',')),
                l => l.ToImmutableArray()),
            Lexeme(Char(')'))));

    private static P<string> CiString(string s)
    {
        // Parsec's traverse of ciChar: char c <|> char (toUpper c) for each character.
        var chars = s.Select(c => Or(Char(c), Char(char.ToUpperInvariant(c)))).ToArray();
        return (input, pos) =>
        {
            var cur = pos;
            Error? err = null;
            foreach (var ci in chars)
            {
                var r = ci(input, cur);
                if (!r.Ok) return new Reply<string>(false, cur != pos, null!, r.Pos, r.Err);
                err = r.Err;
                cur = r.Pos;
            }
            return new Reply<string>(true, cur != pos, s, cur, err ?? Error.Unknown(cur));
        };
    }

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

    private static readonly P<FtsOperator> FtsOperatorP = Or(
        Try(Map(Str("fts"), _ => FtsOperator.Fts)),
        Try(Map(Str("plfts"), _ => FtsOperator.Plain)),
        Try(Map(Str("phfts"), _ => FtsOperator.Phrase)),
        Try(Map(Str("wfts"), _ => FtsOperator.Websearch)));

    private static readonly P<string?> FtsLanguage = OptionMaybe(Try(Between(Char('('), Char(')'), Identifier)));

    private static readonly P<Quantifier?> OptQuantifier = Option<Quantifier?>(null, Try(Between(Char('('), Char(')'),
        Or(Try(Map(Str("any"), _ => (Quantifier?)Quantifier.Any)), Map(Str("all"), _ => (Quantifier?)Quantifier.All)))));

    private static readonly P<bool> NotPrefix = Or(Try(Map(Right(Str("not"), Delimiter), _ => true)), Pure(false));

    private static P<Operation> OperationP(P<string> sval)
    {
        var value = Right(Delimiter, sval);
        var pIn = Map(Right(Try(Right(Str("in"), Delimiter)), ListVal), v => (Operation)new InOp(v));
        var pIs = Map(Right(Try(Right(Str("is"), Delimiter)), IsVal), v => (Operation)new IsOp(v));
        var pIsDist = Map(Right(Try(Right(Str("isdistinct"), Delimiter)), sval), v => (Operation)new IsDistinctOp(v));
        var pFts = Seq(FtsOperatorP, Seq(FtsLanguage, value, (lang, v) => (lang, v)), (op, lv) => (Operation)new FtsOp(op, lv.lang, lv.v));
        var pSimple = Seq(SimpleOperatorP, value, (op, v) => (Operation)new SimpleOp(op, v));
        var pQuant = Seq(QuantOperatorP, Seq(OptQuantifier, value, (q, v) => (q, v)), (op, qv) => (Operation)new QuantOp(op, qv.q, qv.v));
        return Label(Or(pIn, pIs, pIsDist, Try(pFts), Try(pSimple), Try(pQuant)), "operator (eq, gt, ...)");
    }

    private static P<OpExpr> OpExprP(P<string> sval) => Seq(NotPrefix, OperationP(sval), (not, o) => new OpExpr(not, o, ""));

    /// <summary>pOpExpr pSingleVal: the value of a filter parameter, e.g. <c>not.eq.5</c>.</summary>
    public static readonly P<OpExpr> FilterExpr = OpExprP(SingleVal);

    /// <summary>
    /// A filter value on a GET/HEAD RPC call: <c>pOpExpr pSingleVal &lt;|&gt; pure (NoOpExpr v)</c> (null for NoOpExpr).
    /// Without <c>try</c>, so a value that commits to an operator (<c>not.x</c>, <c>in.x</c>, <c>is.x</c>) is an error there too.
    /// </summary>
    public static readonly P<OpExpr?> RpcFilterExpr = Or(Map(FilterExpr, e => (OpExpr?)e), Pure<OpExpr?>(null));

    /// <summary>pTreePath: <c>a.b.column-&gt;json</c> → (embed path, field).</summary>
    public static readonly P<(ImmutableArray<string> Path, Field Field)> TreePath =
        Seq(SepBy1(FieldName, Delimiter), Option(ImmutableArray<JsonOperation>.Empty, JsonPath), (names, jp) =>
            (names.Take(names.Count - 1).ToImmutableArray(), new Field(names[^1], jp)));

    // ---- order ----

    private static readonly P<bool> OrderEnd = Or(Try(LookAhead(Map(Char(','), _ => true))), Try(Eof));

    private static readonly P<OrderDirection?> OrdDir = Or(
        Try(Right(Delimiter, Map(Str("asc"), _ => (OrderDirection?)OrderDirection.Asc))),
        Try(Right(Delimiter, Map(Str("desc"), _ => (OrderDirection?)OrderDirection.Desc))));

    private static readonly P<OrderNulls?> Nulls = Or(
        Try(Right(Delimiter, Map(Str("nullsfirst"), _ => (OrderNulls?)OrderNulls.First))),
        Try(Right(Delimiter, Map(Str("nullslast"), _ => (OrderNulls?)OrderNulls.Last))));

    // optionMaybe pNulls <* pEnd <|> pEnd $> Nothing
    private static readonly P<OrderNulls?> NullsThenEnd =
        Or(Left(Or(Nulls, Pure<OrderNulls?>(null)), OrderEnd), Map(OrderEnd, _ => (OrderNulls?)null));

    private static readonly P<(OrderDirection? Dir, OrderNulls? Nulls)> DirAndNulls =
        Seq(Or(OrdDir, Pure<OrderDirection?>(null)), NullsThenEnd, (dir, nls) => (dir, nls));

    private static readonly P<OrderTerm> OrderTermP =
        Seq(Field, DirAndNulls, (fld, dn) => new OrderTerm(null, fld, dn.Dir, dn.Nulls));

    private static readonly P<OrderTerm> OrderRelationTermP =
        Seq(Seq(FieldName, Between(Char('('), Char(')'), Field), (rel, fld) => (rel, fld)), DirAndNulls,
            (rf, dn) => new OrderTerm(rf.rel, rf.fld, dn.Dir, dn.Nulls));

    /// <summary>pOrder: the <c>order=</c> grammar.</summary>
    public static readonly P<List<OrderTerm>> Order = SepBy1(Lexeme(Or(Try(OrderRelationTermP), OrderTermP)), Char(','));

    // ---- logic trees ----

    private static readonly P<string> PgArray =
        Captured(Seq(Str("{"), Seq(SkipMany(NoneOf("{}")), Str("}"), (_, _) => true), (_, _) => true));

    private static readonly P<string> LogicSingleVal = Or(
        Try(Left(QuotedValue, NotFollowedBy(NoneOf(",)")))),
        Try(PgArray),
        Captured(Many(NoneOf(",)"))));

    private static readonly P<LogicTree> LogicTreeLazy = Lazy(() => LogicTreeP!);

    private static readonly P<Filter> LogicFilter = Seq(Field, Right(Delimiter, OpExprP(LogicSingleVal)), (fld, op) => new Filter(fld, op));

    private static readonly P<bool> LogicNot = Label(NotPrefix, "negation operator (not)");

    private static readonly P<bool> LogicOperator = Label(Or(Try(Map(Str("and"), _ => true)), Map(Str("or"), _ => false)), "logic operator (and, or)");

    private static readonly P<List<LogicTree>> LogicChildren =
        Nested(Right(Lexeme(Char('(')), Left(SepBy1(LogicTreeLazy, Lexeme(Char(','))), Lexeme(Char(')')))));

    private static readonly P<LogicTree> LogicTreeP = Or(
        Map(Try(LogicFilter), f => (LogicTree)new LogicStatement(f)),
        Seq(LogicNot, Seq(LogicOperator, LogicChildren, (isAnd, children) => (isAnd, children)),
            (not, rest) => (LogicTree)new LogicExpr(not, rest.isAnd, [.. rest.children])));

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
}
