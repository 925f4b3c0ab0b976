using System.Text.RegularExpressions;

namespace Restgres.Requests;

/// <summary>
/// A range of row offsets (PostgREST's NonnegRange over Data.Ranged): <c>[Lower, Upper]</c>, Upper null = unbounded.
/// An empty range has Upper &lt; Lower. <see cref="LimitZero"/> (<c>0..-1</c>) is the one empty range allowed, from
/// <c>limit=0</c> (PostgREST issue #1121).
/// </summary>
internal readonly partial record struct NonnegRange(long Lower, long? Upper)
{
    public static readonly NonnegRange All = new(0, null);
    public static readonly NonnegRange LimitZero = new(0, -1);
    private static readonly NonnegRange CanonicalEmpty = new(1, 0);

    public bool IsEmpty => Upper is { } u && u < Lower;
    public bool IsAll => Lower == 0 && Upper is null;
    public bool HasLimitZero => Upper == -1;
    public long Offset => Lower;
    public long? Limit => Upper is { } u ? Saturate((Int128)1 + u - Lower) : null;

    /// <summary>
    /// The last offset of <paramref name="count"/> rows from <paramref name="first"/>. PostgREST computes with
    /// unbounded Integers; the operands here are client numbers clamped to a long, so the sum saturates instead of
    /// wrapping (a huge offset plus a huge limit wrapped to an empty range, 416).
    /// </summary>
    public static long LastOf(long first, long count) => Saturate((Int128)first + count - 1);

    private static long Saturate(Int128 v) => (long)Int128.Clamp(v, long.MinValue, long.MaxValue);

    public bool SameAs(NonnegRange other) => (IsEmpty && other.IsEmpty) || this == other;

    public static NonnegRange Geq(long n) => new(n, null);

    public NonnegRange Intersect(NonnegRange other)
    {
        if (IsEmpty || other.IsEmpty) return CanonicalEmpty;
        long? upper = Upper is null ? other.Upper : other.Upper is null ? Upper : Math.Min(Upper.Value, other.Upper.Value);
        return new NonnegRange(Math.Max(Lower, other.Lower), upper);
    }

    /// <summary>restrictRange: cap to <paramref name="limit"/> rows from this range's offset.</summary>
    public NonnegRange Restrict(long? limit)
    {
        if (limit is not { } l) return this;
        if (IsEmpty) return CanonicalEmpty;
        var capUpper = LastOf(Lower, l);
        return new NonnegRange(Lower, Upper is { } u ? Math.Min(u, capUpper) : capUpper);
    }

    /// <summary>convertToLimitZeroRange: keep the limit-zero range as is, otherwise use the fallback.</summary>
    public static NonnegRange ConvertToLimitZero(NonnegRange range, NonnegRange fallback) => range.HasLimitZero ? LimitZero : fallback;

    [GeneratedRegex("^([0-9]+)-([0-9]*)$")]
    private static partial Regex RangeHeader();

    /// <summary>Parses a <c>Range: 0-9</c> header value; anything else means all rows.</summary>
    public static NonnegRange ParseHeader(string? value)
    {
        if (value is null) return All;
        var m = RangeHeader().Match(value);
        if (!m.Success) return All;
        if (!long.TryParse(m.Groups[1].ValueSpan, out var lower)) return CanonicalEmpty;
        var lowerR = Geq(lower);
        if (m.Groups[2].Length == 0 || !long.TryParse(m.Groups[2].ValueSpan, out var upper)) return lowerR;
        return lowerR.Intersect(new NonnegRange(long.MinValue / 2, upper));
    }
}
