using System.Collections.Frozen;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using Restgres.Catalog;
using Restgres.Config;
using Restgres.OpenApi;
using Restgres.Requests;
using Xunit;

namespace Restgres.Tests.OpenApi;

/// <summary>
/// The documents built from a small hand-made schema: PostgREST's Swagger 2.0 (field for field, as OpenAPI.hs writes
/// it) and the OpenAPI 3.1 one (well formed, read back by Microsoft.OpenApi without errors).
/// </summary>
public sealed class OpenApiDocumentTests
{
    private static Column Col(string name, string type, bool nullable = true, string? description = null, string? def = null,
        int? maxLength = null, IReadOnlyList<string>? enumValues = null, bool generated = false) =>
        new(name, description, nullable, type, type, maxLength, def, enumValues ?? [], type, generated);

    private static Table MakeTable(string name, IReadOnlyList<Column> columns, IReadOnlyList<string> pk, string? description = null,
        bool writable = true, bool isView = false) => new()
        {
            Schema = "api", Name = name, Description = description, IsView = isView,
            Insertable = writable, Updatable = writable, Deletable = writable,
            PrimaryKey = pk, Columns = columns, ColumnsByName = columns.ToFrozenDictionary(c => c.Name),
        };

    private static readonly Table Authors = MakeTable("authors",
        [Col("id", "integer", nullable: false, description: "the id"), Col("name", "text", nullable: false, def: "'anonymous'::text")],
        ["id"], "Writers\n\nPeople who write books.");

    private static readonly Table Books = MakeTable("books",
        [
            Col("id", "bigint", nullable: false, def: "nextval('api.books_id_seq'::regclass)", generated: true),
            Col("author_id", "integer"),
            Col("code", "character", maxLength: 3),
            Col("genre", "api.genre", enumValues: ["novel", "poem"]),
            Col("tags", "text[]"),
            Col("meta", "jsonb"),
            Col("price", "numeric", def: "9.5"),
            Col("published", "date", def: "'2000-01-01'::date"),
        ],
        ["id"]);

    private static readonly Table Readonly = MakeTable("stats", [Col("n", "bigint")], [], writable: false, isView: true);

    private static readonly Routine Search = new()
    {
        Schema = "api", Name = "search", Description = "Search books\nby title",
        Params = [new RoutineParam("q", "text", "text", true, false), new RoutineParam("lim", "integer", "integer", false, false)],
        ReturnType = new QualifiedIdentifier("api", "books"), ReturnsSet = true, ReturnsComposite = true, Volatility = Volatility.Stable,
    };

    private static readonly Routine Reset = new()
    {
        Schema = "api", Name = "reset", Params = [new RoutineParam("v", "text[]", "text[]", false, true)],
        ReturnType = new QualifiedIdentifier("pg_catalog", "void"), Volatility = Volatility.Volatile, HasVariadic = true,
    };

    private static readonly Relationship BooksToAuthors = new(
        Books.Identifier, Authors.Identifier, false, Cardinality.ManyToOne, "books_author_id_fkey",
        [("author_id", "id")], null, false, false);

    private static ApiDescription Api(string? schemaComment = "My API\nwith a description") => new(
        "api", [Authors, Books, Readonly], [Search, Reset], schemaComment,
        new Dictionary<QualifiedIdentifier, IReadOnlyList<Relationship>> { [Books.Identifier] = [BooksToAuthors] });

    private static readonly AppConfig Config = new() { DbSchemas = ["api"], ServerHost = "!4", ServerPort = 3000 };

    private static JsonElement Swagger(AppConfig? config = null, ApiDescription? api = null) =>
        JsonDocument.Parse(SwaggerV2.Write(config ?? Config, api ?? Api())).RootElement.Clone();

    private static JsonElement Walk(JsonElement e, string[] path)
    {
        foreach (var p in path) e = e.ValueKind == JsonValueKind.Array ? e[int.Parse(p, System.Globalization.CultureInfo.InvariantCulture)] : e.GetProperty(p);
        return e;
    }

