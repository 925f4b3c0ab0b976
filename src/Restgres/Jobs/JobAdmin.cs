using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Npgsql;
using NpgsqlTypes;

namespace Restgres.Jobs;

/// <summary>
/// The admin server's job endpoints (docs/jobs.md): <c>GET /jobs?queue=&amp;state=&amp;limit=</c> (per-queue counts and
/// the latest jobs), <c>GET /jobs/{id}</c> (a job with its attempts), <c>POST /jobs/{id}/retry</c> and
/// <c>POST /jobs/{id}/cancel</c>. The JSON is built by PostgreSQL; errors are PostgREST-shaped.
/// </summary>
internal static class JobAdmin
{
    private static readonly string[] States = ["available", "running", "completed", "discarded", "cancelled"];

    private const string ListSql = """
        select json_build_object(
          'queues', coalesce((
            select json_agg(x order by x.queue) from (
              select q.name as queue, q.handler, q.concurrency,
                     count(j.id) filter (where j.state = 'available') as available,
                     count(j.id) filter (where j.state = 'running') as running,
                     count(j.id) filter (where j.state = 'completed') as completed,
                     count(j.id) filter (where j.state = 'discarded') as discarded,
                     count(j.id) filter (where j.state = 'cancelled') as cancelled,
                     coalesce(extract(epoch from clock_timestamp() - min(j.run_at)
                       filter (where j.state = 'available' and j.run_at <= clock_timestamp())), 0) as oldest_available_age_seconds
                from restgres.job_queues q left join restgres.jobs j on j.queue = q.name
               where $1::text is null or q.name = $1
               group by q.name, q.handler, q.concurrency) x), '[]'),
          'jobs', coalesce((
            select json_agg(j order by j.id desc) from (
              select id, queue, state, priority, run_at, attempts, max_attempts, unique_key, lease_until, worker,
                     last_error, created_at, started_at, finished_at, payload
                from restgres.jobs
               where ($1::text is null or queue = $1) and ($2::text is null or state = $2)
               order by id desc limit $3) j), '[]'))::text
        """;

    private const string OneSql = """
        select (to_jsonb(j) || jsonb_build_object('attempt_log', coalesce((
                 select jsonb_agg(to_jsonb(a) - 'job_id' order by a.id) from restgres.job_attempts a where a.job_id = j.id), '[]')))::text
          from restgres.jobs j where j.id = $1
        """;

    /// <summary>Answers a request whose path is <c>/jobs</c> or under it.</summary>
    public static async Task HandleAsync(HttpContext ctx, NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(dataSource);
        var segments = (ctx.Request.Path.Value ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries);
        var method = ctx.Request.Method;
        var ct = ctx.RequestAborted;
        try
        {
            switch (segments)
            {
                case ["jobs"] when HttpMethods.IsGet(method):
                    await ListAsync(ctx, dataSource, ct);
                    return;
                case ["jobs", var id] when HttpMethods.IsGet(method):
                    if (!TryId(ctx, id, out var one)) return;
                    var json = await ScalarAsync(dataSource, OneSql, ct, one);
                    if (json is null) await ErrorAsync(ctx, 404, "RGJ404", $"no job {one}", ct);
                    else await JsonAsync(ctx, 200, json, ct);
                    return;
                case ["jobs", var id, "retry" or "cancel"] when HttpMethods.IsPost(method):
                    if (!TryId(ctx, id, out var jobId)) return;
                    await ActAsync(ctx, dataSource, jobId, segments[2], ct);
                    return;
                case ["jobs"] or ["jobs", _] or ["jobs", _, "retry" or "cancel"]:
                    ctx.Response.Headers.Allow = segments.Length == 3 ? "POST" : "GET";
                    await ErrorAsync(ctx, 405, "RGJ405", $"{method} is not allowed here", ct);
                    return;
                default:
                    ctx.Response.StatusCode = 404;
                    return;
            }
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName or PostgresErrorCodes.UndefinedFunction)
        {
            await ErrorAsync(ctx, 503, "RGJ503", "the jobs schema is not installed", ct, "run 'restgres schema install' (docs/jobs.md)");
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            await ErrorAsync(ctx, 409, "RGJ409", "a live job of the queue has the same unique_key", ct, e.Detail);
        }
    }

    private static async Task ListAsync(HttpContext ctx, NpgsqlDataSource dataSource, CancellationToken ct)
    {
        var query = ctx.Request.Query;
        string? queue = query["queue"].FirstOrDefault() is { Length: > 0 } q ? q : null;
        string? state = query["state"].FirstOrDefault() is { Length: > 0 } s ? s : null;
        if (state is not null && !States.Contains(state))
        {
            await ErrorAsync(ctx, 400, "RGJ400", $"unknown job state \"{state}\"", ct, "one of " + string.Join(", ", States));
            return;
        }
        var limit = 100;
        if (query["limit"].FirstOrDefault() is { Length: > 0 } l
            && (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 0 or > 10000))
        {
            await ErrorAsync(ctx, 400, "RGJ400", $"invalid limit \"{l}\"", ct, "a number from 0 to 10000");
            return;
        }
        var json = await ScalarAsync(dataSource, ListSql, ct,
            new NpgsqlParameter { Value = (object?)queue ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
            new NpgsqlParameter { Value = (object?)state ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
            new NpgsqlParameter { Value = limit });
        await JsonAsync(ctx, 200, json!, ct);
    }

    private static async Task ActAsync(HttpContext ctx, NpgsqlDataSource dataSource, long id, string action, CancellationToken ct)
    {
        var json = await ScalarAsync(dataSource, $"select to_jsonb(r)::text from restgres.job_{action}($1) r where r.id is not null", ct, id);
        if (json is not null)
        {
            await JsonAsync(ctx, 200, json, ct);
            return;
        }
        var state = await ScalarAsync(dataSource, "select state from restgres.jobs where id = $1", ct, id);
        if (state is null) await ErrorAsync(ctx, 404, "RGJ404", $"no job {id}", ct);
        else
            await ErrorAsync(ctx, 409, "RGJ409", $"job {id} is {state}", ct,
                action == "retry" ? "only a discarded, cancelled or completed job can be retried" : "only an available or running job can be cancelled");
    }

    private static bool TryId(HttpContext ctx, string text, out long id)
    {
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id)) return true;
        ctx.Response.StatusCode = 404;
        return false;
    }

    private static async Task<string?> ScalarAsync(NpgsqlDataSource dataSource, string sql, CancellationToken ct, params object[] parameters)
    {
        await using var cmd = dataSource.CreateCommand(sql);
        foreach (var p in parameters) cmd.Parameters.Add(p as NpgsqlParameter ?? new NpgsqlParameter { Value = p });
        return await cmd.ExecuteScalarAsync(ct) as string;
    }

    private static async Task JsonAsync(HttpContext ctx, int status, string json, CancellationToken ct)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        await ctx.Response.WriteAsync(json, ct);
    }

    private static Task ErrorAsync(HttpContext ctx, int status, string code, string message, CancellationToken ct, string? hint = null) =>
        JsonAsync(ctx, status, JsonSerializer.Serialize(new Dictionary<string, string?>
        {
            ["code"] = code, ["details"] = null, ["hint"] = hint, ["message"] = message,
        }), ct);
}
