using Restgres.Catalog;
using Restgres.Config;
using Restgres.Errors;
using Restgres.Requests;

namespace Restgres.Plan;

/// <summary>Content negotiation for reads, writes and calls alike (PostgREST's Plan/Negotiate.hs, negotiateContent).</summary>
internal static class Negotiator
{
    /// <summary>
    /// The first acceptable type wins. Vendored types (<c>vnd.pgrst.object</c>, <c>vnd.pgrst.array</c> with stripped
    /// nulls) have fixed handlers; the others are looked up in <paramref name="handlers"/>: for the relation (only with
    /// the default select, first its <c>*/*</c> handler), then for any relation. The plan media type takes the handler
    /// of the type it describes, and is not acceptable unless db-plan-enabled. None acceptable: PGRST107 (406).
    /// </summary>
    /// <param name="relId">The relation read, or the one a function returns (the function itself for scalars).</param>
    /// <param name="withoutBody">
    /// No aggregate is needed: HEAD (PostgREST issue #2849) or a write without <c>return=representation</c>.
    /// </param>
    public static (CallHandler Handler, MediaType Media) Negotiate(AppConfig config, ApiRequest req, QualifiedIdentifier relId,
        MediaHandlerMap handlers, bool defaultSelect, bool withoutBody)
    {
        foreach (var mt in req.AcceptMediaTypes)
        {
            (CallHandler, MediaType)? pick = mt.Kind switch
            {
                MediaKind.SingularJson => (new CallHandler(mt.StripNulls ? MediaHandler.SingleJsonStripNulls : MediaHandler.SingleJson), mt),
                MediaKind.ArrayJsonStrip => (new CallHandler(MediaHandler.JsonStripNulls), mt),
                // mtPlanToNothing: without db-plan-enabled the plan media type matches nothing.
                MediaKind.Plan when !config.DbPlanEnabled => null,
                MediaKind.Plan => mt.PlanFor!.Kind switch
                {
                    MediaKind.SingularJson => (new CallHandler(mt.PlanFor.StripNulls ? MediaHandler.SingleJsonStripNulls : MediaHandler.SingleJson), mt),
                    MediaKind.ArrayJsonStrip => (new CallHandler(MediaHandler.JsonStripNulls), mt),
                    _ => Lookup(mt.PlanFor) is { } forPlan ? (forPlan.Item1, mt) : null,
                },
                _ => Lookup(mt),
            };
            if (pick is { } p) return withoutBody ? (CallHandler.NoAgg, p.Item2) : p;
        }
        throw Pgrst.MediaType(req.AcceptMediaTypes.Select(m => m.ToMime()));

        (CallHandler, MediaType)? Lookup(MediaType mt)
        {
            if (defaultSelect && handlers.TryGet(relId, MediaType.AnyType, out var any)) return any;
            if (defaultSelect && handlers.TryGet(relId, mt, out var exact)) return exact;
            if (handlers.TryGet(null, mt, out var general)) return general;
            return null;
        }
    }
}
