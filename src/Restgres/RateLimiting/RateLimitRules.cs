using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Restgres.Config;

namespace Restgres.RateLimiting;

/// <summary>What one rule's buckets are keyed by: the client address, a JWT claim, or nothing (one bucket for the role).</summary>
internal enum KeyKind
{
    /// <summary>The client IP (X-Forwarded-For honoured only from <c>server-trusted-proxies</c>).</summary>
    Ip,

    /// <summary>A JWT claim (<c>sub</c>, or any JSON Path); a request without it is keyed by its IP.</summary>
    Claim,

    /// <summary>One bucket shared by every request the rule applies to.</summary>
    Role,
}

/// <summary>
/// One limit: <see cref="Quota"/> requests per <see cref="WindowSeconds"/>, per key. Its buckets are those of its
/// <see cref="Signature"/>, so a config reload that keeps the rule keeps them. The two header texts are built once,
/// here.
/// </summary>
internal sealed class RateLimitPolicy
{
    public RateLimitPolicy(string name, int quota, int windowSeconds, KeyKind key, RoleClaimPath? claim, string keyText)
    {
        Name = name;
        Quota = quota;
        WindowSeconds = windowSeconds;
        Key = key;
        Claim = claim;
        KeyText = keyText;
        var sf = new StringBuilder().Append('"');
        foreach (var c in name)
        {
            if (c is '"' or '\\') sf.Append('\\');
            sf.Append(c is >= ' ' and <= '~' ? c : '?');
        }
        sf.Append('"');
        QuotedName = sf.ToString();
        PolicyHeader = string.Create(CultureInfo.InvariantCulture, $"{QuotedName};q={quota};w={windowSeconds}");
        Signature = string.Create(CultureInfo.InvariantCulture, $"{name}|{quota}/{windowSeconds}|{keyText}");
        SignatureHash = string.GetHashCode(Signature, StringComparison.Ordinal);
    }

    /// <summary>The policy's name in the headers: the role, <c>default</c> for <c>*</c>, or the route template.</summary>
    public string Name { get; }

    public int Quota { get; }

    public int WindowSeconds { get; }

    public KeyKind Key { get; }

    /// <summary>The claim's path when <see cref="Key"/> is <see cref="KeyKind.Claim"/>.</summary>
    public RoleClaimPath? Claim { get; }

    /// <summary>The key as written: <c>ip</c>, <c>sub</c>, <c>role</c>, <c>claim:$.path</c>.</summary>
    public string KeyText { get; }

    /// <summary>The name as an RFC 8941 string (the draft's policy identifier).</summary>
    public string QuotedName { get; }

    /// <summary><c>RateLimit-Policy</c>'s value (draft-ietf-httpapi-ratelimit-headers-10): <c>"name";q=60;w=60</c>.</summary>
    public string PolicyHeader { get; }

    /// <summary>What identifies the policy's buckets: in this process across config reloads, and in the shared
    /// (database) store across instances.</summary>
    public string Signature { get; }

    public int SignatureHash { get; }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Quota}/{WindowSeconds}s per {KeyText}");
}

/// <summary>
/// A set of rules by role, as written in <c>server-rate-limits</c> or a route's <c>rate-limit</c> line:
/// <c>anon=60/min per ip, analyst=600/min per sub, admin=unlimited, *=100/min</c> (<c>*</c>: any role not listed),
/// or a single rule for every role (<c>10/min per ip</c>). A rule is <c>N/UNIT [per KEY]</c> or <c>unlimited</c>;
/// UNIT is <c>s</c>, <c>min</c>, <c>h</c> or <c>day</c> (also spelled out, or with a count: <c>100/10s</c>); KEY is
/// <c>ip</c> (the default), <c>sub</c>, <c>role</c> or <c>claim:JSONPATH</c> (the syntax of <c>jwt-role-claim-key</c>).
/// </summary>
internal sealed class RateLimitRules
{
    private readonly FrozenDictionary<string, RateLimitPolicy?> _byRole;
    private readonly bool _hasFallback;
    private readonly RateLimitPolicy? _fallback;

