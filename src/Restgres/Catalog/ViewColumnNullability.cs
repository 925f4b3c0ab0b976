using System.Globalization;
using System.Text.Json;

namespace Restgres.Catalog;

/// <summary>
/// Which view columns can never be null, as far as PostgreSQL's own rule for the view proves it: PostgreSQL marks every
/// view column nullable (pg_attribute.attnotnull is false), so clients generated from the catalog alone type every view
/// column as nullable — the top complaint against Supabase's type generator. A view column is proven NOT NULL when it
/// is a plain column reference (a <c>Var</c> at the top of its target entry) to a relation of the view's range table
/// that no outer join can null, and that relation's column is NOT NULL (a base table's constraint, or a view column
/// proven the same way, followed through views with cycle protection); or an expression that is never null (a
/// constant, <c>count()</c>, <c>coalesce(..., constant)</c>). Set operations and grouping sets are never
/// proven (both can produce nulls from non-null inputs). Everything else stays nullable: the proof only ever errs that
/// way. Used by the type generators, not by the API (PostgREST's OpenAPI output reports view columns nullable).
/// </summary>
internal static class ViewColumnNullability
{
    private sealed record View(QualifiedIdentifier Id, bool Exposed, Dictionary<int, string> Cols,
        List<(int Resno, uint Rel, int Col)> PlainRefs);

    /// <summary>Exposed views → names of their columns proven NOT NULL. Input: <see cref="CatalogQueries.Views"/>.</summary>
    public static Dictionary<QualifiedIdentifier, HashSet<string>> Compute(string viewsJson)
    {
        using var doc = JsonDocument.Parse(viewsJson);
        var views = new Dictionary<uint, View>();
        var notNull = new HashSet<(uint Rel, int Col)>();
        foreach (var v in doc.RootElement.EnumerateArray())
        {
            var cols = new Dictionary<int, string>();
            if (v.GetProperty("cols").ValueKind == JsonValueKind.Object)
                foreach (var p in v.GetProperty("cols").EnumerateObject())
                    cols[int.Parse(p.Name, CultureInfo.InvariantCulture)] = p.Value.GetString()!;
            if (v.TryGetProperty("notnull", out var nn) && nn.ValueKind == JsonValueKind.Array)
                foreach (var pair in nn.EnumerateArray())
                    notNull.Add(((uint)pair[0].GetInt64(), pair[1].GetInt32()));
            var oid = (uint)v.GetProperty("oid").GetInt64();
            views[oid] = new View(new QualifiedIdentifier(v.GetProperty("schema").GetString()!, v.GetProperty("name").GetString()!),
                v.GetProperty("exposed").GetBoolean(), cols, PlainReferences(v.GetProperty("def").GetString() ?? ""));
        }

        // (view, column) → proven, memoised; a reference back into a view being proven counts as unproven (a cycle).
        var memo = new Dictionary<(uint, int), bool>();
        bool Proven(uint rel, int col, int depth)
        {
            if (!views.TryGetValue(rel, out var view)) return notNull.Contains((rel, col));
            if (memo.TryGetValue((rel, col), out var known)) return known;
            memo[(rel, col)] = false;
            var r = depth < 64 && view.PlainRefs.Any(p => p.Resno == col && (p.Rel == 0 || Proven(p.Rel, p.Col, depth + 1)));
            memo[(rel, col)] = r;
            return r;
        }

        var result = new Dictionary<QualifiedIdentifier, HashSet<string>>();
        foreach (var (oid, view) in views)
        {
            if (!view.Exposed) continue;
            var set = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (resno, name) in view.Cols)
                if (Proven(oid, resno, 0)) set.Add(name);
            if (set.Count > 0) result[view.Id] = set;
        }
        return result;
    }

    /// <summary>
    /// The target entries of a view's top query (pg_node_tree text of its <c>_RETURN</c> rule) that are plain column
    /// references to a relation no outer join can null: (view column number, relation oid, relation column number);
    /// relation 0 for an expression that is never null by itself (<see cref="NeverNull"/>).
    /// </summary>
    internal static List<(int Resno, uint Rel, int Col)> PlainReferences(string tree)
    {
        var result = new List<(int, uint, int)>();
        if (PgNodeTree.Parse(tree) is not List<object?> { Count: > 0 } list || list[0] is not PgNode query || query.Type != "QUERY")
            return result;
        if (query.Field("setOperations") is not null || query.Field("groupingSets") is not null) return result;
        var rtable = query.Field("rtable") as List<object?> ?? [];
        var nullable = new HashSet<int>();
        NullableSides(query.Field("jointree"), nullable, false);
        foreach (var te in query.Field("targetList") as List<object?> ?? [])
        {
            if (te is not PgNode { Type: "TARGETENTRY" } entry || entry.Scalar("resjunk") == "true") continue;
            var expr = entry.Field("expr") as PgNode;
            // A binary-compatible cast (varchar → text) keeps nullness.
            while (expr is { Type: "RELABELTYPE" }) expr = expr.Field("arg") as PgNode;
            if (NeverNull(expr))
            {
                result.Add((entry.Int("resno"), 0, 0));
                continue;
            }
            if (expr is not { Type: "VAR" } var || var.Int("varlevelsup") != 0) continue;
            var varno = var.Int("varno");
            var attno = var.Int("varattno");
            if (varno < 1 || varno > rtable.Count || attno < 1 || nullable.Contains(varno)) continue;
            if (rtable[varno - 1] is not PgNode rte || rte.Int("rtekind") != 0) continue; // RTE_RELATION only
            if (!uint.TryParse(rte.Scalar("relid"), NumberStyles.None, CultureInfo.InvariantCulture, out var relid)) continue;
            result.Add((entry.Int("resno"), relid, attno));
        }
        return result;
    }

    /// <summary>
    /// Expressions that are never null wherever they stand: a non-null constant, <c>count(*)</c> and <c>count(x)</c>
    /// (pg_proc oids 2803 and 2147, fixed in PostgreSQL's catalog), and a <c>coalesce(...)</c> with a non-null constant
    /// among its arguments.
    /// </summary>
    private static bool NeverNull(PgNode? expr) => expr switch
    {
        { Type: "CONST" } c => c.Scalar("constisnull") == "false",
        { Type: "AGGREF" } a => a.Int("aggfnoid") is 2803 or 2147,
        { Type: "COALESCEEXPR" } c => (c.Field("args") as List<object?> ?? []).Any(arg => arg is PgNode k && NeverNullConstant(k)),
        _ => false,
    };

    /// <summary>A non-null constant, possibly cast (coalesce(sum(int4), 0) casts the 0 to bigint with int8(int4): a
    /// <c>FuncExpr</c> shown as an implicit or explicit cast, funcformat 2 or 1; casts of non-null values are not null).</summary>
    private static bool NeverNullConstant(PgNode expr)
    {
        for (var depth = 0; depth < 8; depth++)
        {
            if (expr.Type == "CONST") return expr.Scalar("constisnull") == "false";
            if (expr.Type is "RELABELTYPE" or "COERCEVIAIO" && expr.Field("arg") is PgNode arg) expr = arg;
            else if (expr.Type == "FUNCEXPR" && expr.Int("funcformat") is 1 or 2
                && expr.Field("args") is List<object?> { Count: 1 } args && args[0] is PgNode inner) expr = inner;
            else return false;
        }
        return false;
    }

    /// <summary>Collects the range-table indexes under the nullable side of an outer join (JoinType: 1 left, 2 full, 3 right).</summary>
    private static void NullableSides(object? node, HashSet<int> nullable, bool underNullable)
    {
        switch (node)
        {
            case PgNode { Type: "RANGETBLREF" } r:
                if (underNullable) nullable.Add(r.Int("rtindex"));
                break;
            case PgNode { Type: "FROMEXPR" } f:
                foreach (var item in f.Field("fromlist") as List<object?> ?? []) NullableSides(item, nullable, underNullable);
                break;
            case PgNode { Type: "JOINEXPR" } j:
                var type = j.Int("jointype");
                NullableSides(j.Field("larg"), nullable, underNullable || type is 2 or 3);
                NullableSides(j.Field("rarg"), nullable, underNullable || type is 1 or 2);
                // The join's own range-table entry (USING columns) is nullable when any side is.
                if (underNullable || type is 1 or 2 or 3) nullable.Add(j.Int("rtindex"));
                break;
        }
    }
}

