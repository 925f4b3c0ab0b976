using System.Collections.Immutable;
using Restgres.Catalog;
using Restgres.Config;
using Restgres.Errors;
using Restgres.Requests;

namespace Restgres.Plan;

/// <summary>The read plan of a GET/HEAD on a relation, plus the media handler chosen by content negotiation.</summary>
internal sealed record WrappedReadPlan(ReadPlan Plan, QualifiedIdentifier Target, CallHandler Handler, MediaType Media, bool HeadersOnly);

/// <summary>How the body is aggregated in SQL (PostgREST's MediaHandler).</summary>
internal enum MediaHandler { Json, JsonStripNulls, SingleJson, SingleJsonStripNulls, Csv, GeoJson, NoAgg }

/// <summary>
/// Resolves an <see cref="ApiRequest"/> against the schema cache into a plan (PostgREST's Plan.hs). Pure:
/// the result is a tree of resolved names and types, or a catalogued error.
/// </summary>
internal static class Planner
{
    public static WrappedReadPlan WrappedRead(AppConfig config, SchemaCache cache, ApiRequest req, QualifiedIdentifier target, bool headersOnly)
    {
        var table = FindTable(cache, target);
        var plan = ReadPlanFor(config, cache, req, table.Identifier);
        var (handler, media) = Negotiator.Negotiate(config, req, table.Identifier, cache.MediaHandlers, plan.IsDefaultSelect, withoutBody: headersOnly);
        CheckPreferences(req);
        return new WrappedReadPlan(plan, target, handler, media, headersOnly);
    }

    /// <summary>handling=strict rejects unknown preferences (PGRST122).</summary>
    public static void CheckPreferences(ApiRequest req)
    {
        if (req.Preferences.Handling == PreferHandling.Strict && req.Preferences.Invalid.Count > 0)
            throw Pgrst.InvalidPreferences(req.Preferences.Invalid);
    }

    public static Table FindTable(SchemaCache cache, QualifiedIdentifier target)
    {
        if (cache.Tables.TryGetValue(target, out var t)) return t;
        throw Pgrst.TableNotFound(target.Schema, target.Name, Fuzzy.TableHint(cache, target));
    }

    private sealed record Ctx(SchemaCache Cache, QualifiedIdentifier Qi)
    {
        public Table? Table => Cache.Tables.TryGetValue(Qi, out var t) ? t : null;
    }

    /// <summary>A read plan node while it is being built; frozen into <see cref="ReadPlan"/> at the end.</summary>
    private sealed class Node
    {
        public List<CoercibleSelectField> Select = [];
        public QualifiedIdentifier From;
        public string? FromAlias;
        public List<CoercibleLogicTree> Where = [];
        public List<CoercibleOrderTerm>? Order;
        public NonnegRange Range = NonnegRange.All;
        public required string RelName;
        public Relationship? RelToParent;
        public QualifiedIdentifier? RelTableAlias;
        public List<JoinCondition> JoinConds = [];
        public string? RelAlias;
        public string RelAggAlias = "";
        public string? RelHint;
        public JoinType? RelJoinType;
        public SpreadKind Spread;
        public int Depth;
        public bool LegacyMatch;
        public List<Node> Children = [];
        public List<RelSelectField> RelSelect = [];
        public List<(string?, CoercibleSelectField)> SpreadExtraSelects = [];
        public List<CoercibleOrderTerm> SpreadOrder = [];

        public string Name => RelAlias ?? RelName;

        public ReadPlan Freeze() => new()
        {
            Select = [.. Select], From = From, FromAlias = FromAlias, Where = [.. Where], Order = [.. Order ?? []], Range = Range,
            RelName = RelName, RelToParent = RelToParent, RelTableAlias = RelTableAlias, RelJoinConds = [.. JoinConds], RelAlias = RelAlias,
            RelAggAlias = RelAggAlias, RelHint = RelHint, RelJoinType = RelJoinType, RelSpread = Spread, RelSelect = [.. RelSelect],
            Depth = Depth, Children = [.. Children.Select(c => c.Freeze())], RelIsLegacyTargetNameMatch = LegacyMatch, SpreadExtraSelects = [.. SpreadExtraSelects], SpreadOrder = [.. SpreadOrder],
        };
    }

