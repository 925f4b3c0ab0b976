using Restgres.ApiRequest;
using Restgres.Errors;
using Restgres.Response;

namespace Restgres.Http;

/// <summary>/rpc/fn: GET/HEAD/POST calls and OPTIONS.</summary>
public static class CallAction
{
    public static Task<PgrstResponse> RunAsync(RequestContext rc, RoutineCall call)
    {
        _ = call;
        throw Pgrst.NotImplemented($"{rc.Request.Method} {rc.Request.Path} is not implemented yet in this Restgres build");
    }

    public static PgrstResponse Info(RequestContext rc, RoutineInfo info)
    {
        _ = info;
        throw Pgrst.NotImplemented($"{rc.Request.Method} {rc.Request.Path} is not implemented yet in this Restgres build");
    }
}
