using System.Collections.Immutable;

namespace Restgres.Check;

/// <summary>What a project says its database holds (docs/check.md): one entry per schema, table, view or function,
/// and the lint findings it accepts on purpose.</summary>
internal sealed record Expectations(ImmutableArray<ExpectedObject> Objects, ImmutableArray<LintIgnore> Ignores)
{
    public static Expectations Empty { get; } = new([], []);
}

internal enum ObjectKind { Schema, Table, View, Function }

/// <summary>One expected object and what must hold for it; <see cref="Line"/> is where the file declares it.</summary>
internal sealed record ExpectedObject(ObjectKind Kind, string Name, int Line)
{
    public ImmutableArray<ExpectedColumn> Columns { get; init; } = [];

    /// <summary><c>on</c>, <c>off</c> or <c>forced</c>; null when the file does not say.</summary>
    public ExpectedSetting? Rls { get; init; }

    public ImmutableArray<ExpectedPolicy> Policies { get; init; } = [];

    public ImmutableArray<ExpectedGrant> Grants { get; init; } = [];

    /// <summary>A function's result type as written (without <c>setof</c>).</summary>
    public ExpectedSetting? Returns { get; init; }

    public bool ReturnsSet { get; init; }

    /// <summary>A function's <c>definer</c> or <c>invoker</c>.</summary>
    public ExpectedSetting? Security { get; init; }
}

/// <summary>A one-value fact (<c>rls on</c>, <c>returns json</c>, <c>security definer</c>) and its line.</summary>
internal sealed record ExpectedSetting(string Value, int Line);

/// <summary><c>column NAME TYPE [not null | null]</c>; <see cref="NotNull"/> is null when nullability is not said.</summary>
internal sealed record ExpectedColumn(string Name, string Type, bool? NotNull, int Line);

/// <summary><c>policy NAME [for COMMAND] [to ROLE, ...]</c>.</summary>
internal sealed record ExpectedPolicy(string Name, string? Command, ImmutableArray<string> Roles, int Line);

/// <summary><c>grant PRIV, ... to ROLE, ...</c>, or with <see cref="Granted"/> false <c>no grant ...</c>.</summary>
internal sealed record ExpectedGrant(ImmutableArray<string> Privileges, ImmutableArray<string> Roles, bool Granted, int Line);

/// <summary><c>ignore LINT OBJECT: REASON</c>: a finding the project accepts, and why. OBJECT may end in <c>*</c>.</summary>
internal sealed record LintIgnore(string LintId, string Object, string Reason, int Line)
{
    public bool Matches(string lintId, string obj) =>
        lintId == LintId
        && (Object.EndsWith('*')
            ? Squash(obj).StartsWith(Squash(Object[..^1]), StringComparison.Ordinal)
            : Squash(obj) == Squash(Object));

    /// <summary>Signatures compare without their spaces: <c>api.f(text,int)</c> is <c>api.f(text, int)</c>.</summary>
    private static string Squash(string s) => string.Concat(s.Where(c => !char.IsWhiteSpace(c)));
}

/// <summary>The expectations file is malformed; the message starts with <c>file:line:</c>.</summary>
internal sealed class ExpectationsException(string message) : Exception(message);