    /// <summary>
    /// Builds the read plan tree (PostgREST's readPlan): the select tree with filters, orders, ranges and logic trees
    /// attached to their nodes, relationships resolved, stars expanded, aliases, related orders, embed null filters,
    /// the parent's view of each embed, aggregate checks and db-max-rows.
    /// </summary>
    public static ReadPlan ReadPlanFor(AppConfig config, SchemaCache cache, ApiRequest req, QualifiedIdentifier qi)
    {
        var qp = req.QueryParams;
        var legacy = config.UrlUseLegacyTargetNames;
        var isMutation = req.Action is RelationMut;
        var root = new Node { From = qi, RelName = qi.Name };
        foreach (var item in qp.Select) AddSelectItem(cache, root, item, qi.Schema, 0);

        // Filters (mutations: only embedded ones), orders (first wins), ranges, logic trees.
        foreach (var (path, filter) in qp.Filters.Reverse())
        {
            if (isMutation && path.IsEmpty) continue;
            var node = FindNode(root, path, legacy);
            node.Where.Insert(0, new CoercibleLogicStmt(ResolveFilter(new Ctx(cache, node.From), filter)));
        }
        foreach (var (path, terms) in qp.Order.Reverse())
        {
            var node = FindNode(root, path, legacy);
            var ctx = new Ctx(cache, node.From);
            node.Order = [.. terms.Select(t => t.Relation is null
                ? new CoercibleOrderTerm(null, ResolveTypeOrUnknown(ctx, t.Field, null, false), t.Direction, t.Nulls)
                : new CoercibleOrderTerm(t.Relation, CoercibleField.Unknown(t.Field.Name, t.Field.JsonPath), t.Direction, t.Nulls))];
        }
        if (!isMutation)
        {
            foreach (var (key, range) in req.Ranges)
            {
                var path = key == "limit" ? [] : ParseRangePath(key);
                FindNode(root, path, legacy).Range = range;
            }
        }
        foreach (var (path, tree) in qp.Logic.Reverse())
        {
            if (isMutation && path.IsEmpty) continue;
            var node = FindNode(root, path, legacy);
            node.Where.Insert(0, ResolveLogicTree(new Ctx(cache, node.From), tree));
        }

        AddRels(cache, req, root, null, qi.Schema);
        ExpandAndAlias(cache, root, false, qi.Schema);
        AddRelatedOrders(root);
        AddNullEmbedFilters(root);
        AddRelSelects(root);
        if (!config.DbAggregatesEnabled && AnyAggregate(root)) throw Pgrst.AggregatesNotAllowed();
        HoistSpreadAggregates(root);
        AddToManyOrderSelects(root);

        var plan = root.Freeze();
        // db-max-rows caps every read (treeRestrictRange), but never a mutation.
        return isMutation ? plan : RestrictRange(plan, config.DbMaxRows);
    }

    private static ImmutableArray<string> ParseRangePath(string key)
    {
        if (!Parsec.Run(Grammar.TreePath, key, $"failed to parse tree path ({key})", out var tp, out var err))
            throw Pgrst.QueryParam(err.Message, err.Details);
        return tp.Path;
    }

    private static ReadPlan RestrictRange(ReadPlan p, long? maxRows) => p with
    {
        Range = NonnegRange.ConvertToLimitZero(p.Range, p.Range.Restrict(maxRows)),
        Children = [.. p.Children.Select(c => RestrictRange(c, maxRows))],
    };

    /// <summary>The deepest embedding allowed (PostgREST has no limit; see AddSelectItem).</summary>
    public const int MaxEmbedDepth = 20;

