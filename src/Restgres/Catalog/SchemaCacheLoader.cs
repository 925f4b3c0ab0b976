using System.Collections.Frozen;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Restgres.Catalog;

/// <summary>Runs the catalog queries in one read-only transaction and assembles a <see cref="SchemaCache"/>.</summary>
internal static class SchemaCacheLoader
{
    /// <param name="viewNullability">Prove which view columns are never null (<see cref="ViewColumnNullability"/>):
    /// only the type generators use it, and on a big schema it is a third of the build, so the server skips it.</param>
    /// <param name="testSleeps">PostgREST's test-only internal-schema-cache-query-sleep(-before-queries): milliseconds
    /// of <c>pg_sleep</c> inside the transaction before and after the queries, so tests can see a slow load.</param>
    public static async Task<SchemaCache> LoadAsync(NpgsqlConnection conn, IReadOnlyList<string> schemas, IReadOnlyList<string> extraSearchPath, CancellationToken ct,
        (int? Before, int? After) testSleeps = default, bool viewNullability = false)
    {
        await using var tx = await conn.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        await using (var cmd = new NpgsqlCommand("SET LOCAL search_path = ''", conn, tx))
            await cmd.ExecuteNonQueryAsync(ct);
        if (testSleeps.Before is { } before) await SleepAsync(conn, tx, before, ct);

        // Schemas are passed as quoted identifiers and cast to regnamespace, so a missing schema fails loudly.
        var schemaParam = schemas.Select(Sql.SqlText.QuoteIdent).ToArray();
        // Per query, under PostgREST's labels (its debug log line "tables: 1.2 ms, keydeps: ..."); a label that
        // covers several of our queries sums them.
        var timings = new Dictionary<string, double>(StringComparer.Ordinal);
        var tablesJson = await ScalarAsync(timings, "tables", conn, tx, CatalogQueries.Tables, schemaParam, ct);
        var fksJson = await ScalarAsync(timings, "rels", conn, tx, CatalogQueries.ForeignKeys, null, ct);
        var routinesJson = await ScalarAsync(timings, "funcs", conn, tx, CatalogQueries.Routines, schemaParam, ct);
        var repsJson = await ScalarAsync(timings, "dreps", conn, tx, CatalogQueries.DataRepresentations, null, ct);
        var viewsJson = await ScalarAsync(timings, "keydeps", conn, tx, CatalogQueries.Views, schemaParam, ct, extraSearchPath.Select(Sql.SqlText.QuoteIdent).ToArray());
        var keysJson = await ScalarAsync(timings, "keydeps", conn, tx, CatalogQueries.KeyConstraints, null, ct);
        var computedJson = await ScalarAsync(timings, "comprels", conn, tx, CatalogQueries.ComputedRelationships, null, ct);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var mediaHandlers = await MediaHandlersAsync(conn, tx, schemaParam, ct);
        AddTiming(timings, "mhandlers", started);
        var roleSettingsJson = await ScalarAsync(timings, "roles", conn, tx, CatalogQueries.RoleSettings, null, ct);
        var viewSourcesJson = await ScalarAsync(timings, "keydeps", conn, tx, CatalogQueries.ViewSources, schemaParam, ct);
        if (testSleeps.After is { } after) await SleepAsync(conn, tx, after, ct);
        await tx.CommitAsync(ct);

        started = System.Diagnostics.Stopwatch.GetTimestamp();
        var keyDeps = ViewKeyDependencies.Compute(viewsJson, keysJson);
        var tables = AddViewPrimaryKeys(ParseTables(tablesJson), keyDeps, viewNullability ? ViewColumnNullability.Compute(viewsJson) : []).ToDictionary(t => t.Identifier);
        var exposed = schemas.ToHashSet(StringComparer.Ordinal);
        var rels = Relationships.Build(ParseForeignKeys(fksJson), tables, keyDeps, ParseComputed(computedJson), exposed);
        var cache = new SchemaCache
        {
            Tables = tables.ToFrozenDictionary(),
            Relationships = rels,
            Routines = ParseRoutines(routinesJson),
            Representations = ParseRepresentations(repsJson),
            MediaHandlers = mediaHandlers,
            RoleSettings = ParseRoleSettings(roleSettingsJson),
            ViewSources = ParseViewSources(viewSourcesJson),
            QueryTimings = timings,
        };
        cache.BuildTime = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        return cache;
    }

