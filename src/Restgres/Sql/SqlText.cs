using System.Text;
using NpgsqlTypes;

namespace Restgres.Sql;

/// <summary>Quoting helpers. Identifiers are always quoted; values never appear in SQL text (they are parameters).</summary>
internal static class SqlText
{
    /// <summary>PostgREST's escapeIdent: double-quote, doubling embedded quotes; NUL characters are dropped.</summary>
    public static string QuoteIdent(string ident)
    {
        var s = ident.Contains('\0', StringComparison.Ordinal) ? ident.Replace("\0", "", StringComparison.Ordinal) : ident;
        return "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary>A schema-qualified name, each part quoted (schema omitted when empty).</summary>
    public static string QuoteQualified(string schema, string name) =>
        schema.Length == 0 ? QuoteIdent(name) : QuoteIdent(schema) + "." + QuoteIdent(name);
}

/// <summary>A statement parameter: text sent with an unknown type (PostgreSQL infers it) unless a type is given.</summary>
internal readonly record struct SqlParam(object? Value, NpgsqlDbType Type)
{
    public static SqlParam Unknown(string? text) => new(text, NpgsqlDbType.Unknown);
}

/// <summary>Accumulates parameterised SQL text: values become <c>$n</c> placeholders, never literals.</summary>
internal sealed class SqlBuilder
{
    private readonly StringBuilder _sb = new(256);

    public List<SqlParam> Params { get; } = [];

    public SqlBuilder Append(string sql)
    {
        _sb.Append(sql);
        return this;
    }

    public SqlBuilder Append(char c)
    {
        _sb.Append(c);
        return this;
    }

    public SqlBuilder Ident(string ident)
    {
        _sb.Append(SqlText.QuoteIdent(ident));
        return this;
    }

    /// <summary>Adds a value of unknown type (like PostgREST's <c>unknownLiteral</c>) and writes its placeholder.</summary>
    public SqlBuilder Param(string? value) => Param(SqlParam.Unknown(value));

    public SqlBuilder Param(SqlParam p)
    {
        Params.Add(p);
        _sb.Append('$').Append(Params.Count);
        return this;
    }

    public int Length => _sb.Length;

    public override string ToString() => _sb.ToString();
}