    private static void AddSelectItem(SchemaCache cache, Node node, SelectItem item, string schema, int depth)
    {
        switch (item)
        {
            case SelectField f:
                node.Select.Add(new CoercibleSelectField(ResolveOutputField(new Ctx(cache, node.From), f.Field), f.Aggregate, f.AggregateCast, f.Cast, f.Alias));
                break;
            case SelectRelation or SpreadRelation when depth + 1 > MaxEmbedDepth:
                // PostgreSQL's planning time grows exponentially with nested lateral joins (26 levels ≈ 0.7 s,
                // 50 levels does not finish), so a request cannot ask for a plan that would hang a backend.
                throw Pgrst.QueryParam("Resource embedding is nested too deeply",
                    $"The select parameter embeds more than {MaxEmbedDepth} levels deep; at most {MaxEmbedDepth} are allowed.");
            case SelectRelation r:
            {
                var child = new Node { From = new QualifiedIdentifier(schema, r.Name), RelName = r.Name, RelAlias = r.Alias, RelHint = r.Hint, RelJoinType = r.JoinType, Depth = depth + 1 };
                foreach (var c in r.Children) AddSelectItem(cache, child, c, schema, depth + 1);
                node.Children.Add(child);
                break;
            }
            case SpreadRelation sp:
            {
                var child = new Node { From = new QualifiedIdentifier(schema, sp.Name), RelName = sp.Name, RelHint = sp.Hint, RelJoinType = sp.JoinType, Depth = depth + 1, Spread = SpreadKind.ToOne };
                foreach (var c in sp.Children) AddSelectItem(cache, child, c, schema, depth + 1);
                node.Children.Add(child);
                break;
            }
        }
    }

    /// <summary>updateNode: follow an embed path by name (alias, or also the relation name with legacy target names).</summary>
    private static Node FindNode(Node root, ImmutableArray<string> path, bool legacy)
    {
        var node = root;
        foreach (var name in path)
        {
            var next = node.Children.FirstOrDefault(c => legacy ? c.RelName == name || c.RelAlias == name : c.Name == name);
            if (next is null)
            {
                var aliased = node.Children.FirstOrDefault(c => c.RelName == name && c.RelAlias is not null);
                throw !legacy && aliased is not null ? Pgrst.NotEmbeddedAlias(name, aliased.RelAlias!) : Pgrst.NotEmbedded(name);
            }
            if (next.RelAlias is { } alias && alias != name) next.LegacyMatch = true;
            node = next;
        }
        return node;
    }

    /// <summary>addRels: resolve each embed's relationship, its table, aliases and join conditions.</summary>
    private static void AddRels(SchemaCache cache, ApiRequest req, Node node, Node? parent, string schema)
    {
        if (parent is null)
        {
            // Mutations and RPC read from the pgrst_source CTE, aliased with the table name so relationships resolve.
            if (req.Action is RelationMut or RoutineCall)
            {
                node.FromAlias = node.From.Name;
                node.From = ReadPlan.Source;
            }
        }
        else
        {
            var origin = node.Depth == 1 ? parent.FromAlias ?? parent.From.Name : parent.From.Name;
            var rel = FindRel(cache, schema, origin, node.RelName, node.RelHint);
            var newAlias = rel.ForeignTable.Name + "_" + node.Depth.ToString(System.Globalization.CultureInfo.InvariantCulture);
            node.RelAggAlias = rel.Table.Name + "_" + node.Name + "_" + node.Depth.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (node.Spread != SpreadKind.None && !rel.IsToOne) node.Spread = SpreadKind.ToMany;
            node.From = rel.ForeignTable;
            node.RelToParent = rel;
            switch (rel.Cardinality)
            {
                case Cardinality.ManyToMany:
                    node.JoinConds = JoinConditions(null, parent.FromAlias, rel);
                    break;
                case Cardinality.Computed:
                    node.FromAlias = newAlias;
                    node.RelTableAlias = parent.FromAlias is { } pa ? new QualifiedIdentifier("", pa) : rel.Table;
                    break;
                default:
                    node.FromAlias = newAlias;
                    node.JoinConds = JoinConditions(newAlias, parent.FromAlias, rel);
                    break;
            }
        }
        foreach (var child in node.Children) AddRels(cache, req, child, node, schema);
    }

