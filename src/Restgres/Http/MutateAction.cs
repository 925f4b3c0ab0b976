using Restgres.ApiRequest;
using Restgres.Errors;
using Restgres.Response;

namespace Restgres.Http;

/// <summary>POST/PUT/PATCH/DELETE on a table or view.</summary>
public static class MutateAction
{
    public static Task<PgrstResponse> RunAsync(RequestContext rc, RelationMut mut)
    {
        _ = mut;
        throw Pgrst.NotImplemented($"{rc.Request.Method} {rc.Request.Path} is not implemented yet in this Restgres build");
    }
}
