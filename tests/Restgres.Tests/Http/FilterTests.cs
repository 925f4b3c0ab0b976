using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Http;

/// <summary>Every filter operator family, not, any/all, and/or trees; each answers the ids of the matching rows.</summary>
[Collection("pg")]
public sealed class FilterTests(PgClusterFixture pg, ReadPathApi api) : IClassFixture<ReadPathApi>
{
    private async Task AssertIds(string resourceAndFilters, params int[] ids)
    {
        var s = await api.DefaultAsync(pg);
        var r = await s.GetAsync(resourceAndFilters + "&select=id&order=id");
        Expect.Ok(r, Expect.Rows([.. ids.Select(id => $"{{\"id\":{id}}}")]));
    }

    [Theory]
    [InlineData("/books?id=eq.3", new[] { 3 })]
    [InlineData("/books?id=neq.1", new[] { 2, 3, 4, 5 })]
    [InlineData("/books?id=gt.3", new[] { 4, 5 })]
    [InlineData("/books?id=gte.4", new[] { 4, 5 })]
    [InlineData("/books?id=lt.2", new[] { 1 })]
    [InlineData("/books?id=lte.2", new[] { 1, 2 })]
    [InlineData("/books?price=gt.9.99", new[] { 2, 4 })]
    public async Task Comparison_operators_compare(string url, int[] ids) => await AssertIds(url, ids);

    [Theory]
    [InlineData("/books?title=like.*Dark*", new[] { 2 })]
    [InlineData("/books?title=ilike.*DARK*", new[] { 2 })]
    [InlineData("/books?title=match.^[KS]", new[] { 3, 4 })]
    [InlineData("/books?title=imatch.^the", new[] { 1, 2 })]
    [InlineData("/books?title=not.like.The*", new[] { 3, 4, 5 })]
    public async Task Pattern_operators_match_like_and_regular_expressions(string url, int[] ids) => await AssertIds(url, ids);

    [Theory]
    [InlineData("/books?id=in.(1,3,9)", new[] { 1, 3 })]
    [InlineData("/books?id=not.in.(1,2,3)", new[] { 4, 5 })]
    [InlineData("/books?title=in.(\"Solaris\",\"Kindred\")", new[] { 3, 4 })]
    [InlineData("/books?title=eq.\"Solaris\"", new int[0])]
    public async Task In_lists_take_quoted_values_but_eq_takes_quotes_literally(string url, int[] ids) => await AssertIds(url, ids);

    [Theory]
    [InlineData("/books?available=is.true", new[] { 1, 3 })]
    [InlineData("/books?available=is.false", new[] { 2 })]
    [InlineData("/books?available=is.null", new[] { 4, 5 })]
    [InlineData("/books?available=is.unknown", new[] { 4, 5 })]
    [InlineData("/books?available=is.not_null", new[] { 1, 2, 3 })]
    [InlineData("/books?available=not.is.null", new[] { 1, 2, 3 })]
    [InlineData("/books?available=isdistinct.true", new[] { 2, 4, 5 })]
    public async Task Is_and_isdistinct_handle_booleans_and_nulls(string url, int[] ids) => await AssertIds(url, ids);

    [Theory]
    [InlineData("/books?title=fts.dispossessed", new[] { 1 })]
    [InlineData("/books?title=plfts.left%20hand", new[] { 2 })]
    [InlineData("/books?title=phfts(english).left%20hand", new[] { 2 })]
    [InlineData("/books?title=wfts.darkness%20or%20solaris", new[] { 2, 3 })]
    [InlineData("/books?title=not.fts.dispossessed", new[] { 2, 3, 4, 5 })]
    public async Task Full_text_search_operators_take_an_optional_language(string url, int[] ids) => await AssertIds(url, ids);

    [Theory]
    [InlineData("/books?tags=cs.{scifi}", new[] { 1, 2, 3 })]
    [InlineData("/books?tags=cd.{scifi,utopia}", new[] { 1, 2, 5 })]
    [InlineData("/books?tags=ov.{utopia,fiction}", new[] { 1, 4 })]
    [InlineData("/books?meta=cs.{\"pages\":204}", new[] { 3 })]
    public async Task Containment_operators_work_on_arrays_and_jsonb(string url, int[] ids) => await AssertIds(url, ids);

