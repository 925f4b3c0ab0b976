using System.Diagnostics;
using Restgres.ApiRequest;
using Restgres.Config;
using Restgres.Errors;
using Restgres.Execution;
using Restgres.OpenApi;
using Restgres.Response;

namespace Restgres.Http;

/// <summary>
/// GET/HEAD on the root: the OpenAPI description of the request's schema (PostgREST's InspectPlan and its response).
/// PostgREST's Swagger 2.0 document by default; OpenAPI 3.1 or the HTML docs page when the client prefers them.
/// </summary>
public static class SchemaAction
{
    public static async Task<PgrstResponse> RunAsync(RequestContext rc, SchemaRead read)
    {
        var (config, req) = (rc.Config, rc.Request);
        var t = Stopwatch.GetTimestamp();
        var format = OpenApiNegotiation.Choose(req.AcceptMediaTypes)
            ?? throw Pgrst.MediaType(req.AcceptMediaTypes.Select(m => m.ToMime()));
        t = rc.Mark(2, t);
        if (format == OpenApiFormat.DocsPage)
            return DocsPage.Respond(config, req, read.HeadersOnly);

        // The statements run even for HEAD, as in PostgREST: the pre-request function may reject the request.
        var tx = TxSettingsBuilder.Build(config, req, rc.Auth, readOnly: true, cache: rc.Cache);
        var db = await OpenApiTx.RunAsync(rc.State.DataSource, tx, read.Schema,
            accessible: config.OpenApiMode == OpenApiMode.FollowPrivileges, rc.Aborted);
        t = rc.Mark(3, t);

        var resp = new PgrstResponse { Status = 200 };
        if (read.HeadersOnly)
        {
            resp.SuppressContentLength = true;
        }
        else
        {
            var api = ApiDescriptionBuilder.Build(config, rc.Cache, read.Schema, db);
            resp.Body = format == OpenApiFormat.OpenApi31 ? OpenApiV31.Write(config, api) : SwaggerV2.Write(config, api);
        }
        resp.Headers.Add(new("Content-Type", format == OpenApiFormat.OpenApi31
            ? OpenApiNegotiation.OpenApi31MediaType + "; charset=utf-8"
            : "application/openapi+json; charset=utf-8"));
        if (req.NegotiatedByProfile) resp.Headers.Add(new("Content-Profile", req.Schema));
        rc.Mark(4, t);
        return resp;
    }
}
