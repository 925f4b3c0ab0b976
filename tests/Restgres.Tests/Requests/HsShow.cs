using System.Globalization;
using System.Text;
using Restgres.Requests;

namespace Restgres.Tests.Requests;

/// <summary>
/// Renders parse results the way GHC's derived <c>Show</c> prints PostgREST's types (ApiRequest/Types.hs), so that the
/// expected values of the test tables are PostgREST's doctest results copied verbatim. <c>d</c> is the precedence
/// context: records and constructor applications are parenthesised at 11 (an argument position), as GHC does.
/// </summary>
internal static class HsShow
{
    private static readonly string[] AsciiNames =
    [
        "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "a", "b", "t", "n", "v", "f", "r", "SO", "SI",
        "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US",
    ];

    /// <summary>Haskell's <c>show</c> for a String / Text (showLitChar with the <c>\&amp;</c> protections).</summary>
    public static string Str(string s)
    {
        var sb = new StringBuilder("\"");
        var runes = s.EnumerateRunes().ToList();
        for (var i = 0; i < runes.Count; i++)
        {
            var v = runes[i].Value;
            var next = i + 1 < runes.Count ? runes[i + 1].Value : -1;
            if (v == '"') sb.Append("\\\"");
            else if (v == '\\') sb.Append("\\\\");
            else if (v == 0x7f) sb.Append("\\DEL");
            else if (v > 0x7f)
            {
                sb.Append('\\').Append(v.ToString(CultureInfo.InvariantCulture));
                if (next is >= '0' and <= '9') sb.Append("\\&");
            }
            else if (v < 0x20)
            {
                sb.Append('\\').Append(AsciiNames[v]);
                if (v == 0x0e && next == 'H') sb.Append("\\&");
            }
            else sb.Append((char)v);
        }
        return sb.Append('"').ToString();
    }

    private static string Paren(int d, string s) => d >= 11 ? "(" + s + ")" : s;

    private static string Maybe(string? shownAt11, int d) => shownAt11 is null ? "Nothing" : Paren(d, "Just " + shownAt11);

    private static string MaybeStr(string? s) => Maybe(s is null ? null : Str(s), 0);

    private static string List(IEnumerable<string> items) => "[" + string.Join(",", items) + "]";

    public static string JsonOp(JsonOperation op) =>
        (op.ReturnsText ? "J2Arrow" : "JArrow") + " {jOp = " + (op.IsIndex ? "JIdx" : "JKey") + " {jVal = " + Str(op.Text) + "}}";

    public static string JsonPath(IEnumerable<JsonOperation> path) => List(path.Select(JsonOp));

    public static string Field(Field f) => "(" + Str(f.Name) + "," + JsonPath(f.JsonPath) + ")";

    private static string Join(JoinType? j) => j switch { JoinType.Inner => "Just JTInner", JoinType.Left => "Just JTLeft", _ => "Nothing" };

    private static string Agg(AggregateFunction? a) => a is { } v ? "Just " + v : "Nothing";

    /// <summary>A SelectItem's root label (without its children).</summary>
    public static string Label(SelectItem item, int d) => Paren(d, item switch
    {
        SelectField f => "SelectField {selField = " + Field(f.Field) + ", selAggregateFunction = " + Agg(f.Aggregate)
            + ", selAggregateCast = " + MaybeStr(f.AggregateCast) + ", selCast = " + MaybeStr(f.Cast) + ", selAlias = " + MaybeStr(f.Alias) + "}",
        SelectRelation r => RelationLabel(r.Name, r.Alias, r.Hint, r.JoinType),
        SpreadRelation s => SpreadLabel(s.Name, s.Hint, s.JoinType),
        _ => throw new ArgumentOutOfRangeException(nameof(item)),
    });

    public static string RelationLabel(string name, string? alias, string? hint, JoinType? join) =>
        "SelectRelation {selRelation = " + Str(name) + ", selAlias = " + MaybeStr(alias) + ", selHint = " + MaybeStr(hint) + ", selJoinType = " + Join(join) + "}";

    public static string SpreadLabel(string name, string? hint, JoinType? join) =>
        "SpreadRelation {selRelation = " + Str(name) + ", selHint = " + MaybeStr(hint) + ", selJoinType = " + Join(join) + "}";

