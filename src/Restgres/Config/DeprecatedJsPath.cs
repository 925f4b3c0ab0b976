using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Restgres.Config;

/// <summary>v14's JSPath DSL (PostgREST's <c>Config/DeprecatedJSPath.hs</c>): <c>.key</c>, <c>."quoted key"</c>,
/// <c>[index]</c>, and one final filter <c>[?(@ op "text")]</c> with <c>== != ^== ==^ *==</c>.</summary>
internal static class DeprecatedJsPath
{
    internal enum Op { Equals, NotEquals, StartsWith, EndsWith, Contains }

    internal sealed record Step(string? Key, int Index, Op FilterOp, string? FilterText)
    {
        public bool IsFilter => FilterText is not null;
    }

    public static bool TryParse(string s, out Step[] steps, out string error)
    {
        var list = new List<Step>();
        var i = 0;
        steps = [];
        error = "";
        while (i < s.Length)
        {
            if (s[i] == '.')
            {
                i++;
                if (i < s.Length && s[i] == '"')
                {
                    var close = s.IndexOf('"', i + 1);
                    if (close < 0) { error = $"unterminated quoted key at position {i + 1}"; return false; }
                    list.Add(new Step(s[(i + 1)..close], 0, default, null));
                    i = close + 1;
                    continue;
                }
                var start = i;
                while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] is '_' or '$' or '@')) i++;
                if (i == start) { error = $"expected a key after '.' at position {start + 1}"; return false; }
                list.Add(new Step(s[start..i], 0, default, null));
            }
            else if (s.AsSpan(i).StartsWith("[?("))
            {
                var at = i;
                i += 3;
                if (!TryParseFilter(s, ref i, out var op, out var text) || i != s.Length)
                {
                    error = $"expected a final filter like [?(@ == \"value\")] at position {at + 1}";
                    return false;
                }
                list.Add(new Step(null, 0, op, text));
            }
            else if (s[i] == '[')
            {
                var start = ++i;
                while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
                if (i == start || i >= s.Length || s[i] != ']'
                    || !int.TryParse(s.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out var idx))
                {
                    error = $"expected an array index like [0] at position {start}";
                    return false;
                }
                i++;
                list.Add(new Step(null, idx, default, null));
            }
            else
            {
                error = $"unexpected '{s[i]}' at position {i + 1}, expected '.key', '[index]' or '[?(@ == \"value\")]'";
                return false;
            }
        }
        if (list.Count == 0)
        {
            error = "the path is empty";
            return false;
        }
        steps = [.. list];
        return true;
    }

    private static bool TryParseFilter(string s, ref int i, out Op op, out string text)
    {
        op = default;
        text = "";
        if (i >= s.Length || s[i] != '@') return false;
        i++;
        while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
        var rest = s.AsSpan(i);
        // Same order as PostgREST: "==^" must be tried before "==".
        if (rest.StartsWith("==^")) { op = Op.EndsWith; i += 3; }
        else if (rest.StartsWith("==")) { op = Op.Equals; i += 2; }
        else if (rest.StartsWith("!=")) { op = Op.NotEquals; i += 2; }
        else if (rest.StartsWith("^==")) { op = Op.StartsWith; i += 3; }
        else if (rest.StartsWith("*==")) { op = Op.Contains; i += 3; }
        else return false;
        while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
        if (i >= s.Length || s[i] != '"') return false;
        var close = s.IndexOf('"', i + 1);
        if (close < 0) return false;
        text = s[(i + 1)..close];
        i = close + 1;
        if (!s.AsSpan(i).StartsWith(")]")) return false;
        i += 2;
        return true;
    }

    public static bool TryEvaluate(Step[] steps, JsonElement node, out JsonElement value)
    {
        value = default;
        foreach (var step in steps)
        {
            if (step.IsFilter)
            {
                if (node.ValueKind != JsonValueKind.Array) return false;
                foreach (var item in node.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String) continue;
                    var s = item.GetString()!;
                    var match = step.FilterOp switch
                    {
                        Op.Equals => s == step.FilterText,
                        Op.NotEquals => s != step.FilterText,
                        Op.StartsWith => s.StartsWith(step.FilterText!, StringComparison.Ordinal),
                        Op.EndsWith => s.EndsWith(step.FilterText!, StringComparison.Ordinal),
                        _ => s.Contains(step.FilterText!, StringComparison.Ordinal),
                    };
                    if (match)
                    {
                        value = item;
                        return true;
                    }
                }
                return false;
            }
            if (step.Key is not null)
            {
                if (node.ValueKind != JsonValueKind.Object || !node.TryGetProperty(step.Key, out node)) return false;
            }
            else
            {
                if (node.ValueKind != JsonValueKind.Array || step.Index >= node.GetArrayLength()) return false;
                node = node[step.Index];
            }
        }
        value = node;
        return true;
    }

    /// <summary>DeprecatedJSPath.hs dumpDeprecatedJSPath, for <c>--dump-config</c>: every key and filter text as a
    /// Haskell string literal (<c>."roles"[?(@ == "a")]</c>), which the parser reads back.</summary>
    public static string Dump(Step[] steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        static string Show(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        var sb = new StringBuilder();
        foreach (var step in steps)
        {
            if (step.IsFilter)
            {
                var op = step.FilterOp switch
                {
                    Op.Equals => "==", Op.NotEquals => "!=", Op.StartsWith => "^==", Op.EndsWith => "==^", _ => "*==",
                };
                sb.Append("[?(@ ").Append(op).Append(' ').Append(Show(step.FilterText!)).Append(")]");
            }
            else if (step.Key is null)
            {
                sb.Append('[').Append(step.Index.ToString(CultureInfo.InvariantCulture)).Append(']');
            }
            else
            {
                sb.Append('.').Append(Show(step.Key));
            }
        }
        return sb.ToString();
    }

    public static string? ToJsonPath(Step[] steps)
    {
        var sb = new StringBuilder("$");
        foreach (var step in steps)
        {
            if (step.IsFilter)
            {
                if (step.FilterOp is not (Op.Equals or Op.NotEquals)) return null;
                sb.Append("[?(@ ").Append(step.FilterOp == Op.Equals ? "==" : "!=").Append(' ')
                    .Append(JsonPath.Quote(step.FilterText!)).Append(")]");
            }
            else if (step.Key is null)
            {
                sb.Append('[').Append(step.Index.ToString(CultureInfo.InvariantCulture)).Append(']');
            }
            else if (JsonPath.IsPlainName(step.Key))
            {
                sb.Append('.').Append(step.Key);
            }
            else
            {
                sb.Append('[').Append(JsonPath.Quote(step.Key)).Append(']');
            }
        }
        return sb.ToString();
    }
}
