using Restgres.Requests;
using Xunit;

namespace Restgres.Tests.Requests;

/// <summary>
/// The Prefer header (PostgREST's ApiRequest/Preferences.hs): its doctests, first-wins, invalid preferences and the
/// Preference-Applied header. Results print as GHC's derived Show of PostgREST's Preferences record.
/// </summary>
public sealed class PreferencesTests
{
    private static string Show(Preferences p)
    {
        static string M(string? v) => v is null ? "Nothing" : "Just " + v;
        return "Preferences {preferResolution = " + M(p.Resolution?.ToString())
            + ", preferRepresentation = " + M(p.Representation switch { PreferRepresentation.Full => "Full", PreferRepresentation.None => "None", PreferRepresentation.HeadersOnly => "HeadersOnly", _ => null })
            + ", preferCount = " + M(p.Count is { } c ? c + "Count" : null)
            + ", preferTransaction = " + M(p.Transaction?.ToString())
            + ", preferMissing = " + M(p.Missing?.ToString())
            + ", preferHandling = " + M(p.Handling?.ToString())
            + ", preferTimezone = " + M(p.Timezone is null ? null : "(PreferTimezone " + HsShow.Str(p.Timezone) + ")")
            + ", preferMaxAffected = " + M(p.MaxAffected is { } n ? "(PreferMaxAffected " + n + ")" : null)
            + ", invalidPrefs = " + HsShow.StrList(p.Invalid) + "}";
    }

    private static Preferences Parse(bool allowTx, params string[] headers) => Preferences.Parse(headers, allowTx);

    // The doctests of fromHeaders (pPrint output folded to one line).

    [Fact]
    public void One_header_with_comma_separated_values_sets_several_preferences() =>
        Assert.Equal(
            "Preferences {preferResolution = Just IgnoreDuplicates, preferRepresentation = Nothing, preferCount = Just ExactCount, preferTransaction = Nothing, preferMissing = Nothing, preferHandling = Nothing, preferTimezone = Just (PreferTimezone \"America/Los_Angeles\"), preferMaxAffected = Just (PreferMaxAffected 100), invalidPrefs = []}",
            Show(Parse(true, "resolution=ignore-duplicates, count=exact, timezone=America/Los_Angeles, max-affected=100")));

    [Fact]
    public void Multiple_headers_can_be_used() =>
        Assert.Equal(
            "Preferences {preferResolution = Just IgnoreDuplicates, preferRepresentation = Nothing, preferCount = Just ExactCount, preferTransaction = Nothing, preferMissing = Just ApplyNulls, preferHandling = Just Lenient, preferTimezone = Nothing, preferMaxAffected = Just (PreferMaxAffected 5999), invalidPrefs = [\"invalid\"]}",
            Show(Parse(true, "resolution=ignore-duplicates", "count=exact", "missing=null", "handling=lenient", "invalid", "max-affected=5999")));

    [Fact]
    public void A_preference_set_twice_keeps_the_first() =>
        Assert.Equal(PreferTransaction.Commit, Parse(true, "tx=commit, tx=rollback").Transaction);

    [Fact]
    public void A_preference_set_twice_across_headers_keeps_the_first() =>
        Assert.Equal(PreferResolution.IgnoreDuplicates, Parse(true, "resolution=ignore-duplicates", "resolution=merge-duplicates").Resolution);

    [Fact]
    public void Preferences_can_be_separated_by_any_amount_of_space() =>
        Assert.Equal(
            "Preferences {preferResolution = Nothing, preferRepresentation = Just Full, preferCount = Just ExactCount, preferTransaction = Just Commit, preferMissing = Just ApplyDefaults, preferHandling = Just Strict, preferTimezone = Nothing, preferMaxAffected = Nothing, invalidPrefs = [\"anything\"]}",
            Show(Parse(true, "count=exact,    tx=commit   ,return=representation , missing=default, handling=strict, anything")));

    // Beyond the doctests.

