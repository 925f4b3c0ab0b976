using System.Collections.Immutable;
using System.Text;
using Restgres.Catalog;
using Restgres.Plan;
using Restgres.Requests;

namespace Restgres.Sql;

/// <summary>
/// Plan → parameterised SQL (PostgREST's QueryBuilder.hs / SqlFragment.hs). Pure. Identifiers come from the plan
/// (checked or quoted), values only ever become parameters of unknown type so PostgreSQL infers their types.
/// </summary>
internal static class QueryBuilder
{
    /// <summary>The SELECT of a read plan node, with its embeds as lateral joins (readPlanToQuery).</summary>
    public static void ReadPlanToQuery(SqlBuilder sb, ReadPlan plan)
    {
        var qi = plan.Qi;
        sb.Append("SELECT ");
        var first = true;
        void Sep()
        {
            if (!first) sb.Append(", ");
            first = false;
        }
        if (plan.Select.IsEmpty && plan.Children.IsEmpty)
        {
            Sep();
            sb.Append(FromQi(qi)).Append(".*");
        }
        foreach (var s in plan.Select)
        {
            Sep();
            SelectItem(sb, qi, s);
        }
        foreach (var (rel, field) in plan.SpreadExtraSelects)
        {
            Sep();
            SelectItem(sb, rel is null ? qi : new QualifiedIdentifier("", rel), field);
        }
        foreach (var rs in plan.RelSelect)
        {
            switch (rs)
            {
                case JsonEmbed { EmptyEmbed: true }:
                    break;
                case JsonEmbed { ToOne: true } je:
                    Sep();
                    sb.Append("row_to_json(").Ident(je.AggAlias).Append(".*)::jsonb AS ").Ident(je.SelName);
                    break;
                case JsonEmbed je:
                    Sep();
                    sb.Append("COALESCE( ").Ident(je.AggAlias).Append('.').Ident(je.AggAlias).Append(", '[]') AS ").Ident(je.SelName);
                    break;
                case SpreadEmbed se:
                    foreach (var f in se.Fields)
                    {
                        Sep();
                        SpreadSelectItem(sb, se.AggAlias, f);
                    }
                    break;
            }
        }
        if (first) sb.Append(' ');
        FromClause(sb, plan);
        foreach (var child in plan.Children)
            Join(sb, plan, child);
        var where = new Conditions(sb, " WHERE ");
        where.LogicTrees(qi, plan.Where);
        foreach (var jc in plan.RelJoinConds)
        {
            where.Next();
            JoinCond(sb, jc);
        }
        GroupBy(sb, qi, plan);
        OrderBy(sb, qi, plan.Order);
        LimitOffset(sb, plan.Range);
    }

    private static void FromClause(SqlBuilder sb, ReadPlan plan)
    {
        sb.Append(" FROM ");
        if (plan.RelToParent is { Cardinality: Cardinality.Computed } rel)
        {
            // Computed relationship: the function called with the parent row, cast to the parent's table type.
            sb.Append(FromQi(rel.Function!.Value)).Append('(').Ident(plan.RelTableAlias!.Value.Name).Append("::").Append(FromQi(rel.Table)).Append(')');
        }
        else sb.Append(FromQi(plan.From));
        if (plan.FromAlias is not null) sb.Append(" AS ").Ident(plan.FromAlias);
        if (plan.RelToParent is { Junction: { } j }) sb.Append(", ").Append(FromQi(j.Table));
    }

    private static void JoinCond(SqlBuilder sb, JoinCondition jc)
    {
        sb.Append(FromQi(jc.Left)).Append('.').Ident(jc.LeftColumn).Append(" = ").Append(FromQi(jc.Right)).Append('.').Ident(jc.RightColumn);
    }

    /// <summary>getJoin: to-one embeds join the row, to-many embeds join json_agg of the rows; !inner drops parents without matches.</summary>
    private static void Join(SqlBuilder sb, ReadPlan parent, ReadPlan child)
    {
        var rs = parent.RelSelect.FirstOrDefault(r => r.AggAlias == child.RelAggAlias);
        if (rs is null) return;
        var agg = SqlText.QuoteIdent(child.RelAggAlias);
        var inner = child.RelJoinType == JoinType.Inner;
        sb.Append(inner ? " INNER JOIN LATERAL ( " : " LEFT JOIN LATERAL ( ");
        var toMany = rs switch
        {
            JsonEmbed je => !je.ToOne,
            SpreadEmbed => child.RelSpread == SpreadKind.ToMany,
            _ => false,
        };
        if (!toMany)
        {
            ReadPlanToQuery(sb, child);
            sb.Append(" ) AS ").Append(agg).Append(" ON TRUE");
            return;
        }
        sb.Append("SELECT json_agg(").Append(agg).Append(")::jsonb AS ").Append(agg);
        if (rs is SpreadEmbed se)
        {
            foreach (var f in se.Fields)
            {
                sb.Append(", COALESCE(json_agg(").Append(agg).Append('.');
                if (f.Name == "*") sb.Append('*'); else sb.Ident(f.Name);
                sb.Append(' ');
                OrderBy(sb, new QualifiedIdentifier("", child.RelAggAlias), child.SpreadOrder);
                sb.Append("),'[]')::jsonb AS ").Ident(f.Alias ?? f.Name);
            }
        }
        sb.Append(" FROM (");
        ReadPlanToQuery(sb, child);
        sb.Append(" ) AS ").Append(agg).Append(" ) AS ").Append(agg).Append(" ON ").Append(inner ? agg + " IS NOT NULL" : "TRUE");
    }

