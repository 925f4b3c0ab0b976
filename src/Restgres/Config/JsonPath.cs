using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Restgres.Config;

/// <summary>
/// RFC 9535 JSON Path, with the grammar PostgREST accepts (the <c>aeson-jsonpath</c> package): child and descendant
/// segments, name/index/slice/wildcard/filter selectors, filters with comparisons, <c>&amp;&amp; || !</c>, parentheses,
/// existence tests and the <c>search()</c> function only.
/// </summary>
internal static partial class JsonPath
{
    private const long MaxSafeInt = 9007199254740991;

    internal sealed record Query(bool IsRoot, Segment[] Segments)
    {
        /// <summary>A singular query: only child name and index segments (RFC 9535 §2.3.5.1).</summary>
        public bool IsSingular
        {
            get
            {
                foreach (var seg in Segments)
                {
                    if (seg.Descendant || seg.Selectors.Length != 1
                        || seg.Selectors[0] is not (NameSelector or IndexSelector)) return false;
                }
                return true;
            }
        }
    }

    internal sealed record Segment(bool Descendant, Selector[] Selectors);

    internal abstract record Selector;
    internal sealed record NameSelector(string Name) : Selector;
    internal sealed record IndexSelector(long Index) : Selector;
    internal sealed record SliceSelector(long? Start, long? End, long Step) : Selector;
    internal sealed record WildcardSelector : Selector;
    internal sealed record FilterSelector(Expr Expr) : Selector;

    internal abstract record Expr;
    internal sealed record OrExpr(Expr[] Items) : Expr;
    internal sealed record AndExpr(Expr[] Items) : Expr;
    internal sealed record NotExpr(Expr Inner) : Expr;
    internal sealed record ExistsExpr(Query Query) : Expr;
    internal sealed record CompareExpr(Operand Left, string Op, Operand Right) : Expr;
    internal sealed record SearchExpr(Operand Text, Operand Pattern) : Expr
    {
        /// <summary>The compiled pattern when it is a literal (compiled once, at config load).</summary>
        public Regex? LiteralRegex { get; init; }
    }

    /// <summary>A value in a filter: a literal, a (singular) query, or a logical expression (only as a function
    /// argument, where it is not a value and makes <c>search()</c> false).</summary>
    internal abstract record Operand;
    internal sealed record LiteralOperand(JsonElement Value) : Operand;
    internal sealed record QueryOperand(Query Query) : Operand;
    internal sealed record LogicalOperand(Expr Expr) : Operand;

    private sealed class ParseError(string message, int position) : Exception(message)
    {
        public int Position { get; } = position;
    }

    public static bool TryParse(string text, out Query? query, out string error)
    {
        var p = new Parser(text);
        try
        {
            query = p.ParseRootQuery();
            error = "";
            return true;
        }
        catch (ParseError e)
        {
            query = null;
            error = $"{e.Message} at position {e.Position + 1}";
            return false;
        }
    }

    internal static bool IsNameFirst(char c) => char.IsAsciiLetter(c) || c == '_' || c >= 0x80;
    internal static bool IsNameChar(char c) => IsNameFirst(c) || char.IsAsciiDigit(c);

    internal static bool IsPlainName(string s)
    {
        if (s.Length == 0 || !IsNameFirst(s[0])) return false;
        foreach (var c in s) if (!IsNameChar(c)) return false;
        return true;
    }

