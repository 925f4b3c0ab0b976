using System.Text;
using System.Text.Json;

namespace Restgres.Catalog;

internal enum KeyDep { Pk, Fk, FkRef }

/// <summary>
/// A primary/foreign key of a base table whose columns a view exposes (PostgREST's ViewKeyDependency): lets views
/// have primary keys and take part in embedding. <see cref="Columns"/>: (table column, view columns exposing it).
/// </summary>
internal sealed record ViewKeyDependency(
    QualifiedIdentifier Table,
    QualifiedIdentifier View,
    string Constraint,
    KeyDep Type,
    IReadOnlyList<(string TableColumn, IReadOnlyList<string> ViewColumns)> Columns);

/// <summary>
/// Traces view columns to base-table columns from each view's rewrite rule (<c>pg_rewrite.ev_action</c>, a
/// pg_node_tree): the top-level query's target list gives, per view column, the origin table and column
/// (<c>resorigtbl</c>, <c>resorigcol</c>). Views over views are followed recursively, with cycle protection.
/// Only keys whose every column is exposed by the view count — no partial keys.
/// </summary>
internal static class ViewKeyDependencies
{
    private sealed record ViewInfo(uint Oid, string Schema, string Name, bool Exposed, Dictionary<int, string> Cols,
        List<(int Resno, uint OrigTbl, int OrigCol)> Targets);

    private sealed record Constraint(uint Rel, string Schema, string Table, string Name, string Type,
        List<(int Num, string Name)> Cols, uint FRel, string? FSchema, string? FTable, List<(int Num, string Name)> FCols);

    public static List<ViewKeyDependency> Compute(string viewsJson, string constraintsJson)
    {
        var views = ParseViews(viewsJson);
        var constraints = ParseConstraints(constraintsJson);

        // (view oid, view column) → origin, for every view in scope
        var results = new Dictionary<(uint, int), (uint OrigTbl, int OrigCol)>();
        foreach (var v in views.Values)
            foreach (var t in v.Targets)
                results[(v.Oid, t.Resno)] = (t.OrigTbl, t.OrigCol);

        // repeated references: (view, base table, base column) → view column names
        var refs = new Dictionary<(uint View, uint Tbl, int Col), List<(int Resno, string Name)>>();
        foreach (var v in views.Values.Where(v => v.Exposed))
        {
            foreach (var t in v.Targets)
            {
                if (!v.Cols.TryGetValue(t.Resno, out var colName)) continue;
                var (tbl, col) = (t.OrigTbl, t.OrigCol);
                var path = new HashSet<uint> { tbl };
                while (true)
                {
                    Add(refs, (v.Oid, tbl, col), (t.Resno, colName));
                    if (!results.TryGetValue((tbl, col), out var next)) break;
                    if (!path.Add(next.OrigTbl))
                    {
                        Add(refs, (v.Oid, next.OrigTbl, next.OrigCol), (t.Resno, colName));
                        break;
                    }
                    (tbl, col) = next;
                }
            }
        }

        // pks_fks: each key column of p/f constraints, and the referenced columns of fks (f_ref)
        var keyCols = new Dictionary<(uint Tbl, int Col), List<(Constraint C, KeyDep Type, int Ord, string ColName)>>();
        foreach (var c in constraints)
        {
            var type = c.Type == "p" ? KeyDep.Pk : KeyDep.Fk;
            for (var i = 0; i < c.Cols.Count; i++)
                Add(keyCols, (c.Rel, c.Cols[i].Num), (c, type, i, c.Cols[i].Name));
            if (c.Type == "f")
                for (var i = 0; i < c.FCols.Count; i++)
                    Add(keyCols, (c.FRel, c.FCols[i].Num), (c, KeyDep.FkRef, i, c.FCols[i].Name));
        }

        var grouped = new Dictionary<(uint View, uint Tbl, string Cons, KeyDep Type), List<(int Ord, string TableCol, List<string> ViewCols, int NCol, QualifiedIdentifier Table)>>();
        foreach (var ((viewOid, tbl, col), viewCols) in refs)
        {
            if (!keyCols.TryGetValue((tbl, col), out var keys)) continue;
            foreach (var (c, type, ord, colName) in keys)
            {
                var table = type == KeyDep.FkRef ? new QualifiedIdentifier(c.FSchema!, c.FTable!) : new QualifiedIdentifier(c.Schema, c.Table);
                var ncol = type == KeyDep.FkRef ? c.FCols.Count : c.Cols.Count;
                Add(grouped, (viewOid, tbl, c.Name, type),
                    (ord, colName, viewCols.OrderBy(x => x.Resno).Select(x => x.Name).ToList(), ncol, table));
            }
        }

        var deps = new List<ViewKeyDependency>();
        foreach (var ((viewOid, _, cons, type), entries) in grouped)
        {
            var distinct = entries.GroupBy(e => e.Ord).Select(g => g.First()).OrderBy(e => e.Ord).ToList();
            if (distinct.Count != distinct[0].NCol) continue;
            var v = views[viewOid];
            deps.Add(new ViewKeyDependency(distinct[0].Table, new QualifiedIdentifier(v.Schema, v.Name), cons, type,
                [.. distinct.Select(e => (e.TableCol, (IReadOnlyList<string>)e.ViewCols))]));
        }
        return deps;
    }

    private static void Add<TK, TV>(Dictionary<TK, List<TV>> d, TK key, TV value) where TK : notnull
    {
        if (!d.TryGetValue(key, out var l)) d[key] = l = [];
        l.Add(value);
    }

