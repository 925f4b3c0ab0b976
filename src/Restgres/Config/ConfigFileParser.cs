using System.Collections.Immutable;
using System.Globalization;
using System.Text;

namespace Restgres.Config;

/// <summary>The kind of a value in a config file.</summary>
internal enum ConfigValueKind { String, Number, Bool, List }

/// <summary>
/// One right-hand side of a config file binding. <see cref="Text"/> is the unescaped, interpolated string, the number
/// as written, or <c>true</c>/<c>false</c>; <see cref="Items"/> holds a list's elements.
/// </summary>
internal readonly record struct ConfigValue(ConfigValueKind Kind, string Text, ImmutableArray<ConfigValue> Items = default)
{
    public static ConfigValue Str(string s) => new(ConfigValueKind.String, s);
}

/// <summary>
/// Reads PostgREST's config file format, which is that of the Haskell <c>configurator-pg</c> package:
/// <c>key = value</c> bindings (keys may be dotted), <c>#</c> comments, <c>#;</c> to comment out one directive,
/// <c>group { ... }</c> blocks that prefix their keys with <c>group.</c>, <c>import "file"</c>, and values that are
/// double-quoted strings (escapes <c>\n \t \r \" \\ \uXXXX</c>), numbers, <c>true</c>/<c>false</c>/<c>on</c>/<c>off</c>
/// or <c>[lists]</c>. Strings are interpolated: <c>$(name)</c> is replaced by an earlier config value or an
/// environment variable and <c>$$</c> is a literal <c>$</c> (which is why PostgREST's docs write
/// <c>jwt-role-claim-key = "$$.role"</c>). A later binding of the same key wins.
/// </summary>
internal sealed class ConfigFileParser
{
    private const int MaxImportDepth = 16;

    private readonly string _text;
    private readonly string _path;
    private readonly Dictionary<string, ConfigValue> _config;
    private readonly IReadOnlyDictionary<string, string> _env;
    private readonly int _depth;
    private int _pos;

    private ConfigFileParser(string text, string path, Dictionary<string, ConfigValue> config,
        IReadOnlyDictionary<string, string> env, int depth)
    {
        _text = text;
        _path = path;
        _config = config;
        _env = env;
        _depth = depth;
    }

    /// <summary>Reads and evaluates a config file (and the files it imports).</summary>
    /// <exception cref="ConfigException">The file cannot be read or is malformed.</exception>
    public static Dictionary<string, ConfigValue> Load(string path, IReadOnlyDictionary<string, string> env)
    {
        var config = new Dictionary<string, ConfigValue>(StringComparer.Ordinal);
        LoadInto(path, "", config, env, 0);
        return config;
    }

    /// <summary>Evaluates config text; <paramref name="path"/> names it in errors and anchors relative imports.</summary>
    public static Dictionary<string, ConfigValue> Parse(string text, string path, IReadOnlyDictionary<string, string> env)
    {
        var config = new Dictionary<string, ConfigValue>(StringComparer.Ordinal);
        new ConfigFileParser(text, path, config, env, 0).ParseDirectives("", topLevel: true, apply: true);
        return config;
    }