    /// <summary>A single-quoted JSON Path string literal.</summary>
    internal static string Quote(string s)
    {
        var sb = new StringBuilder("'");
        foreach (var c in s)
        {
            switch (c)
            {
                case '\'': sb.Append("\\'"); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('\'').ToString();
    }

    private sealed class Parser(string s)
    {
        private int _pos;

        private bool AtEnd => _pos >= s.Length;
        private char Peek => _pos < s.Length ? s[_pos] : '\0';
        private bool At(string t) => string.CompareOrdinal(s, _pos, t, 0, t.Length) == 0;

        private ParseError Fail(string expected) =>
            new(AtEnd ? $"expected {expected} but the path ended" : $"unexpected '{s[_pos]}', expected {expected}", _pos);

        private void Expect(char c)
        {
            if (Peek != c) throw Fail($"'{c}'");
            _pos++;
        }

        private void SkipSpaces()
        {
            while (!AtEnd && s[_pos] is ' ' or '\n' or '\r' or '\t') _pos++;
        }

        public Query ParseRootQuery()
        {
            if (Peek != '$') throw Fail("'$' (a JSON Path starts with $)");
            var q = ParseQuery();
            if (!AtEnd) throw Fail("'.', '..' or '[' (or the end of the path)");
            return q;
        }

        /// <summary><c>$</c> or <c>@</c> followed by segments, with optional blanks between segments.</summary>
        private Query ParseQuery()
        {
            var root = Peek == '$';
            _pos++;
            var segments = new List<Segment>();
            while (true)
            {
                var save = _pos;
                SkipSpaces();
                if (At("..") || Peek == '[' || (Peek == '.' && _pos + 1 < s.Length && (s[_pos + 1] == '*' || IsNameFirst(s[_pos + 1]))))
                {
                    segments.Add(ParseSegment());
                }
                else if (Peek == '.')
                {
                    _pos++;
                    throw Fail("a member name or '*' after '.'");
                }
                else
                {
                    _pos = save;
                    break;
                }
            }
            return new Query(root, [.. segments]);
        }

        private Segment ParseSegment()
        {
            if (At(".."))
            {
                _pos += 2;
                if (Peek == '[') return new Segment(true, ParseBracketed());
                if (Peek == '*') { _pos++; return new Segment(true, [new WildcardSelector()]); }
                if (IsNameFirst(Peek)) return new Segment(true, [new NameSelector(ParseDottedName())]);
                throw Fail("a member name, '*' or '[' after '..'");
            }
            if (Peek == '[') return new Segment(false, ParseBracketed());
            _pos++; // .
            if (Peek == '*') { _pos++; return new Segment(false, [new WildcardSelector()]); }
            return new Segment(false, [new NameSelector(ParseDottedName())]);
        }

        private string ParseDottedName()
        {
            var start = _pos;
            while (!AtEnd && IsNameChar(s[_pos])) _pos++;
            return s[start.._pos];
        }

        private Selector[] ParseBracketed()
        {
            Expect('[');
            SkipSpaces();
            var selectors = new List<Selector> { ParseSelector() };
            while (true)
            {
                SkipSpaces();
                if (Peek == ',')
                {
                    _pos++;
                    SkipSpaces();
                    selectors.Add(ParseSelector());
                    continue;
                }
                if (Peek == ']') break;
                throw Fail("',' or ']'");
            }
            _pos++;
            return [.. selectors];
        }

        private Selector ParseSelector()
        {
            var c = Peek;
            if (c is '\'' or '"') return new NameSelector(ParseStringLiteral());
            if (c == '*') { _pos++; return new WildcardSelector(); }
            if (c == '?')
            {
                _pos++;
                SkipSpaces();
                return new FilterSelector(ParseOr());
            }
            if (c == ':' || c == '-' || char.IsAsciiDigit(c))
            {
                long? start = c == ':' ? null : ParseInt();
                var save = _pos;
                SkipSpaces();
                if (Peek != ':')
                {
                    _pos = save;
                    return new IndexSelector(start!.Value);
                }
                _pos++;
                SkipSpaces();
                long? end = Peek == '-' || char.IsAsciiDigit(Peek) ? ParseInt() : null;
                SkipSpaces();
                long step = 1;
                if (Peek == ':')
                {
                    _pos++;
                    save = _pos;
                    SkipSpaces();
                    if (Peek == '-' || char.IsAsciiDigit(Peek)) step = ParseInt();
                    else _pos = save;
                }
                return new SliceSelector(start, end, step);
            }
            throw Fail("a selector: 'name', index, slice, '*' or ?filter");
        }

        /// <summary>An integer without leading zeros, within ±(2^53-1) (RFC 9535 §2.1).</summary>
        private long ParseInt()
        {
            var start = _pos;
            var negative = Peek == '-';
            if (negative) _pos++;
            if (!char.IsAsciiDigit(Peek)) throw Fail("a digit");
            if (Peek == '0' && (negative || (_pos + 1 < s.Length && char.IsAsciiDigit(s[_pos + 1]))))
                throw new ParseError("integers must not have leading zeros (nor be -0)", start);
            var digitsStart = _pos;
            while (char.IsAsciiDigit(Peek)) _pos++;
            if (_pos - digitsStart > 16
                || !long.TryParse(s.AsSpan(start, _pos - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
                || v is > MaxSafeInt or < -MaxSafeInt)
                throw new ParseError("integer out of range", start);
            return v;
        }

        private Expr ParseOr()
        {
            var first = ParseAnd();
            List<Expr>? items = null;
            while (true)
            {
                var save = _pos;
                SkipSpaces();
                if (!At("||")) { _pos = save; break; }
                _pos += 2;
                SkipSpaces();
                (items ??= [first]).Add(ParseAnd());
            }
            return items is null ? first : new OrExpr([.. items]);
        }

        private Expr ParseAnd()
        {
            var first = ParseBasic();
            List<Expr>? items = null;
            while (true)
            {
                var save = _pos;
                SkipSpaces();
                if (!At("&&")) { _pos = save; break; }
                _pos += 2;
                SkipSpaces();
                (items ??= [first]).Add(ParseBasic());
            }
            return items is null ? first : new AndExpr([.. items]);
        }

        private Expr ParseBasic()
        {
            if (Peek == '!')
            {
                _pos++;
                SkipSpaces();
                if (Peek == '(') return new NotExpr(ParseParen());
                if (Peek is '@' or '$') return new NotExpr(new ExistsExpr(ParseQuery()));
                if (At("search(")) return new NotExpr(ParseSearch());
                throw Fail("'(', a query or search() after '!'");
            }
            if (Peek == '(') return ParseParen();
            if (At("search(")) return ParseSearch();
            if (Peek is '@' or '$')
            {
                var start = _pos;
                var q = ParseQuery();
                var save = _pos;
                SkipSpaces();
                var op = TryParseComparisonOp();
                if (op is null)
                {
                    _pos = save;
                    return new ExistsExpr(q);
                }
                if (!q.IsSingular) throw new ParseError("only a singular query (names and indexes) can be compared", start);
                SkipSpaces();
                return new CompareExpr(new QueryOperand(q), op, ParseComparable());
            }
            var left = ParseComparable();
            SkipSpaces();
            var op2 = TryParseComparisonOp() ?? throw Fail("a comparison operator (== != < <= > >=)");
            SkipSpaces();
            return new CompareExpr(left, op2, ParseComparable());
        }

        private Expr ParseParen()
        {
            Expect('(');
            SkipSpaces();
            var e = ParseOr();
            SkipSpaces();
            Expect(')');
            return e;
        }

        private string? TryParseComparisonOp()
        {
            foreach (var op in (ReadOnlySpan<string>)[">=", "<=", "==", "!=", ">", "<"])
            {
                if (At(op))
                {
                    _pos += op.Length;
                    return op;
                }
            }
            return null;
        }

        private Operand ParseComparable()
        {
            if (Peek is '@' or '$')
            {
                var start = _pos;
                var q = ParseQuery();
                if (!q.IsSingular) throw new ParseError("only a singular query (names and indexes) can be compared", start);
                return new QueryOperand(q);
            }
            return new LiteralOperand(ParseLiteral());
        }

        private JsonElement ParseLiteral()
        {
            var c = Peek;
            if (c is '\'' or '"') return Json("\"" + JsonEncodedText.Encode(ParseStringLiteral()) + "\"");
            if (At("true")) { _pos += 4; return Json("true"); }
            if (At("false")) { _pos += 5; return Json("false"); }
            if (At("null")) { _pos += 4; return Json("null"); }
            if (c == '-' || char.IsAsciiDigit(c))
            {
                var start = _pos;
                if (At("-0") && !(_pos + 2 < s.Length && char.IsAsciiDigit(s[_pos + 2]))) _pos += 2;
                else ParseInt();
                if (Peek == '.')
                {
                    _pos++;
                    if (!char.IsAsciiDigit(Peek)) throw Fail("a digit after '.'");
                    while (char.IsAsciiDigit(Peek)) _pos++;
                }
                if (Peek is 'e' or 'E')
                {
                    _pos++;
                    if (Peek is '+' or '-') _pos++;
                    if (!char.IsAsciiDigit(Peek)) throw Fail("a digit in the exponent");
                    while (char.IsAsciiDigit(Peek)) _pos++;
                }
                return Json(s[start.._pos]);
            }
            throw Fail("a literal ('string', number, true, false, null) or a query (@ or $)");
        }

        private static JsonElement Json(string json)
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.Clone();
        }

        private SearchExpr ParseSearch()
        {
            _pos += "search(".Length;
            SkipSpaces();
            var text = ParseFunctionArg();
            SkipSpaces();
            Expect(',');
            SkipSpaces();
            var pattern = ParseFunctionArg();
            SkipSpaces();
            Expect(')');
            Regex? regex = null;
            if (pattern is LiteralOperand { Value.ValueKind: JsonValueKind.String } lit)
                regex = CompileIRegexp(lit.Value.GetString()!);
            return new SearchExpr(text, pattern) { LiteralRegex = regex };
        }

        private Operand ParseFunctionArg()
        {
            if (Peek is '(' or '!' || At("search(")) return new LogicalOperand(ParseOr());
            if (Peek is '@' or '$') return new QueryOperand(ParseQuery());
            return new LiteralOperand(ParseLiteral());
        }

        /// <summary>A single- or double-quoted string with JSON-style escapes (RFC 9535 §2.3.1.1).</summary>
        private string ParseStringLiteral()
        {
            var quote = Peek;
            var start = _pos;
            _pos++;
            var sb = new StringBuilder();
            while (true)
            {
                if (AtEnd) throw new ParseError("unterminated string", start);
                var c = s[_pos];
                if (c == quote)
                {
                    _pos++;
                    return sb.ToString();
                }
                if (c < 0x20) throw new ParseError("control character in string", _pos);
                if (c != '\\')
                {
                    sb.Append(c);
                    _pos++;
                    continue;
                }
                _pos++;
                var e = Peek;
                _pos++;
                switch (e)
                {
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case '/': sb.Append('/'); break;
                    case '\\': sb.Append('\\'); break;
                    case 'u':
                        var hi = Hex4();
                        if (hi is >= 0xDC00 and <= 0xDFFF) throw new ParseError("invalid UTF-16 surrogate", _pos - 6);
                        sb.Append((char)hi);
                        if (hi is >= 0xD800 and <= 0xDBFF)
                        {
                            if (!At("\\u")) throw new ParseError("unpaired UTF-16 surrogate", _pos - 6);
                            _pos += 2;
                            var lo = Hex4();
                            if (lo is < 0xDC00 or > 0xDFFF) throw new ParseError("invalid UTF-16 surrogate", _pos - 6);
                            sb.Append((char)lo);
                        }
                        break;
                    default:
                        if (e == quote) { sb.Append(e); break; }
                        throw new ParseError($"invalid escape '\\{e}' in string", _pos - 2);
                }
            }
        }

        private int Hex4()
        {
            if (_pos + 4 > s.Length
                || !int.TryParse(s.AsSpan(_pos, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v))
                throw Fail("4 hexadecimal digits");
            _pos += 4;
            return v;
        }
    }

    /// <summary>
    /// Compiles an I-Regexp (RFC 9485) for <c>search()</c>; null when the pattern is invalid, which makes the
    /// function false (RFC 9535 §2.4.7). I-Regexp's '.' excludes line breaks, as does .NET's (but for '\r').
    /// </summary>
    internal static Regex? CompileIRegexp(string pattern)
    {
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}
