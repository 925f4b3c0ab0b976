using System.Text;
using Restgres.Execution;
using Restgres.Plan;
using Restgres.Requests;

namespace Restgres.Response;

/// <summary>
/// Responses to POST/PUT/PATCH/DELETE on relations (PostgREST's Response.hs, actionResponse for MutationCreate,
/// MutationSingleUpsert, MutationUpdate and MutationDelete): status, Location, Content-Range and Preference-Applied
/// follow PostgREST's rules per mutation, then response.status / response.headers set by SQL override them.
/// </summary>
internal static class MutateResponses
{
    public static PgrstResponse Build(ApiRequest req, MutateReadPlan plan, ResultSet rs)
    {
        var prefs = req.Preferences;
        var full = prefs.Representation == PreferRepresentation.Full;
        var count = prefs.ShouldCount ? rs.QueryTotal : (long?)null;
        var resp = new PgrstResponse { Owner = rs };
        var applied = AppliedPreferences(req, plan).AppliedHeader();

        switch (plan.Mutation)
        {
            case Mutation.Create:
                if (rs.Location.Length > 0)
                    resp.Headers.Add(new("Location", "/" + plan.Target.Name + RenderQuery(rs.Location)));
                resp.Headers.Add(new("Content-Range", Responses.ContentRange(1, 0, count)));
                AddApplied(resp, applied);
                resp.Status = CreateStatus(plan, prefs, rs);
                if (full) WithBody(resp, plan, req, rs);
                break;

            case Mutation.SingleUpsert:
                if (full)
                {
                    resp.Status = rs.Inserted is > 0 ? 201 : 200;
                    WithBody(resp, plan, req, rs);
                }
                else resp.Status = 204;
                AddApplied(resp, applied);
                break;

            default:
                // PATCH reports the affected range, DELETE only the count (PostgREST's contentRangeH 1 0).
                var range = plan.Mutation == Mutation.Update
                    ? Responses.ContentRange(0, rs.QueryTotal - 1, count)
                    : Responses.ContentRange(1, 0, count);
                resp.Headers.Add(new("Content-Range", range));
                AddApplied(resp, applied);
                if (full)
                {
                    resp.Status = 200;
                    WithBody(resp, plan, req, rs);
                }
                else resp.Status = 204;
                break;
        }
        // Only POST always sends Content-Length; the other mutations send it with a body.
        resp.SuppressContentLength = !full && plan.Mutation != Mutation.Create;
        Responses.OverrideStatusHeaders(resp, rs);
        return resp;
    }

    /// <summary>
    /// 201 unless an upsert inserted nothing: PUT and merge-duplicates count inserted rows (pgrst.inserted), and
    /// no count at all (no candidate rows) also means 200.
    /// </summary>
    private static int CreateStatus(MutateReadPlan plan, Preferences prefs, ResultSet rs)
    {
        var counted = plan.Mutate is InsertPlan { OnConflict.Resolution: PreferResolution.MergeDuplicates } or InsertPlan { IsPut: true };
        if (!counted) return 201;
        return rs.Inserted is not { } n || (n <= 0 && prefs.Resolution == PreferResolution.MergeDuplicates) ? 200 : 201;
    }

    private static void WithBody(PgrstResponse resp, MutateReadPlan plan, ApiRequest req, ResultSet rs)
    {
        resp.Body = rs.Body.AsMemory(0, rs.BodyLength);
        Responses.AddContentType(resp, plan.Media, req);
    }

    private static void AddApplied(PgrstResponse resp, string? applied)
    {
        if (applied is not null) resp.Headers.Add(new("Preference-Applied", applied));
    }

    /// <summary>
    /// responsePreferences: resolution only on POST to a relation with a key (or on_conflict), missing only on
    /// POST/PATCH, max-affected only on PATCH/DELETE; the rest as requested.
    /// </summary>
    public static Preferences AppliedPreferences(ApiRequest req, MutateReadPlan plan)
    {
        var p = req.Preferences;
        var resolution = plan.Mutation == Mutation.Create && plan.Mutate is InsertPlan ins
                         && (!ins.PkColumns.IsEmpty || req.QueryParams.OnConflict is not null)
            ? p.Resolution : null;
        return new Preferences
        {
            Resolution = resolution,
            Representation = p.Representation,
            Count = p.Count,
            Transaction = p.Transaction,
            Missing = plan.Mutation is Mutation.Create or Mutation.Update ? p.Missing : null,
            Handling = p.Handling,
            Timezone = p.Timezone,
            MaxAffected = plan.Mutation is Mutation.Update or Mutation.Delete ? p.MaxAffected : null,
        };
    }

    /// <summary>http-types' renderSimpleQuery True: <c>?k=v&amp;...</c>, each side split at the first <c>=</c> and url-encoded.</summary>
    public static string RenderQuery(IEnumerable<string> bindings)
    {
        var sb = new StringBuilder();
        foreach (var kv in bindings)
        {
            var eq = kv.IndexOf('=', StringComparison.Ordinal);
            var (k, v) = eq < 0 ? (kv, "") : (kv[..eq], kv[(eq + 1)..]);
            sb.Append(sb.Length == 0 ? '?' : '&').Append(QueryParams.UrlEncode(k)).Append('=').Append(QueryParams.UrlEncode(v));
        }
        return sb.ToString();
    }
}
