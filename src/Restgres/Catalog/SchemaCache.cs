using System.Collections.Frozen;

namespace Restgres.Catalog;

/// <summary>
/// An immutable snapshot of what the API exposes (PostgREST's SchemaCache). Built by <see cref="SchemaCacheLoader"/>
/// and swapped atomically on reload, so a request always sees one whole cache.
/// </summary>
internal sealed class SchemaCache
{
    public required FrozenDictionary<QualifiedIdentifier, Table> Tables { get; init; }
    /// <summary>Relationships keyed by (table, schema of the foreign table), as PostgREST indexes them.</summary>
    public required FrozenDictionary<QualifiedIdentifier, IReadOnlyList<Relationship>> Relationships { get; init; }
    public required FrozenDictionary<QualifiedIdentifier, IReadOnlyList<Routine>> Routines { get; init; }
    /// <summary>Data representations keyed by (source type, target type).</summary>
    public required FrozenDictionary<(string Source, string Target), DataRepresentation> Representations { get; init; }
    /// <summary>Settings of the roles the authenticator can switch to (ALTER ROLE ... SET), applied per request.
    /// Settable: a config reload reads them again without reloading the whole cache (PostgREST re-queries the role
    /// settings on a config reload); a request reads the reference once.</summary>
    public FrozenDictionary<string, RoleSettings> RoleSettings
    {
        get => Volatile.Read(ref _roleSettings);
        set => Volatile.Write(ref _roleSettings, value);
    }

    private FrozenDictionary<string, RoleSettings> _roleSettings = FrozenDictionary<string, RoleSettings>.Empty;

    /// <summary>
    /// The relations each view or materialized view reads (through other views, recursively; from pg_depend): the
    /// response cache's dependencies (Http/ResponseCache.cs).
    /// </summary>
    public FrozenDictionary<QualifiedIdentifier, QualifiedIdentifier[]> ViewSources { get; init; } =
        FrozenDictionary<QualifiedIdentifier, QualifiedIdentifier[]>.Empty;

    /// <summary>
    /// Milliseconds spent by this snapshot's load: each catalog query, then view key dependencies, tables and
    /// relationships in C# (for debug logs). Kept on the snapshot so concurrent loads never share state.
    /// </summary>
    /// <summary>Milliseconds per catalog query, under PostgREST's labels (tables, keydeps, rels, funcs, comprels, dreps,
    /// mhandlers) and ours (roles).</summary>
    public IReadOnlyDictionary<string, double> QueryTimings { get; init; } = new Dictionary<string, double>();

    /// <summary>The time to build the cache from the queries' results (PostgREST's "Schema cache loaded in").</summary>
    public TimeSpan BuildTime { get; set; }

    /// <summary>Builtin and custom media handlers by (relation, media type).</summary>
    public Plan.MediaHandlerMap MediaHandlers { get; init; } = Plan.MediaHandlerMap.Builtin;

    public static SchemaCache Empty { get; } = new()
    {
        Tables = FrozenDictionary<QualifiedIdentifier, Table>.Empty,
        Relationships = FrozenDictionary<QualifiedIdentifier, IReadOnlyList<Relationship>>.Empty,
        Routines = FrozenDictionary<QualifiedIdentifier, IReadOnlyList<Routine>>.Empty,
        Representations = FrozenDictionary<(string, string), DataRepresentation>.Empty,
    };

    public Table? FindTable(string schema, string name) =>
        Tables.TryGetValue(new QualifiedIdentifier(schema, name), out var t) ? t : null;

    /// <summary>PostgREST's showSummary, as its "Schema cache loaded ..." line says it.</summary>
    public string Summary =>
        $"{Tables.Count} Relations, {Relationships.Values.Sum(r => r.Count)} Relationships, {Routines.Values.Sum(r => r.Count)} RPCs, "
        + $"{Representations.Count} Domain Representations, {MediaHandlers.Count} Media Type Handlers";
}

/// <summary>A role's <c>ALTER ROLE ... SET</c> values that a user may set, and its default isolation level.</summary>
internal sealed record RoleSettings(IReadOnlyList<KeyValuePair<string, string>> Settings, string? IsolationLevel);
