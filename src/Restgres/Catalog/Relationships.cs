using System.Collections.Frozen;

namespace Restgres.Catalog;

/// <summary>
/// Derives the relationship graph as PostgREST does (SchemaCache.hs): foreign keys give many-to-one (one-to-one when
/// the FK columns are also a primary or unique key); views exposing the key columns get the same relationships
/// (view key dependencies); a table with two FKs covered by its primary key is a junction for many-to-many; every
/// relationship gets its inverse; computed relationships (functions) override detected ones of the same name.
/// Relationships into non-exposed schemas, or through non-exposed junctions, are dropped.
/// </summary>
internal static class Relationships
{
    public static FrozenDictionary<QualifiedIdentifier, IReadOnlyList<Relationship>> Build(
        IReadOnlyList<SchemaCacheLoader.ForeignKey> fks,
        IReadOnlyDictionary<QualifiedIdentifier, Table> tables,
        IReadOnlyList<ViewKeyDependency> keyDeps,
        IReadOnlyList<Relationship> computed,
        HashSet<string> exposedSchemas)
    {
        var rels = fks.Select(fk => new Relationship(fk.Table, fk.ForeignTable, fk.Table == fk.ForeignTable,
            fk.OneToOne ? Cardinality.OneToOne : Cardinality.ManyToOne, fk.Constraint, fk.Columns, null, false, false)).ToList();
        rels = AddViewRels(keyDeps, rels);
        rels = AddM2M(tables, rels);
        rels = AddInverse(rels);

        // Computed relationships override detected ones keyed by (table, name).
        var computedKeys = computed.Select(c => (c.Table, c.Function!.Value)).ToHashSet();
        var all = rels.Where(r => !computedKeys.Contains((r.Table, r.ForeignTable))).Concat(computed)
            .Where(r => exposedSchemas.Contains(r.Table.Schema))
            .ToList();
        all.Sort(RelationshipOrder.Instance);
        // A table keeps its (possibly now empty) entry after internal relationships are removed, as PostgREST's
        // removeInternal does; "Perhaps you meant" hints depend on whether the entry exists.
        return all.GroupBy(r => r.Table).ToFrozenDictionary(g => g.Key, g => (IReadOnlyList<Relationship>)[.. g.Where(r =>
            exposedSchemas.Contains(r.ForeignTable.Schema) && (r.Junction is null || exposedSchemas.Contains(r.Junction.Table.Schema)))]);
    }

    private static List<Relationship> AddViewRels(IReadOnlyList<ViewKeyDependency> keyDeps, List<Relationship> rels)
    {
        var index = keyDeps.ToLookup(d => (d.Table, d.Constraint, d.Type));
        var result = new List<Relationship>(rels);
        foreach (var r in rels)
        {
            if (r.Cardinality is not (Cardinality.ManyToOne or Cardinality.OneToOne)) continue;
            var viewTable = index[(r.Table, r.Constraint, KeyDep.Fk)].ToList();
            var tableView = index[(r.ForeignTable, r.Constraint, KeyDep.FkRef)].ToList();
            foreach (var vt in viewTable)
                foreach (var vtCols in Expand(vt.Columns))
                    result.Add(r with { Table = vt.View, IsSelf = false, Columns = [.. vtCols.Zip(r.Columns, (v, c) => (v, c.ForeignColumn))], TableIsView = true, ForeignTableIsView = false });
            foreach (var tv in tableView)
                foreach (var tvCols in Expand(tv.Columns))
                    result.Add(r with { ForeignTable = tv.View, IsSelf = false, Columns = [.. r.Columns.Zip(tvCols, (c, v) => (c.Column, v))], TableIsView = false, ForeignTableIsView = true });
            foreach (var vt in viewTable)
                foreach (var vtCols in Expand(vt.Columns))
                    foreach (var tv in tableView)
                        foreach (var tvCols in Expand(tv.Columns))
                            result.Add(r with { Table = vt.View, ForeignTable = tv.View, IsSelf = vt.View == tv.View, Columns = [.. vtCols.Zip(tvCols)], TableIsView = true, ForeignTableIsView = true });
        }
        return result;
    }

    /// <summary>Every choice of one view column per key column (a base column may be exposed several times).</summary>
    private static IEnumerable<List<string>> Expand(IReadOnlyList<(string TableColumn, IReadOnlyList<string> ViewColumns)> cols)
    {
        IEnumerable<List<string>> acc = [[]];
        foreach (var (_, viewCols) in cols)
            acc = acc.SelectMany(prefix => viewCols.Select(v => new List<string>(prefix) { v })).ToList();
        return acc;
    }

