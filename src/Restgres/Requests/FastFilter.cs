namespace Restgres.Requests;

/// <summary>
/// The common filter values — <c>[not.]op.value</c> with a single-value operator — read without the Parsec grammar.
/// For those inputs <see cref="Grammar.FilterExpr"/> yields exactly this (the operator names are not prefixes of one
/// another once the delimiter is required, and <c>pSingleVal</c> takes the rest of the text verbatim). Anything else —
/// <c>in.</c>, <c>is.</c>, full-text search, quantifiers like <c>eq(any)</c>, unknown operators — returns null and goes
/// to the grammar, so every error message is still the grammar's.
/// </summary>
internal static class FastFilter
{
    private static readonly Dictionary<string, Func<string, Operation>> Operators = new(StringComparer.Ordinal)
    {
        ["eq"] = v => new QuantOp(QuantOperator.Equal, null, v),
        ["gte"] = v => new QuantOp(QuantOperator.GreaterThanEqual, null, v),
        ["gt"] = v => new QuantOp(QuantOperator.GreaterThan, null, v),
        ["lte"] = v => new QuantOp(QuantOperator.LessThanEqual, null, v),
        ["lt"] = v => new QuantOp(QuantOperator.LessThan, null, v),
        ["like"] = v => new QuantOp(QuantOperator.Like, null, v),
        ["ilike"] = v => new QuantOp(QuantOperator.ILike, null, v),
        ["match"] = v => new QuantOp(QuantOperator.Match, null, v),
        ["imatch"] = v => new QuantOp(QuantOperator.IMatch, null, v),
        ["neq"] = v => new SimpleOp(SimpleOperator.NotEqual, v),
        ["cs"] = v => new SimpleOp(SimpleOperator.Contains, v),
        ["cd"] = v => new SimpleOp(SimpleOperator.Contained, v),
        ["ov"] = v => new SimpleOp(SimpleOperator.Overlap, v),
        ["sl"] = v => new SimpleOp(SimpleOperator.StrictlyLeft, v),
        ["sr"] = v => new SimpleOp(SimpleOperator.StrictlyRight, v),
        ["nxr"] = v => new SimpleOp(SimpleOperator.NotExtendsRight, v),
        ["nxl"] = v => new SimpleOp(SimpleOperator.NotExtendsLeft, v),
        ["adj"] = v => new SimpleOp(SimpleOperator.Adjacent, v),
        ["isdistinct"] = v => new IsDistinctOp(v),
    };

    private static readonly Dictionary<string, Func<string, Operation>>.AlternateLookup<ReadOnlySpan<char>> ByName =
        Operators.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The parse of a filter value with <see cref="OpExpr.RawValue"/> set, or null to use the grammar.</summary>
    public static OpExpr? TryParse(string value)
    {
        var rest = value.AsSpan();
        var not = rest.StartsWith("not.", StringComparison.Ordinal);
        if (not) rest = rest[4..];
        var dot = rest.IndexOf('.');
        if (dot <= 0 || !ByName.TryGetValue(rest[..dot], out var make)) return null;
        var start = value.Length - rest.Length + dot + 1;
        return new OpExpr(not, make(value[start..]), value);
    }
}
