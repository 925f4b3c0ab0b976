using System.Collections.Immutable;

namespace Restgres.ApiRequest;

/// <summary>One step of a JSON path: <c>-&gt;key</c>, <c>-&gt;&gt;key</c>, <c>-&gt;0</c> (PostgREST's JsonOperation).</summary>
/// <param name="Text">Key or index; an index keeps its sign, e.g. <c>+1</c> / <c>-1</c> as PostgREST writes it.</param>
public sealed record JsonOperation(bool ReturnsText, bool IsIndex, string Text);

/// <summary>A column reference with an optional JSON path (PostgREST's Field).</summary>
public sealed record Field(string Name, ImmutableArray<JsonOperation> JsonPath)
{
    public static Field Plain(string name) => new(name, []);
}

public enum AggregateFunction { Sum, Avg, Max, Min, Count }

public enum JoinType { Left, Inner }

/// <summary>An item of <c>select=</c> (PostgREST's SelectItem tree).</summary>
public abstract record SelectItem;

public sealed record SelectField(Field Field, AggregateFunction? Aggregate, string? AggregateCast, string? Cast, string? Alias) : SelectItem;

public sealed record SelectRelation(string Name, string? Alias, string? Hint, JoinType? JoinType, ImmutableArray<SelectItem> Children) : SelectItem;

public sealed record SpreadRelation(string Name, string? Hint, JoinType? JoinType, ImmutableArray<SelectItem> Children) : SelectItem;

public enum SimpleOperator { NotEqual, Contains, Contained, Overlap, StrictlyLeft, StrictlyRight, NotExtendsRight, NotExtendsLeft, Adjacent }

public enum QuantOperator { Equal, GreaterThanEqual, GreaterThan, LessThanEqual, LessThan, Like, ILike, Match, IMatch }

public enum Quantifier { Any, All }

public enum IsValue { Null, NotNull, True, False, Unknown }

public enum FtsOperator { Fts, Plain, Phrase, Websearch }

/// <summary>The right-hand side of a filter (PostgREST's Operation).</summary>
public abstract record Operation;

public sealed record SimpleOp(SimpleOperator Operator, string Value) : Operation;

public sealed record QuantOp(QuantOperator Operator, Quantifier? Quantifier, string Value) : Operation;

public sealed record InOp(ImmutableArray<string> Values) : Operation;

public sealed record IsOp(IsValue Value) : Operation;

public sealed record IsDistinctOp(string Value) : Operation;

public sealed record FtsOp(FtsOperator Operator, string? Language, string Value) : Operation;

/// <summary>A filter expression with optional negation; <see cref="Operation"/> is null for an RPC argument (no operator).</summary>
public sealed record OpExpr(bool Not, Operation? Operation, string RawValue);

public sealed record Filter(Field Field, OpExpr Expr);

/// <summary>A boolean tree from <c>and=(...)</c> / <c>or=(...)</c> (PostgREST's LogicTree).</summary>
public abstract record LogicTree;

public sealed record LogicExpr(bool Not, bool IsAnd, ImmutableArray<LogicTree> Children) : LogicTree;

public sealed record LogicStatement(Filter Filter) : LogicTree;

public enum OrderDirection { Asc, Desc }

public enum OrderNulls { First, Last }

/// <summary>An <c>order=</c> term; <see cref="Relation"/> is set for ordering by a to-one embed (<c>rel(col)</c>).</summary>
public sealed record OrderTerm(string? Relation, Field Field, OrderDirection? Direction, OrderNulls? Nulls);
