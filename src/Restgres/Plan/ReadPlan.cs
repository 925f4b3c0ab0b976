using System.Collections.Immutable;
using Restgres.Catalog;
using Restgres.Requests;

namespace Restgres.Plan;

/// <summary>
/// A field resolved against the schema cache (PostgREST's CoercibleField): its type decides whether a JSON path
/// needs <c>to_jsonb</c>, whether full-text search needs <c>to_tsvector</c>, and which data representation applies.
/// </summary>
internal sealed record CoercibleField(
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

internal sealed record CoercibleSelectField(CoercibleField Field, AggregateFunction? Aggregate, string? AggregateCast, string? Cast, string? Alias);

internal sealed record CoercibleFilter(CoercibleField Field, OpExpr Expr);

internal abstract record CoercibleLogicTree;
internal sealed record CoercibleLogicExpr(bool Not, bool IsAnd, ImmutableArray<CoercibleLogicTree> Children) : CoercibleLogicTree;
internal sealed record CoercibleLogicStmt(CoercibleFilter Filter) : CoercibleLogicTree;

internal sealed record CoercibleOrderTerm(string? Relation, CoercibleField Field, OrderDirection? Direction, OrderNulls? Nulls);

/// <summary>A join condition <c>left.col = right.col</c> between an embedded resource and its parent.</summary>
internal sealed record JoinCondition(QualifiedIdentifier Left, string LeftColumn, QualifiedIdentifier Right, string RightColumn);

internal enum SpreadKind { None, ToOne, ToMany }

/// <summary>A column surfaced by a spread embed into its parent (PostgREST's SpreadSelectField).</summary>
internal sealed record SpreadSelectField(string Name, AggregateFunction? Aggregate, string? AggregateCast, string? Alias);

/// <summary>How an embedded child appears in its parent's select list (PostgREST's RelSelectField).</summary>
internal abstract record RelSelectField(string AggAlias);
internal sealed record JsonEmbed(string SelName, string AggAlias, bool ToOne, bool EmptyEmbed) : RelSelectField(AggAlias);
internal sealed record SpreadEmbed(ImmutableArray<SpreadSelectField> Fields, string AggAlias) : RelSelectField(AggAlias);

/// <summary>A filter on an embed itself (<c>rel=is.null</c> / <c>rel=not.is.null</c>): the embed's alias IS [NOT] DISTINCT FROM NULL.</summary>
internal sealed record CoercibleNullEmbedFilter(bool Not, string AggAlias) : CoercibleLogicTree;

/// <summary>One node of the read plan tree (PostgREST's ReadPlan); children are embedded resources.</summary>
internal sealed record ReadPlan
{
    public required ImmutableArray<CoercibleSelectField> Select { get; init; }
    public required QualifiedIdentifier From { get; init; }
    public string? FromAlias { get; init; }
    public ImmutableArray<CoercibleLogicTree> Where { get; init; } = [];
    public ImmutableArray<CoercibleOrderTerm> Order { get; init; } = [];
    public NonnegRange Range { get; init; } = NonnegRange.All;
    public required string RelName { get; init; }
    public Relationship? RelToParent { get; init; }
    /// <summary>For a computed relationship: the parent's name the function is called with.</summary>
    public QualifiedIdentifier? RelTableAlias { get; init; }
    public ImmutableArray<JoinCondition> RelJoinConds { get; init; } = [];
    public string? RelAlias { get; init; }
    public string RelAggAlias { get; init; } = "";
    public string? RelHint { get; init; }
    public JoinType? RelJoinType { get; init; }
    public SpreadKind RelSpread { get; init; }
    /// <summary>For to-many spreads: extra selects (relation alias or null, field) used to order inside json_agg.</summary>
    public ImmutableArray<(string? Relation, CoercibleSelectField Field)> SpreadExtraSelects { get; init; } = [];
    public ImmutableArray<CoercibleOrderTerm> SpreadOrder { get; init; } = [];
    public ImmutableArray<RelSelectField> RelSelect { get; init; } = [];
    public int Depth { get; init; }
    public ImmutableArray<ReadPlan> Children { get; init; } = [];
    /// <summary>A filter, order or limit named this embed by its relation name although it has an alias (allowed by
    /// url-use-legacy-target-names, and logged as deprecated).</summary>
    public bool RelIsLegacyTargetNameMatch { get; init; }

    /// <summary>(relation name, alias) of every embed matched by relation name, in tree order (PostgREST's legacyWarnings).</summary>
    public IEnumerable<(string RelName, string Alias)> LegacyTargetNameMatches() =>
        (RelIsLegacyTargetNameMatch && RelAlias is { } alias ? [(RelName, alias)] : Enumerable.Empty<(string, string)>())
            .Concat(Children.SelectMany(c => c.LegacyTargetNameMatches()));

    /// <summary>The CTE holding a write's RETURNING rows or a function's result, which their read selects from.</summary>
    public static readonly QualifiedIdentifier Source = new("", Sql.Statements.SourceCte);

    /// <summary>The name columns are qualified with: the alias when there is one, else the relation.</summary>
    public QualifiedIdentifier Qi => RelToParent is { Cardinality: Cardinality.Computed } rel
        ? new QualifiedIdentifier("", FromAlias ?? rel.Function!.Value.Name)
        : FromAlias is null ? From : new QualifiedIdentifier("", FromAlias);

    /// <summary>
    /// hasDefaultSelect: the rows are the relation's own (<c>*</c>, nothing embedded), so a media handler written for
    /// that relation can aggregate them. Unlike PostgREST we also require no aggregate: <c>select=count()</c> selects
    /// <c>*</c> too, but its one bigint row cannot be cast to the relation's type the handler takes.
    /// </summary>
    public bool IsDefaultSelect =>
        Children.IsEmpty && Select.Length == 1 && Select[0].Field.Name == "*" && Select[0].Aggregate is null;
}
