namespace Restgres.Requests;

internal enum PreferResolution { MergeDuplicates, IgnoreDuplicates }
internal enum PreferRepresentation { Full, HeadersOnly, None }
internal enum PreferCount { Exact, Planned, Estimated }
internal enum PreferTransaction { Commit, Rollback }
internal enum PreferMissing { ApplyDefaults, ApplyNulls }
internal enum PreferHandling { Strict, Lenient }

/// <summary>
/// The <c>Prefer</c> header (RFC 7240) as PostgREST reads it (ApiRequest/Preferences.hs): comma-separated values over
/// all Prefer headers, the first occurrence of each kind wins, unknown values are collected for handling=strict.
/// </summary>
internal sealed record Preferences
{
    public PreferResolution? Resolution { get; init; }
    public PreferRepresentation? Representation { get; init; }
    public PreferCount? Count { get; init; }
    public PreferTransaction? Transaction { get; init; }
    public PreferMissing? Missing { get; init; }
    public PreferHandling? Handling { get; init; }
    public string? Timezone { get; init; }
    public long? MaxAffected { get; init; }
    public IReadOnlyList<string> Invalid { get; init; } = [];

    public bool ShouldCount => Count is PreferCount.Exact or PreferCount.Estimated;
    public bool ShouldExplainCount => Count is PreferCount.Planned or PreferCount.Estimated;

    public static readonly Preferences None = new();

    private static readonly char[] AsciiSpaces = [' ', '\t', '\n', '\v', '\f', '\r'];

    public static Preferences Parse(IEnumerable<string> preferHeaders, bool allowTxOverride)
    {
        // BS.split ',' gives no part at all for an empty header value; BS.strip trims ASCII whitespace.
        var prefs = new List<string>();
        foreach (var h in preferHeaders)
        {
            if (h.Length == 0) continue;
            foreach (var part in h.Split(','))
                prefs.Add(part.Trim(AsciiSpaces));
        }
        if (prefs.Count == 0) return None;

        PreferResolution? resolution = null;
        PreferRepresentation? representation = null;
        PreferCount? count = null;
        PreferTransaction? tx = null;
        PreferMissing? missing = null;
        PreferHandling? handling = null;
        string? timezone = null;
        long? maxAffected = null;
        bool maxAffectedSeen = false;
        var invalid = new List<string>();
        foreach (var p in prefs)
        {
            switch (p)
            {
                case "resolution=merge-duplicates": resolution ??= PreferResolution.MergeDuplicates; continue;
                case "resolution=ignore-duplicates": resolution ??= PreferResolution.IgnoreDuplicates; continue;
                case "return=representation": representation ??= PreferRepresentation.Full; continue;
                case "return=minimal": representation ??= PreferRepresentation.None; continue;
                case "return=headers-only": representation ??= PreferRepresentation.HeadersOnly; continue;
                case "count=exact": count ??= PreferCount.Exact; continue;
                case "count=planned": count ??= PreferCount.Planned; continue;
                case "count=estimated": count ??= PreferCount.Estimated; continue;
                case "tx=commit": if (allowTxOverride) tx ??= PreferTransaction.Commit; continue;
                case "tx=rollback": if (allowTxOverride) tx ??= PreferTransaction.Rollback; continue;
                case "missing=default": missing ??= PreferMissing.ApplyDefaults; continue;
                case "missing=null": missing ??= PreferMissing.ApplyNulls; continue;
                case "handling=strict": handling ??= PreferHandling.Strict; continue;
                case "handling=lenient": handling ??= PreferHandling.Lenient; continue;
            }
            if (p.StartsWith("timezone=", StringComparison.Ordinal))
            {
                timezone ??= p["timezone=".Length..];
                continue;
            }
            if (p.StartsWith("max-affected=", StringComparison.Ordinal))
            {
                // Only the first max-affected counts; an unparsable first one means none (readMaybe :: Int64).
                if (!maxAffectedSeen && HaskellRead.ReadInt64(p["max-affected=".Length..]) is { } n)
                    maxAffected = n;
                maxAffectedSeen = true;
                continue;
            }
            invalid.Add(p);
        }
        return new Preferences
        {
            Resolution = resolution, Representation = representation, Count = count, Transaction = tx,
            Missing = missing, Handling = handling, Timezone = timezone, MaxAffected = maxAffected, Invalid = invalid,
        };
    }

    /// <summary>The <c>Preference-Applied</c> value for the preferences this response honoured, or null.</summary>
    public string? AppliedHeader()
    {
        var vals = new List<string>(4);
        if (Resolution is { } r) vals.Add(r == PreferResolution.MergeDuplicates ? "resolution=merge-duplicates" : "resolution=ignore-duplicates");
        if (Missing is { } m) vals.Add(m == PreferMissing.ApplyDefaults ? "missing=default" : "missing=null");
        if (Representation is { } rep) vals.Add(rep switch { PreferRepresentation.Full => "return=representation", PreferRepresentation.None => "return=minimal", _ => "return=headers-only" });
        if (Count is { } c) vals.Add(c switch { PreferCount.Exact => "count=exact", PreferCount.Planned => "count=planned", _ => "count=estimated" });
        if (Transaction is { } t) vals.Add(t == PreferTransaction.Commit ? "tx=commit" : "tx=rollback");
        if (Handling is { } h) vals.Add(h == PreferHandling.Strict ? "handling=strict" : "handling=lenient");
        if (Timezone is { } tz) vals.Add("timezone=" + tz);
        if (Handling == PreferHandling.Strict && MaxAffected is { } ma) vals.Add("max-affected=" + ma.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return vals.Count == 0 ? null : string.Join(", ", vals);
    }
}
