using Restgres.Check;
using Xunit;

namespace Restgres.Tests.Check;

public sealed class ExpectationsParserTests
{
    /// <summary>An expectations file as one line per fact, to compare whole parses in a table.</summary>
    private static string Describe(Expectations e) => string.Join(" | ",
        e.Objects.SelectMany(o => new[] { $"{o.Kind.ToString().ToLowerInvariant()} {o.Name} @{o.Line}" }
                .Concat(o.Columns.Select(c => $"column {c.Name}:{c.Type}:{(c.NotNull is null ? "?" : c.NotNull.Value ? "not null" : "null")} @{c.Line}"))
                .Concat(o.Rls is null ? [] : [$"rls {o.Rls.Value} @{o.Rls.Line}"])
                .Concat(o.Policies.Select(p => $"policy {p.Name}:{p.Command ?? "?"}:{string.Join(",", p.Roles)} @{p.Line}"))
                .Concat(o.Grants.Select(g => $"{(g.Granted ? "grant" : "no grant")} {string.Join(",", g.Privileges)} to {string.Join(",", g.Roles)} @{g.Line}"))
                .Concat(o.Returns is null ? [] : [$"returns {(o.ReturnsSet ? "setof " : "")}{o.Returns.Value} @{o.Returns.Line}"])
                .Concat(o.Security is null ? [] : [$"security {o.Security.Value} @{o.Security.Line}"]))
            .Concat(e.Ignores.Select(i => $"ignore {i.LintId} {i.Object}: {i.Reason} @{i.Line}")));

    [Theory]
    [InlineData("", "")]
    [InlineData("# only a comment\n\n   \n", "")]
    [InlineData("table api.readings", "table api.readings @1")]
    [InlineData("table Api.Readings", "table api.readings @1")]
    [InlineData("table \"Api\".\"Read ings\"", "table Api.Read ings @1")]
    [InlineData("view api.v\n  column a integer", "view api.v @1 | column a:integer:? @2")]
    [InlineData("table api.t\n  column id bigint not null\n  column note text null\n  column at timestamp with time zone NOT NULL\n  column amount numeric(10,2)",
        "table api.t @1 | column id:bigint:not null @2 | column note:text:null @3 | column at:timestamp with time zone:not null @4 | column amount:numeric(10,2):? @5")]
    [InlineData("table api.t\n  column \"Odd Name\" text not null", "table api.t @1 | column Odd Name:text:not null @2")]
    [InlineData("table api.t\n\trls forced", "table api.t @1 | rls forced @2")]
    [InlineData("table api.t\n  rls ON", "table api.t @1 | rls on @2")]
    [InlineData("table api.t\n  policy own_rows for select to web_user, admin\n  policy \"Users see own rows\"\n  policy p to anon",
        "table api.t @1 | policy own_rows:select:web_user,admin @2 | policy Users see own rows:?: @3 | policy p:?:anon @4")]
    [InlineData("table api.t\n  grant select, insert to web_user\n  no grant delete to anon, public",
        "table api.t @1 | grant select,insert to web_user @2 | no grant delete to anon,public @3")]
    [InlineData("schema api\n  grant usage to anon\n  no grant create to anon", "schema api @1 | grant usage to anon @2 | no grant create to anon @3")]
    [InlineData("function api.login(text, text)\n  returns json\n  security definer\n  grant execute to anon",
        "function api.login(text, text) @1 | grant execute to anon @4 | returns json @2 | security definer @3")]
    [InlineData("function api.items()\n  returns setof api.item", "function api.items() @1 | returns setof api.item @2")]
    [InlineData("ignore no_primary_key api.log: an append-only log nobody addresses by row",
        "ignore no_primary_key api.log: an append-only log nobody addresses by row @1")]
    [InlineData("ignore anon_security_definer_function_executable api.login(text, text): login: called before a token exists",
        "ignore anon_security_definer_function_executable api.login(text, text): login: called before a token exists @1")]
    [InlineData("table api.a\n  rls on\ntable api.b\n\n# b's facts\n  rls off", "table api.a @1 | rls on @2 | table api.b @3 | rls off @6")]
    public void Parses(string text, string expected) => Assert.Equal(expected, Describe(ExpectationsParser.Parse(text)));

