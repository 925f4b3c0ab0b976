using System.Collections.Immutable;

namespace Restgres.Check;

/// <summary>
/// Reads an expectations file (docs/check.md): a declaration at the start of a line (<c>schema</c>, <c>table</c>,
/// <c>view</c>, <c>function</c>, <c>ignore</c>), the facts about it on the indented lines below. Line-based so that a
/// change to the schema is a one-line diff in review; names follow SQL (unquoted ones fold to lower case).
/// </summary>
internal static class ExpectationsParser
{
    private static readonly ImmutableHashSet<string> TablePrivileges =
        ["select", "insert", "update", "delete", "truncate", "references", "trigger"];

    private static readonly ImmutableHashSet<string> PolicyCommands = ["all", "select", "insert", "update", "delete"];

    public static Expectations ParseFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ExpectationsException($"{path}: cannot read the expectations file: {e.Message}");
        }
        return Parse(text, path);
    }

    /// <exception cref="ExpectationsException">A line is not understood; the message names the file and line.</exception>
    public static Expectations Parse(string text, string fileName = "expectations")
    {
        ArgumentNullException.ThrowIfNull(text);
        var objects = ImmutableArray.CreateBuilder<ExpectedObject>();
        var ignores = ImmutableArray.CreateBuilder<LintIgnore>();
        var seen = new HashSet<(ObjectKind, string)>();
        ExpectedObject? current = null;
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var lineNo = i + 1;
            var raw = lines[i].TrimEnd('\r', ' ', '\t');
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            ExpectationsException Error(string message) => new($"{fileName}:{lineNo}: {message}");
            var (keyword, rest) = SplitWord(line);
            if (!char.IsWhiteSpace(raw[0]))
            {
                if (current is not null) objects.Add(current);
                current = null;
                switch (keyword)
                {
                    case "schema":
                        current = Declare(ObjectKind.Schema, Identifier(rest, Error));
                        break;
                    case "table":
                        current = Declare(ObjectKind.Table, Qualified(rest, Error));
                        break;
                    case "view":
                        current = Declare(ObjectKind.View, Qualified(rest, Error));
                        break;
                    case "function":
                        if (!rest.EndsWith(')') || !rest.Contains('(', StringComparison.Ordinal))
                            throw Error($"a function is named with its argument types, as in 'function api.login(text, text)'; got '{rest}'");
                        Qualified(rest[..rest.IndexOf('(', StringComparison.Ordinal)], Error);
                        current = Declare(ObjectKind.Function, rest);
                        break;
                    case "ignore":
                        ignores.Add(ParseIgnore(rest, lineNo, Error));
                        break;
                    default:
                        throw Error($"expected 'schema', 'table', 'view', 'function' or 'ignore' at the start of a line, got '{keyword}' (facts about an object are indented under it)");
                }
                continue;
            }
            if (current is null)
                throw Error($"'{line}' is indented but belongs to no schema, table, view or function above it");
            current = keyword switch
            {
                "column" when current.Kind is ObjectKind.Table or ObjectKind.View =>
                    current with { Columns = current.Columns.Add(ParseColumn(rest, lineNo, Error)) },
                "rls" when current.Kind is ObjectKind.Table =>
                    current with { Rls = rest.ToLowerInvariant() is "on" or "off" or "forced" ? new(rest.ToLowerInvariant(), lineNo) : throw Error($"rls is 'on', 'off' or 'forced', not '{rest}'") },
                "policy" when current.Kind is ObjectKind.Table =>
                    current with { Policies = current.Policies.Add(ParsePolicy(rest, lineNo, Error)) },
                "grant" => current with { Grants = current.Grants.Add(ParseGrant(rest, true, current.Kind, lineNo, Error)) },
                "no" when rest.StartsWith("grant ", StringComparison.OrdinalIgnoreCase) =>
                    current with { Grants = current.Grants.Add(ParseGrant(rest[6..].Trim(), false, current.Kind, lineNo, Error)) },
                "returns" when current.Kind is ObjectKind.Function => ParseReturns(current, rest, lineNo, Error),
                "security" when current.Kind is ObjectKind.Function =>
                    current with { Security = rest.ToLowerInvariant() is "definer" or "invoker" ? new(rest.ToLowerInvariant(), lineNo) : throw Error($"security is 'definer' or 'invoker', not '{rest}'") },
                "column" or "rls" or "policy" or "returns" or "security" =>
                    throw Error($"'{keyword}' does not apply to a {current.Kind.ToString().ToLowerInvariant()}"),
                _ => throw Error($"unknown fact '{keyword}' (expected column, rls, policy, grant, no grant, returns or security)"),
            };

            continue;

            ExpectedObject Declare(ObjectKind kind, string name)
            {
                if (!seen.Add((kind, name)))
                    throw Error($"{kind.ToString().ToLowerInvariant()} {name} is declared twice");
                return new ExpectedObject(kind, name, lineNo);
            }
        }
        if (current is not null) objects.Add(current);
        return new Expectations(objects.ToImmutable(), ignores.ToImmutable());
    }

    private static ExpectedColumn ParseColumn(string rest, int line, Func<string, ExpectationsException> error)
    {
        var (name, type) = SplitIdentifier(rest, error);
        bool? notNull = null;
        if (EndsWithWords(type, "not null", out var before)) (type, notNull) = (before, true);
        else if (EndsWithWords(type, "null", out before)) (type, notNull) = (before, false);
        if (type.Length == 0) throw error($"column {name} needs a type, as in 'column {name} text not null'");
        return new ExpectedColumn(name, type, notNull, line);
    }

    private static ExpectedPolicy ParsePolicy(string rest, int line, Func<string, ExpectationsException> error)
    {
        var (name, tail) = SplitIdentifier(rest, error);
        string? command = null;
        var roles = ImmutableArray<string>.Empty;
        while (tail.Length > 0)
        {
            var (word, after) = SplitWord(tail);
            if (word == "for" && command is null)
            {
                (command, tail) = SplitWord(after);
                command = command.ToLowerInvariant();
                if (!PolicyCommands.Contains(command)) throw error($"a policy is for all, select, insert, update or delete, not '{command}'");
            }
            else if (word == "to" && roles.IsEmpty)
            {
                roles = Roles(after, error);
                tail = "";
            }
            else
            {
                throw error($"expected 'for COMMAND' or 'to ROLE, ...' after the policy name, got '{tail}'");
            }
        }
        return new ExpectedPolicy(name, command, roles, line);
    }

    private static ExpectedGrant ParseGrant(string rest, bool granted, ObjectKind kind, int line, Func<string, ExpectationsException> error)
    {
        var to = rest.IndexOf(" to ", StringComparison.OrdinalIgnoreCase);
        if (to < 0) throw error($"expected 'grant PRIVILEGE, ... to ROLE, ...', got '{rest}'");
        var privileges = rest[..to].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.ToLowerInvariant()).ToImmutableArray();
        var allowed = kind switch
        {
            ObjectKind.Schema => ["usage", "create"],
            ObjectKind.Function => ["execute"],
            _ => TablePrivileges,
        };
        if (privileges.IsEmpty) throw error("name at least one privilege");
        if (privileges.FirstOrDefault(p => !allowed.Contains(p)) is { } bad)
            throw error($"'{bad}' is not a privilege on a {kind.ToString().ToLowerInvariant()} (one of {string.Join(", ", allowed.Order(StringComparer.Ordinal))})");
        return new ExpectedGrant(privileges, Roles(rest[(to + 4)..], error), granted, line);
    }

    private static ExpectedObject ParseReturns(ExpectedObject current, string rest, int line, Func<string, ExpectationsException> error)
    {
        var (first, after) = SplitWord(rest);
        var set = first.Equals("setof", StringComparison.OrdinalIgnoreCase);
        var type = set ? after : rest;
        if (type.Length == 0) throw error("returns needs a type");
        return current with { Returns = new ExpectedSetting(type, line), ReturnsSet = set };
    }

    private static LintIgnore ParseIgnore(string rest, int line, Func<string, ExpectationsException> error)
    {
        if (rest.EndsWith(':')) rest = rest[..^1];
        var colon = rest.IndexOf(": ", StringComparison.Ordinal);
        var reason = colon < 0 ? "" : rest[(colon + 2)..].Trim();
        var target = colon < 0 ? rest : rest[..colon];
        var (id, obj) = SplitWord(target.Trim());
        if (id.Length == 0 || obj.Length == 0)
            throw error("expected 'ignore LINT_ID OBJECT: REASON'");
        if (!Lints.ById.ContainsKey(id))
            throw error($"no lint '{id}' (the lints: {string.Join(", ", Lints.All.Select(l => l.Id))})");
        if (reason.Length == 0)
            throw error($"ignoring {id} on {obj} needs a reason after ': ', for whoever reads this next");
        return new LintIgnore(id, obj, reason, line);
    }

    private static ImmutableArray<string> Roles(string text, Func<string, ExpectationsException> error)
    {
        var roles = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(r => Identifier(r, error)).ToImmutableArray();
        return roles.IsEmpty ? throw error("name at least one role") : roles;
    }

    /// <summary><c>schema.name</c>, each part folded to lower case unless double-quoted; the schema is required.</summary>
    public static string Qualified(string text, Func<string, ExpectationsException> error)
    {
        var (schema, rest) = SplitIdentifier(text, error, stopAtDot: true);
        if (!rest.StartsWith('.'))
            throw error($"name '{text}' with its schema, as in 'api.{schema}'");
        var (name, tail) = SplitIdentifier(rest[1..], error);
        if (tail.Length > 0) throw error($"unexpected '{tail}' after {schema}.{name}");
        return schema + "." + name;
    }

    /// <summary>Splits a name written as <c>schema.name</c> (as <see cref="Qualified"/> returns it, quotes removed)
    /// into its parts: a schema cannot hold a dot once unquoted, so the first dot splits.</summary>
    public static (string Schema, string Name) SplitQualified(string qualified)
    {
        var dot = qualified.IndexOf('.', StringComparison.Ordinal);
        return (qualified[..dot], qualified[(dot + 1)..]);
    }

    private static string Identifier(string text, Func<string, ExpectationsException> error)
    {
        var (name, rest) = SplitIdentifier(text, error);
        return rest.Length == 0 ? name : throw error($"unexpected '{rest}' after {name}");
    }

    /// <summary>The identifier at the start of <paramref name="text"/> (quoted, or up to a space) and what follows.</summary>
    private static (string Name, string After) SplitIdentifier(string text, Func<string, ExpectationsException> error, bool stopAtDot = false)
    {
        text = text.Trim();
        if (text.Length == 0) throw error("expected a name");
        if (text[0] == '"')
        {
            var sb = new System.Text.StringBuilder();
            for (var i = 1; i < text.Length; i++)
            {
                if (text[i] != '"') { sb.Append(text[i]); continue; }
                if (i + 1 < text.Length && text[i + 1] == '"') { sb.Append('"'); i++; continue; }
                return sb.Length == 0 ? throw error("an empty quoted name") : (sb.ToString(), text[(i + 1)..].TrimStart(' ', '\t'));
            }
            throw error($"unterminated quoted name in '{text}'");
        }
        var end = 0;
        while (end < text.Length && !char.IsWhiteSpace(text[end]) && !(stopAtDot && text[end] == '.')) end++;
        return (text[..end].ToLowerInvariant(), text[end..].TrimStart(' ', '\t'));
    }

    private static (string Word, string After) SplitWord(string text)
    {
        var space = text.IndexOfAny([' ', '\t']);
        return space < 0 ? (text, "") : (text[..space], text[(space + 1)..].Trim());
    }

    private static bool EndsWithWords(string text, string words, out string before)
    {
        before = text;
        if (!text.EndsWith(words, StringComparison.OrdinalIgnoreCase)) return false;
        var head = text[..^words.Length];
        if (head.Length > 0 && !char.IsWhiteSpace(head[^1])) return false;
        before = head.TrimEnd();
        return true;
    }
}
