using System.Text;
using Restgres.ApiRequest;
using Restgres.Plan;
using Restgres.SchemaCache;

namespace Restgres.Sql;

/// <summary>
/// Plan → parameterised SQL (PostgREST's QueryBuilder.hs / SqlFragment.hs). Pure. Identifiers come from the plan
/// (checked or quoted), values only ever become parameters of unknown type so PostgreSQL infers their types.
/// </summary>
public static class QueryBuilder
{
    /// <summary>The inner SELECT of a read plan node.</summary>
    public static void ReadPlanToQuery(SqlBuilder sb, ReadPlan plan)
    {
        var qi = plan.FromAlias is null ? plan.From : new QualifiedIdentifier("", plan.FromAlias);
        sb.Append("SELECT ");
        if (plan.Select.IsEmpty)
            sb.Append(FromQi(qi)).Append(".*");
        else
            for (var i = 0; i < plan.Select.Length; i++)
            {
                if (i > 0) sb.Append(", ");
                SelectItem(sb, qi, plan.Select[i]);
            }
        sb.Append(" FROM ").Append(FromQi(plan.From));
        if (plan.FromAlias is not null) sb.Append(" AS ").Ident(plan.FromAlias);
        WhereClause(sb, qi, plan);
        GroupBy(sb, qi, plan);
        OrderBy(sb, qi, plan.Order);
        LimitOffset(sb, plan.Range);
    }

    /// <summary>readPlanToCountQuery: <c>SELECT 1 FROM ... WHERE ...</c> for exact/estimated counts.</summary>
    public static void ReadPlanToCountQuery(SqlBuilder sb, ReadPlan plan)
    {
        var qi = plan.FromAlias is null ? plan.From : new QualifiedIdentifier("", plan.FromAlias);
        sb.Append("SELECT 1 FROM ").Append(FromQi(plan.From));
        if (plan.FromAlias is not null) sb.Append(" AS ").Ident(plan.FromAlias);
        WhereClause(sb, qi, plan);
    }

    private static void WhereClause(SqlBuilder sb, QualifiedIdentifier qi, ReadPlan plan)
    {
        if (plan.Where.IsEmpty) return;
        sb.Append(" WHERE ");
        for (var i = 0; i < plan.Where.Length; i++)
        {
            if (i > 0) sb.Append(" AND ");
            LogicTree(sb, qi, plan.Where[i]);
        }
    }

    private static void GroupBy(SqlBuilder sb, QualifiedIdentifier qi, ReadPlan plan)
    {
        if (!plan.Select.Any(s => s.Aggregate is not null)) return;
        var terms = plan.Select.Where(s => s.Aggregate is null).ToList();
        if (terms.Count == 0) return;
        sb.Append(" GROUP BY ");
        for (var i = 0; i < terms.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            if (terms[i].Alias is { } alias) sb.Ident(alias);
            else Field(sb, qi, terms[i].Field);
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

    private static void LimitOffset(SqlBuilder sb, NonnegRange range)
    {
        if (range.IsAll) return;
        sb.Append(" LIMIT ");
        if (range.Limit is { } l) sb.Param(l.ToString(System.Globalization.CultureInfo.InvariantCulture));
        else sb.Append("ALL");
        sb.Append(" OFFSET ").Param(range.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture));
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

    public static void LogicTree(SqlBuilder sb, QualifiedIdentifier qi, CoercibleLogicTree tree)
    {
        switch (tree)
        {
            case CoercibleLogicStmt s:
                Filter(sb, qi, s.Filter);
                break;
            case CoercibleLogicExpr e:
                if (e.Not) sb.Append("NOT");
                sb.Append(" (");
                for (var i = 0; i < e.Children.Length; i++)
                {
                    if (i > 0) sb.Append(e.IsAnd ? " AND " : " OR ");
                    LogicTree(sb, qi, e.Children[i]);
                }
                sb.Append(')');
                break;
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
