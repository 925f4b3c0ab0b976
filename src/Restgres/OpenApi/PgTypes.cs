namespace Restgres.OpenApi;

/// <summary>
/// PostgreSQL type names → Swagger/JSON Schema types and formats, as PostgREST's OpenAPI.hs maps them
/// (toSwaggerType, toSwaggerFormat): json/jsonb have no type (any value), arrays end in <c>[]</c>, and every other
/// type is a string whose format names the PostgreSQL type.
/// </summary>
internal static class PgTypes
{
    /// <summary>The Swagger type, or null for json/jsonb (any JSON value).</summary>
    public static string? SwaggerType(string pgType) => pgType switch
    {
        "character varying" or "character" or "text" => "string",
        "boolean" => "boolean",
        "smallint" or "integer" or "bigint" => "integer",
        "numeric" or "real" or "double precision" => "number",
        "json" or "jsonb" => null,
        _ when IsArray(pgType) => "array",
        _ => "string",
    };

    public static string SwaggerFormat(string pgType) => pgType switch
    {
        "smallint" or "integer" => "int32",
        "bigint" => "int64",
        _ => pgType,
    };

    public static bool IsArray(string pgType) => pgType.EndsWith("[]", StringComparison.Ordinal);

    /// <summary>The element type of an array type (typeFromArray drops the trailing <c>[]</c>).</summary>
    public static string ElementType(string pgType) => pgType[..^2];

    /// <summary>
    /// A column default as a JSON value, or null when it is not one (PostgREST's parseDefault then JSON.decode):
    /// for string-typed columns the <c>::type</c> cast suffix and the surrounding quotes are dropped and the rest is
    /// quoted; other defaults must already be JSON (<c>42</c>, <c>false</c>), so expressions like
    /// <c>nextval('s'::regclass)</c> or <c>now()</c> give no default.
    /// </summary>
    /// <param name="literalOnly">
    /// Beyond PostgREST (OpenAPI 3.1): string defaults only from <c>'literal'::type</c>, so that an expression such as
    /// <c>now()</c> is not shown as the default value "now()".
    /// </param>
    public static string? DefaultJson(string pgType, string? pgDefault, bool literalOnly = false)
    {
        if (pgDefault is null) return null;
        var text = pgDefault;
        if (SwaggerType(pgType) == "string")
        {
            var suffix = "::" + pgType;
            var literal = text.EndsWith(suffix, StringComparison.Ordinal);
            if (literal) text = text[..^suffix.Length].Trim('\'');
            else if (literalOnly) return null;
            text = "\"" + text + "\"";
        }
        return IsJson(text) ? text : null;
    }

    /// <summary>
    /// Beyond PostgREST (OpenAPI 3.1): the JSON Schema type and a standard format where one fits (int32, int64, float,
    /// double, date, date-time, uuid). Types without a standard format keep their PostgreSQL name as the format, as
    /// PostgREST does, which generators treat as a plain string. Null type: any JSON value (json, jsonb).
    /// </summary>
    public static (string? Type, string? Format) JsonSchemaTypeAndFormat(string pgType) => pgType switch
    {
        "smallint" or "integer" => ("integer", "int32"),
        "bigint" => ("integer", "int64"),
        "real" => ("number", "float"),
        "double precision" => ("number", "double"),
        "numeric" => ("number", null),
        "boolean" => ("boolean", null),
        "json" or "jsonb" => (null, null),
        "text" or "character varying" or "character" => ("string", null),
        "uuid" => ("string", "uuid"),
        "date" => ("string", "date"),
        "timestamp with time zone" => ("string", "date-time"),
        _ => ("string", pgType),
    };

    /// <summary>
    /// A type as the catalog names it (pg_type.typname, e.g. <c>int4</c>, <c>_text</c>) → the SQL name used elsewhere
    /// (<c>integer</c>, <c>text[]</c>); types outside pg_catalog are schema-qualified.
    /// </summary>
    public static string FromTypeName(string schema, string typname)
    {
        if (typname.StartsWith('_')) return FromTypeName(schema, typname[1..]) + "[]";
        if (schema != "pg_catalog") return schema + "." + typname;
        return typname switch
        {
            "int2" => "smallint",
            "int4" => "integer",
            "int8" => "bigint",
            "float4" => "real",
            "float8" => "double precision",
            "bool" => "boolean",
            "varchar" => "character varying",
            "bpchar" => "character",
            "timestamptz" => "timestamp with time zone",
            "timestamp" => "timestamp without time zone",
            "timetz" => "time with time zone",
            "time" => "time without time zone",
            _ => typname,
        };
    }

    private static bool IsJson(string text)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(text);
            return true;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }
}
