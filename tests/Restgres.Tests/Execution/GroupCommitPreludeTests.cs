using NpgsqlTypes;
using Restgres.Execution;
using Restgres.Sql;
using Xunit;

namespace Restgres.Tests.Execution;

/// <summary>How a later request of a batch clears the response settings before its own (pure; the semantics, with a
/// database, are GroupCommitTests').</summary>
public sealed class GroupCommitPreludeTests
{
    [Fact]
    public void The_reset_joins_the_preludes_select_list_and_keeps_its_parameters_in_place()
    {
        var prelude = new Statement("select set_config('search_path', $1, true), set_config('role', $2, true)",
            [new SqlParam("api", NpgsqlDbType.Text), new SqlParam("anon", NpgsqlDbType.Text)]);

        var st = Assert.Single(GroupCommit.ResetAndPrelude(prelude));

        Assert.Equal("select set_config('response.headers', '', true), set_config('response.status', '', true), "
            + "set_config('pgrst.inserted', '', true), set_config('search_path', $1, true), set_config('role', $2, true)", st.Sql);
        Assert.Equal(prelude.Params, st.Params);
    }

    [Fact]
    public void A_prelude_that_is_not_a_select_list_follows_the_reset_as_its_own_statement()
    {
        var prelude = new Statement("set local role anon", []);

        var sts = GroupCommit.ResetAndPrelude(prelude).ToList();

        Assert.Equal(2, sts.Count);
        Assert.StartsWith("select set_config('response.headers', ''", sts[0].Sql, StringComparison.Ordinal);
        Assert.Same(prelude, sts[1]);
    }
}