    private static void LoadInto(string path, string prefix, Dictionary<string, ConfigValue> config,
        IReadOnlyDictionary<string, string> env, int depth)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new ConfigException($"Error in config file '{path}': cannot read it: {e.Message}");
        }
        new ConfigFileParser(text, path, config, env, depth).ParseDirectives(prefix, topLevel: true, apply: true);
    }

    private bool AtEnd => _pos >= _text.Length;
    private char Peek => _pos < _text.Length ? _text[_pos] : '\0';

    private bool At(string s) => string.CompareOrdinal(_text, _pos, s, 0, s.Length) == 0;

    private ConfigException Error(string message) => Error(message, _pos);

    private ConfigException Error(string message, int at)
    {
        int line = 1, col = 1;
        for (var i = 0; i < at && i < _text.Length; i++)
        {
            if (_text[i] == '\n') { line++; col = 1; }
            else col++;
        }
        return new ConfigException($"Error in config file '{_path}' line {line}, column {col}: {message}");
    }

    /// <summary>A sequence of directives, each ended by a line break (or the end of the text or of the group).</summary>
    private void ParseDirectives(string prefix, bool topLevel, bool apply)
    {
        while (true)
        {
            SkipLineSpaceAndComments();
            if (AtEnd)
            {
                if (topLevel) return;
                throw Error("missing '}' to close a group");
            }
            if (!topLevel && Peek == '}') return;
            if (topLevel && Peek == '}') throw Error("unexpected '}' without an opening group");

            if (At("#;"))
            {
                // "#;" comments out the directive that follows it.
                _pos += 2;
                SkipHorizontalSpace();
                ParseDirective(prefix, apply: false);
            }
            else
            {
                ParseDirective(prefix, apply);
            }

            SkipHorizontalSpace();
            if (AtEnd) continue;
            if (Peek is '\n' or '\r') { _pos++; continue; }
            if (!topLevel && Peek == '}') continue;
            throw Error($"unexpected '{Describe(Peek)}' after the value; each setting goes on its own line");
        }
    }

    private void ParseDirective(string prefix, bool apply)
    {
        if (At("import") && TryParseImport(prefix, apply)) return;

        var keyStart = _pos;
        var key = ParseIdent();
        SkipLineSpaceAndComments();
        if (Peek == '=')
        {
            _pos++;
            SkipLineSpaceAndComments();
            var valueStart = _pos;
            var value = ParseValue();
            if (!apply) return;
            if (value.Kind == ConfigValueKind.String && value.Text.Contains('$', StringComparison.Ordinal))
                value = ConfigValue.Str(Interpolate(prefix, value.Text, valueStart));
            _config[prefix + key] = value;
        }
        else if (Peek == '{')
        {
            _pos++;
            ParseDirectives(prefix + key + ".", topLevel: false, apply);
            SkipLineSpaceAndComments();
            if (Peek != '}') throw Error("missing '}' to close a group");
            _pos++;
        }
        else
        {
            throw Error(AtEnd
                ? $"expected '=' after '{key}'"
                : $"expected '=' after '{key}', found '{Describe(Peek)}'", AtEnd ? keyStart : _pos);
        }
    }

    private bool TryParseImport(string prefix, bool apply)
    {
        var save = _pos;
        _pos += "import".Length;
        SkipLineSpaceAndComments();
        if (Peek != '"')
        {
            _pos = save;
            return false;
        }
        var at = _pos;
        var relPath = ParseString();
        if (!apply) return true;
        if (_depth >= MaxImportDepth) throw Error($"imports nested more than {MaxImportDepth} deep (an import cycle?)", at);
        if (relPath.Length == 0) throw Error("empty import path", at);
        // configurator-pg resolves a relative import against the importing file's folder.
        var full = relPath[0] == '/' ? relPath : _path[..(_path.LastIndexOf('/') + 1)] + relPath;
        LoadInto(full, prefix, _config, _env, _depth + 1);
        return true;
    }

    /// <summary>A letter, then letters, digits, '_' or '-'; '.' separates parts, each starting with a letter.</summary>
    private string ParseIdent()
    {
        var start = _pos;
        var first = true;
        while (!AtEnd)
        {
            var c = Peek;
            if (first)
            {
                if (!char.IsLetter(c)) break;
                first = false;
            }
            else if (c == '.')
            {
                first = true;
            }
            else if (!(char.IsLetterOrDigit(c) || c == '_' || c == '-'))
            {
                break;
            }
            _pos++;
        }
        if (_pos == start)
            throw Error(AtEnd ? "expected a setting name" : $"expected a setting name, found '{Describe(Peek)}'");
        var key = _text[start.._pos];
        if (key[^1] == '.') throw Error($"setting name '{key}' must not end with a dot", start);
        if (key == "import") throw Error("'import' is a reserved word and cannot be a setting name", start);
        return key;
    }

    private ConfigValue ParseValue()
    {
        if (At("on")) { _pos += 2; return new(ConfigValueKind.Bool, "true"); }
        if (At("off")) { _pos += 3; return new(ConfigValueKind.Bool, "false"); }
        if (At("true")) { _pos += 4; return new(ConfigValueKind.Bool, "true"); }
        if (At("false")) { _pos += 5; return new(ConfigValueKind.Bool, "false"); }
        var c = Peek;
        if (c == '"') return ConfigValue.Str(ParseString());
        if (c is '+' or '-' or (>= '0' and <= '9')) return ParseNumber();
        if (c == '[') return ParseList();
        throw Error(AtEnd
            ? "expected a value"
            : $"expected a value (a \"quoted string\", a number, true/false or a [list]), found '{Describe(c)}'");
    }

    private ConfigValue ParseNumber()
    {
        var start = _pos;
        if (Peek is '+' or '-') _pos++;
        if (!char.IsAsciiDigit(Peek)) throw Error("expected a digit", _pos);
        SkipDigits();
        if (Peek == '.' && _pos + 1 < _text.Length && char.IsAsciiDigit(_text[_pos + 1]))
        {
            _pos++;
            SkipDigits();
        }
        if (Peek is 'e' or 'E')
        {
            var save = _pos;
            _pos++;
            if (Peek is '+' or '-') _pos++;
            if (char.IsAsciiDigit(Peek)) SkipDigits();
            else _pos = save;
        }
        var text = _text[start.._pos];
        return new ConfigValue(ConfigValueKind.Number, text[0] == '+' ? text[1..] : text);
    }

    private void SkipDigits()
    {
        while (char.IsAsciiDigit(Peek)) _pos++;
    }

    private ConfigValue ParseList()
    {
        _pos++; // [
        SkipLineSpaceAndComments();
        var items = ImmutableArray.CreateBuilder<ConfigValue>();
        if (Peek != ']')
        {
            while (true)
            {
                items.Add(ParseValue());
                SkipLineSpaceAndComments();
                if (Peek == ',')
                {
                    _pos++;
                    SkipLineSpaceAndComments();
                    continue;
                }
                if (Peek == ']') break;
                throw Error(AtEnd ? "missing ']' to close a list" : $"expected ',' or ']' in a list, found '{Describe(Peek)}'");
            }
        }
        _pos++; // ]
        var text = new StringBuilder("[");
        for (var i = 0; i < items.Count; i++)
        {
            if (i > 0) text.Append(", ");
            text.Append(items[i].Kind == ConfigValueKind.String ? "\"" + items[i].Text + "\"" : items[i].Text);
        }
        return new ConfigValue(ConfigValueKind.List, text.Append(']').ToString(), items.ToImmutable());
    }

    /// <summary>A double-quoted string; it may span lines. Only the escapes configurator knows are accepted.</summary>
    private string ParseString()
    {
        var open = _pos;
        _pos++; // "
        var start = _pos;
        var escaped = false;
        while (!AtEnd && _text[_pos] != '"')
        {
            if (_text[_pos] == '\\')
            {
                escaped = true;
                _pos++;
                if (AtEnd) break;
            }
            _pos++;
        }
        if (AtEnd) throw Error("unterminated string (missing closing '\"')", open);
        var raw = _text.AsSpan(start, _pos - start);
        _pos++; // "
        return escaped ? Unescape(raw, start) : raw.ToString();
    }

    private string Unescape(ReadOnlySpan<char> raw, int offset)
    {
        var sb = new StringBuilder(raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }
            var at = offset + i;
            i++;
            switch (raw[i])
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case '"': sb.Append('"'); break;
                case '\\': sb.Append('\\'); break;
                case 'u':
                    var hi = HexQuad(raw, i + 1, at);
                    i += 4;
                    if (hi is >= 0xD800 and <= 0xDFFF)
                    {
                        // A high surrogate must be followed by \u and a low surrogate.
                        if (hi > 0xDBFF || raw.Length < i + 7 || raw[i + 1] != '\\' || raw[i + 2] != 'u')
                            throw Error("invalid UTF-16 surrogates in \\u escape", at);
                        var lo = HexQuad(raw, i + 3, at);
                        if (lo is < 0xDC00 or > 0xDFFF) throw Error("invalid UTF-16 surrogates in \\u escape", at);
                        sb.Append((char)hi).Append((char)lo);
                        i += 6;
                    }
                    else
                    {
                        sb.Append((char)hi);
                    }
                    break;
                default:
                    throw Error($"invalid escape '\\{raw[i]}' in string (allowed: \\n \\t \\r \\\" \\\\ \\uXXXX)", at);
            }
        }
        return sb.ToString();
    }

    private int HexQuad(ReadOnlySpan<char> raw, int start, int at)
    {
        if (start + 4 > raw.Length
            || !int.TryParse(raw.Slice(start, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v))
            throw Error("expected 4 hexadecimal digits after \\u", at);
        return v;
    }

    /// <summary>
    /// configurator's interpolation: <c>$$</c> is <c>$</c>; <c>$(name)</c> is the value of <c>name</c> looked up in the
    /// config read so far (innermost group first), then in the environment.
    /// </summary>
    private string Interpolate(string prefix, string s, int at)
    {
        var sb = new StringBuilder(s.Length);
        var i = 0;
        while (i < s.Length)
        {
            var dollar = s.IndexOf('$', i);
            if (dollar < 0)
            {
                sb.Append(s, i, s.Length - i);
                break;
            }
            sb.Append(s, i, dollar - i);
            var next = dollar + 1 < s.Length ? s[dollar + 1] : '\0';
            if (next == '$')
            {
                sb.Append('$');
                i = dollar + 2;
            }
            else if (next == '(')
            {
                var close = s.IndexOf(')', dollar + 2);
                if (close < 0 || close == dollar + 2)
                    throw Error("unfinished '$(name)' interpolation in string; write '$$' for a literal '$'", at);
                sb.Append(LookupVariable(prefix, s[(dollar + 2)..close], at));
                i = close + 1;
            }
            else
            {
                throw Error("a '$' in a string must be written '$$' (or start a '$(name)' interpolation)", at);
            }
        }
        return sb.ToString();
    }

    private string LookupVariable(string prefix, string name, int at)
    {
        // With prefix "a.b." try "a.b.name", "a.name", then "name".
        var scope = prefix.TrimEnd('.');
        while (true)
        {
            var full = scope.Length == 0 ? name : scope + "." + name;
            if (_config.TryGetValue(full, out var v))
            {
                return v.Kind switch
                {
                    ConfigValueKind.String => v.Text,
                    ConfigValueKind.Number => NumberToText(v.Text),
                    _ => throw Error($"variable '{name}' is not a string or number", at),
                };
            }
            if (scope.Length == 0) break;
            var dot = scope.LastIndexOf('.');
            scope = dot < 0 ? "" : scope[..dot];
        }
        if (_env.TryGetValue(name, out var envValue)) return envValue;
        throw Error($"no such variable: '{name}' (neither a setting above nor an environment variable)", at);
    }

    private static string NumberToText(string number)
    {
        if (long.TryParse(number, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
            return l.ToString(CultureInfo.InvariantCulture);
        if (decimal.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
            && d == decimal.Truncate(d) && d is >= long.MinValue and <= long.MaxValue)
            return ((long)d).ToString(CultureInfo.InvariantCulture);
        return double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture).ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>Skips white space, line breaks and <c>#</c> comments (but not <c>#;</c>, which comments a directive).</summary>
    private void SkipLineSpaceAndComments()
    {
        while (!AtEnd)
        {
            var c = _text[_pos];
            if (char.IsWhiteSpace(c))
            {
                _pos++;
            }
            else if (c == '#' && !(_pos + 1 < _text.Length && _text[_pos + 1] == ';'))
            {
                SkipToLineEnd();
            }
            else
            {
                break;
            }
        }
    }

    /// <summary>Skips spaces, tabs and a trailing <c>#</c> comment, stopping at the line break.</summary>
    private void SkipHorizontalSpace()
    {
        while (!AtEnd && _text[_pos] is ' ' or '\t') _pos++;
        if (Peek == '#') SkipToLineEnd();
    }

    private void SkipToLineEnd()
    {
        while (!AtEnd && _text[_pos] is not ('\n' or '\r')) _pos++;
    }

    private static string Describe(char c) => c switch
    {
        '\n' => "\\n",
        '\r' => "\\r",
        '\t' => "\\t",
        _ => c.ToString(),
    };
}
