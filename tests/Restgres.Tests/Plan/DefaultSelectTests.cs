using Restgres.Catalog;
using Restgres.Config;
using Restgres.Plan;
using Restgres.Requests;
using Xunit;

namespace Restgres.Tests.Plan;

/// <summary>
/// Whether a read selects the relation's own rows (hasDefaultSelect), which decides if a media handler written for
/// that relation applies. Reads, writes and calls ask the same question of their read plan.
/// </summary>
public sealed class DefaultSelectTests
{
    [Theory]
    [InlineData("", true)]
    [InlineData("select=*", true)]
    [InlineData("select=id", false)]
    [InlineData("select=*,id", false)]
    [InlineData("select=id::text", false)]
    // count() selects "*" as well, but its row is one bigint, not the relation's type.
    [InlineData("select=count()", false)]
    public void Only_a_plain_star_is_the_default_select(string query, bool expected)
    {
        var config = new AppConfig { DbAggregatesEnabled = true };
        var raw = new RawRequest("GET", "/t", ["t"], query, [], ReadOnlyMemory<byte>.Empty);
        var req = Restgres.Requests.ApiRequest.FromRaw(config, raw, Preferences.None);
        var plan = Planner.ReadPlanFor(config, Restgres.Catalog.SchemaCache.Empty, req, new QualifiedIdentifier("public", "t"));
        Assert.Equal(expected, plan.IsDefaultSelect);
    }
}
