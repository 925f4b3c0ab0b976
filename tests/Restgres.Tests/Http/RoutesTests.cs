using System.Text.Json;
using Restgres.Routing;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Http;

/// <summary>
/// server-routes-file over real HTTP: old URLs become API requests (captures as filter values, fixed headers, the
/// client's query appended, bodies passed through), FastAPI's error shape per route, and metrics labelled by template.
/// </summary>
[Collection("pg")]
public sealed class RoutesTests(PgClusterFixture pg, ReadPathApi api) : IClassFixture<ReadPathApi>
{
    private const string Routes = """
        GET /api/v1/books/{id}
          to /books?id=eq.{id}&select=id,title
          header Accept: application/vnd.pgrst.object+json
          errors fastapi

        GET /api/v1/books
          to /books?select=id&order=id

        GET /api/v1/others/{name}
          to /authors?name=neq.{name}&select=id&order=id

        GET /api/v1/named/{names}
          to /authors?name=in.({names})&select=id

        GET /api/v1/sum/{a}
          to /rpc/add?a={a}&b=1

        POST /api/v1/add
          to /rpc/add
          errors fastapi

        GET /docs
          to /
          header Accept: application/openapi+json
        """;

    private async Task<TestServer> StartAsync()
    {
        await api.DefaultAsync(pg);
        // Through the file, as the loader reads it.
        var dir = Directory.CreateTempSubdirectory("restgres-routes-").FullName;
        var file = Path.Combine(dir, "routes.conf");
        await File.WriteAllTextAsync(file, Routes);
        var routes = RouteFile.Load(file);
        Directory.Delete(dir, recursive: true);
        return await TestServer.StartAsync(api.BaseConfig with { ServerRoutes = routes });
    }

    private static int Count(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetArrayLength();
    }

    [Fact]
    public async Task A_route_maps_an_old_url_with_its_headers_and_the_client_query()
    {
        await using var s = await StartAsync();
        var one = await s.GetAsync("/api/v1/books/1");
        Assert.Equal(200, one.Status);
        Assert.StartsWith("application/vnd.pgrst.object+json", one.Header("Content-Type"), StringComparison.Ordinal);
        Assert.StartsWith("{\"id\":1,", one.Body, StringComparison.Ordinal);

        var all = await s.GetAsync("/api/v1/books");
        var filtered = await s.GetAsync("/api/v1/books?id=lte.2");
        Assert.True(Count(all.Body) > 2, all.ToString());
        Assert.Equal((200, "[{\"id\":1}, \n {\"id\":2}]"), (filtered.Status, filtered.Body));

        var sum = await s.GetAsync("/api/v1/sum/41");
        Assert.Equal((200, "42"), (sum.Status, sum.Body));
        var posted = await s.SendAsync(HttpMethod.Post, "/api/v1/add", "{\"a\":2,\"b\":3}", ("Content-Type", "application/json"));
        Assert.Equal((200, "5"), (posted.Status, posted.Body));

        var docs = await s.GetAsync("/docs", ("Accept", "text/csv"));
        Assert.Equal(200, docs.Status);
        Assert.StartsWith("application/openapi+json", docs.Header("Content-Type"), StringComparison.Ordinal);
        Assert.Contains("\"/books\"", docs.Body, StringComparison.Ordinal);

        // Paths no route matches are the API as before.
        Assert.Equal(200, (await s.GetAsync("/books?id=eq.1")).Status);
    }

