using Restgres.Catalog;

namespace Restgres.TypeGen;

/// <summary>An enum type: its labels in their sort order.</summary>
internal sealed record EnumType(string Schema, string Name, IReadOnlyList<string> Labels);

/// <summary>
/// A type as the generators print it: a built-in, an enum, the row type of a relation the API serves, or unknown;
/// with its array depth.
/// </summary>
internal sealed record ResolvedType(MappedType? Builtin, EnumType? Enum, Table? Row, int ArrayDepth);

/// <summary>
/// What the API serves, read from one schema cache snapshot for the exposed schemas (db-schemas): the relations,
/// functions and enums of each schema, in the order the generated files list them (by name, ordinal, as
/// <c>supabase gen types</c> does), and how each PostgreSQL type name resolves. Both generators read this, so the
/// TypeScript and C# files always describe the same API.
/// </summary>
internal sealed class ApiTypes
{
    private readonly Dictionary<string, EnumType> _enums = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Table> _relations = new(StringComparer.Ordinal);

    public ApiTypes(SchemaCache cache, IReadOnlyList<string> schemas)
    {
        ArgumentNullException.ThrowIfNull(cache);
        Schemas = schemas;
        foreach (var table in cache.Tables.Values)
        {
            _relations[Qualified(table.Schema, table.Name)] = table;
            foreach (var column in table.Columns.Where(c => c.EnumValues.Count > 0))
                AddEnum(column.BaseType, column.EnumValues);
        }
        // Enums that only functions use (no column of an exposed relation has them).
        foreach (var routine in cache.Routines.Values.SelectMany(r => r))
            foreach (var (type, labels) in routine.EnumTypes)
                AddEnum(type, labels);
        foreach (var schema in schemas)
        {
            Relations[schema] = [.. cache.Tables.Values.Where(t => t.Schema == schema).OrderBy(t => t.Name, StringComparer.Ordinal)];
            Functions[schema] = [.. cache.Routines
                .Where(kv => kv.Key.Schema == schema)
                .OrderBy(kv => kv.Key.Name, StringComparer.Ordinal)
                .Select(kv => (kv.Key.Name, kv.Value))];
            Enums[schema] = [.. _enums.Values.Where(e => e.Schema == schema).OrderBy(e => e.Name, StringComparer.Ordinal)];
        }
        Relationships = cache.Relationships;
    }

    private void AddEnum(string type, IReadOnlyList<string> labels)
    {
        var (element, depth) = PgTypeMap.Parse(type);
        if (depth == 0 && !_enums.ContainsKey(element) && SplitQualified(element) is { } id)
            _enums[element] = new EnumType(id.Schema, id.Name, labels);
    }

    public IReadOnlyList<string> Schemas { get; }

    public Dictionary<string, IReadOnlyList<Table>> Relations { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, IReadOnlyList<(string Name, IReadOnlyList<Routine> Overloads)>> Functions { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, IReadOnlyList<EnumType>> Enums { get; } = new(StringComparer.Ordinal);

    private System.Collections.Frozen.FrozenDictionary<QualifiedIdentifier, IReadOnlyList<Relationship>> Relationships { get; }

    /// <summary>Whether an enum is listed under an exposed schema (and so can be referred to by name).</summary>
    public bool IsExposed(EnumType e) => Schemas.Contains(e.Schema);

    /// <summary>Whether a relation is served by the API (its row type can be referred to by name).</summary>
    public bool IsExposed(Table t) => Schemas.Contains(t.Schema);

    /// <summary>A column's type: enums are known from their labels, domains by their base type.</summary>
    public ResolvedType Resolve(Column column)
    {
        ArgumentNullException.ThrowIfNull(column);
        return Resolve(column.BaseType);
    }

    /// <summary>A parameter's, return type's or column's type by name.</summary>
    public ResolvedType Resolve(string type)
    {
        var (element, depth) = PgTypeMap.Parse(type);
        if (PgTypeMap.Builtin(element) is { } builtin) return new ResolvedType(builtin, null, null, depth);
        if (_enums.TryGetValue(element, out var e)) return new ResolvedType(null, e, null, depth);
        if (_relations.TryGetValue(element, out var row)) return new ResolvedType(null, null, row, depth);
        return new ResolvedType(PgTypeMap.Unknown, null, null, depth);
    }

    /// <summary>A function's return type: its schema and pg_type name as the schema cache keeps them.</summary>
    public ResolvedType ReturnType(Routine routine)
    {
        ArgumentNullException.ThrowIfNull(routine);
        var r = routine.ReturnType;
        // A composite return names the relation (pg_class.relname), which is its row type's name.
        if (routine.ReturnsComposite && _relations.TryGetValue(Qualified(r.Schema, r.Name), out var row))
            return new ResolvedType(null, null, row, 0);
        return Resolve(r.Schema == "pg_catalog" ? r.Name : Qualified(r.Schema, r.Name));
    }

    /// <summary>
    /// The many-to-one and one-to-one relationships a relation holds the foreign key of, to relations of its own
    /// schema (supabase-js's <c>Relationships</c>: what postgrest-js resolves embeddings with), by constraint name.
    /// </summary>
    public IEnumerable<Relationship> ForeignKeys(Table table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (!Relationships.TryGetValue(table.Identifier, out var rels)) return [];
        return rels
            .Where(r => r.ForeignTable.Schema == table.Schema && r.Function is null && r.Junction is null
                && (r.Cardinality == Cardinality.ManyToOne || (r.Cardinality == Cardinality.OneToOne && !r.O2OIsParent)))
            .OrderBy(r => r.Constraint, StringComparer.Ordinal)
            .ThenBy(r => r.ForeignTable.Name, StringComparer.Ordinal);
    }

    /// <summary>As format_type and regtype print a type outside pg_catalog (quoted where the name needs it).</summary>
    private static string Qualified(string schema, string name) => QuoteIfNeeded(schema) + "." + QuoteIfNeeded(name);

    private static string QuoteIfNeeded(string name) =>
        name.Length > 0 && (name[0] is (>= 'a' and <= 'z') or '_') && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '$')
            ? name : Sql.SqlText.QuoteIdent(name);

    /// <summary>"schema.name" (either part possibly double-quoted, as regtype prints them) → its two names.</summary>
    private static (string Schema, string Name)? SplitQualified(string qualified)
    {
        var parts = new List<string>();
        var current = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < qualified.Length; i++)
        {
            var c = qualified[i];
            if (c == '"')
            {
                if (quoted && i + 1 < qualified.Length && qualified[i + 1] == '"') { current.Append('"'); i++; }
                else quoted = !quoted;
            }
            else if (c == '.' && !quoted) { parts.Add(current.ToString()); current.Clear(); }
            else current.Append(c);
        }
        parts.Add(current.ToString());
        return parts.Count == 2 ? (parts[0], parts[1]) : null;
    }
}
