namespace Restgres.Config;

/// <summary>
/// <c>server-cache-control</c>: the <c>Cache-Control</c> directives per path, written
/// <c>items: public, max-age=60; rpc/stats: no-store; *: no-cache</c>, in the target syntax every per-path option
/// shares (<see cref="PathRules{T}"/>).
/// </summary>
internal sealed class CacheControlRules
{
    private readonly PathRules<string> _rules;

    private CacheControlRules(PathRules<string> rules) => _rules = rules;

    /// <summary>The directives for a request path (segments as decoded, joined by '/'), or null.</summary>
    public string? For(string path) => _rules.TryGet(path, out var directives) ? directives : null;

    /// <exception cref="ConfigException">An entry has no path, no directives, or characters a header cannot hold.</exception>
    public static CacheControlRules? Parse(string option, string text) =>
        PathRules<string>.Parse(option, text, (path, directives) =>
            directives.Any(c => char.IsControl(c) || c > '~')
                ? throw OptionTypes.Invalid(option, $"Invalid {option}: the directives of '{path}' must be printable ASCII")
                : directives) is { } rules ? new CacheControlRules(rules) : null;

    public override string ToString() => _rules.ToString();
}
