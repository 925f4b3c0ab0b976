using System.Text;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Http;

/// <summary>
/// The plan cache (Http/PlanCache.cs) answers a repeated request from its earlier plan, re-bound to what changed:
/// every request here is sent several times (a plan is cached on its second sighting), and each answer must be the one
/// for its own arguments, headers and body.
/// </summary>
[Collection("pg")]
public sealed class PlanCacheTests(PgClusterFixture pg, ReadPathApi api) : IClassFixture<ReadPathApi>
{
    private async Task<Reply> Post(string url, string body) =>
        await (await api.DefaultAsync(pg)).SendAsync(HttpMethod.Post, url, body, ("Content-Type", "application/json"));

    /// <summary>Requests answered from a cached plan so far (the cache of the server's current snapshots).</summary>
    private static long Hits(TestServer s) => s.Server.State.PlanCacheFor(s.Server.State.SchemaCache!, s.Server.State.Config).Hits;

    /// <summary>Runs <paramref name="requests"/> and checks that at least <paramref name="atLeast"/> were cache hits.</summary>
    private async Task Hit(int atLeast, Func<Task> requests, TestServer? server = null)
    {
        var s = server ?? await api.DefaultAsync(pg);
        var before = Hits(s);
        await requests();
        Assert.True(Hits(s) - before >= atLeast, $"expected at least {atLeast} plan cache hits, got {Hits(s) - before}");
    }

    [Fact]
    public async Task A_repeated_call_takes_the_arguments_of_each_body() => await Hit(2, async () =>
    {
        for (var i = 0; i < 4; i++)
            Expect.Ok(await Post("/rpc/add", $$"""{"a":{{i}},"b":10}"""), (i + 10).ToString(System.Globalization.CultureInfo.InvariantCulture));
    });

    [Fact]
    public async Task A_repeated_read_is_answered_from_its_plan_and_a_new_url_is_not()
    {
        var s = await api.DefaultAsync(pg);
        await Hit(2, async () =>
        {
            for (var i = 0; i < 4; i++) Expect.Ok(await s.GetAsync("/books?select=id&id=eq.2"), """[{"id":2}]""");
        });
        var before = Hits(s);
        Expect.Ok(await s.GetAsync("/books?select=id&id=eq.3"), """[{"id":3}]""");
        Assert.Equal(before, Hits(s));
    }

    [Fact]
    public async Task The_key_reads_headers_as_the_parser_does()
    {
        // Two Accept headers are not the one header their values joined would make: the parser reads only the first
        // (text/csv), while "text/csv;q=0.5,application/json" prefers JSON. A key joining the values served one's
        // cached plan to the other.
        var s = await api.DefaultAsync(pg);
        var target = Encoding.ASCII.GetBytes("/books?select=id&id=eq.1");
        for (var i = 0; i < 3; i++)
        {
            var two = await s.SendRawAsync(s.RawRequest("GET", target, ("Accept", "text/csv;q=0.5"), ("Accept", "application/json")));
            Assert.Equal((200, "id\n1"), (two.Status, two.Body));
            var joined = await s.SendRawAsync(s.RawRequest("GET", target, ("Accept", "text/csv;q=0.5,application/json")));
            Assert.Equal((200, """[{"id":1}]"""), (joined.Status, joined.Body));
        }
    }

    [Fact]
    public async Task Other_argument_names_on_the_same_url_choose_their_own_overload() => await Hit(3, async () =>
    {
        for (var i = 0; i < 3; i++)
        {
            Expect.Ok(await Post("/rpc/add", """{"a":1,"b":2}"""), "3");
            Expect.Ok(await Post("/rpc/add", """{"c":3,"a":1,"b":2}"""), "6");
            // An array of objects: the first one's arguments (json_to_recordset).
            Expect.Ok(await Post("/rpc/add", """[{"a":5,"b":5},{"a":0,"b":0}]"""), "10");
            var missing = await Post("/rpc/add", """{"a":1}""");
            Assert.Equal(404, missing.Status);
            Assert.Contains("\"code\":\"PGRST202\"", missing.Body, StringComparison.Ordinal);
            Assert.Contains("api.add(a)", missing.Body, StringComparison.Ordinal);
        }
    });

    [Fact]
    public async Task A_bad_body_on_a_planned_url_is_still_PGRST102()
    {
        for (var i = 0; i < 3; i++) Expect.Ok(await Post("/rpc/add", """{"a":1,"b":1}"""), "2");
        Expect.Error(await Post("/rpc/add", """{"a":1,"""), 400, "PGRST102", "Empty or invalid json");
    }

    [Fact]
    public async Task Get_calls_take_their_arguments_from_each_url_and_headers_from_each_request()
    {
        var s = await api.ExtrasAsync(pg);
        await Hit(4, async () =>
        {
            for (var i = 0; i < 3; i++)
            {
                Expect.Ok(await s.GetAsync("/rpc/add?a=1&b=2"), "3");
                Expect.Ok(await s.GetAsync("/rpc/add?a=4&b=2"), "6");
                // db-pre-request sees each request's own headers, cached plan or not.
                var blocked = await s.GetAsync("/rpc/add?a=1&b=2", ("X-Block", "yes"));
                Assert.Equal(403, blocked.Status);
            }
        }, s);
    }
}
