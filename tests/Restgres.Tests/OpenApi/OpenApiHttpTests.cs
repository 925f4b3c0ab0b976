using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using Restgres.Config;
using Restgres.Tests.Http;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.OpenApi;

/// <summary>
/// The root endpoint over HTTP against the read-path database (schemas api and v2, anonymous role web_anon, and
/// api.secrets that web_anon may not read).
/// </summary>
[Collection("pg")]
public sealed class OpenApiHttpTests(PgClusterFixture pg, ReadPathApi api) : IClassFixture<ReadPathApi>
{
    private const string Browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

    private async Task<Reply> Get(params (string, string)[] headers) => await (await api.DefaultAsync(pg)).GetAsync("/", headers);

    private static JsonElement Json(Reply r) => JsonDocument.Parse(r.Body).RootElement.Clone();

    private static bool HasPath(JsonElement doc, string path) => doc.GetProperty("paths").TryGetProperty(path, out _);

    [Fact]
    public async Task The_root_serves_PostgRESTs_Swagger_document_of_the_default_schema()
    {
        var r = await Get();
        Assert.Equal(200, r.Status);
        Assert.Equal("application/openapi+json; charset=utf-8", r.Header("Content-Type"));
        Assert.Equal("api", r.Header("Content-Profile"));
        var doc = Json(r);
        Assert.Equal("2.0", doc.GetProperty("swagger").GetString());
        Assert.True(HasPath(doc, "/books"));
        Assert.Equal("Note:\nThis is a Foreign Key to `authors.id`.<fk table='authors' column='id'/>",
            doc.GetProperty("definitions").GetProperty("books").GetProperty("properties").GetProperty("author_id").GetProperty("description").GetString());
    }

    [Fact]
    public async Task Follow_privileges_hides_what_the_role_cannot_access_and_ignore_privileges_shows_it()
    {
        Assert.False(HasPath(Json(await Get()), "/secrets"));
        var ignoring = await api.ServerAsync(pg, "openapi-ignore-privileges", c => c with { OpenApiMode = OpenApiMode.IgnorePrivileges });
        Assert.True(HasPath(Json(await ignoring.GetAsync("/")), "/secrets"));
    }

    [Fact]
    public async Task Accept_Profile_describes_another_schema()
    {
        var r = await Get(("Accept-Profile", "v2"));
        Assert.Equal("v2", r.Header("Content-Profile"));
        var doc = Json(r);
        Assert.True(HasPath(doc, "/books"));
        Assert.False(HasPath(doc, "/authors"));
    }

    [Fact]
    public async Task HEAD_answers_the_headers_without_a_body()
    {
        var r = await (await api.DefaultAsync(pg)).SendAsync(HttpMethod.Head, "/", ("Accept", "application/openapi+json"));
        Assert.Equal(200, r.Status);
        Assert.Equal("", r.Body);
        Assert.Equal("application/openapi+json; charset=utf-8", r.Header("Content-Type"));
    }

    [Fact]
    public async Task Other_media_types_are_PGRST107()
    {
        var r = await Get(("Accept", "text/csv"));
        Expect.Error(r, 406, "PGRST107", "None of these media types are available: text/csv");
    }