    private static Dictionary<uint, ViewInfo> ParseViews(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var map = new Dictionary<uint, ViewInfo>();
        foreach (var v in doc.RootElement.EnumerateArray())
        {
            var cols = new Dictionary<int, string>();
            if (v.GetProperty("cols").ValueKind == JsonValueKind.Object)
                foreach (var p in v.GetProperty("cols").EnumerateObject())
                    cols[int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture)] = p.Value.GetString()!;
            var oid = (uint)v.GetProperty("oid").GetInt64();
            map[oid] = new ViewInfo(oid, v.GetProperty("schema").GetString()!, v.GetProperty("name").GetString()!,
                v.GetProperty("exposed").GetBoolean(), cols, TargetList(v.GetProperty("def").GetString() ?? ""));
        }
        return map;
    }

    private static List<Constraint> ParseConstraints(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var list = new List<Constraint>();
        static List<(int, string)> Cols(JsonElement e) =>
            e.ValueKind == JsonValueKind.Array ? [.. e.EnumerateArray().Select(x => (x[0].GetInt32(), x[1].GetString()!))] : [];
        foreach (var c in doc.RootElement.EnumerateArray())
        {
            list.Add(new Constraint((uint)c.GetProperty("rel").GetInt64(), c.GetProperty("schema").GetString()!, c.GetProperty("table").GetString()!,
                c.GetProperty("name").GetString()!, c.GetProperty("type").GetString()!, Cols(c.GetProperty("cols")),
                (uint)c.GetProperty("frel").GetInt64(), c.GetProperty("fschema").GetString(), c.GetProperty("ftable").GetString(), Cols(c.GetProperty("fcols"))));
        }
        return list;
    }

    /// <summary>
    /// Reads the target list of the top-level query node from pg_node_tree text: tokens are separated by spaces,
    /// <c>( ) { }</c> are structure, a backslash escapes the next character, <c>&lt;&gt;</c> is null.
    /// </summary>
    internal static List<(int Resno, uint OrigTbl, int OrigCol)> TargetList(string tree)
    {
        // Scanned in place: a big schema's rewrite trees run to megabytes, and only the target list is needed (making
        // a string of every token took a third of the schema cache build on PostgREST's big-schema fixture).
        var result = new List<(int, uint, int)>();
        var tokens = new NodeTreeTokens(tree);
        var depth = 0;
        var found = false;
        // Find ":targetList" among the fields of the first QUERY node: depth 2 = inside "(" then "{".
        while (tokens.MoveNext())
        {
            var t = tokens.Current;
            if (t is "(" or "{") depth++;
            else if (t is ")" or "}") depth--;
            else if (depth == 2 && t is ":targetList") { found = true; break; }
        }
        if (!found || !tokens.MoveNext() || tokens.Current is not "(") return result;
        depth = 0;
        int resno = 0, origCol = 0;
        uint origTbl = 0;
        while (tokens.MoveNext())
        {
            var t = tokens.Current;
            if (t is "(" or "{")
            {
                depth++;
                if (depth == 1) (resno, origTbl, origCol) = (0, 0, 0);
                continue;
            }
            if (t is ")" or "}")
            {
                if (depth == 0) break; // end of the target list
                if (depth == 1 && origTbl != 0) result.Add((resno, origTbl, origCol));
                depth--;
                continue;
            }
            if (depth != 1) continue;
            var field = t is ":resno" ? 1 : t is ":resorigtbl" ? 2 : t is ":resorigcol" ? 3 : 0;
            if (field == 0) continue;
            if (!tokens.MoveNext()) break;
            var value = tokens.Current;
            if (value is "(" or "{" or ")" or "}") { tokens.Back(); continue; }
            switch (field)
            {
                case 1: resno = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case 2: origTbl = uint.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case 3: origCol = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            }
        }
        return result;
    }

    /// <summary>
    /// The tokens of pg_node_tree text as spans of it: <c>( ) { }</c> alone, others up to a space or structure
    /// character; a backslash escapes the next character (kept in the span: only keywords and numbers are read).
    /// </summary>
    private ref struct NodeTreeTokens(string text)
    {
        private int _pos;
        private int _start;

        public ReadOnlySpan<char> Current { get; private set; }

        public bool MoveNext()
        {
            while (_pos < text.Length && text[_pos] is ' ' or '\n' or '\t') _pos++;
            if (_pos >= text.Length) return false;
            _start = _pos;
            if (text[_pos] is '(' or ')' or '{' or '}') _pos++;
            else
                while (_pos < text.Length && text[_pos] is not (' ' or '\n' or '\t' or '(' or ')' or '{' or '}'))
                    _pos += text[_pos] == '\\' ? 2 : 1;
            _pos = Math.Min(_pos, text.Length);
            Current = text.AsSpan(_start, _pos - _start);
            return true;
        }

        /// <summary>Steps back over the current token, so that the next MoveNext reads it again.</summary>
        public void Back() => _pos = _start;
    }

    internal static List<string> Tokenize(string s)
    {
        var tokens = new List<string>(s.Length / 4);
        var sb = new StringBuilder();
        void Flush()
        {
            if (sb.Length > 0) { tokens.Add(sb.ToString()); sb.Clear(); }
        }
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '\\' && i + 1 < s.Length) { sb.Append(s[++i]); continue; }
            if (c is ' ' or '\n' or '\t') { Flush(); continue; }
            if (c is '(' or ')' or '{' or '}')
            {
                // "<>" and tokens never contain unescaped structure characters.
                Flush();
                tokens.Add(c.ToString());
                continue;
            }
            sb.Append(c);
        }
        Flush();
        return tokens;
    }
}
