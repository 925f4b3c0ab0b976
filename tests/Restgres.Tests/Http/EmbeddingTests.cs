using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Http;

/// <summary>Resource embedding: to-one, to-many, many-to-many, views, !inner, spreads, hints and their errors.</summary>
[Collection("pg")]
public sealed class EmbeddingTests(PgClusterFixture pg, ReadPathApi api) : IClassFixture<ReadPathApi>
{
    private async Task<Reply> Get(string url, params (string, string)[] headers) =>
        await (await api.DefaultAsync(pg)).GetAsync(url, headers);

    [Fact]
    public async Task A_to_one_embed_is_an_object_or_null()
    {
        var r = await Get("/books?select=id,author:authors(name,country)&id=in.(3,5)&order=id");
        Expect.Ok(r, Expect.Rows(
            """{"id":3,"author":{"name": "Stanisław Lem", "country": "PL"}}""",
            """{"id":5,"author":null}"""));
    }

    [Fact]
    public async Task A_to_many_embed_is_an_array_with_its_own_order_filter_and_limit()
    {
        var r = await Get("/authors?select=name,books(id,title)&id=in.(1,4)&order=id&books.order=id.desc");
        Expect.Ok(r, Expect.Rows(
            """{"name":"Ursula K. Le Guin","books":[{"id": 2, "title": "The Left Hand of Darkness"}, {"id": 1, "title": "The Dispossessed"}]}""",
            """{"name":"Anonymous","books":[]}"""));

        var filtered = await Get("/authors?select=name,books(id)&books.id=gt.1&id=lt.3&order=id");
        Expect.Ok(filtered, Expect.Rows("""{"name":"Ursula K. Le Guin","books":[{"id": 2}]}""", """{"name":"Stanisław Lem","books":[{"id": 3}]}"""));

        var limited = await Get("/authors?select=name,books(id)&books.limit=1&books.order=id.desc&id=eq.1");
        Expect.Ok(limited, """[{"name":"Ursula K. Le Guin","books":[{"id": 2}]}]""");
    }

    [Fact]
    public async Task A_many_to_many_embed_goes_through_the_junction_table()
    {
        Expect.Ok(await Get("/books?select=title,categories(name)&id=in.(3,5)&order=id&categories.order=id"), Expect.Rows(
            """{"title":"Solaris","categories":[{"name": "Science fiction"}, {"name": "Classics"}]}""",
            """{"title":"Untitled draft","categories":[]}"""));
        Expect.Ok(await Get("/categories?select=name,books(title)&id=eq.2&books.order=id"),
            """[{"name":"Classics","books":[{"title": "Solaris"}, {"title": "Kindred"}]}]""");
    }

    [Fact]
    public async Task Inner_embeds_filter_the_parent_rows()
    {
        Expect.Ok(await Get("/books?select=id,authors(name)&authors.country=eq.PL&order=id"), Expect.Rows(
            """{"id":1,"authors":null}""", """{"id":2,"authors":null}""", """{"id":3,"authors":{"name": "Stanisław Lem"}}""",
            """{"id":4,"authors":null}""", """{"id":5,"authors":null}"""));
        Expect.Ok(await Get("/books?select=id,authors!inner(name)&authors.country=eq.PL"),
            """[{"id":3,"authors":{"name": "Stanisław Lem"}}]""");
        Expect.Ok(await Get("/authors?select=name,books!inner(id)&books.published=gt.1970&order=id"), Expect.Rows(
            """{"name":"Ursula K. Le Guin","books":[{"id": 1}]}""", """{"name":"Octavia E. Butler","books":[{"id": 4}]}"""));
    }

    [Fact]
    public async Task Null_filters_on_an_embed_keep_parents_with_or_without_children()
    {
        Expect.Ok(await Get("/authors?select=id,books(id)&books=is.null&order=id"), """[{"id":4,"books":[]}]""");
        Expect.Ok(await Get("/authors?select=id,books(id)&books=not.is.null&books.id=eq.3"),
            """[{"id":2,"books":[{"id": 3}]}]""");
    }

