using System.Collections.Frozen;
using System.Collections.Immutable;
using Restgres.Catalog;
using Restgres.Config;
using Restgres.Errors;
using Restgres.Plan;
using Restgres.Requests;
using Xunit;

namespace Restgres.Tests.Plan;

public class EmbedDepthTests
{
    private static string Nested(int levels)
    {
        var s = "id";
        for (var i = 0; i < levels; i++) s = (i % 2 == 0 ? "a" : "b") + "(" + s + ")";
        return "id," + s;
    }

    private static Restgres.Requests.ApiRequest Request(string select)
    {
        var raw = new RawRequest("GET", "/t", ["t"], "select=" + Uri.EscapeDataString(select), [], ReadOnlyMemory<byte>.Empty);
        return Restgres.Requests.ApiRequest.FromRaw(new AppConfig(), raw, Preferences.None);
    }

    [Fact]
    public void Embedding_deeper_than_the_limit_is_a_client_error_before_any_relationship_lookup()
    {
        var req = Request(Nested(Planner.MaxEmbedDepth + 1));
        var e = Assert.Throws<ApiError>(() => Planner.ReadPlanFor(new AppConfig(), Restgres.Catalog.SchemaCache.Empty, req, new QualifiedIdentifier("public", "t")));
        Assert.Equal(400, e.Status);
        Assert.Equal("PGRST100", e.Code);
        Assert.Equal("Resource embedding is nested too deeply", e.Message);
    }

    [Fact]
    public void Embedding_at_the_limit_goes_on_to_resolve_relationships()
    {
        var req = Request(Nested(Planner.MaxEmbedDepth));
        // With an empty schema cache the first embed has no relationship: PGRST200, not the depth error.
        var e = Assert.Throws<ApiError>(() => Planner.ReadPlanFor(new AppConfig(), Restgres.Catalog.SchemaCache.Empty, req, new QualifiedIdentifier("public", "t")));
        Assert.Equal("PGRST200", e.Code);
    }
}