    private static List<JoinCondition> JoinConditions(string? alias, string? parentAlias, Relationship rel)
    {
        var schema = rel.Table.Schema;
        QualifiedIdentifier Q(string? a, string table) => a is null ? new QualifiedIdentifier(schema, table) : new QualifiedIdentifier("", a);
        var tN = rel.Table.Name;
        var ftN = rel.ForeignTable.Name;
        if (rel.Junction is { } j)
        {
            var jtn = j.Table.Name;
            return [.. j.TargetColumns.Select(c => new JoinCondition(Q(null, jtn), c.JunctionColumn, Q(null, ftN), c.Column)),
                    .. j.SourceColumns.Select(c => new JoinCondition(Q(null, jtn), c.JunctionColumn, Q(parentAlias, tN), c.Column))];
        }
        return [.. rel.Columns.Select(c => new JoinCondition(Q(alias, ftN), c.ForeignColumn, Q(parentAlias, tN), c.Column))];
    }

    /// <summary>findRel: the relationship named by the embed (table, view, constraint, column or function) and hint.</summary>
    private static Relationship FindRel(SchemaCache cache, string schema, string origin, string target, string? hint)
    {
        var all = cache.Relationships.TryGetValue(new QualifiedIdentifier(schema, origin), out var l) ? l : [];
        var rels = new List<Relationship>();
        foreach (var r in all)
        {
            if (r.ForeignTable.Schema != schema && r.Cardinality != Cardinality.Computed) continue;
            if (r.Cardinality == Cardinality.Computed)
            {
                if (r.Function!.Value.Name == target) rels.Add(r);
                continue;
            }
            bool match;
            if (r.IsSelf)
            {
                match = hint is null
                    ? (target == r.ForeignTable.Name && r.Cardinality == Cardinality.OneToMany)
                      || (MatchFkSingleCol(target, r) && r.Cardinality == Cardinality.ManyToOne)
                    : target == r.ForeignTable.Name && r.Cardinality == Cardinality.OneToMany && MatchFkRefSingleCol(hint, r);
            }
            else
            {
                match = hint is null
                    ? target == r.ForeignTable.Name
                      || (MatchConstraint(target, r) && !r.ForeignTableIsView)
                      || (MatchFkSingleCol(target, r) && !r.ForeignTableIsView)
                    : target == r.ForeignTable.Name
                      && (MatchConstraint(hint, r) || MatchFkSingleCol(hint, r) || MatchFkRefSingleCol(hint, r)
                          || (r.Junction is { } j && j.Table.Name == hint));
            }
            if (match) rels.Add(r);
        }
        return rels.Count switch
        {
            0 => throw RelErrors.NoRelBetween(origin, target, hint, schema, cache),
            1 => rels[0],
            _ => throw RelErrors.Ambiguous(origin, target, rels),
        };
    }

    private static bool IsFk(Relationship r) => r.Cardinality is Cardinality.OneToMany or Cardinality.ManyToOne or Cardinality.OneToOne;
    private static bool MatchFkSingleCol(string h, Relationship r) => IsFk(r) && r.Columns.Count == 1 && r.Columns[0].Column == h;
    private static bool MatchFkRefSingleCol(string h, Relationship r) => IsFk(r) && r.Columns.Count == 1 && r.Columns[0].ForeignColumn == h;
    private static bool MatchConstraint(string h, Relationship r) => IsFk(r) && r.Constraint == h;

    private static void ExpandAndAlias(SchemaCache cache, Node node, bool hasAgg, string schema)
    {
        var newHasAgg = hasAgg || node.Select.Any(s => s.Aggregate is not null) || node.Spread == SpreadKind.ToMany;
        // The pgrst_source CTE of mutations and RPC stands for the table named by its alias (adjustContext).
        var qi = node.From == ReadPlan.Source && node.FromAlias is { } a ? new QualifiedIdentifier(schema, a) : node.From;
        var isSpread = node.Spread != SpreadKind.None;
        node.Select = [.. AddAliases(ExpandStars(new Ctx(cache, qi), [.. node.Select], newHasAgg, isSpread), isSpread)];
        foreach (var c in node.Children) ExpandAndAlias(cache, c, newHasAgg, schema);
    }

