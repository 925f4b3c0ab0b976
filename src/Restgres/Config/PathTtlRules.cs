using System.Globalization;

namespace Restgres.Config;

/// <summary>
/// Targets with a time to live: which GET/HEAD targets <c>server-response-cache</c> keeps and for how long, and whose
/// POST/PATCH <c>server-idempotency</c> serves by <c>Idempotency-Key</c> and for how long a key is kept. Written
/// <c>variant_overview: 30s; rpc/statistics: 5m</c> in the target syntax of <c>server-cache-control</c>
/// (<see cref="PathRules{T}"/>: a relation, <c>rpc/</c> and a function, <c>*</c> for every other path). A time to live
/// is a positive number with a unit: <c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c> or <c>d</c> (a bare number is seconds).
/// </summary>
internal sealed class PathTtlRules
{
    private readonly PathRules<TimeSpan> _rules;

    private PathTtlRules(PathRules<TimeSpan> rules) => _rules = rules;

    /// <summary>The time to live for a request path (segments as decoded, joined by '/'), or null: the path is not named.</summary>
    public TimeSpan? For(string path) => _rules.TryGet(path, out var ttl) ? ttl : null;

    /// <exception cref="ConfigException">An entry is not 'path: ttl', or its time to live is not a positive duration.</exception>
    public static PathTtlRules? Parse(string option, string text) =>
        PathRules<TimeSpan>.Parse(option, text, (path, ttl) => ParseTtl(option, path, ttl)) is { } rules
            ? new PathTtlRules(rules)
            : null;

    internal static TimeSpan ParseTtl(string option, string path, string text)
    {
        var s = text.Trim();
        var (digits, unit) = s.EndsWith("ms", StringComparison.Ordinal) ? (s[..^2], 0.001)
            : s.EndsWith('s') ? (s[..^1], 1.0)
            : s.EndsWith('m') ? (s[..^1], 60.0)
            : s.EndsWith('h') ? (s[..^1], 3600.0)
            : s.EndsWith('d') ? (s[..^1], 86400.0)
            : (s, 1.0);
        if (!double.TryParse(digits.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n)
            || !(n > 0) || n * unit > TimeSpan.MaxValue.TotalSeconds / 2)
            throw OptionTypes.Invalid(option, $"Invalid {option}: the time to live of '{path}' must be a positive duration "
                + $"such as 500ms, 30s, 5m, 1h or 1d, got '{text}'");
        return TimeSpan.FromSeconds(n * unit);
    }

    public override string ToString() => _rules.ToString();
}
