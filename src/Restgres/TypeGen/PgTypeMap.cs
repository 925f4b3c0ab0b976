using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace Restgres.TypeGen;

/// <summary>What a PostgreSQL type is in the JSON the API sends, for the TypeScript and C# generators.</summary>
/// <param name="TypeScript">The TypeScript type (Supabase's choice: <c>number</c> for every numeric type, strings for dates).</param>
/// <param name="CSharp">The C# type System.Text.Json reads PostgREST's rendering into.</param>
/// <param name="CSharpIsValueType">Whether <see cref="CSharp"/> is a struct (nullable as <c>T?</c> either way).</param>
internal sealed record MappedType(string TypeScript, string CSharp, bool CSharpIsValueType);

/// <summary>
/// One table from PostgreSQL type names to TypeScript and C# types. Names come in two spellings from the schema cache
/// (format_type's <c>timestamp with time zone</c> for columns and parameters, pg_type's <c>timestamptz</c> for return
/// types), both with or without a <c>pg_catalog.</c> prefix and type modifiers; arrays are <c>T[]</c> or <c>_T</c>.
/// </summary>
internal static partial class PgTypeMap
{
    private static readonly MappedType Text = new("string", "string", false);

    /// <summary>The JSON value PostgREST renders for each built-in type.</summary>
    private static readonly FrozenDictionary<string, MappedType> Builtins = new Dictionary<string, MappedType>(StringComparer.Ordinal)
    {
        ["boolean"] = new("boolean", "bool", true),
        ["bool"] = new("boolean", "bool", true),
        ["smallint"] = new("number", "short", true),
        ["int2"] = new("number", "short", true),
        ["integer"] = new("number", "int", true),
        ["int"] = new("number", "int", true),
        ["int4"] = new("number", "int", true),
        ["bigint"] = new("number", "long", true),
        ["int8"] = new("number", "long", true),
        ["real"] = new("number", "float", true),
        ["float4"] = new("number", "float", true),
        ["double precision"] = new("number", "double", true),
        ["float8"] = new("number", "double", true),
        ["numeric"] = new("number", "decimal", true),
        ["decimal"] = new("number", "decimal", true),
        ["oid"] = new("number", "uint", true),
        ["uuid"] = new("string", "Guid", true),
        ["date"] = new("string", "DateOnly", true),
        ["time without time zone"] = new("string", "TimeOnly", true),
        ["time"] = new("string", "TimeOnly", true),
        ["timestamp without time zone"] = new("string", "DateTime", true),
        ["timestamp"] = new("string", "DateTime", true),
        ["timestamp with time zone"] = new("string", "DateTimeOffset", true),
        ["timestamptz"] = new("string", "DateTimeOffset", true),
        ["json"] = new("Json", "JsonElement", true),
        ["jsonb"] = new("Json", "JsonElement", true),
        ["record"] = new("Record<string, unknown>", "JsonElement", true),
        ["void"] = new("undefined", "void", false),
        // Rendered as their PostgreSQL text: intervals ("1 day 02:00:00"), bytea ("\\x..."), money, network
        // addresses, full-text search, ranges, geometric types, bit strings, xml.
        ["text"] = Text, ["character varying"] = Text, ["varchar"] = Text, ["character"] = Text, ["bpchar"] = Text,
        ["char"] = Text, ["\"char\""] = Text, ["name"] = Text, ["citext"] = Text, ["time with time zone"] = Text,
        ["timetz"] = Text, ["interval"] = Text, ["bytea"] = Text, ["money"] = Text, ["inet"] = Text, ["cidr"] = Text,
        ["macaddr"] = Text, ["macaddr8"] = Text, ["tsvector"] = Text, ["tsquery"] = Text, ["xml"] = Text,
        ["bit"] = Text, ["bit varying"] = Text, ["varbit"] = Text, ["int4range"] = Text, ["int8range"] = Text,
        ["numrange"] = Text, ["tsrange"] = Text, ["tstzrange"] = Text, ["daterange"] = Text, ["point"] = Text,
        ["line"] = Text, ["lseg"] = Text, ["box"] = Text, ["path"] = Text, ["polygon"] = Text, ["circle"] = Text,
        ["regclass"] = Text, ["regproc"] = Text, ["regtype"] = Text, ["ltree"] = Text, ["hstore"] = new("Record<string, string | null>", "JsonElement", true),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>A type the generators do not know (an extension's, a composite type, ...).</summary>
    public static MappedType Unknown { get; } = new("unknown", "JsonElement", true);

    /// <summary>Splits a type name into its element type (modifiers and <c>pg_catalog.</c> removed) and array depth.</summary>
    public static (string Element, int ArrayDepth) Parse(string type)
    {
        ArgumentNullException.ThrowIfNull(type);
        var t = Modifiers().Replace(type.Trim(), "");
        var depth = 0;
        while (t.EndsWith("[]", StringComparison.Ordinal)) { t = t[..^2]; depth++; }
        if (t.StartsWith("pg_catalog.", StringComparison.Ordinal)) t = t["pg_catalog.".Length..];
        // pg_type's array names (_int4, public._mood) as return types.
        var dot = t.LastIndexOf('.');
        if (depth == 0 && t.Length > dot + 2 && t[dot + 1] == '_')
        {
            t = t[..(dot + 1)] + t[(dot + 2)..];
            depth = 1;
        }
        return (t, depth);
    }

    /// <summary>The built-in mapping of an element type name (see <see cref="Parse"/>), or null.</summary>
    public static MappedType? Builtin(string element) => Builtins.GetValueOrDefault(element);

    [GeneratedRegex(@"\(\s*\d+\s*(,\s*\d+\s*)?\)")]
    private static partial Regex Modifiers();
}
