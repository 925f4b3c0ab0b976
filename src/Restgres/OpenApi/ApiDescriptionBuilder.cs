using System.Text.Json;
using Restgres.Catalog;
using Restgres.Config;
using Restgres.Execution;

namespace Restgres.OpenApi;

/// <summary>
/// Picks what the document shows (PostgREST's MainTx for an InspectPlan): with openapi-mode = follow-privileges, the
/// schema cache's relations that the role can access and the functions it may execute, both read as that role; with
/// ignore-privileges, every relation and function of the schema in the cache.
/// </summary>
internal static class ApiDescriptionBuilder
{
    public static ApiDescription Build(AppConfig config, SchemaCache cache, string schema, OpenApiTxResult db)
    {
        IEnumerable<Table> tables = cache.Tables.Values.Where(t => t.Schema == schema);
        IReadOnlyList<Routine> routines;
        if (config.OpenApiMode == OpenApiMode.FollowPrivileges && db.TablesJson is not null && db.RoutinesJson is not null)
        {
            var accessible = ParseIdentifiers(db.TablesJson);
            tables = tables.Where(t => accessible.Contains(t.Identifier));
            routines = SchemaCacheLoader.ParseRoutineList(db.RoutinesJson);
        }
        else
        {
            routines = [.. cache.Routines.Where(kv => kv.Key.Schema == schema).SelectMany(kv => kv.Value)];
        }
        // Dictionary order is arbitrary; sorting by name makes the document stable from one request to the next.
        return new ApiDescription(schema,
            [.. tables.OrderBy(t => t.Name, StringComparer.Ordinal)],
            [.. routines.OrderBy(r => r.Name, StringComparer.Ordinal)],
            db.SchemaDescription,
            cache.Relationships);
    }

    /// <summary>[[schema, name], ...] as returned by the accessible-tables query.</summary>
    public static HashSet<QualifiedIdentifier> ParseIdentifiers(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var set = new HashSet<QualifiedIdentifier>();
        foreach (var e in doc.RootElement.EnumerateArray())
            set.Add(new QualifiedIdentifier(e[0].GetString()!, e[1].GetString()!));
        return set;
    }
}
