using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Http;

/// <summary>Accept: JSON, CSV, singular objects (PGRST116), nulls=stripped, unavailable media types (PGRST107).</summary>
[Collection("pg")]
public sealed class MediaTypeTests(PgClusterFixture pg, ReadPathApi api) : IClassFixture<ReadPathApi>
{
    private async Task<Reply> Get(string url, params (string, string)[] headers) =>
        await (await api.DefaultAsync(pg)).GetAsync(url, headers);

    private const string Singular = "application/vnd.pgrst.object+json";

    [Fact]
    public async Task A_singular_request_for_one_row_answers_the_object()
    {
        var r = await Get("/books?select=id,title&id=eq.1", ("Accept", Singular));
        Assert.Equal(200, r.Status);
        Assert.Equal("""{"id":1,"title":"The Dispossessed"}""", r.Body);
        Assert.Equal("application/vnd.pgrst.object+json; charset=utf-8", r.Header("Content-Type"));
    }

    [Fact]
    public async Task A_singular_request_matching_several_rows_is_PGRST116()
    {
        Expect.Error(await Get("/books?select=id&id=lt.3", ("Accept", Singular)), 406, "PGRST116",
            "Cannot coerce the result to a single JSON object", "The result contains 2 rows");
    }

    [Fact]
    public async Task A_singular_request_matching_no_row_is_PGRST116()
    {
        Expect.Error(await Get("/books?select=id&id=eq.99", ("Accept", Singular)), 406, "PGRST116",
            "Cannot coerce the result to a single JSON object", "The result contains 0 rows");
    }

    [Fact]
    public async Task Csv_has_a_header_line_and_quotes_text_and_arrays()
    {
        var r = await Get("/books?select=id,title,price,tags&id=in.(1,5)&order=id", ("Accept", "text/csv"));
        Assert.Equal(200, r.Status);
        Assert.Equal("text/csv; charset=utf-8", r.Header("Content-Type"));
        Assert.Equal("id,title,price,tags\n1,\"The Dispossessed\",9.99,\"{scifi,utopia}\"\n5,\"Untitled draft\",,{}", r.Body);
    }

    [Fact]
    public async Task Csv_is_chosen_by_quality_among_several_types()
    {
        var r = await Get("/authors?select=id&order=id&limit=2", ("Accept", "application/xml;q=1, text/csv;q=0.5"));
        Assert.Equal(200, r.Status);
        Assert.Equal("text/csv; charset=utf-8", r.Header("Content-Type"));
        Assert.Equal("id\n1\n2", r.Body);
    }

    [Fact]
    public async Task Nulls_stripped_drops_null_keys_from_arrays()
    {
        var r = await Get("/books?select=id,author_id,meta&id=in.(4,5)&order=id", ("Accept", "application/vnd.pgrst.array+json;nulls=stripped"));
        Assert.Equal(200, r.Status);
        Assert.Equal("""[{"id":4,"author_id":3},{"id":5}]""", r.Body);
        Assert.Equal("application/vnd.pgrst.array+json; nulls=stripped; charset=utf-8", r.Header("Content-Type"));
    }

    [Fact]
    public async Task Nulls_stripped_drops_null_keys_from_a_singular_object()
    {
        var r = await Get("/books?select=id,author_id,meta&id=eq.5", ("Accept", Singular + ";nulls=stripped"));
        Assert.Equal(200, r.Status);
        Assert.Equal("""{"id":5}""", r.Body);
        Assert.Equal("application/vnd.pgrst.object+json; nulls=stripped; charset=utf-8", r.Header("Content-Type"));
    }

    [Theory]
    [InlineData("application/xml")]
    [InlineData("foo/bar")]
    [InlineData("garbage")]
    public async Task An_unavailable_media_type_is_PGRST107(string accept)
    {
        Expect.Error(await Get("/books?select=id", ("Accept", accept)), 406, "PGRST107",
            "None of these media types are available: " + accept);
    }

    [Fact]
    public async Task Any_media_type_means_json()
    {
        var r = await Get("/books?select=id&id=eq.1", ("Accept", "*/*"));
        Expect.Ok(r, """[{"id":1}]""");
    }
}