    /// <summary>Data.Tree's <c>Node {rootLabel = ..., subForest = [...]}</c>.</summary>
    public static string Node(SelectItem item)
    {
        var children = item switch
        {
            SelectRelation r => r.Children,
            SpreadRelation s => s.Children,
            _ => [],
        };
        return "Node {rootLabel = " + Label(item, 0) + ", subForest = " + Forest(children) + "}";
    }

    public static string Forest(IEnumerable<SelectItem> items) => List(items.Select(Node));

    public static string Operation(Operation op, int d) => Paren(d, op switch
    {
        SimpleOp s => "Op Op" + s.Operator + " " + Str(s.Value),
        QuantOp q => "OpQuant " + QuantName(q.Operator) + " " + (q.Quantifier is { } qu ? "(Just Quant" + qu + ")" : "Nothing") + " " + Str(q.Value),
        InOp i => "In " + List(i.Values.Select(Str)),
        IsOp i => "Is " + i.Value switch
        {
            IsValue.Null => "IsNull",
            IsValue.NotNull => "IsNotNull",
            IsValue.True => "IsTriTrue",
            IsValue.False => "IsTriFalse",
            _ => "IsTriUnknown",
        },
        IsDistinctOp i => "IsDistinctFrom " + Str(i.Value),
        FtsOp f => "Fts " + f.Operator switch
        {
            FtsOperator.Fts => "FilterFts",
            FtsOperator.Plain => "FilterFtsPlain",
            FtsOperator.Phrase => "FilterFtsPhrase",
            _ => "FilterFtsWebsearch",
        } + " " + Maybe(f.Language is null ? null : Str(f.Language), 11) + " " + Str(f.Value),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    });

    private static string QuantName(QuantOperator op) => op switch
    {
        QuantOperator.Equal => "OpEqual",
        QuantOperator.GreaterThanEqual => "OpGreaterThanEqual",
        QuantOperator.GreaterThan => "OpGreaterThan",
        QuantOperator.LessThanEqual => "OpLessThanEqual",
        QuantOperator.LessThan => "OpLessThan",
        QuantOperator.Like => "OpLike",
        QuantOperator.ILike => "OpILike",
        QuantOperator.Match => "OpMatch",
        _ => "OpIMatch",
    };

    public static string OpExpr(OpExpr e, int d) =>
        e.Operation is null
            ? Paren(d, "NoOpExpr " + Str(e.RawValue))
            : Paren(d, "OpExpr " + (e.Not ? "True" : "False") + " " + Operation(e.Operation, 11));

    public static string Filter(Filter f, int d) => Paren(d, "Filter {field = " + Field(f.Field) + ", opExpr = " + OpExpr(f.Expr, 0) + "}");

    public static string LogicTree(LogicTree t, int d) => t switch
    {
        LogicStatement s => Paren(d, "Stmnt " + Filter(s.Filter, 11)),
        LogicExpr e => Paren(d, "Expr " + (e.Not ? "True" : "False") + " " + (e.IsAnd ? "And" : "Or") + " " + List(e.Children.Select(c => LogicTree(c, 0)))),
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    public static string OrderTerm(OrderTerm t)
    {
        var dir = t.Direction switch { OrderDirection.Asc => "Just OrderAsc", OrderDirection.Desc => "Just OrderDesc", _ => "Nothing" };
        var nulls = t.Nulls switch { OrderNulls.First => "Just OrderNullsFirst", OrderNulls.Last => "Just OrderNullsLast", _ => "Nothing" };
        return t.Relation is null
            ? "OrderTerm {otTerm = " + Field(t.Field) + ", otDirection = " + dir + ", otNullOrder = " + nulls + "}"
            : "OrderRelationTerm {otRelation = " + Str(t.Relation) + ", otRelTerm = " + Field(t.Field) + ", otDirection = " + dir + ", otNullOrder = " + nulls + "}";
    }

    public static string Order(IEnumerable<OrderTerm> terms) => List(terms.Select(OrderTerm));

    public static string StrList(IEnumerable<string> xs) => List(xs.Select(Str));
}