    /// <summary>addRelatedOrders: <c>order=rel(col)</c> needs a to-one embed of that name; it orders by the embed's alias.</summary>
    private static void AddRelatedOrders(Node node)
    {
        if (node.Order is not null)
        {
            for (var i = 0; i < node.Order.Count; i++)
            {
                var t = node.Order[i];
                if (t.Relation is null) continue;
                var child = node.Children.FirstOrDefault(c => c.Name == t.Relation) ?? throw Pgrst.NotEmbedded(t.Relation);
                if (child.RelToParent?.IsToOne != true) throw Pgrst.RelatedOrderNotToOne(node.From.Name, child.Name);
                node.Order[i] = t with { Relation = child.RelAggAlias };
            }
        }
        foreach (var c in node.Children) AddRelatedOrders(c);
    }

    /// <summary>addNullEmbedFilters: <c>rel=is.null</c> / <c>rel=not.is.null</c> on an embed tests the embed itself.</summary>
    private static void AddNullEmbedFilters(Node node)
    {
        CoercibleLogicTree Rewrite(CoercibleLogicTree t) => t switch
        {
            CoercibleLogicExpr e => e with { Children = [.. e.Children.Select(Rewrite)] },
            CoercibleLogicStmt { Filter: { Field.JsonPath.IsEmpty: true, Expr: { Operation: IsOp { Value: IsValue.Null } } expr } f }
                when node.Children.FirstOrDefault(c => c.Name == f.Field.Name) is { } child
                => new CoercibleNullEmbedFilter(expr.Not, child.RelAggAlias),
            _ => t,
        };
        node.Where = [.. node.Where.Select(Rewrite)];
        foreach (var c in node.Children) AddNullEmbedFilters(c);
    }

    /// <summary>addRelSelects: how each child appears in its parent (JSON object/array, or spread columns).</summary>
    private static void AddRelSelects(Node node)
    {
        foreach (var c in node.Children) AddRelSelects(c);
        node.RelSelect = [];
        foreach (var c in node.Children)
        {
            if (c.RelToParent is null) continue;
            if (c.Spread != SpreadKind.None)
                node.RelSelect.Add(new SpreadEmbed([.. SpreadFields(c)], c.RelAggAlias));
            else
                node.RelSelect.Add(new JsonEmbed(c.Name, c.RelAggAlias, c.RelToParent.IsToOne, c.Select.Count == 0 && OnlyNullEmbeds(c.Children)));
        }

        static bool OnlyNullEmbeds(List<Node> forest) => forest.All(n => n.Select.Count == 0 && OnlyNullEmbeds(n.Children));
    }

    private static IEnumerable<SpreadSelectField> SpreadFields(Node n)
    {
        foreach (var s in n.Select)
            yield return new SpreadSelectField(s.Alias ?? s.Field.Name, null, null, null);
        foreach (var r in n.RelSelect)
        {
            if (r is JsonEmbed je) yield return new SpreadSelectField(je.SelName, null, null, null);
            else if (r is SpreadEmbed se) foreach (var f in se.Fields) yield return f;
        }
    }

