using Restgres.Catalog;
using Restgres.Requests;

namespace Restgres.Plan;

/// <summary>
/// How the body is produced: a builtin aggregate, or a custom media handler (an aggregate over the relation's rows,
/// or for a function returning a media-type domain, that domain applied to the scalar).
/// </summary>
/// <param name="Function">The handler function (the domain type for scalar handlers); null for builtins.</param>
/// <param name="Target">The relation the handler aggregates (cast target); null for <c>anyelement</c>.</param>
internal sealed record CallHandler(MediaHandler Builtin, QualifiedIdentifier? Function = null, QualifiedIdentifier? Target = null)
{
    /// <summary>No body: HEAD, or a write without return=representation (PostgREST's NoAgg).</summary>
    public static readonly CallHandler NoAgg = new(MediaHandler.NoAgg);

    public bool IsCustom => Function is not null;
}

/// <summary>
/// The media handlers by (relation, media type) (PostgREST's MediaHandlerMap): the builtins for any relation,
/// overridden by custom aggregates and media-type-domain functions found in the database.
/// </summary>
internal sealed class MediaHandlerMap
{
    private readonly Dictionary<(QualifiedIdentifier? Rel, string Mime), (CallHandler Handler, MediaType Media)> _map = [];

    public static readonly MediaHandlerMap Builtin = new([]);

    /// <param name="custom">(handler function, target relation or null for anyelement, media type, resolved media type).</param>
    public MediaHandlerMap(IEnumerable<(QualifiedIdentifier Handler, QualifiedIdentifier? Target, string MediaType, string Resolved)> custom)
    {
        _map[(null, "*/*")] = (new CallHandler(MediaHandler.Json), MediaType.Json);
        _map[(null, "application/json")] = (new CallHandler(MediaHandler.Json), MediaType.Json);
        _map[(null, "text/csv")] = (new CallHandler(MediaHandler.Csv), MediaType.Csv);
        _map[(null, "application/geo+json")] = (new CallHandler(MediaHandler.GeoJson), new MediaType(MediaKind.GeoJson));
        // HM.union mHdlers initialMediaHandlers: custom handlers override the builtins.
        foreach (var (handler, target, mt, resolved) in custom)
            _map[(target, Key(MediaType.Decode(mt)))] = (new CallHandler(MediaHandler.Json, handler, target), MediaType.Decode(resolved));
    }

    private static string Key(MediaType mt) => mt.ToMime();

    /// <summary>Handlers known, builtins included (the schema cache summary's "Media Type Handlers").</summary>
    public int Count => _map.Count;

    public bool TryGet(QualifiedIdentifier? rel, MediaType mt, out (CallHandler Handler, MediaType Media) result) =>
        _map.TryGetValue((rel, Key(mt)), out result);
}

/// <summary>
/// The custom media handlers in the exposed schemas ($1, quoted): aggregates over a relation's rows (or anyelement)
/// that return a media-type domain such as <c>"text/csv"</c>, and functions returning such a domain, whose body is the
/// domain applied to the result. <c>"*/*"</c> produces application/octet-stream (SchemaCache.hs mediaHandlers).
/// Columns: handler schema and name, target schema and name, media type, resolved media type.
/// </summary>
internal static class MediaHandlerQuery
{
    public const string Sql = """
        WITH media_types AS (
          SELECT t.oid, t.typname, t.typnamespace,
                 CASE WHEN t.typname = '*/*' THEN 'application/octet-stream' ELSE t.typname END AS resolved
          FROM pg_type t
          WHERE t.typtype = 'd'
            AND (t.typname ~* '^[A-Za-z0-9.-]+/[A-Za-z0-9.\+-]+$' OR t.typname = '*/*')
        )
        SELECT hn.nspname, p.proname, an.nspname, at.typname::text, lower(m.typname), m.resolved::text
        FROM pg_aggregate a
        JOIN pg_proc p ON p.oid = a.aggfnoid
        JOIN media_types m ON m.oid = p.prorettype
        JOIN pg_namespace hn ON hn.oid = p.pronamespace
        JOIN pg_type at ON at.oid = p.proargtypes[0]
        JOIN pg_namespace an ON an.oid = at.typnamespace
        WHERE p.pronargs = 1
          AND p.pronamespace = ANY ($1::regnamespace[])
          AND (at.typname = 'anyelement' OR at.oid IN (SELECT reltype FROM pg_class WHERE relkind IN ('v', 'r', 'm', 'f', 'p')))
        UNION
        SELECT mn.nspname, m.typname::text, pn.nspname, p.proname::text, lower(m.typname), m.resolved::text
        FROM pg_proc p
        JOIN media_types m ON m.oid = p.prorettype
        JOIN pg_namespace mn ON mn.oid = m.typnamespace
        JOIN pg_namespace pn ON pn.oid = p.pronamespace
        WHERE p.prokind = 'f' AND NOT p.proretset
          AND p.pronamespace = ANY ($1::regnamespace[])
        """;
}
