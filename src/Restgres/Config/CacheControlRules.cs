using System.Collections.Frozen;
using System.Collections.Immutable;
using static Restgres.Config.OptionTypes;

namespace Restgres.Config;

/// <summary>
/// <c>server-cache-control</c>: the <c>Cache-Control</c> directives per path, written
/// <c>items: public, max-age=60; rpc/stats: no-store; *: no-cache</c>. A path is the request's path after any
/// <c>server-path-prefixes</c> entry, without its leading '/', as the client wrote it (<c>items</c>, <c>rpc/stats</c>);
/// <c>*</c> is every path no entry names. Directives contain commas, hence ';' between entries.
/// </summary>
internal sealed class CacheControlRules
{
    private readonly ImmutableArray<KeyValuePair<string, string>> _entries;
    private readonly FrozenDictionary<string, string> _byPath;
    private readonly string? _fallback;

    private CacheControlRules(ImmutableArray<KeyValuePair<string, string>> entries)
    {
        _entries = entries;
        _byPath = entries.Where(e => e.Key != "*").ToFrozenDictionary(StringComparer.Ordinal);
        _fallback = entries.FirstOrDefault(e => e.Key == "*").Value;
    }

    /// <summary>
    /// The directives for a request path (segments as decoded, joined by '/'), or null. Routes (issue 12) will look up
    /// the route's own path here, before its rewrite, so a rule can name an alias the way clients call it.
    /// </summary>
    public string? For(string path) => _byPath.TryGetValue(path, out var directives) ? directives : _fallback;

    /// <exception cref="ConfigException">An entry has no path, no directives, or characters a header cannot hold.</exception>
    public static CacheControlRules? Parse(string option, string text)
    {
        var entries = ImmutableArray.CreateBuilder<KeyValuePair<string, string>>();
        foreach (var entry in text.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            var path = colon < 0 ? "" : entry[..colon].Trim().Trim('/');
            var directives = colon < 0 ? "" : entry[(colon + 1)..].Trim();
            if (path.Length == 0 || directives.Length == 0)
                throw Invalid(option, $"Invalid {option}: '{entry}' is not 'path: directives'");
            if (directives.Any(c => char.IsControl(c) || c > '~'))
                throw Invalid(option, $"Invalid {option}: the directives of '{path}' must be printable ASCII");
            if (entries.Any(e => e.Key == path))
                throw Invalid(option, $"Invalid {option}: '{path}' is named twice");
            entries.Add(new(path, directives));
        }
        return entries.Count == 0 ? null : new CacheControlRules(entries.ToImmutable());
    }

    public override string ToString() => string.Join("; ", _entries.Select(e => e.Key + ": " + e.Value));
}
