using System.Text.Json;
using System.Text.RegularExpressions;

namespace Restgres.Config;

/// <summary>Evaluation of a parsed <see cref="JsonPath.Query"/> (RFC 9535 §2.3-2.4).</summary>
internal static partial class JsonPath
{
    public static bool TryEvaluateFirst(Query query, JsonElement root, out JsonElement value)
    {
        var nodes = Select(query, root, root);
        if (nodes.Count == 0)
        {
            value = default;
            return false;
        }
        value = nodes[0];
        return true;
    }

    private static List<JsonElement> Select(Query query, JsonElement current, JsonElement root)
    {
        var nodes = new List<JsonElement> { query.IsRoot ? root : current };
        foreach (var segment in query.Segments)
        {
            var next = new List<JsonElement>();
            foreach (var node in nodes)
            {
                if (segment.Descendant) SelectDescendants(segment.Selectors, node, root, next);
                else SelectChildren(segment.Selectors, node, root, next);
            }
            nodes = next;
            if (nodes.Count == 0) break;
        }
        return nodes;
    }

    private static void SelectDescendants(Selector[] selectors, JsonElement node, JsonElement root, List<JsonElement> output)
    {
        SelectChildren(selectors, node, root, output);
        if (node.ValueKind == JsonValueKind.Object)
            foreach (var p in node.EnumerateObject()) SelectDescendants(selectors, p.Value, root, output);
        else if (node.ValueKind == JsonValueKind.Array)
            foreach (var item in node.EnumerateArray()) SelectDescendants(selectors, item, root, output);
    }

