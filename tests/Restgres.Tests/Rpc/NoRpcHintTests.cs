using Restgres.Plan;
using Restgres.SchemaCache;
using Xunit;
using static Restgres.Tests.Rpc.RpcFixtures;

namespace Restgres.Tests.Rpc;

/// <summary>The "Perhaps you meant ..." hints, with PostgREST's own doctest examples (Error.hs noRpcHint).</summary>
public sealed class NoRpcHintTests
{
    private static readonly QualifiedIdentifier[] AllProcs =
        [new("api", "test"), new("api", "another"), new("private", "other")];

    private static readonly Routine[] ProcsDesc =
    [
        Fn("test", P("val"), P("param"), P("name")),
        Fn("test", P("id"), P("attr")),
    ];

    public static TheoryData<string, string[], bool, string?> Cases => new()
    {
        // function, argument names, overloads exist?, hint
        { "testt", ["val", "param", "name"], false, "Perhaps you meant to call the function api.test" },
        { "other", [], false, null },
        { "noclosealternative", [], false, null },
        { "test", ["vall", "pqaram", "nam"], true, "Perhaps you meant to call the function api.test(name, param, val)" },
        { "test", ["val", "param"], true, "Perhaps you meant to call the function api.test(name, param, val)" },
        { "test", ["id", "attrs"], true, "Perhaps you meant to call the function api.test(attr, id)" },
        { "test", ["id"], true, "Perhaps you meant to call the function api.test(attr, id)" },
        { "test", ["noclosealternative"], true, null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Suggests_the_closest_function_or_parameter_list(string name, string[] keys, bool overloaded, string? hint) =>
        Assert.Equal(hint, CallPlanner.NoRpcHint("api", name, keys.Order(StringComparer.Ordinal), AllProcs, overloaded ? ProcsDesc : []));

    [Fact]
    public void Fuzzy_set_scores_an_exact_case_insensitive_match_as_one()
    {
        var set = new FuzzySet(["Projects", "items"]);
        Assert.Equal([(1.0, "Projects")], set.Get("projects", 0.5));
    }

    [Fact]
    public void Fuzzy_set_needs_a_shared_n_gram_before_comparing_edit_distance()
    {
        // "ab" and "xy" share no bigram, so nothing is returned even with a zero minimum score.
        Assert.Empty(new FuzzySet(["xy"]).Get("ab", 0));
        Assert.Equal("sayhello", new FuzzySet(["sayhello", "add_them"]).GetOne("sayhell", 0.75));
    }

    [Theory]
    [InlineData("kitten", "sitting", 1 - 3.0 / 7)]
    [InlineData("", "", 1.0)]
    [InlineData("abc", "abc", 1.0)]
    [InlineData("abc", "", 0.0)]
    public void Levenshtein_similarity_is_normalised_by_the_longer_string(string a, string b, double expected) =>
        Assert.Equal(expected, FuzzySet.LevenshteinSimilarity(a, b), 10);
}