    /// <summary>
    /// A table whose primary key covers the columns of two of its many-to-one foreign keys is a junction between their
    /// targets. Only the foreign keys the key covers are paired: a view over a big schema can carry hundreds of
    /// relationships, and pairing all of them (then testing each pair) made this the slowest step of the load.
    /// </summary>
    private static List<Relationship> AddM2M(IReadOnlyDictionary<QualifiedIdentifier, Table> tables, List<Relationship> rels)
    {
        var result = new List<Relationship>(rels);
        foreach (var group in rels.Where(r => r.Cardinality == Cardinality.ManyToOne).GroupBy(r => r.Table))
        {
            if (!tables.TryGetValue(group.Key, out var jtTable) || jtTable.PrimaryKey.Count == 0) continue;
            var pk = jtTable.PrimaryKey.ToHashSet(StringComparer.Ordinal);
            var covered = group.Where(r => r.Columns.All(c => pk.Contains(c.Column))).ToList();
            foreach (var r1 in covered)
            {
                foreach (var r2 in covered)
                {
                    if (r2.Constraint == r1.Constraint) continue;
                    var junction = new Junction(group.Key, r1.Constraint, r2.Constraint,
                        [.. r1.Columns.Select(c => (c.ForeignColumn, c.Column))], [.. r2.Columns.Select(c => (c.ForeignColumn, c.Column))]);
                    result.Add(new Relationship(r1.ForeignTable, r2.ForeignTable, r1.ForeignTable == r2.ForeignTable, Cardinality.ManyToMany,
                        "", [], junction, r1.ForeignTableIsView, r2.ForeignTableIsView));
                }
            }
        }
        return result;
    }

    private static List<Relationship> AddInverse(List<Relationship> rels)
    {
        var result = new List<Relationship>(rels);
        foreach (var r in rels)
        {
            if (r.Cardinality == Cardinality.ManyToOne)
                result.Add(r with { Table = r.ForeignTable, ForeignTable = r.Table, Cardinality = Cardinality.OneToMany, Columns = Swap(r.Columns), TableIsView = r.ForeignTableIsView, ForeignTableIsView = r.TableIsView });
            else if (r.Cardinality == Cardinality.OneToOne)
                result.Add(r with { Table = r.ForeignTable, ForeignTable = r.Table, Columns = Swap(r.Columns), TableIsView = r.ForeignTableIsView, ForeignTableIsView = r.TableIsView, O2OIsParent = !r.O2OIsParent });
        }
        return result;
    }

    private static List<(string, string)> Swap(IReadOnlyList<(string Column, string ForeignColumn)> cols) => [.. cols.Select(c => (c.ForeignColumn, c.Column))];
}

/// <summary>
/// PostgREST sorts each relationship list with Haskell's derived Ord (table, foreign table, self flag, cardinality
/// O2M &lt; M2O &lt; O2O &lt; M2M with their fields, view flags; computed relationships last). The order shows in
/// PGRST201's candidate list, so we reproduce it.
/// </summary>
internal sealed class RelationshipOrder : IComparer<Relationship>
{
    public static readonly RelationshipOrder Instance = new();

    public int Compare(Relationship? a, Relationship? b)
    {
        if (a is null || b is null) return a is null ? (b is null ? 0 : -1) : 1;
        var ca = a.Cardinality == Cardinality.Computed;
        var cb = b.Cardinality == Cardinality.Computed;
        if (ca != cb) return ca ? 1 : -1;
        if (ca)
        {
            var f = Qi(a.Function!.Value, b.Function!.Value);
            if (f != 0) return f;
        }
        var c = Qi(a.Table, b.Table);
        if (c != 0) return c;
        c = Qi(a.ForeignTable, b.ForeignTable);
        if (c != 0) return c;
        c = a.IsSelf.CompareTo(b.IsSelf);
        if (c != 0) return c;
        c = Rank(a.Cardinality).CompareTo(Rank(b.Cardinality));
        if (c != 0) return c;
        if (a.Cardinality == Cardinality.ManyToMany)
        {
            c = Qi(a.Junction!.Table, b.Junction!.Table);
            if (c != 0) return c;
            c = string.CompareOrdinal(a.Junction.Constraint1, b.Junction.Constraint1);
            if (c != 0) return c;
            c = string.CompareOrdinal(a.Junction.Constraint2, b.Junction.Constraint2);
            if (c != 0) return c;
            c = Pairs(a.Junction.SourceColumns, b.Junction.SourceColumns);
            if (c != 0) return c;
            c = Pairs(a.Junction.TargetColumns, b.Junction.TargetColumns);
        }
        else
        {
            c = string.CompareOrdinal(a.Constraint, b.Constraint);
            if (c != 0) return c;
            c = Pairs(a.Columns, b.Columns);
            if (c != 0) return c;
            c = a.O2OIsParent.CompareTo(b.O2OIsParent);
        }
        if (c != 0) return c;
        c = a.TableIsView.CompareTo(b.TableIsView);
        return c != 0 ? c : a.ForeignTableIsView.CompareTo(b.ForeignTableIsView);
    }

    private static int Rank(Cardinality c) => c switch
    {
        Cardinality.OneToMany => 0,
        Cardinality.ManyToOne => 1,
        Cardinality.OneToOne => 2,
        _ => 3,
    };

    private static int Qi(QualifiedIdentifier a, QualifiedIdentifier b)
    {
        var c = string.CompareOrdinal(a.Schema, b.Schema);
        return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
    }

    private static int Pairs(IReadOnlyList<(string, string)> a, IReadOnlyList<(string, string)> b)
    {
        for (var i = 0; i < Math.Min(a.Count, b.Count); i++)
        {
            var c = string.CompareOrdinal(a[i].Item1, b[i].Item1);
            if (c != 0) return c;
            c = string.CompareOrdinal(a[i].Item2, b[i].Item2);
            if (c != 0) return c;
        }
        return a.Count.CompareTo(b.Count);
    }
}
