using Restgres.Migrations;
using Xunit;

namespace Restgres.Tests.Migrations;

public sealed class SqlStatementsTests
{
    [Theory]
    [InlineData("select 1; select 2;", new[] { "select 1", "select 2" })]
    [InlineData("select 1", new[] { "select 1" })]
    [InlineData("-- only a comment\n/* and /* a nested */ one; */\n", new string[0])]
    [InlineData("select 'a;b', \"c;d\"; select E'x\\';y'", new[] { "select 'a;b', \"c;d\"", "select E'x\\';y'" })]
    [InlineData("select 'it''s;'; select 2", new[] { "select 'it''s;'", "select 2" })]
    [InlineData("create function f() returns int language sql as $$ select 1; $$; select 2",
        new[] { "create function f() returns int language sql as $$ select 1; $$", "select 2" })]
    [InlineData("do $body$ begin perform 1; end $body$; select $1", new[] { "do $body$ begin perform 1; end $body$", "select $1" })]
    [InlineData("create rule r as on insert to t do also (select 1; select 2); select 3",
        new[] { "create rule r as on insert to t do also (select 1; select 2)", "select 3" })]
    [InlineData("-- lead\nselect 1 -- tail;\n;", new[] { "select 1 -- tail;" })]
    public void A_script_splits_into_its_top_level_statements(string sql, string[] expected) =>
        Assert.Equal(expected, SqlStatements.Split(sql).Select(s => s.Text));

    [Fact]
    public void Each_statement_knows_where_it_starts_so_that_an_error_position_becomes_a_line()
    {
        const string sql = "-- header\n\nselect 1;\n  select\n  2;";

        var statements = SqlStatements.Split(sql);

        Assert.Equal([3, 4], statements.Select(s => SqlStatements.LineAt(sql, s.Offset)));
        Assert.Equal(5, SqlStatements.LineAt(sql, statements[1].Offset + "select\n  ".Length));
    }
}