    private RateLimitRules(string text, Dictionary<string, RateLimitPolicy?> byRole, bool hasFallback, RateLimitPolicy? fallback)
    {
        Text = text;
        _byRole = byRole.ToFrozenDictionary(StringComparer.Ordinal);
        _hasFallback = hasFallback;
        _fallback = fallback;
    }

    /// <summary>The rules as written.</summary>
    public string Text { get; }

    /// <summary>The policy for <paramref name="role"/>: found is false when no rule names the role (nor <c>*</c>);
    /// a found null policy is <c>unlimited</c>.</summary>
    public bool TryFor(string role, out RateLimitPolicy? policy)
    {
        if (_byRole.TryGetValue(role, out policy)) return true;
        policy = _fallback;
        return _hasFallback;
    }

    /// <summary>Every limited policy (for tests and the docs' examples).</summary>
    public IEnumerable<RateLimitPolicy> Policies =>
        _byRole.Values.Append(_fallback).OfType<RateLimitPolicy>();

    public override string ToString() => Text;

    /// <summary>Parses a rule list. <paramref name="where"/> prefixes each message (the option, or the file and line);
    /// <paramref name="singleName"/> names the policy of a single rule without a role (a route's template).</summary>
    /// <exception cref="ConfigException">The text is not a rule list.</exception>
    public static RateLimitRules? Parse(string text, string option, string where, string? singleName = null)
    {
        var byRole = new Dictionary<string, RateLimitPolicy?>(StringComparer.Ordinal);
        var hasFallback = false;
        RateLimitPolicy? fallback = null;
        var entries = SplitEntries(text);
        if (entries.Count == 0) return null;
        foreach (var entry in entries)
        {
            var eq = RoleSeparator(entry);
            if (eq < 0)
            {
                if (singleName is null || entries.Count > 1)
                    throw new ConfigException($"{where}: '{entry}' is not 'role=rule' (e.g. anon=60/min per ip, or *=... for any other role)", option);
                hasFallback = true;
                fallback = ParseRule(entry, entry, option, where, singleName);
                continue;
            }
            var role = entry[..eq].Trim();
            var rule = entry[(eq + 1)..].Trim();
            if (role.Length == 0) throw new ConfigException($"{where}: '{entry}' has no role before '='", option);
            if (role == "*")
            {
                if (hasFallback) throw new ConfigException($"{where}: '*' is named twice", option);
                hasFallback = true;
                fallback = ParseRule(rule, entry, option, where, singleName ?? "default");
                continue;
            }
            if (byRole.ContainsKey(role)) throw new ConfigException($"{where}: the role '{role}' is named twice", option);
            byRole[role] = ParseRule(rule, entry, option, where, singleName is null ? role : singleName + " " + role);
        }
        return new RateLimitRules(text.Trim(), byRole, hasFallback, fallback);
    }

    /// <summary>The '=' between a role and its rule: before any space, '/' or ':' (a claim path may hold '=').</summary>
    private static int RoleSeparator(string entry)
    {
        for (var i = 0; i < entry.Length; i++)
        {
            var c = entry[i];
            if (c == '=') return i;
            if (c is '/' or ':' or '[' or '$') return -1;
        }
        return -1;
    }