    /// <summary>
    /// hoistSpreadAggFunctions: an aggregate inside a to-one spread (<c>...rel(col.sum())</c>) is computed in the
    /// nearest parent that is not itself a to-one spread, grouped by the parent's other columns; the spread only
    /// selects the plain column.
    /// </summary>
    private static List<((string Alias, string Field), (AggregateFunction Agg, string? Cast, string? Alias))> HoistSpreadAggregates(Node node)
    {
        var childAggs = node.Children.SelectMany(HoistSpreadAggregates).ToList();
        var isToOneSpread = node.Spread == SpreadKind.ToOne;
        var aggs = new List<((string, string), (AggregateFunction, string?, string?))>();
        if (node.Depth != 0 && (node.RelToParent is null || isToOneSpread))
        {
            for (var i = 0; i < node.Select.Count; i++)
            {
                var f = node.Select[i];
                if (f.Aggregate is not { } agg) continue;
                aggs.Add(((node.RelAggAlias, f.Alias ?? f.Field.Name), (agg, f.AggregateCast, f.Alias)));
                node.Select[i] = f with { Aggregate = null, AggregateCast = null };
            }
        }
        if (isToOneSpread)
        {
            aggs.AddRange(childAggs.Select(c => ((node.RelAggAlias, c.Item1.Field), c.Item2)));
        }
        else if (node.Children.Count > 0)
        {
            for (var i = 0; i < node.RelSelect.Count; i++)
            {
                if (node.RelSelect[i] is not SpreadEmbed se) continue;
                node.RelSelect[i] = se with
                {
                    Fields = [.. se.Fields.Select(f =>
                    {
                        var hit = childAggs.FirstOrDefault(c => c.Item1.Alias == se.AggAlias && c.Item1.Field == f.Name);
                        return hit.Item1.Alias is null ? f : f with { Aggregate = hit.Item2.Agg, AggregateCast = hit.Item2.Cast, Alias = hit.Item2.Alias };
                    })],
                };
            }
        }
        return aggs;
    }

    private static bool AnyAggregate(Node n) => n.Select.Any(s => s.Aggregate is not null) || n.Children.Any(AnyAggregate);

    /// <summary>addToManyOrderSelects: a to-many spread orders inside json_agg, so its order columns are selected under aliases.</summary>
    private static void AddToManyOrderSelects(Node node)
    {
        if (node.Spread == SpreadKind.ToMany)
        {
            if (node.Select.Any(s => s.Aggregate is not null))
                throw Pgrst.NotImplemented("Aggregates are not implemented for one-to-many or many-to-many spreads.");
            var i = 1;
            foreach (var o in node.Order ?? [])
            {
                var alias = node.RelAggAlias + "_" + o.Field.Name + "_" + (i++).ToString(System.Globalization.CultureInfo.InvariantCulture);
                node.SpreadExtraSelects.Add((o.Relation, new CoercibleSelectField(o.Relation is null ? o.Field : CoercibleField.Unknown(o.Field.Name, o.Field.JsonPath), null, null, null, alias)));
                node.SpreadOrder.Add(new CoercibleOrderTerm(null, CoercibleField.Unknown(alias, []), o.Direction, o.Nulls));
            }
            node.Order = [];
        }
        foreach (var c in node.Children) AddToManyOrderSelects(c);
    }

    /// <summary>addAliases: a JSON path is named after its last key; a data representation keeps the column name.</summary>
    private static ImmutableArray<CoercibleSelectField> AddAliases(ImmutableArray<CoercibleSelectField> select, bool isSpread) =>
        [.. select.Select(f =>
        {
            if (f.Alias is not null) return f;
            // Aggregates in spreads are named after the function so the parent can refer to them.
            if (f.Aggregate is { } agg) return isSpread ? f with { Alias = agg.ToString().ToLowerInvariant() } : f;
            var jp = f.Field.JsonPath;
            if (!jp.IsEmpty)
            {
                var last = jp[^1];
                if (!last.IsIndex) return f with { Alias = last.Text };
                var lastKey = jp.Reverse().FirstOrDefault(o => !o.IsIndex);
                return f with { Alias = lastKey?.Text ?? f.Field.Name };
            }
            if (f.Field.Transform is not null) return f with { Alias = f.Field.Name };
            return f;
        })];

