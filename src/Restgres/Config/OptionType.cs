using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Restgres.Config;

/// <summary>
/// How an option is written: as text, an integer or a boolean. It picks PostgREST's coercion of the raw value
/// (coerceText, coerceInt, coerceBool), and whether <c>--example</c> and the config dump quote the value.
/// </summary>
internal enum OptionKind { Text, Integer, Boolean }

/// <summary>
/// How one option's raw value (from the file, the environment or the database) becomes its typed value: a coercion,
/// which also decides what counts as unset, then the option's own parser, which validates. <see cref="Format"/> is the
/// way back to config text, for the dump.
/// </summary>
internal sealed class OptionType<T>
{
    /// <param name="option">The option's name, for the parser's messages.</param>
    /// <param name="key">The name the value was read under (an old name, maybe), for the coercion's messages.</param>
    /// <param name="raw">The value as the file, the environment or the database holds it.</param>
    /// <param name="value">The typed value.</param>
    /// <returns>False when the value counts as unset.</returns>
    public delegate bool Reader(string option, string key, ConfigValue raw, [MaybeNullWhen(false)] out T value);

    private readonly Reader _read;
    private readonly Func<T, string?> _format;

    public OptionType(OptionKind kind, Reader read, Func<T, string?> format)
    {
        Kind = kind;
        _read = read;
        _format = format;
    }

    public OptionKind Kind { get; }

    /// <exception cref="ConfigException">The value is invalid.</exception>
    public bool TryRead(string option, string key, ConfigValue raw, [MaybeNullWhen(false)] out T value) =>
        _read(option, key, raw, out value);

    /// <summary>The value as config text (without the quotes of a string); null when unset.</summary>
    public string? Format(T value) => _format(value);

    /// <summary>This type's value, then <paramref name="parse"/> (given the option's name for its messages).</summary>
    public OptionType<TOut> Then<TOut>(Func<string, T, TOut> parse, Func<TOut, string?> format) =>
        new(Kind, (string option, string key, ConfigValue raw, [MaybeNullWhen(false)] out TOut value) =>
        {
            if (!_read(option, key, raw, out var read))
            {
                value = default;
                return false;
            }
            value = parse(option, read)!;
            return true;
        }, format);
}

/// <summary>
/// The value types options share: PostgREST's coercions (Config.hs optString, optStringEmptyable, optInt, optBool,
/// with its coerceText / coerceInt / coerceBool) and the parsers several options use.
/// </summary>
internal static class OptionTypes
{
    /// <summary>optString: unset or empty is unset.</summary>
    public static readonly OptionType<string> Text = new(OptionKind.Text,
        (string _, string key, ConfigValue raw, [MaybeNullWhen(false)] out string value) =>
        {
            value = CoerceText(key, raw);
            return value.Length > 0;
        }, s => s);

    /// <summary>optStringEmptyable: unset is unset, empty stays empty.</summary>
    public static readonly OptionType<string> TextOrEmpty = new(OptionKind.Text,
        (string _, string key, ConfigValue raw, [MaybeNullWhen(false)] out string value) =>
        {
            value = CoerceText(key, raw);
            return true;
        }, s => s);

    public static readonly OptionType<string?> OptionalText = Text.Then<string?>((_, s) => s, s => s);

    public static readonly OptionType<long> Long = new(OptionKind.Integer,
        (string _, string key, ConfigValue raw, out long value) => TryLong(key, raw, out value), Invariant);

    public static readonly OptionType<long?> OptionalLong = Long.Then<long?>((_, n) => n, n => n is { } v ? Invariant(v) : null);

    public static readonly OptionType<int> Int = new(OptionKind.Integer,
        (string _, string key, ConfigValue raw, out int value) =>
        {
            value = 0;
            if (!TryLong(key, raw, out var n)) return false;
            value = n is >= int.MinValue and <= int.MaxValue ? (int)n : throw Invalid(key, $"Invalid {key}: {n} is out of range");
            return true;
        }, n => Invariant(n));

    public static readonly OptionType<int?> OptionalInt = Int.Then<int?>((_, n) => n, n => n is { } v ? Invariant(v) : null);

    public static readonly OptionType<bool> Bool = new(OptionKind.Boolean,
        (string _, string key, ConfigValue raw, out bool value) => TryBool(key, raw, out value), b => b ? "true" : "false");

    /// <summary>PostgREST's splitOnCommas over a string option: each item trimmed (empty items are kept).</summary>
    public static readonly OptionType<ImmutableArray<string>> CommaList =
        Text.Then((_, s) => SplitOnCommas(s), JoinList);

    public static readonly OptionType<int> Port = Int.Then(PortNumber, n => Invariant(n));

    public static readonly OptionType<int> NonNegative = Int.Then(
        (option, n) => n >= 0 ? n : throw Invalid(option, $"Invalid {option}: {n}, it cannot be negative"), n => Invariant(n));

    /// <summary>A function name, <c>schema.name</c> or <c>name</c> (PostgREST's toQi).</summary>
    public static readonly OptionType<QualifiedName?> FunctionName =
        Text.Then<QualifiedName?>((_, s) => QualifiedName.Parse(s), q => q?.ToString());