    private static async Task SleepAsync(NpgsqlConnection conn, NpgsqlTransaction tx, int milliseconds, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("select pg_sleep($1 / 1000.0)", conn, tx);
        cmd.Parameters.Add(new NpgsqlParameter { Value = milliseconds });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static void AddTiming(Dictionary<string, double> timings, string label, long started) =>
        timings[label] = timings.GetValueOrDefault(label) + System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;

    private static async Task<string> ScalarAsync(Dictionary<string, double> timings, string label, NpgsqlConnection conn, NpgsqlTransaction tx, string sql, string[]? schemas, CancellationToken ct, string[]? second = null)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await using var cmd = new NpgsqlCommand(sql, conn, tx);
        if (schemas is not null)
            cmd.Parameters.Add(new NpgsqlParameter { Value = schemas, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        if (second is not null)
            cmd.Parameters.Add(new NpgsqlParameter { Value = second, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        var result = (string)(await cmd.ExecuteScalarAsync(ct))!;
        AddTiming(timings, label, started);
        return result;
    }


    private static FrozenDictionary<QualifiedIdentifier, QualifiedIdentifier[]> ParseViewSources(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var map = new Dictionary<QualifiedIdentifier, QualifiedIdentifier[]>();
        foreach (var v in doc.RootElement.EnumerateArray())
            map[new QualifiedIdentifier(v.GetProperty("schema").GetString()!, v.GetProperty("name").GetString()!)] =
                [.. v.GetProperty("reads").EnumerateArray().Select(r => new QualifiedIdentifier(r[0].GetString()!, r[1].GetString()!))];
        return map.ToFrozenDictionary();
    }

    private static List<Table> ParseTables(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var list = new List<Table>();
        foreach (var t in doc.RootElement.EnumerateArray())
        {
            var cols = new List<Column>();
            foreach (var c in t.GetProperty("columns").EnumerateArray())
            {
                cols.Add(new Column(
                    Name: c.GetProperty("name").GetString()!,
                    Description: OptString(c, "description"),
                    Nullable: c.GetProperty("nullable").GetBoolean(),
                    DataType: c.GetProperty("data_type").GetString()!,
                    NominalType: c.GetProperty("nominal_type").GetString()!,
                    MaxLength: c.GetProperty("max_length").ValueKind == JsonValueKind.Number ? c.GetProperty("max_length").GetInt32() : null,
                    Default: OptString(c, "default"),
                    EnumValues: [.. c.GetProperty("enum").EnumerateArray().Select(e => e.GetString()!)],
                    BaseType: OptString(c, "base_type") ?? c.GetProperty("data_type").GetString()!,
                    IsGenerated: c.GetProperty("generated").GetBoolean()));
            }
            list.Add(new Table
            {
                Schema = t.GetProperty("schema").GetString()!,
                Name = t.GetProperty("name").GetString()!,
                Description = OptString(t, "description"),
                IsView = t.GetProperty("is_view").GetBoolean(),
                Insertable = t.GetProperty("insertable").GetBoolean(),
                Updatable = t.GetProperty("updatable").GetBoolean(),
                Deletable = t.GetProperty("deletable").GetBoolean(),
                PrimaryKey = [.. t.GetProperty("pk").EnumerateArray().Select(e => e.GetString()!)],
                Columns = cols,
                ColumnsByName = cols.ToFrozenDictionary(c => c.Name, StringComparer.Ordinal),
            });
        }
        return list;
    }

    internal sealed record ForeignKey(
        QualifiedIdentifier Table, QualifiedIdentifier ForeignTable, string Constraint,
        IReadOnlyList<(string, string)> Columns, bool OneToOne);

    private static List<ForeignKey> ParseForeignKeys(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var list = new List<ForeignKey>();
        foreach (var f in doc.RootElement.EnumerateArray())
        {
            list.Add(new ForeignKey(
                new QualifiedIdentifier(f.GetProperty("schema").GetString()!, f.GetProperty("table").GetString()!),
                new QualifiedIdentifier(f.GetProperty("fschema").GetString()!, f.GetProperty("ftable").GetString()!),
                f.GetProperty("constraint").GetString()!,
                [.. f.GetProperty("columns").EnumerateArray().Select(p => (p[0].GetString()!, p[1].GetString()!))],
                f.GetProperty("one_to_one").GetBoolean()));
        }
        return list;
    }

    /// <summary>Reads the role settings again (a config reload), outside the schema cache's transaction.</summary>
    public static async Task<FrozenDictionary<string, RoleSettings>> LoadRoleSettingsAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(conn);
        await using var cmd = new NpgsqlCommand(CatalogQueries.RoleSettings, conn);
        return ParseRoleSettings((string)(await cmd.ExecuteScalarAsync(ct))!);
    }

    private static FrozenDictionary<string, RoleSettings> ParseRoleSettings(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var map = new Dictionary<string, RoleSettings>(StringComparer.Ordinal);
        foreach (var r in doc.RootElement.EnumerateArray())
        {
            map[r.GetProperty("role").GetString()!] = new RoleSettings(
                [.. r.GetProperty("settings").EnumerateArray().Select(p => new KeyValuePair<string, string>(p[0].GetString()!, p[1].GetString()!))],
                OptString(r, "iso"));
        }
        return map.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static async Task<Plan.MediaHandlerMap> MediaHandlersAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string[] schemas, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(Plan.MediaHandlerQuery.Sql, conn, tx);
        cmd.Parameters.Add(new NpgsqlParameter { Value = schemas, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        var list = new List<(QualifiedIdentifier, QualifiedIdentifier?, string, string)>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var handler = new QualifiedIdentifier(reader.GetString(0), reader.GetString(1));
            var target = new QualifiedIdentifier(reader.GetString(2), reader.GetString(3));
            // anyelement handlers apply to every relation.
            QualifiedIdentifier? rel = target is { Schema: "pg_catalog", Name: "anyelement" } ? null : target;
            list.Add((handler, rel, reader.GetString(4), reader.GetString(5)));
        }
        return new Plan.MediaHandlerMap(list);
    }

    /// <summary>A view's primary key is the first view column exposing each column of a base table's primary key; its
    /// columns proven NOT NULL come along.</summary>
    private static IEnumerable<Table> AddViewPrimaryKeys(List<Table> tables, List<ViewKeyDependency> deps,
        Dictionary<QualifiedIdentifier, HashSet<string>> notNullViewColumns)
    {
        var pkDeps = deps.Where(d => d.Type == KeyDep.Pk).ToLookup(d => d.View);
        foreach (var t in tables)
        {
            if (!t.IsView) { yield return t; continue; }
            var pk = pkDeps[t.Identifier].SelectMany(d => d.Columns.Where(c => c.ViewColumns.Count > 0).Select(c => c.ViewColumns[0])).ToList();
            yield return new Table
            {
                Schema = t.Schema, Name = t.Name, Description = t.Description, IsView = true, Insertable = t.Insertable,
                Updatable = t.Updatable, Deletable = t.Deletable, PrimaryKey = pk, Columns = t.Columns, ColumnsByName = t.ColumnsByName,
                NotNullViewColumns = notNullViewColumns.TryGetValue(t.Identifier, out var notNull)
                    ? notNull.ToFrozenSet(StringComparer.Ordinal) : FrozenSet<string>.Empty,
            };
        }
    }

    private static List<Relationship> ParseComputed(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var list = new List<Relationship>();
        foreach (var c in doc.RootElement.EnumerateArray())
        {
            var table = new QualifiedIdentifier(c.GetProperty("schema").GetString()!, c.GetProperty("table").GetString()!);
            var ftable = new QualifiedIdentifier(c.GetProperty("tschema").GetString()!, c.GetProperty("ttable").GetString()!);
            var fn = new QualifiedIdentifier(c.GetProperty("fschema").GetString()!, c.GetProperty("fname").GetString()!);
            list.Add(new Relationship(table, ftable, table == ftable, Cardinality.Computed, "", [], null, false, false,
                Function: fn, ComputedToOne: c.GetProperty("to_one").GetBoolean()));
        }
        return list;
    }

    private static FrozenDictionary<QualifiedIdentifier, IReadOnlyList<Routine>> ParseRoutines(string json)
    {
        var map = new Dictionary<QualifiedIdentifier, List<Routine>>();
        foreach (var routine in ParseRoutineList(json))
        {
            var key = new QualifiedIdentifier(routine.Schema, routine.Name);
            if (!map.TryGetValue(key, out var l)) map[key] = l = [];
            l.Add(routine);
        }
        return map.ToFrozenDictionary(kv => kv.Key, kv => (IReadOnlyList<Routine>)kv.Value);
    }

    /// <summary>The functions as <see cref="CatalogQueries.Routines"/> and <see cref="CatalogQueries.AccessibleRoutines"/> return them.</summary>
    internal static List<Routine> ParseRoutineList(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var list = new List<Routine>();
        foreach (var r in doc.RootElement.EnumerateArray())
        {
            var routine = new Routine
            {
                Schema = r.GetProperty("schema").GetString()!,
                Name = r.GetProperty("name").GetString()!,
                Description = OptString(r, "description"),
                Params = [.. r.GetProperty("args").EnumerateArray().Select(a => new RoutineParam(
                    a[0].GetString()!, a[1].GetString()!, a[2].GetString()!, a[3].GetBoolean(), a[4].GetBoolean()))],
                ReturnType = new QualifiedIdentifier(r.GetProperty("ret_schema").GetString()!, r.GetProperty("ret_name").GetString()!),
                ReturnsSet = r.GetProperty("setof").GetBoolean(),
                ReturnsComposite = r.GetProperty("composite").GetBoolean(),
                ReturnsCompositeAlias = r.GetProperty("composite_alias").GetBoolean(),
                Volatility = r.GetProperty("volatility").GetString() switch { "i" => Volatility.Immutable, "s" => Volatility.Stable, _ => Volatility.Volatile },
                HasVariadic = r.GetProperty("variadic").GetBoolean(),
                Settings = r.GetProperty("settings").ValueKind == JsonValueKind.Array
                    ? [.. r.GetProperty("settings").EnumerateArray().Select(s => new KeyValuePair<string, string>(s[0].GetString()!, s[1].GetString()!))]
                    : [],
                OutParams = r.TryGetProperty("out", out var outs) && outs.ValueKind == JsonValueKind.Array
                    ? [.. outs.EnumerateArray().Select(o => (o[0].GetString()!, o[1].GetString()!))]
                    : [],
                EnumTypes = r.TryGetProperty("enums", out var enums) && enums.ValueKind == JsonValueKind.Array
                    ? [.. enums.EnumerateArray().Select(e => (e[0].GetString()!,
                        (IReadOnlyList<string>)[.. e[1].EnumerateArray().Select(l => l.GetString()!)]))]
                    : [],
            };
            // A function's SET default_transaction_isolation decides its transaction's isolation level (pdIsoLvl).
            var iso = routine.Settings.FirstOrDefault(kv => kv.Key == "default_transaction_isolation").Value;
            if (iso is not null) routine = routine.WithIsolationLevel(iso);
            list.Add(routine);
        }
        return list;
    }

    private static FrozenDictionary<(string, string), DataRepresentation> ParseRepresentations(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var map = new Dictionary<(string, string), DataRepresentation>();
        foreach (var r in doc.RootElement.EnumerateArray())
        {
            var rep = new DataRepresentation(r[0].GetString()!, r[1].GetString()!, r[2].GetString()!);
            map[(rep.SourceType, rep.TargetType)] = rep;
        }
        return map.ToFrozenDictionary();
    }

    private static string? OptString(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
