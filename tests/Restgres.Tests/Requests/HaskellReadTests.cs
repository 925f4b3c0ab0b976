using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using Restgres.Requests;
using Xunit;

namespace Restgres.Tests.Requests;

/// <summary>
/// Haskell's number reading as PostgREST applies it to limit/offset (Integer, clamped), max-affected (Int64, wraps)
/// and Accept q-values (Double, leftover allowed) — and that hostile lengths cost linear time and no recursion.
/// </summary>
public sealed class HaskellReadTests
{
    // Generous: a catch for quadratic blow-ups and hangs, not a benchmark.
    private static readonly TimeSpan Quickly = TimeSpan.FromSeconds(10);

    public static TheoryData<string, long?> Integers => new()
    {
        { "5", 5 },
        { " 5 ", 5 },
        { "(5)", 5 },
        { "( ( 5 ) )", 5 },
        { "((5)", null },
        { "(5))", null },
        { "()", null },
        { "- 5", -5 },
        { "(-5)", -5 },
        { "(- 5)", -5 },
        { "-(5)", null },
        { "--5", null },
        { "+5", null },
        { "0x10", 16 },
        { "0X1f", 31 },
        { "0o17", 15 },
        { "0x", null },
        { "0xg", null },
        { "007", 7 },
        { "1.5", null },
        { "1e3", null },
        { "5 x", null },
        { "9223372036854775807", long.MaxValue },
        { "9223372036854775808", long.MaxValue },
        { "99999999999999999999999999", long.MaxValue },
        { "-9223372036854775808", long.MinValue },
        { "-9223372036854775809", long.MinValue },
        { "-99999999999999999999999999", long.MinValue },
        { "0xffffffffffffffff", long.MaxValue },
        { "-0", 0 },
    };

    [Theory]
    [MemberData(nameof(Integers))]
    public void Integer_reads_clamp_to_a_long(string text, long? expected) => Assert.Equal(expected, HaskellRead.ReadInteger(text));

    public static TheoryData<string, long?> Int64s => new()
    {
        { "5", 5 },
        { "-1", -1 },
        { "18446744073709551615", -1 },
        { "18446744073709551617", 1 },
        { "0x1ffffffffffffffff", -1 },
        { "-18446744073709551617", -1 },
        { "9223372036854775808", long.MinValue },
        { "(7)", 7 },
        { "1.0", null },
    };

    [Theory]
    [MemberData(nameof(Int64s))]
    public void Int64_reads_wrap_around(string text, long? expected) => Assert.Equal(expected, HaskellRead.ReadInt64(text));

    public static TheoryData<string, double?> Doubles => new()
    {
        { "0.5", 0.5 },
        { "1", 1 },
        { "(0.25) trailing", 0.25 },
        { "- 0.5", -0.5 },
        { "1e-1", 0.1 },
        { "0x10", 16 },
        { "NaN", double.NaN },
        { "Infinity", double.PositiveInfinity },
        { "Infinityx", null },
        { "18446744073709551616", 18446744073709551616.0 },
        { "x", null },
    };

    [Theory]
    [MemberData(nameof(Doubles))]
    public void Double_reads_allow_leftover_text(string text, double? expected) => Assert.Equal(expected, HaskellRead.ReadsDouble(text));

    /// <summary>Random literals in every radix, signed and parenthesised, against BigInteger arithmetic.</summary>
    [Fact]
    public void Random_literals_agree_with_exact_integer_arithmetic()
    {
        var random = new Random(20261206);
        for (var n = 0; n < 5_000; n++)
        {
            var digits = random.Next(1, 45);
            var radix = new[] { 8, 10, 16 }[random.Next(3)];
            var magnitude = BigInteger.Zero;
            var text = new System.Text.StringBuilder(radix switch { 8 => "0o", 16 => "0x", _ => "" });
            for (var i = 0; i < digits; i++)
            {
                var d = random.Next(radix);
                magnitude = magnitude * radix + d;
                text.Append("0123456789abcdef"[d]);
            }
            var negative = random.Next(2) == 0;
            var value = negative ? -magnitude : magnitude;
            var literal = (negative ? "- " : "") + text;
            var depth = random.Next(3);
            literal = new string('(', depth) + literal + new string(')', depth);

            var clamped = value > long.MaxValue ? long.MaxValue : value < long.MinValue ? long.MinValue : (long)value;
            Assert.Equal(clamped, HaskellRead.ReadInteger(literal));
            Assert.Equal((long)(ulong)(value & ulong.MaxValue), HaskellRead.ReadInt64(literal));
            Assert.Equal((double)value, HaskellRead.ReadsDouble(literal)!.Value, (double)BigInteger.Abs(value) * 1e-15 + 1e-300);
        }
    }

    [Fact]
    public void A_million_nested_parentheses_neither_recurse_nor_fail()
    {
        // One stack frame per "(" overflowed the stack (uncatchable in .NET: the process died).
        const int depth = 1_000_000;
        Assert.Equal(5, HaskellRead.ReadInteger(new string('(', depth) + "5" + new string(')', depth)));
        Assert.Null(HaskellRead.ReadInteger(new string('(', depth)));
        Assert.Null(HaskellRead.ReadInt64(new string('(', depth) + "5"));
        Assert.Null(HaskellRead.ReadsDouble(new string('(', depth) + "0.5" + new string(')', depth - 1)));
    }

    [Fact]
    public void Literals_of_millions_of_digits_are_read_in_linear_time()
    {
        // A BigInteger grown per digit made these quadratic (131k hex digits took 1.7 s; 2M would take minutes).
        var sw = Stopwatch.StartNew();
        var hex = "0x" + new string('f', 2_000_000);
        Assert.Equal(long.MaxValue, HaskellRead.ReadInteger(hex));
        Assert.Equal(-1, HaskellRead.ReadInt64(hex));
        Assert.Equal(double.PositiveInfinity, HaskellRead.ReadsDouble(hex));
        var dec = new string('9', 2_000_000);
        Assert.Equal(long.MaxValue, HaskellRead.ReadInteger(dec));
        Assert.Equal(long.MinValue, HaskellRead.ReadInteger("-" + dec));
        Assert.Equal(double.PositiveInfinity, HaskellRead.ReadsDouble(dec));
        var octal = "0o" + new string('7', 2_000_000);
        Assert.Equal(-1, HaskellRead.ReadInt64(octal));
        Assert.True(sw.Elapsed < Quickly, sw.Elapsed.ToString("c", CultureInfo.InvariantCulture));
    }
}