    /// <summary>A string value as it is; anything else as compact JSON.</summary>
    private static string At(JsonElement e, params string[] path)
    {
        e = Walk(e, path);
        return e.ValueKind == JsonValueKind.String ? e.GetString()! : JsonNode.Parse(e.GetRawText())!.ToJsonString();
    }

    /// <summary>JSON equality, ignoring object key order (as the conformance suite compares).</summary>
    private static void Json(string expected, JsonElement e, params string[] path)
    {
        var actual = JsonNode.Parse(Walk(e, path).GetRawText());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), actual), $"expected {expected}\nbut got {actual?.ToJsonString()}");
    }

    private static bool Has(JsonElement e, params string[] path)
    {
        foreach (var p in path)
        {
            if (e.ValueKind == JsonValueKind.Array)
            {
                var i = int.Parse(p, System.Globalization.CultureInfo.InvariantCulture);
                if (i >= e.GetArrayLength()) return false;
                e = e[i];
            }
            else if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(p, out e))
            {
                return false;
            }
        }
        return true;
    }

    [Fact]
    public void Swagger_header_comes_from_the_schema_comment_and_the_server_location()
    {
        var doc = Swagger();
        Assert.Equal("2.0", At(doc, "swagger"));
        Assert.Equal("My API", At(doc, "info", "title"));
        Assert.Equal("with a description", At(doc, "info", "description"));
        Assert.Equal("0.0.0.0:3000", At(doc, "host"));
        Assert.Equal("/", At(doc, "basePath"));
        Json("""["http"]""", doc, "schemes");
        Assert.Equal("https://postgrest.org/en/v16/references/api.html", At(doc, "externalDocs", "url"));
    }

    [Fact]
    public void Swagger_without_a_schema_comment_uses_PostgREST_defaults_and_a_one_line_comment_gives_an_empty_description()
    {
        Assert.Equal("PostgREST API", At(Swagger(api: Api(null)), "info", "title"));
        Assert.Equal("This is a dynamic API generated by PostgREST", At(Swagger(api: Api(null)), "info", "description"));
        Assert.Equal("", At(Swagger(api: Api("Title only")), "info", "description"));
    }

    [Fact]
    public void Swagger_proxy_uri_sets_scheme_host_and_base_path()
    {
        var doc = Swagger(Config with { OpenApiServerProxyUri = "https://example.com/api/v1" });
        Assert.Equal("example.com:443", At(doc, "host"));
        Assert.Equal("/api/v1", At(doc, "basePath"));
        Json("""["https"]""", doc, "schemes");
    }

    [Fact]
    public void Swagger_table_definition_has_types_formats_defaults_and_key_notes()
    {
        var doc = Swagger();
        Json("""{"description":"the id\n\nNote:\nThis is a Primary Key.<pk/>","format":"int32","type":"integer"}""", doc, "definitions", "authors", "properties", "id");
        Json("""{"default":"anonymous","format":"text","type":"string"}""", doc, "definitions", "authors", "properties", "name");
        Json("""["id","name"]""", doc, "definitions", "authors", "required");
        Json("""{"description":"Note:\nThis is a Foreign Key to `authors.id`.<fk table='authors' column='id'/>","format":"int32","type":"integer"}""", doc, "definitions", "books", "properties", "author_id");
        // nextval(...) is not JSON: no default.
        Json("""{"description":"Note:\nThis is a Primary Key.<pk/>","format":"int64","type":"integer"}""", doc, "definitions", "books", "properties", "id");
        Json("""{"maxLength":3,"format":"character","type":"string"}""", doc, "definitions", "books", "properties", "code");
        Json("""{"enum":["novel","poem"],"format":"api.genre","type":"string"}""", doc, "definitions", "books", "properties", "genre");
        Json("""{"format":"text[]","type":"array","items":{"type":"string"}}""", doc, "definitions", "books", "properties", "tags");
        Json("""{"format":"jsonb"}""", doc, "definitions", "books", "properties", "meta");
        Json("""{"default":9.5,"format":"numeric","type":"number"}""", doc, "definitions", "books", "properties", "price");
        Json("""{"default":"2000-01-01","format":"date","type":"string"}""", doc, "definitions", "books", "properties", "published");
        Assert.False(Has(doc, "definitions", "stats", "required"));
    }

    [Fact]
    public void Swagger_paths_split_comments_and_write_only_reads_for_read_only_relations()
    {
        var doc = Swagger();
        Assert.Equal("Writers", At(doc, "paths", "/authors", "get", "summary"));
        Assert.Equal("People who write books.", At(doc, "paths", "/authors", "get", "description"));
        Json("""[{"$ref":"#/parameters/body.authors"},{"$ref":"#/parameters/select"},{"$ref":"#/parameters/preferPost"}]""", doc, "paths", "/authors", "post", "parameters");
        Assert.True(Has(doc, "paths", "/stats", "get"));
        Assert.False(Has(doc, "paths", "/stats", "post"));
        Assert.False(Has(doc, "paths", "/stats", "get", "summary"));
        Json("""{"name":"Range-Unit","description":"Limiting and Pagination","required":false,"in":"header","type":"string","default":"items"}""", doc, "parameters", "rangeUnit");
        Assert.False(Has(doc, "parameters", "preferParams", "enum"));
        Json("""{"name":"author_id","required":false,"in":"query","type":"string"}""", doc, "parameters", "rowFilter.books.author_id");
    }

    [Fact]
    public void Swagger_functions_get_POST_always_and_GET_unless_volatile()
    {
        var doc = Swagger();
        Assert.Equal("Search books", At(doc, "paths", "/rpc/search", "get", "summary"));
        Assert.Equal("by title", At(doc, "paths", "/rpc/search", "post", "description"));
        Json("""[{"name":"q","required":true,"in":"query","type":"string","format":"text"},{"name":"lim","required":false,"in":"query","type":"integer","format":"int32"}]""", doc, "paths", "/rpc/search", "get", "parameters");
        Json("""{"description":"Search books\nby title","type":"object","properties":{"q":{"format":"text","type":"string"},"lim":{"format":"int32","type":"integer"}},"required":["q"]}""", doc, "paths", "/rpc/search", "post", "parameters", "0", "schema");
        Assert.False(Has(doc, "paths", "/rpc/reset", "get"));
        Json("""["(rpc) reset"]""", doc, "paths", "/rpc/reset", "post", "tags");
        Assert.False(Has(doc, "paths", "/rpc/reset", "post", "parameters", "0", "schema", "required"));
    }

    [Fact]
    public void Swagger_security_is_there_only_when_active()
    {
        Assert.False(Has(Swagger(), "security"));
        Assert.False(Has(Swagger(), "securityDefinitions"));
        var doc = Swagger(Config with { OpenApiSecurityActive = true });
        Json("""[{"JWT":[]}]""", doc, "security");
        Assert.Equal("apiKey", At(doc, "securityDefinitions", "JWT", "type"));
    }

    private static (OpenApiDocument Doc, JsonElement Json) V31(AppConfig? config = null, ApiDescription? api = null)
    {
        var bytes = OpenApiV31.Write(config ?? Config, api ?? Api());
        var text = Encoding.UTF8.GetString(bytes);
        var settings = new OpenApiReaderSettings();
        settings.AddJsonReader();
        var read = OpenApiDocument.Parse(text, "json", settings);
        Assert.True(read.Diagnostic is null || read.Diagnostic.Errors.Count == 0,
            string.Join("\n", read.Diagnostic?.Errors.Select(e => e.Pointer + ": " + e.Message) ?? []));
        Assert.Equal(OpenApiSpecVersion.OpenApi3_1, read.Diagnostic!.SpecificationVersion);
        return (read.Document!, JsonDocument.Parse(bytes).RootElement.Clone());
    }

    [Fact]
    public void OpenApi31_is_read_back_without_errors_and_validates()
    {
        var (doc, _) = V31();
        var errors = doc.Validate(ValidationRuleSet.GetDefaultRuleSet())?.ToList() ?? [];
        Assert.True(errors.Count == 0, string.Join("\n", errors.Select(e => e.Pointer + ": " + e.Message)));
        Assert.Equal("My API", doc.Info.Title);
        Assert.Equal(["/", "/authors", "/books", "/stats", "/rpc/search", "/rpc/reset"], doc.Paths.Keys);
    }

    [Fact]
    public void OpenApi31_columns_allow_null_when_nullable_and_use_standard_formats()
    {
        var (_, json) = V31();
        Json("""{"type":"integer","format":"int32","description":"the id\n\nNote:\nThis is a Primary Key.<pk/>"}""", json, "components", "schemas", "authors", "properties", "id");
        Json("""["null","integer"]""", json, "components", "schemas", "books", "properties", "author_id", "type");
        Json("""["null","string"]""", json, "components", "schemas", "books", "properties", "genre", "type");
        Json("""["novel","poem",null]""", json, "components", "schemas", "books", "properties", "genre", "enum");
        Assert.Equal("date", At(json, "components", "schemas", "books", "properties", "published", "format"));
        Assert.Equal("true", At(json, "components", "schemas", "books", "properties", "id", "readOnly"));
        Assert.False(Has(json, "components", "schemas", "books", "properties", "meta", "type"));
        // Required: needed to insert a row, i.e. not null, no default, not generated.
        Json("""["id"]""", json, "components", "schemas", "authors", "required");
        Assert.False(Has(json, "components", "schemas", "books", "required"));
    }

    [Fact]
    public void OpenApi31_operations_have_unique_ids_bodies_and_typed_results()
    {
        var (doc, json) = V31();
        var ids = doc.Paths.Values.SelectMany(p => p.Operations!.Values).Select(o => o.OperationId).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal("#/components/schemas/books", At(json, "paths", "/books", "post", "requestBody", "content", "application/json", "schema", "$ref"));
        Assert.Equal("#/components/schemas/books",
            At(json, "paths", "/rpc/search", "post", "responses", "200", "content", "application/json", "schema", "items", "$ref"));
        Json("""["q"]""", json, "paths", "/rpc/search", "post", "requestBody", "content", "application/json", "schema", "required");
        Assert.True(Has(json, "paths", "/rpc/reset", "post", "responses", "204"));
        Assert.False(Has(json, "paths", "/rpc/reset", "get"));
        Assert.False(Has(json, "paths", "/stats", "post"));
        Assert.Equal("#/components/schemas/PgrstError", At(json, "paths", "/books", "get", "responses", "4XX", "content", "application/json", "schema", "$ref"));
    }

    [Fact]
    public void OpenApi31_component_keys_are_restricted_to_allowed_characters_and_stay_unique()
    {
        var odd = MakeTable("my table", [Col("x", "integer")], []);
        var odd2 = MakeTable("my_table", [Col("x", "integer")], []);
        var (_, json) = V31(api: new ApiDescription("api", [odd, odd2], [], null, new Dictionary<QualifiedIdentifier, IReadOnlyList<Relationship>>()));
        Assert.Equal("#/components/schemas/my_table", At(json, "paths", "/my table", "get", "responses", "200", "content", "application/json", "schema", "items", "$ref"));
        Assert.Equal("#/components/schemas/my_table_2", At(json, "paths", "/my_table", "get", "responses", "200", "content", "application/json", "schema", "items", "$ref"));
    }

    [Fact]
    public void OpenApi31_server_is_relative_unless_a_proxy_uri_is_set_and_profiles_appear_with_several_schemas()
    {
        Assert.Equal("/", At(V31().Json, "servers", "0", "url"));
        Assert.Equal("https://example.com:8443/api", At(V31(Config with { OpenApiServerProxyUri = "https://example.com:8443/api" }).Json, "servers", "0", "url"));
        Assert.False(Has(V31().Json, "components", "parameters", "acceptProfile"));
        var multi = V31(Config with { DbSchemas = ["public", "api"] }).Json;
        Assert.Equal("Accept-Profile", At(multi, "components", "parameters", "acceptProfile", "name"));
        Assert.Equal("true", At(multi, "components", "parameters", "acceptProfile", "required"));
        Json("""["api"]""", multi, "components", "parameters", "acceptProfile", "schema", "enum");
    }

    [Fact]
    public void OpenApi31_security_is_a_bearer_JWT_when_active()
    {
        var json = V31(Config with { OpenApiSecurityActive = true }).Json;
        Assert.Equal("bearer", At(json, "components", "securitySchemes", "JWT", "scheme"));
        Json("""[{"JWT":[]}]""", json, "security");
    }

    public static TheoryData<string?, string?> Negotiations => new()
    {
        { null, "Swagger2" },
        { "application/openapi+json", "Swagger2" },
        { "application/json", "Swagger2" },
        { "*/*", "Swagger2" },
        { "text/csv, application/json", "Swagger2" },
        { "text/csv", null },
        { "", null },
        { "application/vnd.oai.openapi+json;version=3.1", "OpenApi31" },
        { "application/vnd.oai.openapi+json", "OpenApi31" },
        { "application/vnd.oai.openapi+json;version=3.0", null },
        { "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "DocsPage" },
        { "application/json, text/html", "Swagger2" },
        { "text/html;q=0.5, application/vnd.oai.openapi+json;version=3.1", "OpenApi31" },
    };

    [Theory]
    [MemberData(nameof(Negotiations))]
    public void The_root_answers_the_most_preferred_of_its_formats(string? accept, string? expected) =>
        Assert.Equal(expected, OpenApiNegotiation.Choose(MediaType.ParseAccept(accept))?.ToString());

    [Fact]
    public void Comments_split_into_summary_and_remainder()
    {
        Assert.Equal(("a", ""), ApiDescription.SplitComment("a"));
        Assert.Equal(("a", "b\nc"), ApiDescription.SplitComment("a\n\n\nb\nc"));
        Assert.Equal((null, null), ApiDescription.SplitComment(null));
    }

    public static TheoryData<string, string?, string?> Defaults => new()
    {
        { "text", "'default'::text", "\"default\"" },
        { "character varying", "'x'::character varying", "\"x\"" },
        { "integer", "42", "42" },
        { "boolean", "false", "false" },
        { "integer", "nextval('s'::regclass)", null },
        { "integer", "'-1'::integer", null },
        { "text", "'say \"hi\"'::text", null },
        { "time without time zone", "'13:00:00'::time without time zone", "\"13:00:00\"" },
        { "timestamp with time zone", "now()", "\"now()\"" },
        { "text", null, null },
    };

    [Theory]
    [MemberData(nameof(Defaults))]
    public void Column_defaults_become_JSON_only_when_they_are_JSON(string type, string? pgDefault, string? expected) =>
        Assert.Equal(expected, PgTypes.DefaultJson(type, pgDefault));

    [Fact]
    public void OpenApi31_string_defaults_come_only_from_literals()
    {
        Assert.Null(PgTypes.DefaultJson("timestamp with time zone", "now()", literalOnly: true));
        Assert.Equal("\"x\"", PgTypes.DefaultJson("text", "'x'::text", literalOnly: true));
    }

    [Theory]
    [InlineData("https://example.com:8443/basePath", "https", "example.com", 8443, "/basePath")]
    [InlineData("http://example.com", "http", "example.com", 80, "/")]
    [InlineData("HTTPS://Example.com/", "https", "Example.com", 443, "/")]
    [InlineData("http://[::1]:3000/api?", "http", "[::1]", 3000, "/api")]
    public void Proxy_uris_split_like_Network_URI(string uri, string scheme, string host, int port, string path) =>
        Assert.Equal(new ServerLocation(scheme, host, port, path, true), ServerLocation.ParseProxy(uri));

    [Fact]
    public void Inline_scripts_cannot_close_or_confuse_the_script_element()
    {
        var js = """var a = "<script><\/script>", b = /<!--/, c = "</SCRIPT>";""";
        var safe = DocsPage.InlineScript(js);
        Assert.DoesNotContain("<script", safe, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("</script", safe, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<!--", safe, StringComparison.Ordinal);
    }

    [Fact]
    public void Function_return_type_names_map_to_SQL_names()
    {
        Assert.Equal("integer", PgTypes.FromTypeName("pg_catalog", "int4"));
        Assert.Equal("text[]", PgTypes.FromTypeName("pg_catalog", "_text"));
        Assert.Equal("api.genre", PgTypes.FromTypeName("api", "genre"));
    }
}