    [Fact]
    public async Task A_fastapi_route_answers_errors_as_detail_with_the_same_status()
    {
        await using var s = await StartAsync();
        var missing = await s.GetAsync("/api/v1/books/999");
        Assert.Equal(406, missing.Status);
        Assert.StartsWith("application/json", missing.Header("Content-Type"), StringComparison.Ordinal);
        using (var doc = JsonDocument.Parse(missing.Body))
        {
            Assert.Equal(["detail"], doc.RootElement.EnumerateObject().Select(p => p.Name));
            Assert.Contains("JSON object", doc.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        var bad = await s.SendAsync(HttpMethod.Post, "/api/v1/add", "{", ("Content-Type", "application/json"));
        Assert.Equal(400, bad.Status);
        Assert.StartsWith("{\"detail\":", bad.Body, StringComparison.Ordinal);
        // A postgrest route keeps PostgREST's shape.
        var plain = await s.GetAsync("/api/v1/sum/x");
        Assert.Equal(400, plain.Status);
        Assert.Contains("\"code\":", plain.Body, StringComparison.Ordinal);
    }

    /// <summary>Encoded in the path, each capture is one filter value: it never adds a parameter, an operator, a
    /// filter or a list element (every author but a non-existent one, or none of two authors' names joined).</summary>
    [Theory]
    [InlineData("Stanis%C5%82aw%20Lem%26id=eq.1")]
    [InlineData("x%26id=eq.1")]
    [InlineData("x&id=eq.1")]
    [InlineData("x,y")]
    [InlineData("x)")]
    [InlineData("x.eq.y")]
    [InlineData("100%25")]
    [InlineData("%2F..%2Fbooks")]
    [InlineData("it's")]
    [InlineData("%22quoted%22")]
    public async Task An_encoded_capture_is_one_filter_value(string capture)
    {
        await using var s = await StartAsync();
        var everyone = Count((await s.GetAsync("/authors?select=id")).Body);
        var others = await s.GetAsync("/api/v1/others/" + capture);
        Assert.Equal(200, others.Status);
        Assert.Equal(everyone, Count(others.Body));

        var listed = await s.GetAsync("/api/v1/named/" + capture);
        Assert.Equal((200, "[]"), (listed.Status, listed.Body));
        var two = await s.GetAsync("/api/v1/named/Stanis%C5%82aw%20Lem,Octavia%20E.%20Butler");
        Assert.Equal((200, "[]"), (two.Status, two.Body));
        Assert.Equal(1, Count((await s.GetAsync("/api/v1/named/Stanis%C5%82aw%20Lem")).Body));
    }

    [Fact]
    public async Task Both_OpenAPI_documents_list_the_routes_with_their_captures()
    {
        await using var s = await StartAsync();
        var v2 = await s.GetAsync("/");
        var v31 = await s.GetAsync("/", ("Accept", "application/vnd.oai.openapi+json;version=3.1"));
        foreach (var doc in new[] { v2, v31 })
        {
            Assert.Equal(200, doc.Status);
            using var json = JsonDocument.Parse(doc.Body);
            var paths = json.RootElement.GetProperty("paths");
            var get = paths.GetProperty("/api/v1/books/{id}").GetProperty("get");
            Assert.StartsWith("Route to /books?id=eq.{id}&select=id,title with Accept: application/vnd.pgrst.object+json", get.GetProperty("summary").GetString(), StringComparison.Ordinal);
            var param = Assert.Single(get.GetProperty("parameters").EnumerateArray());
            Assert.Equal(("id", "path", true), (param.GetProperty("name").GetString(), param.GetProperty("in").GetString(), param.GetProperty("required").GetBoolean()));
            Assert.True(paths.GetProperty("/api/v1/add").TryGetProperty("post", out _));
            Assert.True(paths.TryGetProperty("/docs", out _));
        }
    }

    [Fact]
    public async Task Metrics_label_routed_requests_by_template()
    {
        await using var s = await StartAsync();
        await s.GetAsync("/api/v1/books/2");
        await s.GetAsync("/api/v1/books/3");
        string Text()
        {
            var sb = new System.Text.StringBuilder();
            s.Server.State.Observer.Metrics.Http.WriteTo(sb);
            return sb.ToString();
        }
        // The count is taken after the response is sent: wait for it.
        Assert.True(await Admin.AdminKit.EventuallyAsync(() => Task.FromResult(
            Text().Contains("restgres_http_requests_total{method=\"GET\",status=\"200\",resource=\"/api/v1/books/{id}\"} 2.0\n", StringComparison.Ordinal))), Text());
        var text = Text();
        Assert.DoesNotContain("/api/v1/books/3", text, StringComparison.Ordinal);
    }
}