    /// <summary>PostgREST's parseSocketFileMode: leading octal digits (the rest ignored), between 600 and 777.</summary>
    public static readonly OptionType<int> SocketMode = Text.Then((option, s) =>
    {
        var mode = 0;
        var digits = 0;
        foreach (var c in s)
        {
            if (c is < '0' or > '7') break;
            mode = (mode * 8) + (c - '0');
            if (++digits > 10) break;
        }
        if (digits == 0) throw Invalid(option, $"Invalid {option}: not an octal");
        if (mode is < 384 or > 511) throw Invalid(option, $"Invalid {option}: needs to be between 600 and 777");
        return mode;
    }, mode => Convert.ToString(mode, 8));

    /// <summary>One of a fixed set of words; anything else fails with PostgREST's <paramref name="error"/>.</summary>
    public static OptionType<TEnum> Choice<TEnum>(string error, params (string Text, TEnum Value)[] choices)
        where TEnum : struct, Enum =>
        Text.Then(
            (option, s) =>
            {
                foreach (var (text, value) in choices)
                    if (text == s) return value;
                throw Invalid(option, error);
            },
            v => Array.Find(choices, c => c.Value.Equals(v)).Text);

    /// <summary>A string option whose value must pass <paramref name="isValid"/>.</summary>
    public static OptionType<string?> Checked(Func<string, bool> isValid, Func<string, string> error) =>
        Text.Then<string?>((option, s) => isValid(s) ? s : throw Invalid(option, error(s)), s => s);

    public static string JoinList(ImmutableArray<string> items) => string.Join(',', items);

    public static ConfigException Invalid(string option, string message) => new(message, option);

    /// <summary>PostgREST's splitOnCommas: split on ',' and trim each part (empty parts are kept).</summary>
    public static ImmutableArray<string> SplitOnCommas(string s)
    {
        var parts = s.Split(',');
        var builder = ImmutableArray.CreateBuilder<string>(parts.Length);
        foreach (var p in parts) builder.Add(p.Trim());
        return builder.MoveToImmutable();
    }

    private static int PortNumber(string option, int value) =>
        value is >= 0 and <= 65535 ? value : throw Invalid(option, $"Invalid {option}: {value} is not a port number (0-65535)");

    public static string Invariant(long n) => n.ToString(CultureInfo.InvariantCulture);

    /// <summary>PostgREST's coerceText; a list is refused rather than turned into its Haskell rendering.</summary>
    public static string CoerceText(string key, ConfigValue v) => v.Kind == ConfigValueKind.List
        ? throw Invalid(key, $"Invalid {key}: a list is not accepted here, use a comma-separated \"string\"")
        : v.Text;

    /// <summary>coerceInt: a number in the file may be any integral value (10, 10.0, 1e3), a string must be digits
    /// with an optional '-'. Blank is unset.</summary>
    private static bool TryLong(string key, ConfigValue v, out long value)
    {
        var text = CoerceText(key, v).Trim();
        value = 0;
        if (text.Length == 0) return false;
        if (v.Kind == ConfigValueKind.Number)
        {
            if (TryIntegral(text, out value)) return true;
        }
        else if (v.Kind == ConfigValueKind.String
            && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value)
            && text[0] != '+')
        {
            return true;
        }
        throw Invalid(key, $"Invalid {key}: expected an integer, got '{v.Text}'");
    }

    /// <summary>A number in the file: any integral value (10, 10.0, 1e3), as PostgREST's floatingOrInteger.</summary>
    private static bool TryIntegral(string text, out long value)
    {
        if (decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
            && d == decimal.Truncate(d) && d is >= long.MinValue and <= long.MaxValue)
        {
            value = (long)d;
            return true;
        }
        value = 0;
        return false;
    }

    /// <summary>
    /// PostgREST's coerceBool: of a string, only its letters count, compared case-insensitively with
    /// true/false ("TRUE", "True", "\"true\""); failing that an integer means &gt; 0. Empty is unset.
    /// </summary>
    private static bool TryBool(string key, ConfigValue v, out bool value)
    {
        value = false;
        switch (v.Kind)
        {
            case ConfigValueKind.Bool:
                value = v.Text == "true";
                return true;
            case ConfigValueKind.Number:
                if (TryIntegral(v.Text, out var number))
                {
                    value = number > 0;
                    return true;
                }
                break;
            case ConfigValueKind.String:
                if (v.Text.Length == 0) return false;
                Span<char> letters = stackalloc char[Math.Min(v.Text.Length, 16)];
                var n = 0;
                foreach (var c in v.Text)
                {
                    if (!char.IsLetter(c)) continue;
                    if (n == letters.Length) { n = -1; break; }
                    letters[n++] = c;
                }
                if (n >= 0)
                {
                    if (letters[..n].Equals("true", StringComparison.OrdinalIgnoreCase)) { value = true; return true; }
                    if (letters[..n].Equals("false", StringComparison.OrdinalIgnoreCase)) return true;
                }
                if (long.TryParse(v.Text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
                    && v.Text.Trim()[0] != '+')
                {
                    value = l > 0;
                    return true;
                }
                break;
        }
        throw Invalid(key, $"Invalid {key}: expected a boolean (true or false), got '{v.Text}'");
    }
}