    [Fact]
    public async Task A_spread_embed_lifts_the_columns_into_the_parent()
    {
        Expect.Ok(await Get("/books?select=id,...authors(author_name:name)&id=lt.3&order=id"), Expect.Rows(
            """{"id":1,"author_name":"Ursula K. Le Guin"}""", """{"id":2,"author_name":"Ursula K. Le Guin"}"""));
    }

    [Fact]
    public async Task Views_embed_through_the_keys_of_their_base_tables()
    {
        Expect.Ok(await Get("/cheap_books?select=title,authors(name)&order=id"), Expect.Rows(
            """{"title":"The Dispossessed","authors":{"name": "Ursula K. Le Guin"}}""",
            """{"title":"Solaris","authors":{"name": "Stanisław Lem"}}"""));
        Expect.Ok(await Get("/authors?select=name,cheap_books(title)&id=eq.2"),
            """[{"name":"Stanisław Lem","cheap_books":[{"title": "Solaris"}]}]""");
    }

    [Fact]
    public async Task Ordering_by_a_to_one_embed_uses_its_column()
    {
        Expect.Ok(await Get("/books?select=id,authors(name)&order=authors(name).desc.nullslast,id&limit=3"), Expect.Rows(
            """{"id":1,"authors":{"name": "Ursula K. Le Guin"}}""", """{"id":2,"authors":{"name": "Ursula K. Le Guin"}}""",
            """{"id":3,"authors":{"name": "Stanisław Lem"}}"""));
    }

    [Fact]
    public async Task Computed_fields_and_embeds_combine()
    {
        Expect.Ok(await Get("/books?select=id,label,authors(name)&id=eq.1"),
            """[{"id":1,"label":"The Dispossessed (1974)","authors":{"name": "Ursula K. Le Guin"}}]""");
    }

    [Fact]
    public async Task An_ambiguous_embed_is_PGRST201_with_the_candidates()
    {
        var r = await Get("/loans?select=id,people(name)");
        Expect.Json(r, 300, """{"code":"PGRST201","details":[{"cardinality":"many-to-one","embedding":"loans with people","relationship":"loans_borrower_id_fkey using loans(borrower_id) and people(id)"},{"cardinality":"many-to-one","embedding":"loans with people","relationship":"loans_lender_id_fkey using loans(lender_id) and people(id)"}],"hint":"Try changing 'people' to one of the following: 'people!loans_borrower_id_fkey', 'people!loans_lender_id_fkey'. Find the desired relationship in the 'details' key.","message":"Could not embed because more than one relationship was found for 'loans' and 'people'"}""");
        Assert.Equal("PostgREST; error=PGRST201", r.Header("Proxy-Status"));
    }

    [Fact]
    public async Task Hints_by_column_or_by_constraint_disambiguate()
    {
        Expect.Ok(await Get("/loans?select=id,borrower:people!borrower_id(name),lender:people!loans_lender_id_fkey(name)&order=id"), Expect.Rows(
            """{"id":1,"borrower":{"name": "Ada"},"lender":{"name": "Brian"}}""",
            """{"id":2,"borrower":{"name": "Chidi"},"lender":{"name": "Brian"}}"""));
    }

    [Fact]
    public async Task An_unrelated_embed_is_PGRST200()
    {
        Expect.Error(await Get("/books?select=id,reviews(*)"), 400, "PGRST200",
            "Could not find a relationship between 'books' and 'reviews' in the schema cache",
            "Searched for a foreign key relationship between 'books' and 'reviews' in the schema 'api', but no matches were found.");
    }

    [Fact]
    public async Task A_misspelt_embed_is_PGRST200_with_a_suggestion()
    {
        Expect.Error(await Get("/books?select=id,authorz(name)"), 400, "PGRST200",
            "Could not find a relationship between 'books' and 'authorz' in the schema cache",
            "Searched for a foreign key relationship between 'books' and 'authorz' in the schema 'api', but no matches were found.",
            "Perhaps you meant 'authors' instead of 'authorz'.");
    }
}