    /// <summary>Splits on commas outside brackets, parentheses and quotes (a JSON Path may hold them).</summary>
    private static List<string> SplitEntries(string text)
    {
        var parts = new List<string>();
        var depth = 0;
        char quote = '\0';
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quote != '\0')
            {
                if (c == '\\') i++;
                else if (c == quote) quote = '\0';
            }
            else if (c is '\'' or '"') quote = c;
            else if (c is '[' or '(') depth++;
            else if (c is ']' or ')') depth--;
            else if (c == ',' && depth == 0)
            {
                parts.Add(text[start..i].Trim());
                start = i + 1;
            }
        }
        parts.Add(text[start..].Trim());
        parts.RemoveAll(p => p.Length == 0);
        return parts;
    }

    /// <param name="shown">The entry as written (with its role), for the messages.</param>
    private static RateLimitPolicy? ParseRule(string rule, string shown, string option, string where, string name)
    {
        if (rule.Equals("unlimited", StringComparison.OrdinalIgnoreCase)) return null;
        string Bad(string why) => $"{where}: '{shown}' {why} (expected N/UNIT [per ip|sub|role|claim:PATH], or unlimited)";
        var per = rule.IndexOf(" per ", StringComparison.OrdinalIgnoreCase);
        var rate = (per < 0 ? rule : rule[..per]).Trim();
        var keyText = per < 0 ? "ip" : rule[(per + 5)..].Trim();
        var slash = rate.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0) throw new ConfigException(Bad("has no '/'"), option);
        var countText = rate[..slash].Trim();
        if (!long.TryParse(countText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var quota))
            throw new ConfigException(Bad($"has no number of requests before '/' ('{countText}')"), option);
        if (quota < 0) throw new ConfigException($"{where}: '{shown}': a limit cannot be negative ({quota})", option);
        if (quota == 0 || quota > int.MaxValue)
            throw new ConfigException($"{where}: '{shown}': the limit must be 1 to {int.MaxValue} requests (write 'unlimited' for none)", option);
        var window = ParseWindow(rate[(slash + 1)..].Trim()) ?? throw new ConfigException(
            Bad($"has an unknown time unit '{rate[(slash + 1)..].Trim()}' (s, min, h, day; e.g. 60/min, 100/10s)"), option);
        var lower = keyText.ToLowerInvariant();
        return lower switch
        {
            "ip" => new RateLimitPolicy(name, (int)quota, window, KeyKind.Ip, null, "ip"),
            "role" => new RateLimitPolicy(name, (int)quota, window, KeyKind.Role, null, "role"),
            "sub" or "user" => new RateLimitPolicy(name, (int)quota, window, KeyKind.Claim, RoleClaimPath.Parse("$.sub"), "sub"),
            _ when lower.StartsWith("claim:", StringComparison.Ordinal) =>
                new RateLimitPolicy(name, (int)quota, window, KeyKind.Claim, ClaimPath(keyText[6..].Trim(), option, where), "claim:" + keyText[6..].Trim()),
            _ => throw new ConfigException(Bad($"has an unknown key '{keyText}'"), option),
        };
    }

    private static RoleClaimPath ClaimPath(string path, string option, string where)
    {
        try
        {
            return RoleClaimPath.Parse(path);
        }
        catch (ConfigException e)
        {
            throw new ConfigException($"{where}: the claim path '{path}' is invalid: {e.Message}", option);
        }
    }

    /// <summary>Seconds of <c>min</c>, <c>10s</c>, <c>hour</c>...; null when not a unit.</summary>
    private static int? ParseWindow(string unit)
    {
        var i = 0;
        while (i < unit.Length && char.IsAsciiDigit(unit[i])) i++;
        var count = 1;
        if (i > 0 && (!int.TryParse(unit.AsSpan(0, i), NumberStyles.None, CultureInfo.InvariantCulture, out count) || count <= 0)) return null;
        int seconds = unit[i..].Trim().ToLowerInvariant() switch
        {
            "s" or "sec" or "second" or "seconds" => 1,
            "m" or "min" or "minute" or "minutes" => 60,
            "h" or "hour" or "hours" => 3600,
            "d" or "day" or "days" => 86400,
            _ => 0,
        };
        if (seconds == 0 || (long)seconds * count > int.MaxValue / 2) return null;
        return seconds * count;
    }
}
