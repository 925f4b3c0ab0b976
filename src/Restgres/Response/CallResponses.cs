using Restgres.Config;
using Restgres.Errors;
using Restgres.Execution;
using Restgres.Plan;
using Restgres.Requests;

namespace Restgres.Response;

/// <summary>Responses to /rpc calls (PostgREST's Response.hs, CallReadPlan case).</summary>
internal static class CallResponses
{
    /// <summary>
    /// Content-Range and 200/206/416 as for reads; a void function answers 204 without Content-Type or body; HEAD has
    /// no body nor Content-Length. response.status / response.headers set by the function override the result.
    /// </summary>
    public static PgrstResponse Call(AppConfig config, ApiRequest req, CallReadPlan plan, ResultSet rs)
    {
        var prefs = req.Preferences;
        var (status, contentRange) = Responses.RangeStatusHeader(req.TopLevelRange, rs.QueryTotal, rs.TableTotal);
        var isHead = plan.InvMethod == InvokeMethod.ReadHead;
        var resp = new PgrstResponse { Status = status };
        resp.Headers.Add(new("Content-Range", contentRange));
        var applied = new Preferences
        {
            Count = prefs.Count, Transaction = prefs.Transaction, Handling = prefs.Handling, Timezone = prefs.Timezone,
            MaxAffected = prefs.MaxAffected,
        }.AppliedHeader();
        if (applied is not null) resp.Headers.Add(new("Preference-Applied", applied));

        if (plan.Routine.ReturnsVoid)
        {
            resp.Status = 204;
            resp.SuppressContentLength = true;
            MainTx.Release(rs);
        }
        else
        {
            if (status == 416)
            {
                var err = Pgrst.InvalidRangeOutOfBounds(req.TopLevelRange.Offset, rs.TableTotal ?? 0);
                resp.Body = JsonText.Utf8(err.ToJson(config.ClientErrorVerbosity));
                MainTx.Release(rs);
            }
            else if (!isHead)
            {
                resp.Body = rs.Body.AsMemory(0, rs.BodyLength);
                resp.Owner = rs;
            }
            else MainTx.Release(rs);
            resp.SuppressContentLength = isHead;
            Responses.AddContentType(resp, plan.Media, req);
        }
        // An invalid override (PGRST111/112) throws; the pipeline then returns the pooled body buffer.
        Responses.OverrideStatusHeaders(resp, rs);
        return resp;
    }

    /// <summary>OPTIONS /rpc/fn: POST only for volatile functions (PostgREST's RoutineInfoPlan).</summary>
    public static PgrstResponse Info(CallReadPlan plan) => Responses.Info(CallPlanner.AllowHeader(plan.Routine));
}
