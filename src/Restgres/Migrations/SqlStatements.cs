namespace Restgres.Migrations;

/// <summary>One top-level statement of a SQL file: its text (without the closing semicolon) and where it starts.</summary>
internal readonly record struct SqlStatement(string Text, int Offset);

/// <summary>
/// Splits a SQL script into its top-level statements, as psql and the Supabase CLI (pkg/parser SplitAndTrim) do, so
/// that each statement can be sent on its own: PostgreSQL's error position is then relative to a statement whose
/// offset in the file is known, which turns it into a file line. A semicolon ends a statement unless it is inside a
/// quoted string or identifier, a dollar-quoted body, a comment, or parentheses (a rule's action list).
/// Leading whitespace and comments are not part of a statement; a file of comments has none.
/// </summary>
internal static class SqlStatements
{
    public static List<SqlStatement> Split(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var result = new List<SqlStatement>();
        var start = -1;
        var depth = 0;
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            if (char.IsWhiteSpace(c) && start < 0)
            {
                i++;
                continue;
            }
            var next = i + 1 < sql.Length ? sql[i + 1] : '\0';
            if (c == '-' && next == '-')
            {
                i = sql.IndexOf('\n', i) is var nl and >= 0 ? nl + 1 : sql.Length;
                continue;
            }
            if (c == '/' && next == '*')
            {
                i = SkipBlockComment(sql, i);
                continue;
            }
            if (start < 0) start = i;
            switch (c)
            {
                case '\'':
                    // E'...' strings take backslash escapes; standard strings only the doubled quote.
                    var escapes = i > 0 && sql[i - 1] is 'e' or 'E' && (i < 2 || !IsIdentifierChar(sql[i - 2]));
                    i = SkipQuoted(sql, i, '\'', escapes);
                    continue;
                case '"':
                    i = SkipQuoted(sql, i, '"', false);
                    continue;
                case '$' when DollarTag(sql, i) is { } tag:
                    var end = sql.IndexOf(tag, i + tag.Length, StringComparison.Ordinal);
                    i = end < 0 ? sql.Length : end + tag.Length;
                    continue;
                case '(':
                    depth++;
                    break;
                case ')':
                    depth = Math.Max(0, depth - 1);
                    break;
                case ';' when depth == 0:
                    result.Add(new SqlStatement(sql[start..i].TrimEnd(), start));
                    start = -1;
                    break;
            }
            i++;
        }
        if (start >= 0 && sql[start..].TrimEnd() is { Length: > 0 } last) result.Add(new SqlStatement(last, start));
        return result;
    }

    /// <summary>The 1-based line of <paramref name="offset"/> in <paramref name="text"/>.</summary>
    public static int LineAt(string text, int offset)
    {
        ArgumentNullException.ThrowIfNull(text);
        var line = 1;
        for (var i = 0; i < Math.Min(offset, text.Length); i++)
            if (text[i] == '\n') line++;
        return line;
    }

    private static int SkipBlockComment(string sql, int i)
    {
        // PostgreSQL's block comments nest.
        var nesting = 0;
        while (i < sql.Length - 1)
        {
            if (sql[i] == '/' && sql[i + 1] == '*')
            {
                nesting++;
                i += 2;
            }
            else if (sql[i] == '*' && sql[i + 1] == '/')
            {
                i += 2;
                if (--nesting == 0) return i;
            }
            else i++;
        }
        return sql.Length;
    }

    private static int SkipQuoted(string sql, int i, char quote, bool backslashEscapes)
    {
        i++;
        while (i < sql.Length)
        {
            var c = sql[i];
            if (backslashEscapes && c == '\\')
            {
                i += 2;
                continue;
            }
            if (c == quote)
            {
                if (i + 1 < sql.Length && sql[i + 1] == quote)
                {
                    i += 2;
                    continue;
                }
                return i + 1;
            }
            i++;
        }
        return sql.Length;
    }

    /// <summary>The dollar-quote tag (<c>$$</c>, <c>$body$</c>) starting at <paramref name="i"/>, or null for a
    /// positional parameter (<c>$1</c>) or a <c>$</c> inside an identifier.</summary>
    private static string? DollarTag(string sql, int i)
    {
        if (i > 0 && IsIdentifierChar(sql[i - 1])) return null;
        var j = i + 1;
        if (j < sql.Length && char.IsAsciiDigit(sql[j])) return null;
        while (j < sql.Length && (char.IsLetterOrDigit(sql[j]) || sql[j] == '_')) j++;
        return j < sql.Length && sql[j] == '$' ? sql[i..(j + 1)] : null;
    }

    private static bool IsIdentifierChar(char c) => char.IsLetterOrDigit(c) || c is '_' or '$';
}
