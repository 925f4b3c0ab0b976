using System.Collections.Immutable;
using Restgres.ApiRequest;
using Restgres.SchemaCache;

namespace Restgres.Plan;

/// <summary>
/// A field resolved against the schema cache (PostgREST's CoercibleField): its type decides whether a JSON path
/// needs <c>to_jsonb</c>, whether full-text search needs <c>to_tsvector</c>, and which data representation applies.
/// </summary>
public sealed record CoercibleField(
    string Name,
    ImmutableArray<JsonOperation> JsonPath,
    bool ToJson,
    string? ToTsVectorLang,
    bool ToTsVector,
    string IrType,
    string BaseType,
    string? Transform,
    bool FullRow = false)
{
    public static CoercibleField Unknown(string name, ImmutableArray<JsonOperation> jsonPath) =>
        new(name, jsonPath, false, null, false, "", "", null);
}

public sealed record CoercibleSelectField(CoercibleField Field, AggregateFunction? Aggregate, string? AggregateCast, string? Cast, string? Alias);

public sealed record CoercibleFilter(CoercibleField Field, OpExpr Expr);

public abstract record CoercibleLogicTree;
public sealed record CoercibleLogicExpr(bool Not, bool IsAnd, ImmutableArray<CoercibleLogicTree> Children) : CoercibleLogicTree;
public sealed record CoercibleLogicStmt(CoercibleFilter Filter) : CoercibleLogicTree;

public sealed record CoercibleOrderTerm(string? Relation, CoercibleField Field, OrderDirection? Direction, OrderNulls? Nulls);

/// <summary>One node of the read plan tree (PostgREST's ReadPlan); children are embedded resources.</summary>
public sealed record ReadPlan
{
    public required ImmutableArray<CoercibleSelectField> Select { get; init; }
    public required QualifiedIdentifier From { get; init; }
    public string? FromAlias { get; init; }
    public ImmutableArray<CoercibleLogicTree> Where { get; init; } = [];
    public ImmutableArray<CoercibleOrderTerm> Order { get; init; } = [];
    public NonnegRange Range { get; init; } = NonnegRange.All;
    public required string RelName { get; init; }
    public int Depth { get; init; }
    public ImmutableArray<ReadPlan> Children { get; init; } = [];
}