    private static void SelectChildren(Selector[] selectors, JsonElement node, JsonElement root, List<JsonElement> output)
    {
        foreach (var selector in selectors)
        {
            switch (selector)
            {
                case NameSelector n:
                    if (node.ValueKind == JsonValueKind.Object && node.TryGetProperty(n.Name, out var v)) output.Add(v);
                    break;
                case IndexSelector i:
                    if (node.ValueKind == JsonValueKind.Array)
                    {
                        var len = node.GetArrayLength();
                        var idx = i.Index < 0 ? len + i.Index : i.Index;
                        if (idx >= 0 && idx < len) output.Add(node[(int)idx]);
                    }
                    break;
                case WildcardSelector:
                    if (node.ValueKind == JsonValueKind.Object)
                        foreach (var p in node.EnumerateObject()) output.Add(p.Value);
                    else if (node.ValueKind == JsonValueKind.Array)
                        foreach (var item in node.EnumerateArray()) output.Add(item);
                    break;
                case SliceSelector sl:
                    if (node.ValueKind == JsonValueKind.Array) Slice(sl, node, output);
                    break;
                case FilterSelector f:
                    if (node.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var p in node.EnumerateObject())
                            if (Test(f.Expr, p.Value, root)) output.Add(p.Value);
                    }
                    else if (node.ValueKind == JsonValueKind.Array)
                    {
                        foreach (var item in node.EnumerateArray())
                            if (Test(f.Expr, item, root)) output.Add(item);
                    }
                    break;
            }
        }
    }

    private static void Slice(SliceSelector sl, JsonElement array, List<JsonElement> output)
    {
        long n = array.GetArrayLength();
        var step = sl.Step;
        if (step == 0) return;
        static long Normalize(long i, long len) => i >= 0 ? i : len + i;
        if (step > 0)
        {
            var lower = Math.Clamp(Normalize(sl.Start ?? 0, n), 0, n);
            var upper = Math.Clamp(Normalize(sl.End ?? n, n), 0, n);
            for (var i = lower; i < upper; i += step) output.Add(array[(int)i]);
        }
        else
        {
            var upper = Math.Clamp(Normalize(sl.Start ?? n - 1, n), -1, n - 1);
            var lower = Math.Clamp(Normalize(sl.End ?? -n - 1, n), -1, n - 1);
            for (var i = upper; lower < i; i += step) output.Add(array[(int)i]);
        }
    }

    private static bool Test(Expr expr, JsonElement current, JsonElement root)
    {
        switch (expr)
        {
            case OrExpr o:
                foreach (var e in o.Items) if (Test(e, current, root)) return true;
                return false;
            case AndExpr a:
                foreach (var e in a.Items) if (!Test(e, current, root)) return false;
                return true;
            case NotExpr n:
                return !Test(n.Inner, current, root);
            case ExistsExpr x:
                return Select(x.Query, current, root).Count > 0;
            case CompareExpr c:
                var hasLeft = TryValue(c.Left, current, root, out var left);
                var hasRight = TryValue(c.Right, current, root, out var right);
                return c.Op switch
                {
                    "==" => AreEqual(hasLeft, left, hasRight, right),
                    "!=" => !AreEqual(hasLeft, left, hasRight, right),
                    "<" => IsLess(hasLeft, left, hasRight, right),
                    ">" => IsLess(hasRight, right, hasLeft, left),
                    "<=" => IsLess(hasLeft, left, hasRight, right) || AreEqual(hasLeft, left, hasRight, right),
                    _ => IsLess(hasRight, right, hasLeft, left) || AreEqual(hasLeft, left, hasRight, right),
                };
            case SearchExpr s:
                if (!TryValue(s.Text, current, root, out var text) || text.ValueKind != JsonValueKind.String) return false;
                var regex = s.LiteralRegex;
                if (regex is null)
                {
                    if (s.Pattern is LiteralOperand
                        || !TryValue(s.Pattern, current, root, out var pattern) || pattern.ValueKind != JsonValueKind.String)
                        return false;
                    regex = CompileIRegexp(pattern.GetString()!);
                    if (regex is null) return false;
                }
                try
                {
                    return regex.IsMatch(text.GetString()!);
                }
                catch (RegexMatchTimeoutException)
                {
                    return false;
                }
            default:
                return false;
        }
    }

    /// <summary>The value of an operand: a literal, or the single node a query selects (none: "Nothing").</summary>
    private static bool TryValue(Operand operand, JsonElement current, JsonElement root, out JsonElement value)
    {
        switch (operand)
        {
            case LiteralOperand l:
                value = l.Value;
                return true;
            case QueryOperand q:
                var nodes = Select(q.Query, current, root);
                if (nodes.Count == 1)
                {
                    value = nodes[0];
                    return true;
                }
                break;
        }
        value = default;
        return false;
    }

    private static bool AreEqual(bool hasA, JsonElement a, bool hasB, JsonElement b)
    {
        if (!hasA || !hasB) return !hasA && !hasB;
        return JsonEquals(a, b);
    }

    private static bool JsonEquals(JsonElement a, JsonElement b)
    {
        if (a.ValueKind != b.ValueKind) return false;
        switch (a.ValueKind)
        {
            case JsonValueKind.Number:
                return CompareNumbers(a, b) == 0;
            case JsonValueKind.String:
                return a.ValueEquals(b.GetString());
            case JsonValueKind.Array:
                if (a.GetArrayLength() != b.GetArrayLength()) return false;
                for (var i = 0; i < a.GetArrayLength(); i++)
                    if (!JsonEquals(a[i], b[i])) return false;
                return true;
            case JsonValueKind.Object:
                var count = 0;
                foreach (var p in a.EnumerateObject())
                {
                    count++;
                    if (!b.TryGetProperty(p.Name, out var other) || !JsonEquals(p.Value, other)) return false;
                }
                foreach (var _ in b.EnumerateObject()) count--;
                return count == 0;
            default:
                return true; // true, false, null
        }
    }

    private static bool IsLess(bool hasA, JsonElement a, bool hasB, JsonElement b)
    {
        if (!hasA || !hasB) return false;
        if (a.ValueKind == JsonValueKind.Number && b.ValueKind == JsonValueKind.Number) return CompareNumbers(a, b) < 0;
        if (a.ValueKind == JsonValueKind.String && b.ValueKind == JsonValueKind.String)
            return string.CompareOrdinal(a.GetString(), b.GetString()) < 0;
        return false;
    }

    private static int CompareNumbers(JsonElement a, JsonElement b) =>
        a.TryGetDecimal(out var da) && b.TryGetDecimal(out var db)
            ? da.CompareTo(db)
            : a.GetDouble().CompareTo(b.GetDouble());
}