    private static void SpreadSelectItem(SqlBuilder sb, string aggAlias, SpreadSelectField f)
    {
        if (f.Aggregate is { } a)
        {
            if (f.AggregateCast is not null) sb.Append("CAST( ");
            sb.Append(a.ToString().ToUpperInvariant()).Append('(');
        }
        sb.Ident(aggAlias).Append('.');
        if (f.Name == "*") sb.Append('*'); else sb.Ident(f.Name);
        if (f.Aggregate is not null)
        {
            sb.Append(')');
            if (f.AggregateCast is { } c) sb.Append(" AS ").Append(c).Append(" )");
        }
        if (f.Alias is { } alias) sb.Append(" AS ").Ident(alias);
    }

    /// <summary>readPlanToCountQuery: <c>SELECT 1 FROM ... WHERE ...</c>; !inner embeds become EXISTS conditions.</summary>
    public static void ReadPlanToCountQuery(SqlBuilder sb, ReadPlan plan)
    {
        var qi = plan.Qi;
        sb.Append("SELECT 1");
        FromClause(sb, plan);
        var where = new Conditions(sb, " WHERE ");
        where.LogicTrees(qi, plan.Where, countOf: plan);
        foreach (var jc in plan.RelJoinConds)
        {
            where.Next();
            JoinCond(sb, jc);
        }
        foreach (var c in plan.Children)
        {
            if (c.RelJoinType != JoinType.Inner) continue;
            where.Next();
            sb.Append("EXISTS (");
            ReadPlanToCountQuery(sb, c);
            sb.Append(" )");
        }
    }

    /// <summary>groupF: with aggregates, group by every other selected column and embed.</summary>
    private static void GroupBy(SqlBuilder sb, QualifiedIdentifier qi, ReadPlan plan)
    {
        var anyAgg = plan.Select.Any(s => s.Aggregate is not null)
            || plan.RelSelect.Any(r => r is SpreadEmbed se && se.Fields.Any(f => f.Aggregate is not null));
        if (!anyAgg) return;
        var terms = new List<Action>();
        foreach (var s in plan.Select.Where(s => s.Aggregate is null))
            terms.Add(s.Alias is { } alias ? () => sb.Ident(alias) : () => Field(sb, qi, s.Field));
        foreach (var r in plan.RelSelect)
        {
            if (r is JsonEmbed je) terms.Add(() => sb.Ident(je.SelName));
            else if (r is SpreadEmbed se)
                foreach (var f in se.Fields.Where(f => f.Aggregate is null))
                    terms.Add(() => sb.Ident(se.AggAlias).Append('.').Ident(f.Alias ?? f.Name));
        }
        if (terms.Count == 0) return;
        sb.Append(" GROUP BY ");
        for (var i = 0; i < terms.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            terms[i]();
        }
    }

    public static void OrderBy(SqlBuilder sb, QualifiedIdentifier qi, IReadOnlyList<CoercibleOrderTerm> order)
    {
        if (order.Count == 0) return;
        sb.Append(" ORDER BY ");
        for (var i = 0; i < order.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            var t = order[i];
            if (t.Relation is not null) Field(sb, new QualifiedIdentifier("", t.Relation), t.Field);
            else Field(sb, qi, t.Field);
            if (t.Direction is { } d) sb.Append(d == OrderDirection.Asc ? " ASC" : " DESC");
            if (t.Nulls is { } n) sb.Append(n == OrderNulls.First ? " NULLS FIRST" : " NULLS LAST");
        }
    }

