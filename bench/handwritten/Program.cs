using System.Data;
using Npgsql;

// A minimal hand-written endpoint per scenario, doing per request exactly the PostgreSQL work restgres does: one
// batch with BEGIN ... READ ONLY, the set_config prelude, PostgREST's main statement (JSON built by PostgreSQL) and
// COMMIT. It knows its three URLs in advance, so it has no parsing, planning, schema cache or error handling: the gap
// between it and restgres is what being generic costs (docs/benchmarks.md).
var uri = new Uri(Environment.GetEnvironmentVariable("PGRST_DB_URI") ?? "postgres://authenticator:authenticator@127.0.0.1:5432/ab");
var userInfo = uri.UserInfo.Split(':');
var csb = new NpgsqlConnectionStringBuilder
{
    Host = uri.Host,
    Port = uri.Port,
    Database = uri.AbsolutePath.TrimStart('/'),
    Username = Uri.UnescapeDataString(userInfo[0]),
    Password = userInfo.Length > 1 ? Uri.UnescapeDataString(userInfo[1]) : null,
    MaxPoolSize = int.Parse(Environment.GetEnvironmentVariable("PGRST_DB_POOL") ?? "10"),
    NoResetOnClose = true,
    MaxAutoPrepare = 16,
    AutoPrepareMinUsages = 2,
    ReadBufferSize = 64 * 1024,
    Enlist = false,
};
var dsb = new NpgsqlDataSourceBuilder(csb.ConnectionString);
// The same per-connection warm-up as restgres (Execution/SessionWarmup.cs), so PostgreSQL does the same work for both.
dsb.UsePhysicalConnectionInitializer(
    c => { using var cmd = new NpgsqlCommand("SELECT length(repeat(' ', 4194304))", c); cmd.ExecuteScalar(); },
    async c => { await using var cmd = new NpgsqlCommand("SELECT length(repeat(' ', 4194304))", c); await cmd.ExecuteScalarAsync(); });
await using var ds = dsb.Build();

const string Begin = "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY";
const string Prelude = "select set_config('search_path', $1, true), set_config('role', $2, true), set_config('request.jwt.claims', $3, true), set_config('request.method', $4, true), set_config('request.path', $5, true), set_config('request.headers', $6, true), set_config('request.cookies', $7, true)";
const string Tail = " SELECT null::bigint AS total_result_set, pg_catalog.count(*) AS page_total, nullif(current_setting('response.headers', true), '') AS response_headers, nullif(current_setting('response.status', true), '') AS response_status, coalesce(json_agg(_postgrest_t), '[]') AS body FROM ( SELECT * FROM pgrst_source ) _postgrest_t";
const string GetEvent = "WITH pgrst_source AS ( SELECT \"public\".\"events\".* FROM \"public\".\"events\" WHERE \"public\".\"events\".\"id\" = $1 )" + Tail;
const string ListEvents = "WITH pgrst_source AS ( SELECT \"public\".\"events\".* FROM \"public\".\"events\" WHERE \"public\".\"events\".\"variant\" = $1 ORDER BY \"public\".\"events\".\"created_at\" DESC LIMIT 100 OFFSET 0 )" + Tail;
const string RecentCompletions = "WITH pgrst_source AS (SELECT \"pgrst_call\".* FROM (SELECT $1 AS json_data) pgrst_payload, LATERAL (SELECT \"limit_count\" FROM json_to_record(pgrst_payload.json_data) AS _(\"limit_count\" integer) LIMIT 1) pgrst_body , LATERAL \"public\".\"recent_completions\"(\"limit_count\" := pgrst_body.\"limit_count\") pgrst_call) SELECT null::bigint AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, nullif(current_setting('response.headers', true), '') AS response_headers, nullif(current_setting('response.status', true), '') AS response_status, coalesce(json_agg(_postgrest_t), '[]') AS body FROM (SELECT \"record\".* FROM \"pgrst_source\" AS \"record\") _postgrest_t";

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
// The harness starts servers with PGRST_SERVER_PORT, as it starts restgres and PostgREST.
builder.WebHost.UseUrls("http://127.0.0.1:" + (Environment.GetEnvironmentVariable("PGRST_SERVER_PORT") ?? "3000"));
var app = builder.Build();

// GET /events?id=eq.N (get_event) and GET /events?variant=eq.X&limit=100&order=created_at.desc (list_events).
app.MapGet("/events", (HttpContext ctx) =>
{
    var q = ctx.Request.Query;
    if (q.TryGetValue("id", out var id))
        return Serve(ctx, "GET", "/events", GetEvent, long.Parse(id.ToString().AsSpan(3)));
    return Serve(ctx, "GET", "/events", ListEvents, q["variant"].ToString()[3..]);
});
// POST /rpc/recent_completions with {"limit_count":N}: the body goes to PostgreSQL as json, as PostgREST sends it.
app.MapPost("/rpc/recent_completions", async (HttpContext ctx) =>
{
    using var reader = new StreamReader(ctx.Request.Body);
    var body = await reader.ReadToEndAsync();
    await Serve(ctx, "POST", "/rpc/recent_completions", RecentCompletions, body, NpgsqlTypes.NpgsqlDbType.Json);
});
app.Run();

async Task Serve(HttpContext ctx, string method, string path, string sql, object arg, NpgsqlTypes.NpgsqlDbType? type = null)
{
    var headers = "{" + string.Join(",", ctx.Request.Headers.Select(h => $"\"{h.Key.ToLowerInvariant()}\":\"{h.Value}\"")) + "}";
    await using var conn = await ds.OpenConnectionAsync();
    await using var batch = new NpgsqlBatch(conn);
    batch.BatchCommands.Add(new NpgsqlBatchCommand(Begin));
    var prelude = new NpgsqlBatchCommand(Prelude);
    foreach (var v in new[] { "\"public\", \"public\"", "anon", "{\"role\":\"anon\"}", method, path, headers, "{}" })
        prelude.Parameters.Add(new NpgsqlParameter { Value = v });
    batch.BatchCommands.Add(prelude);
    var main = new NpgsqlBatchCommand(sql);
    var p = new NpgsqlParameter { Value = arg };
    if (type is { } t) p.NpgsqlDbType = t;
    main.Parameters.Add(p);
    batch.BatchCommands.Add(main);
    batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
    await using var r = await batch.ExecuteReaderAsync(CommandBehavior.SequentialAccess);
    while (r.GetName(0) != "total_result_set") await r.NextResultAsync();
    await r.ReadAsync();
    var bodyText = r.GetString(4);
    while (await r.NextResultAsync()) { }
    ctx.Response.ContentType = "application/json; charset=utf-8";
    await ctx.Response.WriteAsync(bodyText);
}
