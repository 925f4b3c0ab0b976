using System.Collections.Immutable;
using Restgres.Catalog;
using Restgres.Config;
using Restgres.Errors;
using Restgres.Requests;

namespace Restgres.Plan;

/// <summary>
/// A column written from the body, typed from the schema cache (PostgREST's CoercibleField as used by mutations):
/// <see cref="IrType"/> types the <c>json_to_recordset</c> column list; <see cref="Transform"/> is a json → type
/// data representation applied to the parsed value; <see cref="Default"/> feeds <c>Prefer: missing=default</c>.
/// </summary>
internal sealed record MutateField(string Name, string IrType, string? Transform, string? Default);

/// <summary>The write of a mutation (PostgREST's MutatePlan: Insert / Update / Delete).</summary>
internal abstract record MutatePlan
{
    public required QualifiedIdentifier Target { get; init; }
    /// <summary>Columns for RETURNING; empty means <c>RETURNING 1</c> (the rows are only counted).</summary>
    public required ImmutableArray<string> Returning { get; init; }
    /// <summary>Filters of PATCH/DELETE; for an insert, PUT's primary-key conditions on the body.</summary>
    public ImmutableArray<CoercibleLogicTree> Where { get; init; } = [];
}

internal sealed record InsertPlan : MutatePlan
{
    public required ImmutableArray<MutateField> Columns { get; init; }
    public required Payload? Body { get; init; }
    /// <summary>ON CONFLICT (columns) DO NOTHING / DO UPDATE, from Prefer: resolution (or PUT).</summary>
    public (PreferResolution Resolution, ImmutableArray<string> Columns)? OnConflict { get; init; }
    /// <summary>Primary-key columns for the Location header (empty for PUT, as in PostgREST).</summary>
    public ImmutableArray<string> PkColumns { get; init; } = [];
    public bool ApplyDefaults { get; init; }
    public bool IsPut => !Where.IsEmpty;
}

internal sealed record UpdatePlan : MutatePlan
{
    public required ImmutableArray<MutateField> Columns { get; init; }
    public required Payload? Body { get; init; }
    public bool ApplyDefaults { get; init; }
}

internal sealed record DeletePlan : MutatePlan;

/// <summary>
/// A mutation plus the read of its result (PostgREST's MutateReadPlan): the read selects from the
/// <c>pgrst_source</c> CTE holding the RETURNING rows, aliased as the table so embeds resolve.
/// </summary>
internal sealed record MutateReadPlan(
    ReadPlan Read,
    MutatePlan Mutate,
    CallHandler Handler,
    MediaType Media,
    Mutation Mutation,
    QualifiedIdentifier Target);

/// <summary>Plans POST/PUT/PATCH/DELETE on a relation (PostgREST's mutateReadPlan and mutatePlan in Plan.hs). Pure.</summary>
internal static class MutatePlanner
{
    public static MutateReadPlan Plan(AppConfig config, SchemaCache cache, ApiRequest req, RelationMut mut, ParsedPayload payload)
    {
        var table = Planner.FindTable(cache, mut.Target);
        var read = ForMutation(Planner.ReadPlanFor(config, cache, req, table.Identifier), table);
        var mutate = MutatePlanFor(cache, req, mut.Mutation, table, read, payload);
        Planner.CheckPreferences(req);
        // PostgREST offers the schema's custom media handlers to writes as well (negotiateContent does not tell them
        // apart); here only the builtin ones are, as before. Passing cache.MediaHandlers is the switch, once the
        // responses of writes through custom aggregates are tested.
        var (handler, media) = Negotiator.Negotiate(config, req, table.Identifier, MediaHandlerMap.Builtin, read.IsDefaultSelect,
            withoutBody: req.Preferences.Representation != PreferRepresentation.Full);
        return new MutateReadPlan(read, mutate, handler, media, mut.Mutation, mut.Target);
    }

    /// <summary>
    /// The read of a mutation's result selects from the CTE aliased as the table (PostgREST's addRels root case);
    /// Planner.ReadPlanFor already does so for mutations, and leaves out root filters, logic trees and ranges.
    /// </summary>
    public static ReadPlan ForMutation(ReadPlan read, Table table) =>
        read.From == ReadPlan.Source
            ? read
            : read with { From = ReadPlan.Source, FromAlias = table.Name, Where = [], Range = NonnegRange.All };

