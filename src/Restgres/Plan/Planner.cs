using System.Collections.Immutable;
using Restgres.ApiRequest;
using Restgres.Config;
using Restgres.Errors;
using Restgres.SchemaCache;

namespace Restgres.Plan;

/// <summary>The read plan of a GET/HEAD on a relation, plus the media handler chosen by content negotiation.</summary>
public sealed record WrappedReadPlan(ReadPlan Plan, QualifiedIdentifier Target, MediaHandler Handler, MediaType Media, bool HeadersOnly);

/// <summary>How the body is aggregated in SQL (PostgREST's MediaHandler).</summary>
public enum MediaHandler { Json, JsonStripNulls, SingleJson, SingleJsonStripNulls, Csv, GeoJson, NoAgg }

/// <summary>
/// Resolves an <see cref="ApiRequest.ApiRequest"/> against the schema cache into a plan (PostgREST's Plan.hs). Pure:
/// the result is a tree of resolved names and types, or a catalogued error.
/// </summary>
public static class Planner
{
    public static WrappedReadPlan WrappedRead(AppConfig config, SchemaCache.SchemaCache cache, ApiRequest.ApiRequest req, QualifiedIdentifier target, bool headersOnly)
    {
        var table = FindTable(cache, target);
        var plan = ReadPlanFor(config, cache, req, table.Identifier);
        var (handler, media) = Negotiate(config, req, IsDefaultSelect(plan), headersOnly);
        CheckPreferences(req);
        return new WrappedReadPlan(plan, target, handler, media, headersOnly);
    }

    /// <summary>handling=strict rejects unknown preferences (PGRST122).</summary>
    public static void CheckPreferences(ApiRequest.ApiRequest req)
    {
        if (req.Preferences.Handling == PreferHandling.Strict && req.Preferences.Invalid.Count > 0)
            throw Pgrst.InvalidPreferences(req.Preferences.Invalid);
    }

    public static Table FindTable(SchemaCache.SchemaCache cache, QualifiedIdentifier target)
    {
        if (cache.Tables.TryGetValue(target, out var t)) return t;
        throw Pgrst.TableNotFound(target.Schema, target.Name, Fuzzy.TableHint(cache, target));
    }

    private static bool IsDefaultSelect(ReadPlan plan) =>
        plan.Children.IsEmpty && plan.Select.Length == 1 && plan.Select[0].Field.Name == "*" && plan.Select[0].Aggregate is null;

    /// <summary>Content negotiation (Plan/Negotiate.hs): the first acceptable media type wins.</summary>
    public static (MediaHandler, MediaType) Negotiate(AppConfig config, ApiRequest.ApiRequest req, bool defaultSelect, bool headersOnly)
    {
        _ = defaultSelect;
        foreach (var mt in req.AcceptMediaTypes)
        {
            (MediaHandler, MediaType)? pick = mt.Kind switch
            {
                MediaKind.SingularJson => (mt.StripNulls ? MediaHandler.SingleJsonStripNulls : MediaHandler.SingleJson, mt),
                MediaKind.ArrayJsonStrip => (MediaHandler.JsonStripNulls, mt),
                MediaKind.Any or MediaKind.ApplicationJson => (MediaHandler.Json, MediaType.Json),
                MediaKind.TextCsv => (MediaHandler.Csv, MediaType.Csv),
                MediaKind.GeoJson => (MediaHandler.GeoJson, mt),
                MediaKind.Plan when config.DbPlanEnabled => null,
                _ => null,
            };
            if (pick is { } p)
            {
                // HEAD needs no aggregate (PostgREST issue #2849).
                return headersOnly ? (MediaHandler.NoAgg, p.Item2) : p;
            }
        }
        throw Pgrst.MediaType(req.AcceptMediaTypes.Select(m => m.ToMime()));
    }

    private sealed record Ctx(SchemaCache.SchemaCache Cache, QualifiedIdentifier Qi)
    {
        public Table? Table => Cache.Tables.TryGetValue(Qi, out var t) ? t : null;
    }

