using System.Text.Json;
using Restgres.Config;
using Xunit;

namespace Restgres.Tests.Config;

/// <summary>jwt-role-claim-key: RFC 9535 JSON Path (PostgREST v16) and the deprecated v14 JSPath.</summary>
public sealed class RoleClaimPathTests
{
    private const string Claims = """
        {
          "role": "web_user",
          "postgrest": { "roles": ["other", "author", "admin"], "level": 3 },
          "https://www.example.com/role": { "key": "custom" },
          "a-b": "dashed",
          "nested": { "deep": { "role": "deep_role" } },
          "items": [ { "name": "x", "n": 1 }, { "name": "y", "n": 5 } ],
          "num": 2.50,
          "flag": true,
          "nothing": null
        }
        """;

    private static string? Eval(string path)
    {
        using var doc = JsonDocument.Parse(Claims);
        var p = RoleClaimPath.Parse(path);
        return p.TryEvaluate(doc.RootElement, out var v) ? v.GetRawText() : null;
    }

    public static TheoryData<string, string?> JsonPaths => new()
    {
        // path, first selected value (raw JSON) or null for none
        { "$.role", "\"web_user\"" },
        { "$.postgrest.roles[1]", "\"author\"" },
        { "$.postgrest.roles[-1]", "\"admin\"" },
        { "$.postgrest.roles[3]", null },
        { "$['https://www.example.com/role'].key", "\"custom\"" },
        { "$[\"https://www.example.com/role\"][\"key\"]", "\"custom\"" },
        { "$['a-b']", "\"dashed\"" },
        { "$.postgrest.roles[?(@ == 'author')]", "\"author\"" },
        { "$.postgrest.roles[?@ == \"admin\"]", "\"admin\"" },
        { "$.postgrest.roles[?@ != 'other']", "\"author\"" },
        { "$.postgrest.roles[?search(@, '^au')]", "\"author\"" },
        { "$.postgrest.roles[?search(@, 'min$')]", "\"admin\"" },
        { "$.postgrest.roles[?search(@, '^zz')]", null },
        { "$.postgrest.roles[?!search(@, '^o')]", "\"author\"" },
        { "$.postgrest.roles[1:]", "\"author\"" },
        { "$.postgrest.roles[::-1]", "\"admin\"" },
        { "$.postgrest.roles[0:0]", null },
        { "$.postgrest.roles[*]", "\"other\"" },
        { "$.postgrest.*", "[\"other\", \"author\", \"admin\"]" },
        { "$..role", "\"web_user\"" },
        { "$.nested..role", "\"deep_role\"" },
        { "$.items[?@.n > 2].name", "\"y\"" },
        { "$.items[?@.n >= 1 && @.name == 'y'].name", "\"y\"" },
        { "$.items[?@.n < 0 || @.name == 'x'].name", "\"x\"" },
        { "$.items[?(@.n <= 1)].name", "\"x\"" },
        { "$.items[?@.name].n", "1" },
        { "$.items[?@.missing].n", null },
        { "$.items[?$.flag == true].name", "\"x\"" },
        { "$.items[?$.num == 2.5].name", "\"x\"" },
        { "$.items[?$.nothing == null].name", "\"x\"" },
        { "$.items[?@.n == 5.0e0].name", "\"y\"" },
        { "$.items[0, 1].name", "\"x\"" },
        { "$ .role", "\"web_user\"" },
        { "$.missing", null },
        { "$.role.deeper", null },
    };

    [Theory]
    [MemberData(nameof(JsonPaths))]
    public void A_JSON_path_selects_its_first_value(string path, string? expected)
    {
        Assert.Equal(expected, Eval(path));
        Assert.False(RoleClaimPath.Parse(path).IsDeprecatedSyntax);
    }

    // RFC 9535 §2.2.3: "$" alone is a valid query whose one result is the root node, the claims object itself (not
    // "no value", which would fall back to db-anon-role).
    [Fact]
    public void Dollar_alone_selects_the_whole_claims_object()
    {
        var p = RoleClaimPath.Parse("$");
        Assert.False(p.IsDeprecatedSyntax);
        using var doc = JsonDocument.Parse(Claims);
        Assert.True(p.TryEvaluate(doc.RootElement, out var value));
        Assert.Equal(JsonValueKind.Object, value.ValueKind);
        Assert.Equal(Claims.Trim(), value.GetRawText());
    }

    [Fact]
    public void The_default_path_is_dollar_role()
    {
        Assert.Equal("$.role", RoleClaimPath.Default.Text);
        Assert.Equal("\"web_user\"", Eval(RoleClaimPath.Default.Text));
    }

    public static TheoryData<string, string?, string?> DeprecatedPaths => new()
    {
        // path, first selected value, JSON Path equivalent
        { ".role", "\"web_user\"", "$.role" },
        { ".postgrest.roles[1]", "\"author\"", "$.postgrest.roles[1]" },
        { ".\"https://www.example.com/role\".key", "\"custom\"", "$['https://www.example.com/role'].key" },
        { ".\"a-b\"", "\"dashed\"", "$['a-b']" },
        { ".postgrest.roles[?(@ == \"admin\")]", "\"admin\"", "$.postgrest.roles[?(@ == 'admin')]" },
        { ".postgrest.roles[?(@ != \"other\")]", "\"author\"", "$.postgrest.roles[?(@ != 'other')]" },
        { ".postgrest.roles[?(@ ^== \"adm\")]", "\"admin\"", null },
        { ".postgrest.roles[?(@ ==^ \"hor\")]", "\"author\"", null },
        { ".postgrest.roles[?(@ *== \"the\")]", "\"other\"", null },
        { ".postgrest.roles[9]", null, "$.postgrest.roles[9]" },
    };

    [Theory]
    [MemberData(nameof(DeprecatedPaths))]
    public void A_deprecated_JSPath_still_works_and_suggests_its_JSON_path(string path, string? expected, string? equivalent)
    {
        var p = RoleClaimPath.Parse(path);
        Assert.True(p.IsDeprecatedSyntax);
        Assert.Equal(expected, Eval(path));
        Assert.Equal(equivalent, p.JsonPathEquivalent);
        if (equivalent is not null) Assert.Equal(expected, Eval(equivalent));
    }

    [Theory]
    [InlineData("role")]
    [InlineData("")]
    [InlineData("$.")]
    [InlineData("$.a[")]
    [InlineData("$[01]")]
    [InlineData("$[-0]")]
    [InlineData("$[9007199254740992]")]
    [InlineData("$.a ")]
    [InlineData("$.a[?length(@) == 1]")]
    [InlineData("$.a[?@.b[*] == 1]")]
    [InlineData("$['unterminated]")]
    [InlineData("$['bad \\q escape']")]
    [InlineData(".a[?(@ == \"x\")].b")]
    [InlineData(".")]
    [InlineData(".a[x]")]
    public void An_invalid_path_is_a_config_error(string path)
    {
        var e = Assert.Throws<ConfigException>(() => RoleClaimPath.Parse(path));
        Assert.StartsWith($"failed to parse role-claim-key value ({path}): ", e.Message, StringComparison.Ordinal);
        Assert.Equal("jwt-role-claim-key", e.Option);
    }
}