    public static TheoryData<string[], string> Cases => new()
    {
        // Prefer header values (tx allowed), Show of the result
        { [], "Preferences {preferResolution = Nothing, preferRepresentation = Nothing, preferCount = Nothing, preferTransaction = Nothing, preferMissing = Nothing, preferHandling = Nothing, preferTimezone = Nothing, preferMaxAffected = Nothing, invalidPrefs = []}" },
        { ["return=minimal", "return=representation"], "Preferences {preferResolution = Nothing, preferRepresentation = Just None, preferCount = Nothing, preferTransaction = Nothing, preferMissing = Nothing, preferHandling = Nothing, preferTimezone = Nothing, preferMaxAffected = Nothing, invalidPrefs = []}" },
        { ["return=headers-only, count=planned"], "Preferences {preferResolution = Nothing, preferRepresentation = Just HeadersOnly, preferCount = Just PlannedCount, preferTransaction = Nothing, preferMissing = Nothing, preferHandling = Nothing, preferTimezone = Nothing, preferMaxAffected = Nothing, invalidPrefs = []}" },
        { ["count=estimated,count=exact,tx=rollback,resolution=merge-duplicates"], "Preferences {preferResolution = Just MergeDuplicates, preferRepresentation = Nothing, preferCount = Just EstimatedCount, preferTransaction = Just Rollback, preferMissing = Nothing, preferHandling = Nothing, preferTimezone = Nothing, preferMaxAffected = Nothing, invalidPrefs = []}" },
        // Unknown values, wrong case and values of known keys are invalid; each is kept as written (stripped).
        { ["return=invalid, COUNT=exact, foo,  bar=baz ", "count = exact"], "Preferences {preferResolution = Nothing, preferRepresentation = Nothing, preferCount = Nothing, preferTransaction = Nothing, preferMissing = Nothing, preferHandling = Nothing, preferTimezone = Nothing, preferMaxAffected = Nothing, invalidPrefs = [\"return=invalid\",\"COUNT=exact\",\"foo\",\"bar=baz\",\"count = exact\"]}" },
        // An empty part between commas is an invalid (empty) preference; an empty header has no parts at all.
        { ["a,,b"], "Preferences {preferResolution = Nothing, preferRepresentation = Nothing, preferCount = Nothing, preferTransaction = Nothing, preferMissing = Nothing, preferHandling = Nothing, preferTimezone = Nothing, preferMaxAffected = Nothing, invalidPrefs = [\"a\",\"\",\"b\"]}" },
        { ["", "handling=strict"], "Preferences {preferResolution = Nothing, preferRepresentation = Nothing, preferCount = Nothing, preferTransaction = Nothing, preferMissing = Nothing, preferHandling = Just Strict, preferTimezone = Nothing, preferMaxAffected = Nothing, invalidPrefs = []}" },
        { [" "], "Preferences {preferResolution = Nothing, preferRepresentation = Nothing, preferCount = Nothing, preferTransaction = Nothing, preferMissing = Nothing, preferHandling = Nothing, preferTimezone = Nothing, preferMaxAffected = Nothing, invalidPrefs = [\"\"]}" },
        // timezone=: the first wins, any text (even empty) is taken.
        { ["timezone=UTC, timezone=Europe/Paris"], "Preferences {preferResolution = Nothing, preferRepresentation = Nothing, preferCount = Nothing, preferTransaction = Nothing, preferMissing = Nothing, preferHandling = Nothing, preferTimezone = Just (PreferTimezone \"UTC\"), preferMaxAffected = Nothing, invalidPrefs = []}" },
        { ["timezone="], "Preferences {preferResolution = Nothing, preferRepresentation = Nothing, preferCount = Nothing, preferTransaction = Nothing, preferMissing = Nothing, preferHandling = Nothing, preferTimezone = Just (PreferTimezone \"\"), preferMaxAffected = Nothing, invalidPrefs = []}" },
        // max-affected=: only the first counts, read as Haskell's readMaybe :: Int64 (spaces, parentheses, "- n").
        { ["max-affected=abc, max-affected=5"], "Preferences {preferResolution = Nothing, preferRepresentation = Nothing, preferCount = Nothing, preferTransaction = Nothing, preferMissing = Nothing, preferHandling = Nothing, preferTimezone = Nothing, preferMaxAffected = Nothing, invalidPrefs = []}" },
        { ["max-affected= 7"], "Preferences {preferResolution = Nothing, preferRepresentation = Nothing, preferCount = Nothing, preferTransaction = Nothing, preferMissing = Nothing, preferHandling = Nothing, preferTimezone = Nothing, preferMaxAffected = Just (PreferMaxAffected 7), invalidPrefs = []}" },
        { ["max-affected=(8)"], "Preferences {preferResolution = Nothing, preferRepresentation = Nothing, preferCount = Nothing, preferTransaction = Nothing, preferMissing = Nothing, preferHandling = Nothing, preferTimezone = Nothing, preferMaxAffected = Just (PreferMaxAffected 8), invalidPrefs = []}" },
        { ["max-affected=-1"], "Preferences {preferResolution = Nothing, preferRepresentation = Nothing, preferCount = Nothing, preferTransaction = Nothing, preferMissing = Nothing, preferHandling = Nothing, preferTimezone = Nothing, preferMaxAffected = Just (PreferMaxAffected -1), invalidPrefs = []}" },
        { ["max-affected=+1"], "Preferences {preferResolution = Nothing, preferRepresentation = Nothing, preferCount = Nothing, preferTransaction = Nothing, preferMissing = Nothing, preferHandling = Nothing, preferTimezone = Nothing, preferMaxAffected = Nothing, invalidPrefs = []}" },
        { ["max-affected=1.5"], "Preferences {preferResolution = Nothing, preferRepresentation = Nothing, preferCount = Nothing, preferTransaction = Nothing, preferMissing = Nothing, preferHandling = Nothing, preferTimezone = Nothing, preferMaxAffected = Nothing, invalidPrefs = []}" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Prefer_header_parses_like_PostgREST(string[] headers, string expected) =>
        Assert.Equal(expected, Show(Preferences.Parse(headers, allowTxOverride: true)));

    [Fact]
    public void Tx_preferences_are_ignored_but_not_invalid_when_overrides_are_not_allowed()
    {
        var p = Parse(false, "tx=rollback, tx=commit");
        Assert.Null(p.Transaction);
        Assert.Empty(p.Invalid);
    }

    [Fact]
    public void Count_preference_decides_counting_and_explaining()
    {
        Assert.True(Parse(true, "count=exact").ShouldCount);
        Assert.False(Parse(true, "count=exact").ShouldExplainCount);
        Assert.False(Parse(true, "count=planned").ShouldCount);
        Assert.True(Parse(true, "count=planned").ShouldExplainCount);
        Assert.True(Parse(true, "count=estimated").ShouldCount);
        Assert.True(Parse(true, "count=estimated").ShouldExplainCount);
        Assert.False(Parse(true).ShouldCount);
    }

    public static TheoryData<string, string?> Applied => new()
    {
        // Prefer header, Preference-Applied (prefAppliedHeader: resolution, missing, return, count, tx, handling,
        // timezone, and max-affected only with handling=strict)
        { "", null },
        { "invalid", null },
        { "tx=commit", "tx=commit" },
        { "max-affected=5", null },
        { "max-affected=5, handling=strict", "handling=strict, max-affected=5" },
        { "max-affected=5, handling=lenient", "handling=lenient" },
        {
            "timezone=UTC, handling=strict, tx=rollback, count=planned, return=headers-only, missing=null, resolution=ignore-duplicates, max-affected=1",
            "resolution=ignore-duplicates, missing=null, return=headers-only, count=planned, tx=rollback, handling=strict, timezone=UTC, max-affected=1"
        },
        { "resolution=merge-duplicates, missing=default, return=representation, count=exact", "resolution=merge-duplicates, missing=default, return=representation, count=exact" },
        { "return=minimal, count=estimated", "return=minimal, count=estimated" },
    };

    [Theory]
    [MemberData(nameof(Applied))]
    public void Preference_applied_header_lists_the_honoured_preferences_in_PostgREST_order(string prefer, string? expected) =>
        Assert.Equal(expected, Preferences.Parse(prefer.Length == 0 ? [] : [prefer], allowTxOverride: true).AppliedHeader());
}
