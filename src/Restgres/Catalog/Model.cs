using System.Collections.Frozen;

namespace Restgres.Catalog;

/// <summary>A schema-qualified database object name (PostgREST's QualifiedIdentifier). Schema may be empty.</summary>
internal readonly record struct QualifiedIdentifier(string Schema, string Name)
{
    public override string ToString() => Schema.Length == 0 ? Name : Schema + "." + Name;
}

/// <summary>A column as PostgREST's schema cache describes it.</summary>
/// <param name="DataType">The type as used for casts and JSON parsing (domains over built-ins report the base type).</param>
/// <param name="NominalType">The declared type, e.g. a domain name; data representations key on it.</param>
/// <param name="BaseType">The ultimate base type name (e.g. <c>tsvector</c> for a domain over tsvector).</param>
internal sealed record Column(
    string Name,
    string? Description,
    bool Nullable,
    string DataType,
    string NominalType,
    int? MaxLength,
    string? Default,
    IReadOnlyList<string> EnumValues,
    string BaseType,
    bool IsGenerated);

/// <summary>A table, view, materialized view, foreign table or partitioned table.</summary>
internal sealed class Table
{
    public required string Schema { get; init; }
    public required string Name { get; init; }
    public string? Description { get; init; }
    public bool IsView { get; init; }
    public bool Insertable { get; init; }
    public bool Updatable { get; init; }
    public bool Deletable { get; init; }
    /// <summary>Primary-key columns (sorted by name, like PostgREST); for views, traced from base tables.</summary>
    public required IReadOnlyList<string> PrimaryKey { get; init; }
    public required IReadOnlyList<Column> Columns { get; init; }
    public required FrozenDictionary<string, Column> ColumnsByName { get; init; }
    /// <summary>A view's columns that PostgreSQL's rule for it proves NOT NULL (<see cref="ViewColumnNullability"/>),
    /// though <see cref="Column.Nullable"/> says nullable as PostgREST reports it; the type generators use both.</summary>
    public IReadOnlySet<string> NotNullViewColumns { get; init; } = FrozenSet<string>.Empty;

    /// <summary>Whether a value of the column can be null in what the API returns.</summary>
    public bool CanBeNull(Column column) => column.Nullable && !NotNullViewColumns.Contains(column.Name);

    public QualifiedIdentifier Identifier => new(Schema, Name);
}

/// <summary>How two relations relate (PostgREST's Cardinality); Computed is a function-defined relationship.</summary>
internal enum Cardinality { ManyToOne, OneToMany, OneToOne, ManyToMany, Computed }

/// <summary>
/// A relationship from <see cref="Table"/> to <see cref="ForeignTable"/>: from a foreign key (or derived through views
/// or a junction table), or computed by a function <c>f(table) returns [setof] foreign_table</c>.
/// <see cref="Columns"/> pairs are (column of Table, column of ForeignTable).
/// </summary>
internal sealed record Relationship(
    QualifiedIdentifier Table,
    QualifiedIdentifier ForeignTable,
    bool IsSelf,
    Cardinality Cardinality,
    string Constraint,
    IReadOnlyList<(string Column, string ForeignColumn)> Columns,
    Junction? Junction,
    bool TableIsView,
    bool ForeignTableIsView,
    QualifiedIdentifier? Function = null,
    bool ComputedToOne = false,
    bool O2OIsParent = false)
{
    public bool IsToOne => Cardinality switch
    {
        Cardinality.ManyToOne or Cardinality.OneToOne => true,
        Cardinality.Computed => ComputedToOne,
        _ => false,
    };
}

/// <summary>The junction table of a many-to-many relationship.</summary>
internal sealed record Junction(
    QualifiedIdentifier Table,
    string Constraint1,
    string Constraint2,
    IReadOnlyList<(string Column, string JunctionColumn)> SourceColumns,
    IReadOnlyList<(string Column, string JunctionColumn)> TargetColumns);

/// <summary>A routine parameter.</summary>
internal sealed record RoutineParam(string Name, string Type, string TypeMaxLength, bool Required, bool Variadic);

/// <summary>Function volatility.</summary>
internal enum Volatility { Immutable, Stable, Volatile }

/// <summary>A function exposed under /rpc (PostgREST's Routine).</summary>
internal sealed class Routine
{
    public required string Schema { get; init; }
    public required string Name { get; init; }
    public string? Description { get; init; }
    public required IReadOnlyList<RoutineParam> Params { get; init; }
    /// <summary>Return type's schema and name (the table name for composite returns).</summary>
    public required QualifiedIdentifier ReturnType { get; init; }
    public bool ReturnsSet { get; init; }
    public bool ReturnsComposite { get; init; }
    public bool ReturnsCompositeAlias { get; init; }
    public bool ReturnsVoid => ReturnType is { Schema: "pg_catalog", Name: "void" };
    public Volatility Volatility { get; init; }
    public bool HasVariadic { get; init; }
    public string? IsolationLevel { get; init; }

    public Routine WithIsolationLevel(string level) => new()
    {
        Schema = Schema, Name = Name, Description = Description, Params = Params, ReturnType = ReturnType, ReturnsSet = ReturnsSet,
        ReturnsComposite = ReturnsComposite, ReturnsCompositeAlias = ReturnsCompositeAlias, Volatility = Volatility,
        HasVariadic = HasVariadic, IsolationLevel = level, Settings = Settings, OutParams = OutParams, EnumTypes = EnumTypes,
    };
    public IReadOnlyList<KeyValuePair<string, string>> Settings { get; init; } = [];
    /// <summary>The OUT, INOUT and TABLE parameters (name, type): the columns of a <c>returns table (...)</c> or
    /// <c>record</c> result, for the type generators.</summary>
    public IReadOnlyList<(string Name, string Type)> OutParams { get; init; } = [];
    /// <summary>The enum types among its parameter and return types (arrays' elements too): type name and labels in
    /// order, for the type generators.</summary>
    public IReadOnlyList<(string Type, IReadOnlyList<string> Labels)> EnumTypes { get; init; } = [];

    public bool ReturnsScalar => !ReturnsSet && !ReturnsComposite;
    public bool ReturnsSetOfScalar => ReturnsSet && !ReturnsComposite;
    public bool ReturnsSingleComposite => !ReturnsSet && ReturnsComposite;
    public bool ReturnsSingle => !ReturnsSet;
}

/// <summary>A data representation: a cast function between a domain and json/text (PostgREST's DataRepresentation).</summary>
internal sealed record DataRepresentation(string SourceType, string TargetType, string Function);
