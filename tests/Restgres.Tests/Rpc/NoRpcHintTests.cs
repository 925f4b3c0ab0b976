using System.Collections.Frozen;
using Restgres.Catalog;
using Restgres.Errors;
using Restgres.Plan;
using Xunit;
using static Restgres.Tests.Rpc.RpcFixtures;

namespace Restgres.Tests.Rpc;

/// <summary>The "Perhaps you meant ..." hints, with PostgREST's own doctest examples (Error.hs noRpcHint, noRelBetweenHint).</summary>
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

    [Fact]
    public void Names_longer_than_an_identifier_get_no_hint_and_cost_no_comparison_grid()
    {
        // A 130k-character name against 200 functions built |name| x |candidate| grids: seconds and gigabytes.
        var procs = Enumerable.Range(0, 200).Select(i => new QualifiedIdentifier("api", "function_number_" + i)).ToArray();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Assert.Null(CallPlanner.NoRpcHint("api", new string('f', 130_000), [], procs, []));
        Assert.Null(CallPlanner.NoRpcHint("api", "function_number_" + new string('1', 48), [], procs, []));
        // 64 bytes (PostgreSQL's limit is 63): a name the database cannot hold gets no suggestion.
        Assert.Null(CallPlanner.NoRpcHint("api", new string('t', 64), [], [new QualifiedIdentifier("api", new string('t', 63))], []));
        Assert.Equal("Perhaps you meant to call the function api." + new string('t', 63),
            CallPlanner.NoRpcHint("api", new string('t', 62) + "x", [], [new QualifiedIdentifier("api", new string('t', 63))], []));
        // A parameter list of 50k names against short ones: nothing within reach, and no grid built.
        var keys = Enumerable.Range(0, 50_000).Select(i => "arg" + i).Order(StringComparer.Ordinal);
        Assert.Null(CallPlanner.NoRpcHint("api", "test", keys, AllProcs, ProcsDesc));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), sw.Elapsed.ToString());
    }

    [Fact]
    public void Candidates_too_long_or_too_short_to_reach_the_minimum_are_not_returned()
    {
        // Levenshtein similarity is at most the ratio of the lengths: the skipped candidates could never have passed.
        var set = new FuzzySet(["abcdefghijkl", "abcd"]);
        Assert.Equal([(1 - 2.0 / 6, "abcd"), (0.5, "abcdefghijkl")], set.Get("abcdef", 0.33));
        Assert.Empty(set.Get("abcdefghijklmnopqrstuvwxyzabcdefghijklmn", 0.33));
        Assert.Equal("abcdefghijkl", new FuzzySet(["abcdefghijkl", "ab"]).GetOne("abcdefghijk", 0.33));
        Assert.Null(new FuzzySet(["ab", "abb"]).GetOne("a" + new string('b', 100_000), 0.33));
    }

    [Fact]
    public void A_long_name_against_many_tables_allocates_no_comparison_grids()
    {
        // Table and relationship hints built a |name| x |candidate| grid per candidate: with 20 tables and a
        // 130k-character name, 134 MB per request. Allocation is counted, not timed, so this cannot flake.
        var tables = Enumerable.Range(0, 20).Select(i => $"table_{i:D2}_" + new string('t', 54)).ToList();
        var set = new FuzzySet(tables);
        var name = new string('t', 130_000);
        Assert.False(Fuzzy.Hintable(name));
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Null(set.GetOne(name, 0.33));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1_000_000, "allocated a grid");
        Assert.Equal(tables[7], set.GetOne(tables[7][..^1] + "x", FuzzySet.NameMinScore));
    }

    private static SchemaCache FilmRelationships()
    {
        static QualifiedIdentifier Qi(string name) => new("api", name);
        static Relationship Rel(string foreign) =>
            new(Qi("films"), Qi(foreign), false, Cardinality.ManyToOne, foreign + "_fkey", [], null, false, false);
        return new SchemaCache
        {
            Tables = System.Collections.Frozen.FrozenDictionary<QualifiedIdentifier, Table>.Empty,
            Relationships = new Dictionary<QualifiedIdentifier, IReadOnlyList<Relationship>>
            {
                [Qi("films")] = [Rel("directors"), Rel("roles"), Rel("actors")],
            }.ToFrozenDictionary(),
            Routines = System.Collections.Frozen.FrozenDictionary<QualifiedIdentifier, IReadOnlyList<Routine>>.Empty,
            Representations = System.Collections.Frozen.FrozenDictionary<(string, string), DataRepresentation>.Empty,
        };
    }

    [Theory]
    [InlineData("film", "directors", "api", "Perhaps you meant 'films' instead of 'film'.")]
    [InlineData("films", "role", "api", "Perhaps you meant 'roles' instead of 'role'.")]
    [InlineData("films", "actors", "api", null)]
    [InlineData("noclosealternative", "roles", "api", null)]
    [InlineData("films", "noclosealternative", "api", null)]
    [InlineData("films", "noclosealternative", "noclosealternative", null)]
    // fuzzyset matches case-insensitively: a child that differs only in case is found, so the hint is the problem.
    [InlineData("films", "Actors", "api", null)]
    public void Relationship_hints_come_from_the_same_fuzzy_set(string parent, string child, string schema, string? hint) =>
        Assert.Equal(ApiError.Str(hint), RelErrors.NoRelBetween(parent, child, null, schema, FilmRelationships()).HintJson);
}