    /// <summary>
    /// <c>LIMIT n OFFSET m</c> as integer literals (PostgREST binds them as parameters). Both are numbers the parser
    /// produced, never client text, and a literal limit lets PostgreSQL settle on a generic plan for the prepared
    /// statement: with <c>LIMIT $n</c> the generic plan cannot see the limit, loses to the custom plan, and every
    /// execution is planned again (~10 % of PostgreSQL's CPU under list_events; docs/perf-notes.md, item 8).
    /// </summary>
    private static void LimitOffset(SqlBuilder sb, NonnegRange range)
    {
        if (range.IsAll) return;
        sb.Append(" LIMIT ");
        if (range.Limit is { } l) sb.Append(l.ToString(System.Globalization.CultureInfo.InvariantCulture));
        else sb.Append("ALL");
        sb.Append(" OFFSET ").Append(range.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public static string FromQi(QualifiedIdentifier qi) => SqlText.QuoteQualified(qi.Schema, qi.Name);

    private static void Column(SqlBuilder sb, QualifiedIdentifier table, string column)
    {
        sb.Append(FromQi(table)).Append('.');
        if (column == "*") sb.Append('*');
        else sb.Ident(column);
    }

    /// <summary>pgFmtField: the column, with its JSON path and to_tsvector wrapping.</summary>
    public static void Field(SqlBuilder sb, QualifiedIdentifier table, CoercibleField f)
    {
        if (f.ToTsVector)
        {
            sb.Append("to_tsvector(");
            if (f.ToTsVectorLang is { } lang) sb.Param(lang).Append(", ");
        }
        if (f.FullRow) sb.Ident(table.Name);
        else if (f.JsonPath.IsEmpty) Column(sb, table, f.Name);
        else
        {
            if (f.ToJson)
            {
                sb.Append("to_jsonb(");
                Column(sb, table, f.Name);
                sb.Append(')');
            }
            else Column(sb, table, f.Name);
            JsonPath(sb, f.JsonPath);
        }
        if (f.ToTsVector) sb.Append(')');
    }

    private static void JsonPath(SqlBuilder sb, IEnumerable<JsonOperation> path)
    {
        foreach (var op in path)
        {
            sb.Append(op.ReturnsText ? "->>" : "->");
            sb.Param(op.Text);
            if (op.IsIndex) sb.Append("::int");
        }
    }

    private static void SelectItem(SqlBuilder sb, QualifiedIdentifier qi, CoercibleSelectField s)
    {
        if (s.Aggregate is { } agg)
        {
            if (s.AggregateCast is not null) sb.Append("CAST( ");
            sb.Append(agg.ToString().ToUpperInvariant()).Append('(');
        }
        if (s.Cast is not null) sb.Append("CAST( ");
        if (s.Field.Transform is { } fn)
        {
            sb.Append(fn).Append('(');
            Field(sb, qi, s.Field);
            sb.Append(')');
        }
        else Field(sb, qi, s.Field);
        if (s.Cast is { } cast) sb.Append(" AS ").Append(cast).Append(" )");
        if (s.Aggregate is not null)
        {
            sb.Append(')');
            if (s.AggregateCast is { } ac) sb.Append(" AS ").Append(ac).Append(" )");
        }
        if (s.Alias is { } alias) sb.Append(" AS ").Ident(alias);
    }

    /// <summary>
    /// pgFmtLogicTree: a filter tree as SQL. In a count query (<paramref name="countOf"/>, the node counted) an embed's
    /// null filter becomes <c>[NOT] EXISTS</c> over the embed's own count query, since the count query does not join
    /// embeds (pgFmtLogicTreeCount); an embed it does not know renders nothing, as there.
    /// </summary>
    public static void LogicTree(SqlBuilder sb, QualifiedIdentifier qi, CoercibleLogicTree tree, ReadPlan? countOf = null)
    {
        switch (tree)
        {
            case CoercibleLogicStmt s:
                Filter(sb, qi, s.Filter);
                break;
            case CoercibleNullEmbedFilter ne when countOf is not null:
                var child = countOf.Children.FirstOrDefault(c => c.RelAggAlias == ne.AggAlias);
                if (child is null) return;
                if (!ne.Not) sb.Append("NOT ");
                sb.Append("EXISTS (");
                ReadPlanToCountQuery(sb, child);
                sb.Append(')');
                break;
            case CoercibleNullEmbedFilter ne:
                sb.Ident(ne.AggAlias).Append(ne.Not ? " IS DISTINCT FROM NULL" : " IS NOT DISTINCT FROM NULL");
                break;
            case CoercibleLogicExpr e:
                if (e.Not) sb.Append("NOT");
                sb.Append(" (");
                for (var i = 0; i < e.Children.Length; i++)
                {
                    if (i > 0) sb.Append(e.IsAnd ? " AND " : " OR ");
                    LogicTree(sb, qi, e.Children[i], countOf);
                }
                sb.Append(')');
                break;
        }
    }

    /// <summary>
    /// Conditions joined by AND after a first separator (<c>WHERE</c>, or <c>AND</c> after a condition already
    /// written); nothing at all when there are none. A local value: <see cref="Next"/> mutates it.
    /// </summary>
    public struct Conditions(SqlBuilder sb, string first)
    {
        private bool _started;

        /// <summary>Writes the separator before the next condition.</summary>
        public void Next()
        {
            sb.Append(_started ? " AND " : first);
            _started = true;
        }

        /// <summary>Each tree as one condition (the trees of a where list are ANDed, as PostgREST does).</summary>
        public void LogicTrees(QualifiedIdentifier qi, ImmutableArray<CoercibleLogicTree> trees, ReadPlan? countOf = null)
        {
            foreach (var tree in trees)
            {
                Next();
                LogicTree(sb, qi, tree, countOf);
            }
        }
    }

    /// <summary>pgFmtFilter: one filter; values are parameters, data representations parse them.</summary>
    public static void Filter(SqlBuilder sb, QualifiedIdentifier qi, CoercibleFilter f)
    {
        var op = f.Expr.Operation!;
        if (f.Expr.Not) sb.Append("NOT ");
        Field(sb, qi, f.Field);
        switch (op)
        {
            case SimpleOp s:
                sb.Append(' ').Append(SimpleOperatorSql(s.Operator)).Append(' ');
                ValueFor(sb, f.Field, s.Value);
                break;
            case QuantOp q:
                sb.Append(' ').Append(QuantOperatorSql(q.Operator)).Append(' ');
                if (q.Quantifier is { } quant) sb.Append(quant == Quantifier.Any ? "ANY(" : "ALL(");
                if (q.Operator is QuantOperator.Like or QuantOperator.ILike)
                    sb.Param(q.Value.Replace('*', '%'));
                else ValueFor(sb, f.Field, q.Value);
                if (q.Quantifier is not null) sb.Append(')');
                break;
            case IsOp i:
                sb.Append(" IS ").Append(i.Value switch
                {
                    IsValue.Null => "NULL",
                    IsValue.NotNull => "NOT NULL",
                    IsValue.True => "TRUE",
                    IsValue.False => "FALSE",
                    _ => "UNKNOWN",
                });
                break;
            case IsDistinctOp d:
                sb.Append(" IS DISTINCT FROM ").Param(d.Value);
                break;
            case InOp inOp:
                if (inOp.Values.Length == 1 && inOp.Values[0].Length == 0)
                    sb.Append(" = ANY('{}') ");
                else
                {
                    sb.Append(" = ANY (");
                    var literal = ArrayLiteral(inOp.Values);
                    if (f.Field.Transform is { } fn)
                        sb.Append("(SELECT ").Append(fn).Append("(unnest(").Param(literal).Append("::text[])))");
                    else sb.Param(literal);
                    sb.Append(") ");
                }
                break;
            case FtsOp fts:
                sb.Append(' ').Append(fts.Operator switch
                {
                    FtsOperator.Fts => "@@ to_tsquery",
                    FtsOperator.Plain => "@@ plainto_tsquery",
                    FtsOperator.Phrase => "@@ phraseto_tsquery",
                    _ => "@@ websearch_to_tsquery",
                }).Append('(');
                if (fts.Language is { } lang) sb.Param(lang).Append(", ");
                sb.Param(fts.Value).Append(") ");
                break;
        }
    }

    private static void ValueFor(SqlBuilder sb, CoercibleField f, string value)
    {
        if (f.Transform is { } fn)
        {
            sb.Append(fn).Append('(').Param(value).Append(')');
        }
        else sb.Param(value);
    }

    /// <summary>pgBuildArrayLiteral: every element double-quoted with <c>\</c> and <c>"</c> escaped; NULs dropped.</summary>
    public static string ArrayLiteral(IEnumerable<string> values)
    {
        var sb = new StringBuilder("{");
        var first = true;
        foreach (var v in values)
        {
            if (!first) sb.Append(',');
            first = false;
            sb.Append('"').Append(v.Replace("\0", "", StringComparison.Ordinal).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
        }
        return sb.Append('}').ToString();
    }

    private static string SimpleOperatorSql(SimpleOperator op) => op switch
    {
        SimpleOperator.NotEqual => "<>",
        SimpleOperator.Contains => "@>",
        SimpleOperator.Contained => "<@",
        SimpleOperator.Overlap => "&&",
        SimpleOperator.StrictlyLeft => "<<",
        SimpleOperator.StrictlyRight => ">>",
        SimpleOperator.NotExtendsRight => "&<",
        SimpleOperator.NotExtendsLeft => "&>",
        _ => "-|-",
    };

    private static string QuantOperatorSql(QuantOperator op) => op switch
    {
        QuantOperator.Equal => "=",
        QuantOperator.GreaterThanEqual => ">=",
        QuantOperator.GreaterThan => ">",
        QuantOperator.LessThanEqual => "<=",
        QuantOperator.LessThan => "<",
        QuantOperator.Like => "like",
        QuantOperator.ILike => "ilike",
        QuantOperator.Match => "~",
        _ => "~*",
    };
}