    public static MutatePlan MutatePlanFor(SchemaCache cache, ApiRequest req, Mutation mutation,
        Table table, ReadPlan read, ParsedPayload payload)
    {
        var prefs = req.Preferences;
        var qp = req.QueryParams;
        var pk = table.PrimaryKey;
        var returning = prefs.Representation is null or PreferRepresentation.None
            ? ImmutableArray<string>.Empty
            : ReturningColumns(read, pk);
        var applyDefaults = prefs.Missing == PreferMissing.ApplyDefaults;
        switch (mutation)
        {
            case Mutation.Create:
            {
                var cols = TypedColumns(cache, table, payload.Columns);
                var confCols = qp.OnConflict ?? [.. pk];
                return new InsertPlan
                {
                    Target = table.Identifier,
                    Returning = returning,
                    Columns = cols,
                    Body = payload.Payload,
                    OnConflict = prefs.Resolution is { } res ? (res, confCols) : null,
                    PkColumns = [.. pk],
                    ApplyDefaults = applyDefaults,
                };
            }
            case Mutation.Update:
                return new UpdatePlan
                {
                    Target = table.Identifier,
                    Returning = returning,
                    Columns = TypedColumns(cache, table, payload.Columns),
                    Body = payload.Payload,
                    Where = CombinedLogic(cache, table, qp),
                    ApplyDefaults = applyDefaults,
                };
            case Mutation.SingleUpsert:
                if (!IsPutFilter(qp, pk)) throw Pgrst.InvalidFilters();
                return new InsertPlan
                {
                    Target = table.Identifier,
                    Returning = returning,
                    Columns = TypedColumns(cache, table, payload.Columns),
                    Body = payload.Payload,
                    OnConflict = (PreferResolution.MergeDuplicates, [.. pk]),
                    Where = CombinedLogic(cache, table, qp),
                };
            default:
                return new DeletePlan
                {
                    Target = table.Identifier,
                    Returning = returning,
                    Where = CombinedLogic(cache, table, qp),
                };
        }
    }

    /// <summary>
    /// PUT needs no logic trees and exactly the primary-key columns as filters, each a plain <c>eq</c>
    /// (PGRST105 otherwise; PostgREST compares the set of filtered field names with the key).
    /// </summary>
    private static bool IsPutFilter(QueryParams qp, IReadOnlyList<string> pk)
    {
        if (!qp.Logic.IsEmpty || pk.Count == 0) return false;
        var fields = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (path, f) in qp.Filters)
        {
            // A filter on an embed or a JSON path names a field no key column can equal.
            fields.Add(path.IsEmpty && f.Field.JsonPath.IsEmpty ? f.Field.Name : "\0" + string.Join('.', path) + "." + f.Field.Name);
            if (path.IsEmpty && f.Expr is not { Not: false, Operation: QuantOp { Operator: QuantOperator.Equal, Quantifier: null } })
                return false;
        }
        return fields.SetEquals(pk);
    }

    /// <summary>resolveOrError over the (sorted) payload keys or <c>columns=</c>: unknown columns are PGRST204.</summary>
    private static ImmutableArray<MutateField> TypedColumns(SchemaCache cache, Table table, ImmutableArray<string> columns)
    {
        var result = ImmutableArray.CreateBuilder<MutateField>(columns.Length);
        foreach (var name in columns)
        {
            if (!table.ColumnsByName.TryGetValue(name, out var col)) throw Pgrst.ColumnNotFound(table.Name, name);
            // withJsonParse: a json → type data representation parses the value.
            result.Add(cache.Representations.TryGetValue(("json", col.NominalType), out var rep)
                ? new MutateField(col.Name, "json", rep.Function, col.Default)
                : new MutateField(col.Name, col.NominalType, null, col.Default));
        }
        return result.MoveToImmutable();
    }

    /// <summary>
    /// inferColsEmbedNeeds: <c>*</c> when selected; otherwise the selected names plus the columns embeds join on and
    /// the primary key (so a Location can always be built), as a sorted set.
    /// </summary>
    public static ImmutableArray<string> ReturningColumns(ReadPlan read, IReadOnlyList<string> pk)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var s in read.Select) names.Add(s.Field.Name);
        if (names.Contains("*")) return ["*"];
        foreach (var child in read.Children)
        {
            switch (child.RelToParent)
            {
                case { Cardinality: Cardinality.Computed }:
                    // The columns a computed relationship needs are unknown: return all of them.
                    return ["*"];
                case { Cardinality: Cardinality.ManyToMany, Junction: { } j }:
                    foreach (var (c, _) in j.SourceColumns) names.Add(c);
                    break;
                case { } rel:
                    foreach (var (c, _) in rel.Columns) names.Add(c);
                    break;
            }
        }
        foreach (var c in pk) names.Add(c);
        return [.. names];
    }

    /// <summary>The root filters (in order) followed by the root logic trees, resolved against the table.</summary>
    public static ImmutableArray<CoercibleLogicTree> CombinedLogic(SchemaCache cache, Table table, QueryParams qp)
    {
        var result = ImmutableArray.CreateBuilder<CoercibleLogicTree>();
        foreach (var f in qp.FiltersRoot) result.Add(new CoercibleLogicStmt(Planner.ResolveFilter(cache, table.Identifier, f)));
        foreach (var (path, tree) in qp.Logic)
            if (path.IsEmpty) result.Add(Planner.ResolveLogicTree(cache, table.Identifier, tree));
        return result.ToImmutable();
    }
}
