using System.Text.Json;

namespace Restgres.Config;

/// <summary>
/// The parsed <c>jwt-role-claim-key</c>: where the role is in the JWT claims. PostgREST v16 takes an RFC 9535 JSON
/// Path (<c>$.role</c>, <c>$.a.b</c>, <c>$.roles[0]</c>, <c>$['https://x/role']</c>,
/// <c>$.roles[?(@ == 'author')]</c>, <c>$.roles[?search(@, '^au')]</c>; of the function extensions only
/// <c>search()</c>), and still accepts v14's deprecated JSPath (<c>.role</c>, <c>."a-b"[0]</c>,
/// <c>.roles[?(@ ^== "au")]</c>). Evaluation selects the first node the query returns (docs: references/auth.rst,
/// "JWT Role Extraction").
/// </summary>
internal sealed class RoleClaimPath
{
    private readonly JsonPath.Query? _query;
    private readonly DeprecatedJsPath.Step[]? _steps;

    private RoleClaimPath(string text, JsonPath.Query? query, DeprecatedJsPath.Step[]? steps)
    {
        Text = text;
        _query = query;
        _steps = steps;
    }

    /// <summary>PostgREST's default, <c>$.role</c>.</summary>
    public static RoleClaimPath Default => ConfigOptions.JwtRoleClaimKey.DefaultValue;

    /// <summary>The path as configured.</summary>
    public string Text { get; }

    /// <summary>True for the deprecated v14 JSPath syntax (<c>.role</c>).</summary>
    public bool IsDeprecatedSyntax => _steps is not null;

    /// <summary>Parses either syntax, trying JSON Path first as PostgREST does.</summary>
    /// <exception cref="ConfigException">Neither syntax matches.</exception>
    public static RoleClaimPath Parse(string text)
    {
        if (JsonPath.TryParse(text, out var query, out var error)) return new RoleClaimPath(text, query, null);
        if (DeprecatedJsPath.TryParse(text, out var steps, out var deprecatedError)) return new RoleClaimPath(text, null, steps);
        // Report the error of the syntax the value looks like it was meant to be in.
        var why = text.StartsWith('$') ? error : deprecatedError;
        throw new ConfigException($"failed to parse role-claim-key value ({text}): {why}", "jwt-role-claim-key");
    }

    /// <summary>Finds the first value the path selects in <paramref name="claims"/>.</summary>
    public bool TryEvaluate(JsonElement claims, out JsonElement value)
    {
        if (_query is not null) return JsonPath.TryEvaluateFirst(_query, claims, out value);
        return DeprecatedJsPath.TryEvaluate(_steps!, claims, out value);
    }

    /// <summary>For the deprecated syntax, the same path in JSON Path syntax when there is a direct equivalent.</summary>
    public string? JsonPathEquivalent => _steps is null ? null : DeprecatedJsPath.ToJsonPath(_steps);

    /// <summary>
    /// As PostgREST's <c>--dump-config</c> shows it, config text that reads back the same: a JSON Path with its
    /// <c>$</c> doubled (the file's escape), the deprecated syntax with quoted keys (dumpDeprecatedJSPath).
    /// </summary>
    public string DumpText => _steps is null ? Text.Replace("$", "$$", StringComparison.Ordinal) : DeprecatedJsPath.Dump(_steps);

    public override string ToString() => Text;
}
