using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Http;

/// <summary>GET with select: columns, aliases, casts, JSON and array paths, computed fields.</summary>
[Collection("pg")]
public sealed class SelectTests(PgClusterFixture pg, ReadPathApi api) : IClassFixture<ReadPathApi>
{
    private async Task<Reply> Get(string url, params (string, string)[] headers) =>
        await (await api.DefaultAsync(pg)).GetAsync(url, headers);

    [Fact]
    public async Task Star_returns_every_column_of_every_row_as_PostgreSQL_prints_them()
    {
        var r = await Get("/books?order=id");
        Expect.Ok(r, Expect.Rows(
            """{"id":1,"title":"The Dispossessed","author_id":1,"published":1974,"price":9.99,"available":true,"tags":["scifi","utopia"],"meta":{"pages": 387, "awards": ["Hugo", "Nebula"], "publisher": {"name": "Harper"}}}""",
            """{"id":2,"title":"The Left Hand of Darkness","author_id":1,"published":1969,"price":12.50,"available":false,"tags":["scifi"],"meta":{"pages": 304, "awards": ["Hugo", "Nebula"]}}""",
            """{"id":3,"title":"Solaris","author_id":2,"published":1961,"price":8.00,"available":true,"tags":["scifi","classic"],"meta":{"pages": 204}}""",
            """{"id":4,"title":"Kindred","author_id":3,"published":1979,"price":15.00,"available":null,"tags":["fiction"],"meta":null}""",
            """{"id":5,"title":"Untitled draft","author_id":null,"published":null,"price":null,"available":null,"tags":[],"meta":null}"""));
        Assert.Equal("0-4/*", r.Header("Content-Range"));
        Assert.Equal("application/json; charset=utf-8", r.Header("Content-Type"));
        Assert.Equal("/books?order=id", r.Header("Content-Location"));
    }

    [Fact]
    public async Task Columns_can_be_renamed_with_aliases_and_converted_with_casts()
    {
        var r = await Get("/books?select=id,name:title,cost:price::text&id=eq.1");
        Expect.Ok(r, """[{"id":1,"name":"The Dispossessed","cost":"9.99"}]""");
        Assert.Equal("/books?id=eq.1&select=id%2Cname%3Atitle%2Ccost%3Aprice%3A%3Atext", r.Header("Content-Location"));
    }

    [Fact]
    public async Task Json_paths_select_nested_values_as_json_or_as_text()
    {
        var r = await Get("/books?select=id,meta->pages,meta->>pages,pub:meta->publisher->>name,first_award:meta->awards->0&id=lt.3&order=id");
        Expect.Ok(r, Expect.Rows(
            """{"id":1,"pages":387,"pages":"387","pub":"Harper","first_award":"Hugo"}""",
            """{"id":2,"pages":304,"pages":"304","pub":null,"first_award":"Hugo"}"""));
    }

    [Fact]
    public async Task Json_paths_work_in_filters_and_name_the_column_after_the_last_key()
    {
        var r = await Get("/books?select=id,meta->awards->>1&meta->>pages=gt.300&order=id");
        Expect.Ok(r, Expect.Rows("""{"id":1,"awards":"Nebula"}""", """{"id":2,"awards":"Nebula"}"""));
    }

    [Fact]
    public async Task An_array_index_selects_one_element()
    {
        Expect.Ok(await Get("/books?select=id,tags->0&id=eq.3"), """[{"id":3,"tags":"scifi"}]""");
    }

    [Fact]
    public async Task A_computed_field_is_selected_like_a_column()
    {
        var r = await Get("/books?select=id,label&id=in.(1,5)&order=id");
        Expect.Ok(r, Expect.Rows("""{"id":1,"label":"The Dispossessed (1974)"}""", """{"id":5,"label":"Untitled draft (?)"}"""));
    }

    [Fact]
    public async Task A_cast_to_text_and_a_null_filter_combine()
    {
        var r = await Get("/authors?select=id,birth::text,country&country=is.null");
        Expect.Ok(r, """[{"id":4,"birth":null,"country":null}]""");
    }

    [Fact]
    public async Task Unicode_values_come_back_as_UTF8()
    {
        var r = await Get("/authors?select=name&id=eq.2");
        Expect.Ok(r, """[{"name":"Stanisław Lem"}]""");
    }

    [Fact]
    public async Task Head_answers_the_headers_of_a_get_without_a_body()
    {
        var s = await api.DefaultAsync(pg);
        var r = await s.SendAsync(HttpMethod.Head, "/books?select=id", ("Prefer", "count=exact"));
        Assert.Equal(200, r.Status);
        Assert.Equal("", r.Body);
        Assert.Equal("0-4/5", r.Header("Content-Range"));
        Assert.Equal("count=exact", r.Header("Preference-Applied"));
        Assert.Equal("application/json; charset=utf-8", r.Header("Content-Type"));
    }

    [Fact]
    public async Task An_empty_result_is_an_empty_array_with_a_star_range()
    {
        var r = await Get("/books?select=id&id=gt.100");
        Expect.Ok(r, "[]");
        Assert.Equal("*/*", r.Header("Content-Range"));
    }
}
