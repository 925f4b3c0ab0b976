using System.Collections.Immutable;

namespace Restgres.Requests;

/// <summary>One step of a JSON path: <c>-&gt;key</c>, <c>-&gt;&gt;key</c>, <c>-&gt;0</c> (PostgREST's JsonOperation).</summary>
/// <param name="Text">Key or index; an index keeps its sign, e.g. <c>+1</c> / <c>-1</c> as PostgREST writes it.</param>
internal sealed record JsonOperation(bool ReturnsText, bool IsIndex, string Text);

/// <summary>A column reference with an optional JSON path (PostgREST's Field).</summary>
internal sealed record Field(string Name, ImmutableArray<JsonOperation> JsonPath)
{
    public static Field Plain(string name) => new(name, []);
}

internal enum AggregateFunction { Sum, Avg, Max, Min, Count }

internal enum JoinType { Left, Inner }

/// <summary>An item of <c>select=</c> (PostgREST's SelectItem tree).</summary>
internal abstract record SelectItem;

internal sealed record SelectField(Field Field, AggregateFunction? Aggregate, string? AggregateCast, string? Cast, string? Alias) : SelectItem;

internal sealed record SelectRelation(string Name, string? Alias, string? Hint, JoinType? JoinType, ImmutableArray<SelectItem> Children) : SelectItem;

internal sealed record SpreadRelation(string Name, string? Hint, JoinType? JoinType, ImmutableArray<SelectItem> Children) : SelectItem;

internal enum SimpleOperator { NotEqual, Contains, Contained, Overlap, StrictlyLeft, StrictlyRight, NotExtendsRight, NotExtendsLeft, Adjacent }

internal enum QuantOperator { Equal, GreaterThanEqual, GreaterThan, LessThanEqual, LessThan, Like, ILike, Match, IMatch }

internal enum Quantifier { Any, All }

internal enum IsValue { Null, NotNull, True, False, Unknown }

internal enum FtsOperator { Fts, Plain, Phrase, Websearch }

/// <summary>The right-hand side of a filter (PostgREST's Operation).</summary>
internal abstract record Operation;

internal sealed record SimpleOp(SimpleOperator Operator, string Value) : Operation;

internal sealed record QuantOp(QuantOperator Operator, Quantifier? Quantifier, string Value) : Operation;

internal sealed record InOp(ImmutableArray<string> Values) : Operation;

internal sealed record IsOp(IsValue Value) : Operation;

internal sealed record IsDistinctOp(string Value) : Operation;

internal sealed record FtsOp(FtsOperator Operator, string? Language, string Value) : Operation;

/// <summary>A filter expression with optional negation; <see cref="Operation"/> is null for an RPC argument (no operator).</summary>
internal sealed record OpExpr(bool Not, Operation? Operation, string RawValue);

internal sealed record Filter(Field Field, OpExpr Expr);

/// <summary>A boolean tree from <c>and=(...)</c> / <c>or=(...)</c> (PostgREST's LogicTree).</summary>
internal abstract record LogicTree;

internal sealed record LogicExpr(bool Not, bool IsAnd, ImmutableArray<LogicTree> Children) : LogicTree;

internal sealed record LogicStatement(Filter Filter) : LogicTree;

internal enum OrderDirection { Asc, Desc }

internal enum OrderNulls { First, Last }

/// <summary>An <c>order=</c> term; <see cref="Relation"/> is set for ordering by a to-one embed (<c>rel(col)</c>).</summary>
internal sealed record OrderTerm(string? Relation, Field Field, OrderDirection? Direction, OrderNulls? Nulls);
