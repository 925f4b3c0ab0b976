using Restgres.Requests;
using Xunit;

namespace Restgres.Tests.Requests;

/// <summary>The Range header and range arithmetic (PostgREST's RangeQuery.hs over Data.Ranged).</summary>
public sealed class NonnegRangeTests
{
    private static string Show(NonnegRange r) => r.IsEmpty ? "empty" : r.Upper is { } u ? $"{r.Lower}..{u}" : $"{r.Lower}..";

    public static TheoryData<string?, string> Headers => new()
    {
        // Range header, rangeParse's result: ^([0-9]+)-([0-9]*)$, anything else is all rows
        { null, "0.." },
        { "0-9", "0..9" },
        { "5-5", "5..5" },
        { "10-", "10.." },
        { "0-", "0.." },
        { "007-010", "7..10" },
        { "10-5", "empty" },
        { "1-0", "empty" },
        { "", "0.." },
        { "-5", "0.." },
        { "a-b", "0.." },
        { "0-9,20-30", "0.." },
        { " 0-9", "0.." },
        { "0-9 ", "0.." },
        { "0 - 9", "0.." },
        { "items=0-9", "0.." },
        { "bytes=0-9", "0.." },
        { "+1-2", "0.." },
        { "1--2", "0.." },
        { "١-٢", "0.." },
    };

    [Theory]
    [MemberData(nameof(Headers))]
    public void Range_header_parses_like_PostgREST(string? header, string expected) =>
        Assert.Equal(expected, Show(NonnegRange.ParseHeader(header)));

    [Fact]
    public void Limit_and_offset_of_a_range()
    {
        var r = NonnegRange.ParseHeader("10-19");
        Assert.Equal(10, r.Offset);
        Assert.Equal(10, r.Limit);
        Assert.Null(NonnegRange.ParseHeader("10-").Limit);
        Assert.True(NonnegRange.All.IsAll);
        Assert.False(r.IsAll);
    }

    [Fact]
    public void Restricting_caps_the_number_of_rows_from_the_offset()
    {
        Assert.Equal("0..9", Show(NonnegRange.All.Restrict(10)));
        Assert.Equal("5..14", Show(NonnegRange.Geq(5).Restrict(10)));
        Assert.Equal("5..7", Show(new NonnegRange(5, 7).Restrict(10)));
        Assert.Equal("5..6", Show(new NonnegRange(5, 9).Restrict(2)));
        Assert.Equal("5..9", Show(new NonnegRange(5, 9).Restrict(null)));
        Assert.Equal("empty", Show(new NonnegRange(5, 2).Restrict(3)));
    }

    [Fact]
    public void Limit_zero_is_the_one_empty_range_that_is_allowed()
    {
        var zero = NonnegRange.All.Restrict(0);
        Assert.True(zero.IsEmpty);
        Assert.True(zero.HasLimitZero);
        Assert.Equal(NonnegRange.LimitZero, zero);
        Assert.Equal(0, zero.Limit);
        Assert.Equal(NonnegRange.LimitZero, NonnegRange.ConvertToLimitZero(zero, NonnegRange.Geq(3)));
        Assert.Equal(NonnegRange.Geq(3), NonnegRange.ConvertToLimitZero(NonnegRange.All, NonnegRange.Geq(3)));
    }

    [Fact]
    public void Intersection_keeps_the_common_rows_and_all_empty_ranges_are_the_same()
    {
        Assert.Equal("5..9", Show(NonnegRange.ParseHeader("0-9").Intersect(NonnegRange.Geq(5))));
        Assert.Equal("2..4", Show(NonnegRange.ParseHeader("2-").Intersect(NonnegRange.All.Restrict(5))));
        Assert.True(NonnegRange.ParseHeader("0-3").Intersect(NonnegRange.Geq(5)).IsEmpty);
        Assert.True(new NonnegRange(3, 1).SameAs(new NonnegRange(9, 0)));
        Assert.False(new NonnegRange(3, 1).SameAs(NonnegRange.All));
    }
}