    [Theory]
    [InlineData("/reservations?during=sl.[6,8)", new[] { 1 })]
    [InlineData("/reservations?during=sr.[2,4)", new[] { 2 })]
    [InlineData("/reservations?during=nxr.[5,6)", new[] { 1 })]
    [InlineData("/reservations?during=nxl.[5,6)", new[] { 2 })]
    [InlineData("/reservations?during=adj.[10,12)", new[] { 2 })]
    [InlineData("/reservations?during=ov.[4,6)", new[] { 1, 2, 3 })]
    [InlineData("/reservations?during=cs.[2,3]", new[] { 1 })]
    [InlineData("/reservations?during=cd.[0,7)", new[] { 1, 3 })]
    public async Task Range_operators_compare_ranges(string url, int[] ids) => await AssertIds(url, ids);

    [Theory]
    [InlineData("/books?title=like(any).{*Dark*,Sol*}", new[] { 2, 3 })]
    [InlineData("/books?title=like(all).{The*,*Dark*}", new[] { 2 })]
    [InlineData("/books?id=eq(any).{1,3}", new[] { 1, 3 })]
    [InlineData("/books?id=gt(all).{1,3}", new[] { 4, 5 })]
    public async Task Any_and_all_modifiers_compare_with_a_list(string url, int[] ids) => await AssertIds(url, ids);

    [Theory]
    [InlineData("/books?or=(id.eq.1,price.gt.14)", new[] { 1, 4 })]
    [InlineData("/books?and=(available.is.true,price.lt.9)", new[] { 3 })]
    [InlineData("/books?or=(id.eq.5,and(available.is.true,price.not.lt.9))", new[] { 1, 5 })]
    [InlineData("/books?not.or=(id.eq.1,id.eq.2)", new[] { 3, 4, 5 })]
    [InlineData("/books?or=(title.in.(\"Solaris\",\"Kindred\"),tags.cs.{utopia})", new[] { 1, 3, 4 })]
    [InlineData("/books?available=is.true&or=(id.eq.1,id.eq.2)", new[] { 1 })]
    [InlineData("/books?or=(id.eq.1,id.eq.3)&or=(id.eq.3,id.eq.4)", new[] { 3 })]
    [InlineData("/books?or=(meta->>pages.gt.300,not.and(id.gt.1,id.lt.5))", new[] { 1, 2, 5 })]
    public async Task Logic_trees_nest_and_combine_with_other_filters(string url, int[] ids) => await AssertIds(url, ids);

    [Fact]
    public async Task Repeated_filters_on_one_column_all_apply()
    {
        await AssertIds("/books?id=gt.1&id=lt.4", 2, 3);
    }

    [Fact]
    public async Task Percent_encoded_names_and_values_are_decoded()
    {
        await AssertIds("/books?%74itle=eq.The%20Dispossessed", 1);
        await AssertIds("/authors?name=eq.Stanis%C5%82aw%20Lem", 2);
    }

    [Fact]
    public async Task A_value_of_the_wrong_type_is_PostgreSQLs_400()
    {
        var s = await api.DefaultAsync(pg);
        Expect.Error(await s.GetAsync("/books?id=eq.abc"), 400, "22P02", "invalid input syntax for type integer: \"abc\"");
        Expect.Error(await s.GetAsync("/books?tags=cs.scifi"), 400, "22P02", "malformed array literal: \"scifi\"",
            "Array value must start with \"{\" or dimension information.");
    }

    [Fact]
    public async Task An_unknown_text_search_language_is_PostgreSQLs_400()
    {
        var s = await api.DefaultAsync(pg);
        Expect.Error(await s.GetAsync("/books?title=fts(klingon).foo"), 400, "42704", "text search configuration \"klingon\" does not exist");
    }
}