    public static ReadPlan ReadPlanFor(AppConfig config, SchemaCache.SchemaCache cache, ApiRequest.ApiRequest req, QualifiedIdentifier qi)
    {
        var ctx = new Ctx(cache, qi);
        var qp = req.QueryParams;

        var select = ImmutableArray.CreateBuilder<CoercibleSelectField>();
        foreach (var item in qp.Select)
        {
            switch (item)
            {
                case SelectField f:
                    select.Add(new CoercibleSelectField(ResolveOutputField(ctx, f.Field), f.Aggregate, f.AggregateCast, f.Cast, f.Alias));
                    break;
                case SelectRelation r:
                    throw Pgrst.NotImplemented($"Resource embedding ('{r.Name}') is not implemented yet in this Restgres build");
                case SpreadRelation s:
                    throw Pgrst.NotImplemented($"Spread embedding ('...{s.Name}') is not implemented yet in this Restgres build");
            }
        }

        var where = ImmutableArray.CreateBuilder<CoercibleLogicTree>();
        foreach (var (path, filter) in qp.Filters)
        {
            if (!path.IsEmpty) throw Pgrst.NotEmbedded(path[0]);
            where.Add(new CoercibleLogicStmt(ResolveFilter(ctx, filter)));
        }

        var order = ImmutableArray.CreateBuilder<CoercibleOrderTerm>();
        foreach (var (path, terms) in qp.Order)
        {
            if (!path.IsEmpty) throw Pgrst.NotEmbedded(path[0]);
            order.Clear();
            foreach (var t in terms)
            {
                if (t.Relation is not null) throw Pgrst.NotEmbedded(t.Relation);
                order.Add(new CoercibleOrderTerm(null, ResolveTypeOrUnknown(ctx, t.Field, null, false), t.Direction, t.Nulls));
            }
        }

        foreach (var key in qp.Ranges.Keys)
        {
            if (key == "limit") continue;
            var first = key[..key.IndexOf('.', StringComparison.Ordinal)];
            throw Pgrst.NotEmbedded(first);
        }

        foreach (var (path, tree) in qp.Logic)
        {
            if (!path.IsEmpty) throw Pgrst.NotEmbedded(path[0]);
            where.Add(ResolveLogicTree(ctx, tree));
        }

        if (!config.DbAggregatesEnabled && select.Any(s => s.Aggregate is not null))
            throw Pgrst.AggregatesNotAllowed();

        var plan = new ReadPlan
        {
            Select = ExpandStars(ctx, AddAliases(select.ToImmutable())),
            From = qi,
            Where = where.ToImmutable(),
            Order = order.ToImmutable(),
            Range = req.TopLevelRange,
            RelName = qi.Name,
        };

        // db-max-rows caps every read (treeRestrictRange), but never a mutation.
        if (req.Action is not RelationMut)
            plan = plan with { Range = NonnegRange.ConvertToLimitZero(plan.Range, plan.Range.Restrict(config.DbMaxRows)) };
        return plan;
    }

    /// <summary>addAliases: a JSON path is named after its last key; a data representation keeps the column name.</summary>
    private static ImmutableArray<CoercibleSelectField> AddAliases(ImmutableArray<CoercibleSelectField> select) =>
        [.. select.Select(f =>
        {
            if (f.Alias is not null || f.Aggregate is not null) return f;
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
    private static ImmutableArray<CoercibleSelectField> ExpandStars(Ctx ctx, ImmutableArray<CoercibleSelectField> select)
    {
        var table = ctx.Table;
        if (table is null || !select.Any(s => s.Field.Name == "*" && s.Aggregate is null)) return select;
        if (!table.Columns.Any(c => ctx.Cache.Representations.ContainsKey((c.NominalType, "json")))) return select;
        var result = ImmutableArray.CreateBuilder<CoercibleSelectField>();
        foreach (var s in select)
        {
            if (s.Field.Name == "*" && s.Field.JsonPath.IsEmpty && s.Aggregate is null)
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

    private static CoercibleFilter ResolveFilter(Ctx ctx, Filter f) => new(ResolveQueryInputField(ctx, f.Field, f.Expr), f.Expr);

    private static CoercibleLogicTree ResolveLogicTree(Ctx ctx, LogicTree tree) => tree switch
    {
        LogicStatement s => new CoercibleLogicStmt(ResolveFilter(ctx, s.Filter)),
        LogicExpr e => new CoercibleLogicExpr(e.Not, e.IsAnd, [.. e.Children.Select(c => ResolveLogicTree(ctx, c))]),
        _ => throw new InvalidOperationException(),
    };
}