    /// <summary>expandStars: <c>*</c> becomes the column list when a column has a JSON data representation.</summary>
    private static ImmutableArray<CoercibleSelectField> ExpandStars(Ctx ctx, ImmutableArray<CoercibleSelectField> select, bool hasAgg, bool isSpread)
    {
        var table = ctx.Table;
        if (table is null || !select.Any(s => s.Field.Name == "*" && (s.Aggregate is null || (isSpread && s.Aggregate == AggregateFunction.Count)))) return select;
        if (!hasAgg && !table.Columns.Any(c => ctx.Cache.Representations.ContainsKey((c.NominalType, "json")))) return select;
        var result = ImmutableArray.CreateBuilder<CoercibleSelectField>();
        foreach (var s in select)
        {
            if (isSpread && s.Field.Name == "*" && s.Field.JsonPath.IsEmpty && s.Aggregate == AggregateFunction.Count)
                result.Add(s with { Field = s.Field with { FullRow = true } });
            else if (s.Field.Name == "*" && s.Field.JsonPath.IsEmpty && s.Aggregate is null)
            {
                foreach (var col in table.Columns)
                {
                    var f = WithTransformer(ctx, col.NominalType, "json", FromColumn(col, null, false));
                    result.Add(s with { Field = f, Alias = f.Transform is not null ? col.Name : null });
                }
            }
            else result.Add(s);
        }
        return result.ToImmutable();
    }

    private static CoercibleField FromColumn(Column col, string? tsLang, bool tsv) =>
        new(col.Name, [], false, tsLang, tsv, col.NominalType, col.BaseType, null);

    /// <summary>resolveTypeOrUnknown: look the column up; JSON paths need to_jsonb unless the column is json/jsonb.</summary>
    private static CoercibleField ResolveTypeOrUnknown(Ctx ctx, Field field, string? tsLang, bool tsv)
    {
        var col = ctx.Table?.ColumnsByName.GetValueOrDefault(field.Name);
        // An unknown field (e.g. a computed field) never gets to_tsvector: PostgREST only passes it for known columns.
        var cf = col is null ? CoercibleField.Unknown(field.Name, []) : FromColumn(col, tsLang, tsv);
        if (cf.IrType is "json" or "jsonb") return cf with { JsonPath = field.JsonPath, ToJson = false };
        if (cf.BaseType == "tsvector") return cf with { JsonPath = field.JsonPath, ToJson = true, ToTsVector = false, ToTsVectorLang = null };
        return cf with { JsonPath = field.JsonPath, ToJson = true };
    }

    private static CoercibleField WithTransformer(Ctx ctx, string source, string target, CoercibleField f) =>
        ctx.Cache.Representations.TryGetValue((source, target), out var rep) ? f with { IrType = source, Transform = rep.Function } : f;

    private static CoercibleField ResolveOutputField(Ctx ctx, Field field)
    {
        var f = ResolveTypeOrUnknown(ctx, field, null, false);
        return WithTransformer(ctx, f.IrType, "json", f);
    }

    private static CoercibleField ResolveQueryInputField(Ctx ctx, Field field, OpExpr expr)
    {
        var f = expr.Operation is FtsOp fts
            ? ResolveTypeOrUnknown(ctx, field, fts.Language, true)
            : ResolveTypeOrUnknown(ctx, field, null, false);
        return WithTransformer(ctx, "text", f.IrType, f);
    }

    internal static CoercibleFilter ResolveFilter(SchemaCache cache, QualifiedIdentifier qi, Filter f) => ResolveFilter(new Ctx(cache, qi), f);

    internal static CoercibleLogicTree ResolveLogicTree(SchemaCache cache, QualifiedIdentifier qi, LogicTree tree) => ResolveLogicTree(new Ctx(cache, qi), tree);

    private static CoercibleFilter ResolveFilter(Ctx ctx, Filter f) => new(ResolveQueryInputField(ctx, f.Field, f.Expr), f.Expr);

    private static CoercibleLogicTree ResolveLogicTree(Ctx ctx, LogicTree tree) => tree switch
    {
        LogicStatement s => new CoercibleLogicStmt(ResolveFilter(ctx, s.Filter)),
        LogicExpr e => new CoercibleLogicExpr(e.Not, e.IsAnd, [.. e.Children.Select(c => ResolveLogicTree(ctx, c))]),
        _ => throw new InvalidOperationException(),
    };
}
