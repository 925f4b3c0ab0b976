using System.Text.Json;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Admin;

/// <summary>The admin server's endpoints against a real server and database (PostgREST's Admin.hs behaviour).</summary>
[Collection("pg")]
public sealed class AdminEndpointTests(PgClusterFixture pg)
{
    [Fact]
    public async Task Live_and_ready_answer_200_when_the_server_is_up_and_the_schema_cache_loaded()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        await using var server = await AdminKit.StartAsync(AdminKit.Config(db));
        var admin = server.AdminAddress!;

        var live = await AdminKit.GetAsync(admin, "/live");
        Assert.Equal(200, live.Status);
        Assert.Equal("", live.Body);
        Assert.Equal(200, await AdminKit.StatusAsync(admin, "/ready"));
        Assert.Equal(404, await AdminKit.StatusAsync(admin, "/nothing_here"));
        // The API itself is not served on the admin port.
        Assert.Equal(404, await AdminKit.StatusAsync(admin, "/items"));
    }

    [Fact]
    public async Task Ready_is_503_while_the_database_cannot_be_reached_but_live_is_200()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        // A port nobody listens on: the server starts without a schema cache and keeps retrying.
        var config = AdminKit.Config(db) with { DbUri = $"postgresql://{AdminKit.Authenticator}@127.0.0.1:{AdminKit.FreePort()}/{db.Name}" };
        await using var server = await AdminKit.StartAsync(config);
        var admin = server.AdminAddress!;

        Assert.Equal(200, await AdminKit.StatusAsync(admin, "/live"));
        Assert.Equal(503, await AdminKit.StatusAsync(admin, "/ready"));
        var metrics = (await AdminKit.GetAsync(admin, "/metrics")).Body;
        Assert.True(AdminKit.Sample(metrics, "pgrst_schema_cache_loads_total{status=\"FAIL\"}") >= 1, metrics);
        Assert.Equal(0, AdminKit.Sample(metrics, "restgres_schema_cache_loaded"));
        // No schema cache: an empty body, as PostgREST (maybe mempty JSON.encode).
        var cache = await AdminKit.GetAsync(admin, "/schema_cache");
        Assert.Equal(200, cache.Status);
        Assert.Equal("", cache.Body);
    }

    [Fact]
    public async Task Metrics_use_PostgREST_names_and_types_in_Prometheus_text_format()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        await using var server = await AdminKit.StartAsync(AdminKit.Config(db) with { DbPool = 7 });
        var (status, body, response) = await AdminKit.GetAsync(server.AdminAddress!, "/metrics");

        Assert.Equal(200, status);
        Assert.Equal("text/plain; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        foreach (var (name, type) in new[]
        {
            ("pgrst_db_pool_timeouts_total", "counter"), ("pgrst_db_pool_available", "gauge"), ("pgrst_db_pool_waiting", "gauge"),
            ("pgrst_db_pool_max", "gauge"), ("pgrst_schema_cache_loads_total", "counter"),
            ("pgrst_schema_cache_query_time_seconds", "gauge"), ("pgrst_jwt_cache_requests_total", "counter"),
            ("pgrst_jwt_cache_hits_total", "counter"), ("pgrst_jwt_cache_evictions_total", "counter"),
            ("restgres_http_requests_total", "counter"), ("restgres_http_request_duration_seconds", "histogram"),
            ("process_cpu_seconds_total", "counter"), ("process_resident_memory_bytes", "gauge"),
            ("dotnet_gc_collections_total", "counter"), ("dotnet_gc_heap_size_bytes", "gauge"),
        })
        {
            Assert.Contains($"\n# TYPE {name} {type}\n", "\n" + body);
            Assert.Contains($"# HELP {name} ", body);
        }
        Assert.Equal(7, AdminKit.Sample(body, "pgrst_db_pool_max"));
        Assert.Equal(1, AdminKit.Sample(body, "pgrst_schema_cache_loads_total{status=\"SUCCESS\"}"));
        Assert.True(AdminKit.Sample(body, "pgrst_schema_cache_query_time_seconds") > 0);
        // Every sample line is "name{labels} value" with a number Prometheus can parse.
        foreach (var line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')))
        {
            var value = line[(line.LastIndexOf(' ') + 1)..];
            Assert.True(value is "+Inf" or "-Inf" or "NaN" || double.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out _), line);
        }
    }

    [Fact]
    public async Task Metrics_count_requests_by_method_status_and_resource_with_a_latency_histogram()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        await using var server = await AdminKit.StartAsync(AdminKit.Config(db));
        for (var i = 0; i < 3; i++) Assert.Equal(200, await AdminKit.StatusAsync(server.BaseAddress, "/items?id=eq.1"));
        Assert.Equal(200, await AdminKit.StatusAsync(server.BaseAddress, "/rpc/slow?s=0"));
        Assert.Equal(404, await AdminKit.StatusAsync(server.BaseAddress, "/no_such_table_" + Guid.NewGuid().ToString("N")));
        Assert.Equal(200, await AdminKit.StatusAsync(server.BaseAddress, "/"));

        // A request is counted once its response is complete, which the client can see a moment earlier: wait until
        // nothing is in flight (no sleep: a bounded poll).
        var body = "";
        Assert.True(await AdminKit.EventuallyAsync(async () =>
        {
            body = (await AdminKit.GetAsync(server.AdminAddress!, "/metrics")).Body;
            return AdminKit.Sample(body, "restgres_http_requests_in_flight") == 0
                && AdminKit.Sample(body, "restgres_http_requests_total{method=\"GET\",status=\"200\",resource=\"/\"}") is not null;
        }), "the requests were not all counted");

        Assert.Equal(3, AdminKit.Sample(body, "restgres_http_requests_total{method=\"GET\",status=\"200\",resource=\"items\"}"));
        Assert.Equal(1, AdminKit.Sample(body, "restgres_http_requests_total{method=\"GET\",status=\"200\",resource=\"rpc/slow\"}"));
        // Unknown paths share one series, so that clients cannot grow the label set.
        Assert.Equal(1, AdminKit.Sample(body, "restgres_http_requests_total{method=\"GET\",status=\"404\",resource=\"(other)\"}"));
        Assert.Equal(1, AdminKit.Sample(body, "restgres_http_requests_total{method=\"GET\",status=\"200\",resource=\"/\"}"));
        const string series = "method=\"GET\",status=\"200\",resource=\"items\"";
        Assert.Equal(3, AdminKit.Sample(body, $"restgres_http_request_duration_seconds_count{{{series}}}"));
        Assert.Equal(3, AdminKit.Sample(body, $"restgres_http_request_duration_seconds_bucket{{{series},le=\"+Inf\"}}"));
        Assert.True(AdminKit.Sample(body, $"restgres_http_request_duration_seconds_sum{{{series}}}") > 0);
        // Buckets are cumulative.
        var buckets = Restgres.Observability.HttpMetrics.Buckets
            .Select(b => AdminKit.Sample(body, $"restgres_http_request_duration_seconds_bucket{{{series},le=\"{Restgres.Observability.PrometheusText.FormatValue(b)}\"}}")!.Value)
            .ToList();
        Assert.Equal(buckets.Order(), buckets);
        Assert.Equal(0, AdminKit.Sample(body, "restgres_http_requests_in_flight"));
    }

    [Fact]
    public async Task JWT_cache_lookups_and_hits_are_counted()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        await using var server = await AdminKit.StartAsync(AdminKit.Config(db));
        var auth = ("Authorization", "Bearer " + AdminKit.Token($$"""{"role":"{{AdminKit.Anon}}"}"""));
        for (var i = 0; i < 3; i++) Assert.Equal(200, (await AdminKit.GetAsync(server.BaseAddress, "/items", auth)).Status);

        var body = (await AdminKit.GetAsync(server.AdminAddress!, "/metrics")).Body;

        Assert.Equal(3, AdminKit.Sample(body, "pgrst_jwt_cache_requests_total"));
        Assert.Equal(2, AdminKit.Sample(body, "pgrst_jwt_cache_hits_total"));
        Assert.Equal(0, AdminKit.Sample(body, "pgrst_jwt_cache_evictions_total"));
    }

    [Fact]
    public async Task Pool_metrics_follow_the_connections_in_use()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        await using var server = await AdminKit.StartAsync(AdminKit.Config(db) with { DbPool = 2, DbPoolAcquisitionTimeout = 1 });
        // Two slow calls hold both connections; a third waits and times out (PGRST003).
        var slow = Enumerable.Range(0, 2).Select(_ => AdminKit.StatusAsync(server.BaseAddress, "/rpc/slow?s=3")).ToList();
        Assert.True(await AdminKit.EventuallyAsync(async () =>
            AdminKit.Sample((await AdminKit.GetAsync(server.AdminAddress!, "/metrics")).Body, "restgres_db_pool_connections{state=\"used\"}") == 2));
        Assert.Equal(504, await AdminKit.StatusAsync(server.BaseAddress, "/items"));
        var body = (await AdminKit.GetAsync(server.AdminAddress!, "/metrics")).Body;
        Assert.Equal(1, AdminKit.Sample(body, "pgrst_db_pool_timeouts_total"));
        Assert.Equal(0, AdminKit.Sample(body, "pgrst_db_pool_available"));
        Assert.All(await Task.WhenAll(slow), s => Assert.Equal(200, s));
        body = (await AdminKit.GetAsync(server.AdminAddress!, "/metrics")).Body;
        Assert.Equal(2, AdminKit.Sample(body, "pgrst_db_pool_available"));
        Assert.Equal(0, AdminKit.Sample(body, "pgrst_db_pool_waiting"));
    }

    [Fact]
    public async Task Schema_cache_dumps_tables_relationships_and_routines_with_PostgREST_field_names()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        await using var server = await AdminKit.StartAsync(AdminKit.Config(db));
        var (status, body, response) = await AdminKit.GetAsync(server.AdminAddress!, "/schema_cache");

        Assert.Equal(200, status);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        // Keys in ordinal order at every level, as aeson encodes them (scripts grep for "dbTables":[[{"qiName":...).
        Assert.Equal(["dbRelationships", "dbRepresentations", "dbRoutines", "dbTables"], root.EnumerateObject().Select(p => p.Name));
        Assert.Contains("\"dbTables\":[[{\"qiName\":\"items\",\"qiSchema\":\"api\"}", body, StringComparison.Ordinal);

        var items = root.GetProperty("dbTables").EnumerateArray().Single(t => t[0].GetProperty("qiName").GetString() == "items");
        Assert.Equal("api", items[0].GetProperty("qiSchema").GetString());
        Assert.Equal("items", items[1].GetProperty("tableName").GetString());
        Assert.Equal(["id"], items[1].GetProperty("tablePKCols").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("integer", items[1].GetProperty("tableColumns").GetProperty("id").GetProperty("colType").GetString());

        var rels = root.GetProperty("dbRelationships").EnumerateArray()
            .SelectMany(r => r[1].EnumerateArray())
            .Where(r => r.GetProperty("tag").GetString() == "Relationship")
            .ToList();
        Assert.Contains(rels, r => r.GetProperty("relTable").GetProperty("qiName").GetString() == "tags"
            && r.GetProperty("relForeignTable").GetProperty("qiName").GetString() == "items"
            && r.GetProperty("relCardinality").GetProperty("tag").GetString() == "M2O");

        var slow = root.GetProperty("dbRoutines").EnumerateArray().Single(r => r[0].GetProperty("qiName").GetString() == "slow")[1][0];
        Assert.Equal("api", slow.GetProperty("pdSchema").GetString());
        Assert.Equal("s", slow.GetProperty("pdParams")[0].GetProperty("ppName").GetString());
        Assert.Equal("Single", slow.GetProperty("pdReturnType").GetProperty("tag").GetString());
        Assert.Equal("Volatile", slow.GetProperty("pdVolatility").GetString());
    }

    [Fact]
    public async Task Config_serves_the_running_config_with_secrets_redacted()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        var config = AdminKit.Config(db) with
        {
            DbUri = $"postgresql://{AdminKit.Authenticator}:hunter2@127.0.0.1:{new Npgsql.NpgsqlConnectionStringBuilder(db.ConnectionString).Port}/{db.Name}",
            AppSettings = [new("app.settings.api_secret", "s3cr3t"), new("app.settings.region", "eu")],
        };
        await using var server = await AdminKit.StartAsync(config);
        var (status, body, _) = await AdminKit.GetAsync(server.AdminAddress!, "/config");

        Assert.Equal(200, status);
        Assert.Contains("db-schemas = \"api\"\n", body);
        Assert.Contains($"db-anon-role = \"{AdminKit.Anon}\"\n", body);
        Assert.Contains("jwt-secret = \"<redacted>\"\n", body);
        Assert.Contains($"db-uri = \"postgresql://{AdminKit.Authenticator}:<redacted>@127.0.0.1:", body);
        Assert.Contains("app.settings.api_secret = \"<redacted>\"\n", body);
        Assert.Contains("app.settings.region = \"eu\"\n", body);
        Assert.DoesNotContain("hunter2", body);
        Assert.DoesNotContain(AdminKit.JwtSecret, body);
        Assert.DoesNotContain("s3cr3t", body);
    }

    [Fact]
    public async Task Without_admin_server_port_no_admin_server_runs()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        await using var server = await AdminKit.StartAsync(AdminKit.Config(db) with { AdminServerPort = null });
        Assert.Null(server.AdminAddress);
    }
}
