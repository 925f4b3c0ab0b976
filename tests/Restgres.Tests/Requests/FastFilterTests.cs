using Restgres.Requests;
using Xunit;

namespace Restgres.Tests.Requests;

/// <summary>The fast filter reader agrees with the Parsec grammar wherever it answers, and defers everywhere else.</summary>
public sealed class FastFilterTests
{
    public static TheoryData<string> Taken => new()
    {
        "eq.5", "eq.", "eq..", "eq.a.b.c", "neq.x", "gt.1", "gte.1", "lt.1", "lte.1", "like.*a*", "ilike.A%", "match.^a",
        "imatch.x", "cs.{1,2}", "cd.{1}", "ov.[1,2]", "sl.(1,2)", "sr.(1,2)", "nxr.(1,2)", "nxl.(1,2)", "adj.(1,2)",
        "isdistinct.5", "not.eq.5", "not.like.a b", "eq.é%20ü", "eq.in.(1,2)", "eq.not.eq.1", "eq.(any)", "neq.\"quoted\"",
    };

    public static TheoryData<string> Deferred => new()
    {
        "in.(1,2)", "is.null", "is.x", "fts.cat", "fts(english).cat", "plfts.a", "phfts.a", "wfts.a", "eq(any).{1,2}",
        "like(all).{a%}", "not.not.eq.1", "not.in.(1)", "eq", "eqx.1", "EQ.1", "", ".eq.1", "not.", "not", "noteq.1",
        "unknown.5", "is.", "isdistinct", "5",
    };

    [Theory]
    [MemberData(nameof(Taken))]
    public void Matches_the_grammar(string value)
    {
        var fast = FastFilter.TryParse(value);
        Assert.NotNull(fast);
        Assert.True(Parsec.Run(Grammar.FilterExpr, value, "", out var slow, out _));
        Assert.Equal(slow with { RawValue = value }, fast);
        Assert.True(Parsec.Run(Grammar.RpcFilterExpr, value, "", out var rpc, out _));
        Assert.Equal(rpc! with { RawValue = value }, fast);
    }

    [Theory]
    [MemberData(nameof(Deferred))]
    public void Defers_to_the_grammar(string value) => Assert.Null(FastFilter.TryParse(value));

    [Fact]
    public void Query_params_use_the_same_filters_either_way()
    {
        var qp = QueryParams.Parse(false, "id=eq.7&name=not.like.a*&tags=cs.%7B1%7D&x=in.(1,2)");
        Assert.Equal(
            ["eq.7", "not.like.a*", "cs.{1}", "in.(1,2)"],
            qp.Filters.Select(f => f.Filter.Expr.RawValue).ToArray());
        Assert.Equal(new QuantOp(QuantOperator.Equal, null, "7"), qp.Filters[0].Filter.Expr.Operation);
        Assert.True(qp.Filters[1].Filter.Expr.Not);
        Assert.Equal(["1", "2"], Assert.IsType<InOp>(qp.Filters[3].Filter.Expr.Operation).Values.ToArray());
    }
}
