using System.Globalization;
using System.Text.Json;
using Restgres.Config;
using Restgres.Errors;
using Restgres.Execution;
using Restgres.Plan;
using Restgres.Requests;

namespace Restgres.Response;

/// <summary>A finished response: status, headers and body bytes (a pooled buffer slice for database bodies).</summary>
internal sealed class PgrstResponse
{
    public int Status { get; set; }
    public List<KeyValuePair<string, string>> Headers { get; } = new(8);
    public ReadOnlyMemory<byte> Body { get; set; }
    /// <summary>Set when the body lives in a pooled buffer to return after writing.</summary>
    public ResultSet? Owner { get; set; }
    public bool SuppressContentLength { get; set; }

    public static PgrstResponse FromError(ApiError e, ErrorVerbosity verbosity)
    {
        var r = new PgrstResponse { Status = e.Status, Body = JsonText.Utf8(e.ToJson(verbosity)) };
        r.Headers.Add(new("Content-Type", "application/json; charset=utf-8"));
        r.Headers.Add(new("Proxy-Status", "PostgREST; error=" + e.Code));
        r.Headers.AddRange(e.Headers);
        return r;
    }
}

/// <summary>Builds responses from results (PostgREST's Response.hs).</summary>
internal static class Responses
{
    /// <summary>The response to a read: Content-Range, 200/206/416, Content-Location, Preference-Applied.</summary>
    public static PgrstResponse Read(AppConfig config, ApiRequest req, WrappedReadPlan plan, ResultSet rs)
    {
        var prefs = req.Preferences;
        var tableTotal = prefs.Count switch
        {
            PreferCount.Planned => rs.PlannedTotal,
            // Haskell orders Nothing below every Just: without db-max-rows the planner estimate always competes.
            PreferCount.Estimated => (config.DbMaxRows is null || rs.TableTotal > config.DbMaxRows) && rs.TableTotal is { } tt && rs.PlannedTotal is { } pt
                ? Math.Max(tt, pt) : rs.TableTotal,
            _ => rs.TableTotal,
        };
        var (status, contentRange) = RangeStatusHeader(req.TopLevelRange, rs.QueryTotal, tableTotal);
        var resp = new PgrstResponse { Status = status };
        resp.Headers.Add(new("Content-Range", contentRange));
        resp.Headers.Add(new("Content-Location", "/" + plan.Target.Name + (req.QueryParams.Canonical.Length == 0 ? "" : "?" + req.QueryParams.Canonical)));
        if (status == 416)
        {
            var err = Pgrst.InvalidRangeOutOfBounds(req.TopLevelRange.Offset, tableTotal ?? 0);
            resp.Body = JsonText.Utf8(err.ToJson(config.ClientErrorVerbosity));
        }
        else if (!plan.HeadersOnly)
        {
            resp.Body = rs.Body.AsMemory(0, rs.BodyLength);
            resp.Owner = rs;
        }
        resp.SuppressContentLength = plan.HeadersOnly;
        AddContentType(resp, plan.Media, req);
        // responsePreferences: reads report count, tx, handling and timezone.
        var applied = new Preferences { Count = prefs.Count, Transaction = prefs.Transaction, Handling = prefs.Handling, Timezone = prefs.Timezone }.AppliedHeader();
        if (applied is not null) resp.Headers.Add(new("Preference-Applied", applied));
        OverrideStatusHeaders(resp, rs);
        return resp;
    }

    /// <summary>An EXPLAIN result (DbPlanResult): 200 with the plan media type.</summary>
    public static PgrstResponse Plan(ApiRequest req, MediaType media, byte[] body)
    {
        var resp = new PgrstResponse { Status = 200, Body = body };
        AddContentType(resp, media, req);
        return resp;
    }

    public static void AddContentType(PgrstResponse resp, MediaType media, ApiRequest req)
    {
        resp.Headers.Add(new("Content-Type", media.ToContentType()));
        if (req.NegotiatedByProfile) resp.Headers.Add(new("Content-Profile", req.Schema));
    }

    /// <summary>OPTIONS on a relation, a routine or the root: an empty 200 with Allow (PostgREST's respondInfo).</summary>
    public static PgrstResponse Info(string allow)
    {
        var resp = new PgrstResponse { Status = 200 };
        resp.Headers.Add(new("Access-Control-Allow-Origin", "*"));
        resp.Headers.Add(new("Allow", allow));
        return resp;
    }

    public static (int Status, string ContentRange) RangeStatusHeader(NonnegRange top, long queryTotal, long? tableTotal)
    {
        var lower = top.Offset;
        var upper = lower + queryTotal - 1;
        var status = tableTotal switch
        {
            null => 200,
            { } total when lower > total => 416,
            { } total when 1 + upper - lower < total => 206,
            _ => 200,
        };
        return (status, ContentRange(lower, upper, tableTotal));
    }

    public static string ContentRange(long lower, long upper, long? total)
    {
        var totalNotZero = total != 0;
        var range = totalNotZero && lower <= upper
            ? lower.ToString(CultureInfo.InvariantCulture) + "-" + upper.ToString(CultureInfo.InvariantCulture)
            : "*";
        return range + "/" + (total?.ToString(CultureInfo.InvariantCulture) ?? "*");
    }

    /// <summary>
    /// response.status / response.headers set by SQL override the computed ones (PostgREST docs:
    /// references/transactions.rst, "Response Headers"); invalid values are PGRST111 / PGRST112.
    /// </summary>
    public static void OverrideStatusHeaders(PgrstResponse resp, ResultSet rs)
    {
        if (rs.GucStatus is { } st)
        {
            if (!int.TryParse(st, NumberStyles.None, CultureInfo.InvariantCulture, out var code) || code < 100 || code > 999)
                throw Pgrst.GucStatus();
            resp.Status = code;
        }
        if (rs.GucHeaders is { } hs)
        {
            var extra = new List<KeyValuePair<string, string>>();
            try
            {
                using var doc = JsonDocument.Parse(hs);
                if (doc.RootElement.ValueKind != JsonValueKind.Array) throw Pgrst.GucHeaders();
                foreach (var obj in doc.RootElement.EnumerateArray())
                {
                    if (obj.ValueKind != JsonValueKind.Object) throw Pgrst.GucHeaders();
                    var props = obj.EnumerateObject().ToList();
                    if (props.Count != 1 || props[0].Value.ValueKind != JsonValueKind.String) throw Pgrst.GucHeaders();
                    extra.Add(new(props[0].Name, props[0].Value.GetString()!));
                }
            }
            catch (JsonException)
            {
                throw Pgrst.GucHeaders();
            }
            // addHeadersIfNotIncluded: GUC headers replace computed ones of the same name.
            resp.Headers.RemoveAll(h => extra.Any(e => string.Equals(e.Key, h.Key, StringComparison.OrdinalIgnoreCase)));
            resp.Headers.InsertRange(0, extra);
        }
    }
}