    [Fact]
    public async Task The_pre_request_function_runs_in_the_root_requests_transaction()
    {
        var extras = await api.ExtrasAsync(pg);
        var r = await extras.GetAsync("/", ("X-Block", "yes"));
        Assert.Equal(403, r.Status);
        Assert.Contains("blocked by pre-request", r.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAPI_3_1_is_served_on_request_and_reads_back_without_errors()
    {
        var r = await Get(("Accept", "application/vnd.oai.openapi+json;version=3.1"), ("Accept-Profile", "v2"));
        Assert.Equal(200, r.Status);
        // HttpClient reformats the parameters ("; version=3.1").
        Assert.StartsWith("application/vnd.oai.openapi+json;", r.Header("Content-Type"), StringComparison.Ordinal);
        Assert.Contains("version=3.1", r.Header("Content-Type"), StringComparison.Ordinal);
        var settings = new OpenApiReaderSettings();
        settings.AddJsonReader();
        var read = OpenApiDocument.Parse(r.Body, "json", settings);
        Assert.Empty(read.Diagnostic!.Errors);
        Assert.Equal(OpenApiSpecVersion.OpenApi3_1, read.Diagnostic.SpecificationVersion);
        Assert.Contains("/books", read.Document!.Paths.Keys);
        // Two schemas are exposed and v2 is not the default: clients must say which one they mean.
        var profile = read.Document.Components!.Parameters!["acceptProfile"];
        Assert.True(profile.Required);
    }

    [Fact]
    public async Task A_browser_gets_the_docs_page_compressed_and_revalidated_by_ETag()
    {
        var server = await api.DefaultAsync(pg);
        using var client = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = System.Net.DecompressionMethods.None }) { BaseAddress = server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.TryAddWithoutValidation("Accept", Browser);
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        using var response = await client.SendAsync(request);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/html; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Contains("gzip", response.Content.Headers.ContentEncoding);
        await using var gz = new GZipStream(await response.Content.ReadAsStreamAsync(), CompressionMode.Decompress);
        var html = await new StreamReader(gz, Encoding.UTF8).ReadToEndAsync();
        Assert.Contains("SwaggerUIBundle", html, StringComparison.Ordinal);
        Assert.Contains("""{"schemas":["api","v2"]""", html, StringComparison.Ordinal);

        var etag = response.Headers.ETag!.Tag;
        var again = await server.GetAsync("/", ("Accept", Browser), ("Accept-Encoding", "gzip"), ("If-None-Match", etag));
        Assert.Equal(304, again.Status);
        Assert.Equal("", again.Body);
    }

    [Fact]
    public async Task Fixed_length_arguments_are_described_as_declared_in_both_openapi_modes()
    {
        var following = Json(await Get());
        var ignoring = Json(await (await api.ServerAsync(pg, "openapi-ignore-privileges", c => c with { OpenApiMode = OpenApiMode.IgnorePrivileges })).GetAsync("/"));
        foreach (var doc in new[] { following, ignoring })
        {
            var pad = doc.GetProperty("paths").GetProperty("/rpc/pad");
            // PostgREST's makeProcGetParam / makeProcProperty: the type is string, the format the declared type.
            Assert.Equal(
                """[{"name":"c","required":true,"in":"query","type":"string","format":"character"},{"name":"b","required":true,"in":"query","type":"string","format":"bit"}]""",
                pad.GetProperty("get").GetProperty("parameters").GetRawText());
            Assert.Equal(
                """{"c":{"format":"character","type":"string"},"b":{"format":"bit","type":"string"}}""",
                pad.GetProperty("post").GetProperty("parameters")[0].GetProperty("schema").GetProperty("properties").GetRawText());
        }
        // The call passes the varying types: as plain bit (that is bit(1)) two bits would be rejected.
        var call = await (await api.DefaultAsync(pg)).GetAsync("/rpc/pad?c=ab&b=10");
        Assert.Equal(200, call.Status);
        Assert.Equal("\"[ab]10\"", call.Body);
    }

    [Fact]
    public async Task OpenAPI_reads_functions_with_the_schema_caches_query()
    {
        // The follow-privileges document lists functions with CatalogQueries.AccessibleRoutines; a copy of the schema
        // cache's query once lacked the char(n)/bit(n) argument mapping, so the same function read differently.
        await api.DefaultAsync(pg);
        await using var conn = new Npgsql.NpgsqlConnection(api.Database.ConnectionString);
        await conn.OpenAsync();
        var cache = await Restgres.Catalog.SchemaCacheLoader.LoadAsync(conn, ["api"], [], CancellationToken.None);
        await using var tx = await conn.BeginTransactionAsync();
        await using (var path = new Npgsql.NpgsqlCommand("SET LOCAL search_path = ''", conn, tx))
            await path.ExecuteNonQueryAsync();
        await using var cmd = new Npgsql.NpgsqlCommand(Restgres.Catalog.CatalogQueries.AccessibleRoutines, conn, tx);
        cmd.Parameters.AddWithValue("api");
        var accessible = Restgres.Catalog.SchemaCacheLoader.ParseRoutineList((string)(await cmd.ExecuteScalarAsync())!);

        static string Describe(Restgres.Catalog.Routine r) =>
            $"{r.Schema}.{r.Name}({string.Join(", ", r.Params)}) -> {r.ReturnType} set={r.ReturnsSet} composite={r.ReturnsComposite} "
            + $"alias={r.ReturnsCompositeAlias} {r.Volatility} variadic={r.HasVariadic} iso={r.IsolationLevel}";
        var fromCache = cache.Routines.Values.SelectMany(v => v).Select(Describe).Order(StringComparer.Ordinal).ToList();
        Assert.Contains(fromCache, d => d.Contains("TypeMaxLength = character varying", StringComparison.Ordinal));
        Assert.Equal(fromCache, accessible.Select(Describe).Order(StringComparer.Ordinal).ToList());
    }
}