    [Theory]
    [InlineData("tables api.t", "check.expect:1: expected 'schema', 'table', 'view', 'function' or 'ignore'")]
    [InlineData("  rls on", "check.expect:1: 'rls on' is indented but belongs to no schema")]
    [InlineData("table readings", "check.expect:1: name 'readings' with its schema")]
    [InlineData("table api.t\ntable api.t", "check.expect:2: table api.t is declared twice")]
    [InlineData("table api.t\n  column id", "check.expect:2: column id needs a type")]
    [InlineData("table api.t\n  column id not null", "check.expect:2: column id needs a type")]
    [InlineData("table api.t\n  rls maybe", "check.expect:2: rls is 'on', 'off' or 'forced', not 'maybe'")]
    [InlineData("table api.t\n  policy p for upsert", "check.expect:2: a policy is for all, select, insert, update or delete, not 'upsert'")]
    [InlineData("table api.t\n  policy p using (true)", "check.expect:2: expected 'for COMMAND' or 'to ROLE, ...'")]
    [InlineData("table api.t\n  grant select web_user", "check.expect:2: expected 'grant PRIVILEGE, ... to ROLE, ...'")]
    [InlineData("table api.t\n  grant execute to web_user", "check.expect:2: 'execute' is not a privilege on a table")]
    [InlineData("function api.f()\n  grant select to web_user", "check.expect:2: 'select' is not a privilege on a function")]
    [InlineData("schema api\n  column id int", "check.expect:2: 'column' does not apply to a schema")]
    [InlineData("view api.v\n  rls on", "check.expect:2: 'rls' does not apply to a view")]
    [InlineData("table api.t\n  returns int", "check.expect:2: 'returns' does not apply to a table")]
    [InlineData("table api.t\n  owner me", "check.expect:2: unknown fact 'owner'")]
    [InlineData("function api.login", "check.expect:1: a function is named with its argument types")]
    [InlineData("function login(text)", "check.expect:1: name 'login' with its schema")]
    [InlineData("function api.f()\n  security sometimes", "check.expect:2: security is 'definer' or 'invoker'")]
    [InlineData("ignore no_primary_key api.log", "check.expect:1: ignoring no_primary_key on api.log needs a reason")]
    [InlineData("ignore no_primary_key api.log: ", "check.expect:1: ignoring no_primary_key on api.log needs a reason")]
    [InlineData("ignore no_such_lint api.log: because", "check.expect:1: no lint 'no_such_lint'")]
    [InlineData("ignore no_primary_key", "check.expect:1: expected 'ignore LINT_ID OBJECT: REASON'")]
    [InlineData("table \"api.t", "check.expect:1: unterminated quoted name")]
    public void Refuses_with_file_and_line(string text, string expectedStart)
    {
        var e = Assert.Throws<ExpectationsException>(() => ExpectationsParser.Parse(text, "check.expect"));
        Assert.StartsWith(expectedStart, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("api.login(text, text)", "api.login(text,text)", true)]
    [InlineData("api.login(text,text)", "api.login(text, text)", true)]
    [InlineData("api.*", "api.anything(int)", true)]
    [InlineData("api.t", "api.t2", false)]
    [InlineData("api.t*", "api.t2", true)]
    [InlineData("api.t", "API.T", false)]
    public void An_ignore_matches_its_object_ignoring_spaces_and_with_a_trailing_star(string pattern, string obj, bool matches) =>
        Assert.Equal(matches, new LintIgnore("no_primary_key", pattern, "why", 1).Matches("no_primary_key", obj));

    [Fact]
    public void An_ignore_matches_only_its_own_lint() =>
        Assert.False(new LintIgnore("no_primary_key", "api.t", "why", 1).Matches("duplicate_index", "api.t"));

    [Fact]
    public void A_missing_file_is_a_clear_error()
    {
        var e = Assert.Throws<ExpectationsException>(() => ExpectationsParser.ParseFile("/no/such/check.expect"));
        Assert.StartsWith("/no/such/check.expect: cannot read the expectations file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_lint_has_a_distinct_id_and_a_documented_fix()
    {
        Assert.Equal(Lints.All.Length, Lints.All.Select(l => l.Id).Distinct().Count());
        var doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "check.md"));
        foreach (var lint in Lints.All)
        {
            Assert.Contains($"### {lint.Id}", doc, StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(lint.Fix), lint.Id);
        }
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Restgres.slnx"))) return dir.FullName;
        throw new InvalidOperationException("Restgres.slnx not found above " + AppContext.BaseDirectory);
    }
}
