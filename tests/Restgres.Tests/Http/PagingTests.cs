using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Http;

/// <summary>order, limit/offset, Range, Content-Range with 200/206/416, Prefer: count=..., db-max-rows.</summary>
[Collection("pg")]
public sealed class PagingTests(PgClusterFixture pg, ReadPathApi api) : IClassFixture<ReadPathApi>
{
    private async Task<Reply> Get(string url, params (string, string)[] headers) =>
        await (await api.DefaultAsync(pg)).GetAsync(url, headers);

    private async Task<Reply> GetCapped(string url, params (string, string)[] headers) =>
        await (await api.ExtrasAsync(pg)).GetAsync(url, headers);

    [Fact]
    public async Task Order_desc_with_nullslast_puts_nulls_at_the_end()
    {
        var r = await Get("/books?select=id,price&order=price.desc.nullslast");
        Expect.Ok(r, Expect.Rows(
            """{"id":4,"price":15.00}""", """{"id":2,"price":12.50}""", """{"id":1,"price":9.99}""", """{"id":3,"price":8.00}""",
            """{"id":5,"price":null}"""));
    }

    [Fact]
    public async Task Order_asc_with_nullsfirst_puts_nulls_first()
    {
        var r = await Get("/books?select=id,price&order=price.asc.nullsfirst");
        Expect.Ok(r, Expect.Rows(
            """{"id":5,"price":null}""", """{"id":3,"price":8.00}""", """{"id":1,"price":9.99}""", """{"id":2,"price":12.50}""",
            """{"id":4,"price":15.00}"""));
    }

    [Fact]
    public async Task Order_takes_several_columns_and_json_paths()
    {
        Expect.Ok(await Get("/books?select=id&order=author_id.desc,published"),
            Expect.Rows("""{"id":5}""", """{"id":4}""", """{"id":3}""", """{"id":2}""", """{"id":1}"""));
        Expect.Ok(await Get("/books?select=id&order=meta->pages.asc.nullsfirst,id"),
            Expect.Rows("""{"id":4}""", """{"id":5}""", """{"id":3}""", """{"id":2}""", """{"id":1}"""));
    }

    [Fact]
    public async Task Limit_and_offset_page_through_the_rows()
    {
        var r = await Get("/books?select=id&limit=2&offset=1&order=id");
        Expect.Ok(r, Expect.Rows("""{"id":2}""", """{"id":3}"""));
        Assert.Equal("1-2/*", r.Header("Content-Range"));
    }

    [Fact]
    public async Task A_range_header_pages_like_limit_and_offset()
    {
        var r = await Get("/books?select=id&order=id", ("Range", "1-2"));
        Expect.Ok(r, Expect.Rows("""{"id":2}""", """{"id":3}"""));
        Assert.Equal("1-2/*", r.Header("Content-Range"));
        var open = await Get("/books?select=id&order=id", ("Range-Unit", "items"), ("Range", "3-"));
        Expect.Ok(open, Expect.Rows("""{"id":4}""", """{"id":5}"""));
        Assert.Equal("3-4/*", open.Header("Content-Range"));
    }

    [Fact]
    public async Task A_partial_range_with_an_exact_count_is_206()
    {
        var r = await Get("/books?select=id&order=id", ("Range", "1-2"), ("Prefer", "count=exact"));
        Expect.Json(r, 206, Expect.Rows("""{"id":2}""", """{"id":3}"""));
        Assert.Equal("1-2/5", r.Header("Content-Range"));
        Assert.Equal("count=exact", r.Header("Preference-Applied"));
    }

    [Fact]
    public async Task A_whole_result_with_an_exact_count_is_200()
    {
        var r = await Get("/books?select=id&order=id", ("Prefer", "count=exact"));
        Assert.Equal(200, r.Status);
        Assert.Equal("0-4/5", r.Header("Content-Range"));
    }

    [Fact]
    public async Task A_range_past_the_end_without_a_count_is_an_empty_200()
    {
        var r = await Get("/books?select=id&order=id", ("Range", "10-12"));
        Expect.Ok(r, "[]");
        Assert.Equal("*/*", r.Header("Content-Range"));
    }

    [Fact]
    public async Task An_offset_past_the_end_with_an_exact_count_is_416()
    {
        var r = await Get("/books?select=id&order=id&offset=10", ("Prefer", "count=exact"));
        Expect.Json(r, 416, Expect.ErrorBody("PGRST103", "Requested range not satisfiable", "An offset of 10 was requested, but there are only 5 rows."));
        Assert.Equal("*/5", r.Header("Content-Range"));
    }

    [Fact]
    public async Task A_range_with_its_bounds_reversed_is_416()
    {
        Expect.Error(await Get("/books?select=id", ("Range", "3-1")), 416, "PGRST103", "Requested range not satisfiable",
            "The lower boundary must be lower than or equal to the upper boundary in the Range header.");
    }

    [Fact]
    public async Task A_negative_limit_is_416()
    {
        Expect.Error(await Get("/books?select=id&limit=-1"), 416, "PGRST103", "Requested range not satisfiable",
            "Limit should be greater than or equal to zero.");
    }

    [Fact]
    public async Task A_malformed_range_header_is_ignored()
    {
        var r = await Get("/books?select=id&order=id", ("Range", "abc"));
        Assert.Equal(200, r.Status);
        Assert.Equal("0-4/*", r.Header("Content-Range"));
    }

    [Theory]
    [InlineData("planned")]
    [InlineData("estimated")]
    public async Task Planned_and_estimated_counts_come_from_the_planner(string count)
    {
        var r = await Get("/books?select=id&order=id&limit=1", ("Prefer", "count=" + count));
        Expect.Json(r, 206, """[{"id":1}]""");
        Assert.Equal("0-0/5", r.Header("Content-Range"));
        Assert.Equal("count=" + count, r.Header("Preference-Applied"));
    }

    [Fact]
    public async Task Db_max_rows_caps_the_result_but_not_the_exact_count()
    {
        var plain = await GetCapped("/books?select=id&order=id");
        Expect.Ok(plain, Expect.Rows("""{"id":1}""", """{"id":2}"""));
        Assert.Equal("0-1/*", plain.Header("Content-Range"));

        var counted = await GetCapped("/books?select=id&order=id", ("Prefer", "count=exact"));
        Expect.Json(counted, 206, Expect.Rows("""{"id":1}""", """{"id":2}"""));
        Assert.Equal("0-1/5", counted.Header("Content-Range"));
    }

    [Fact]
    public async Task Db_max_rows_also_caps_a_larger_limit()
    {
        var r = await GetCapped("/books?select=id&order=id&limit=4&offset=2");
        Expect.Ok(r, Expect.Rows("""{"id":3}""", """{"id":4}"""));
        Assert.Equal("2-3/*", r.Header("Content-Range"));
    }

    [Fact]
    public async Task An_estimated_count_above_db_max_rows_uses_the_planner()
    {
        var r = await GetCapped("/books?select=id&order=id&limit=1", ("Prefer", "count=estimated"));
        Expect.Json(r, 206, """[{"id":1}]""");
        Assert.Equal("0-0/5", r.Header("Content-Range"));
    }
}