/// <summary>A node of PostgreSQL's pg_node_tree text: <c>{TYPE :field value ...}</c>.</summary>
internal sealed class PgNode(string type)
{
    public string Type { get; } = type;
    public Dictionary<string, object?> Fields { get; } = new(StringComparer.Ordinal);

    public object? Field(string name) => Fields.GetValueOrDefault(name);

    public string? Scalar(string name) => Fields.GetValueOrDefault(name) as string;

    public int Int(string name) =>
        int.TryParse(Scalar(name), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : -1;
}

/// <summary>
/// Parses pg_node_tree text into <see cref="PgNode"/>s, lists (<c>List&lt;object?&gt;</c>), scalars (strings) and null
/// (<c>&lt;&gt;</c>). Scalars that span several tokens (a Const's <c>4 [ 1 0 0 0 ]</c>) are kept as one string. The
/// text comes from the catalog, not from clients; nesting is bounded all the same.
/// </summary>
internal static class PgNodeTree
{
    private const int MaxDepth = 1000;

    public static object? Parse(string text)
    {
        var tokens = ViewKeyDependencies.Tokenize(text);
        var i = 0;
        return tokens.Count == 0 ? null : Value(tokens, ref i, 0);
    }

    private static object? Value(List<string> t, ref int i, int depth)
    {
        if (depth > MaxDepth) throw new FormatException("pg_node_tree nested too deeply");
        var tok = t[i];
        if (tok == "{")
        {
            var node = new PgNode(i + 1 < t.Count ? t[i + 1] : "");
            i += 2;
            while (i < t.Count && t[i] != "}")
            {
                if (t[i].StartsWith(':'))
                {
                    var name = t[i][1..];
                    i++;
                    node.Fields[name] = i < t.Count && !t[i].StartsWith(':') && t[i] != "}" ? FieldValue(t, ref i, depth + 1) : null;
                }
                else i++;
            }
            i++; // "}"
            return node;
        }
        if (tok == "(")
        {
            var list = new List<object?>();
            i++;
            while (i < t.Count && t[i] != ")") list.Add(Value(t, ref i, depth + 1));
            i++; // ")"
            return list;
        }
        i++;
        return tok == "<>" ? null : tok;
    }

    private static object? FieldValue(List<string> t, ref int i, int depth)
    {
        if (t[i] is "{" or "(") return Value(t, ref i, depth);
        var start = i;
        while (i < t.Count && !t[i].StartsWith(':') && t[i] is not ("}" or "{" or "(" or ")")) i++;
        var scalar = string.Join(' ', t.GetRange(start, i - start));
        return scalar == "<>" ? null : scalar;
    }
}
