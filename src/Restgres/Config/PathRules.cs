using System.Collections.Frozen;
using System.Collections.Immutable;
using static Restgres.Config.OptionTypes;

namespace Restgres.Config;

/// <summary>
/// The one way options name what a rule applies to (<c>server-cache-control</c>, <c>server-response-cache</c>): entries
/// <c>path: value</c> separated by ';'. A path is the API path after any <c>server-path-prefixes</c> entry (and after a
/// route's rewrite), without its leading '/', decoded: a relation (<c>items</c>), a function (<c>rpc/stats</c>);
/// <c>*</c> is every path no entry names. Values may contain commas, hence ';' between entries.
/// </summary>
internal sealed class PathRules<T>
{
    private readonly ImmutableArray<(string Path, string Text, T Value)> _entries;
    private readonly FrozenDictionary<string, T> _byPath;
    private readonly bool _hasFallback;
    private readonly T? _fallback;

    private PathRules(ImmutableArray<(string Path, string Text, T Value)> entries)
    {
        _entries = entries;
        _byPath = entries.Where(e => e.Path != "*").ToFrozenDictionary(e => e.Path, e => e.Value, StringComparer.Ordinal);
        foreach (var e in entries)
            if (e.Path == "*") (_hasFallback, _fallback) = (true, e.Value);
    }

    /// <summary>The value for a request path (segments as decoded, joined by '/'), else the <c>*</c> entry's.</summary>
    public bool TryGet(string path, out T value)
    {
        if (_byPath.TryGetValue(path, out value!)) return true;
        value = _fallback!;
        return _hasFallback;
    }

    /// <summary>The entries as written (paths without a leading '/').</summary>
    public IEnumerable<(string Path, T Value)> Entries => _entries.Select(e => (e.Path, e.Value));

    /// <summary>Parses <c>path: value; path: value</c>; <paramref name="value"/> reads one value (and throws a
    /// <see cref="ConfigException"/> naming the option when it is wrong). Null when there is no entry.</summary>
    /// <exception cref="ConfigException">An entry has no path or no value, or names a path twice.</exception>
    public static PathRules<T>? Parse(string option, string text, Func<string, string, T> value)
    {
        var entries = ImmutableArray.CreateBuilder<(string, string, T)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in text.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            var path = colon < 0 ? "" : entry[..colon].Trim().Trim('/');
            var raw = colon < 0 ? "" : entry[(colon + 1)..].Trim();
            if (path.Length == 0 || raw.Length == 0)
                throw Invalid(option, $"Invalid {option}: '{entry}' is not 'path: value'");
            if (!seen.Add(path))
                throw Invalid(option, $"Invalid {option}: '{path}' is named twice");
            entries.Add((path, raw, value(path, raw)));
        }
        return entries.Count == 0 ? null : new PathRules<T>(entries.ToImmutable());
    }

    public override string ToString() => string.Join("; ", _entries.Select(e => e.Path + ": " + e.Text));
}
