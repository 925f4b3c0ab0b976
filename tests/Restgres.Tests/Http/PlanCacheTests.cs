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

    [Fact]
    public async Task A_repeated_call_takes_the_arguments_of_each_body()
    {
        for (var i = 0; i < 4; i++)
            Expect.Ok(await Post("/rpc/add", $$"""{"a":{{i}},"b":10}"""), (i + 10).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Other_argument_names_on_the_same_url_choose_their_own_overload()
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
    }

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
        for (var i = 0; i < 3; i++)
        {
            Expect.Ok(await s.GetAsync("/rpc/add?a=1&b=2"), "3");
            Expect.Ok(await s.GetAsync("/rpc/add?a=4&b=2"), "6");
            // db-pre-request sees each request's own headers, cached plan or not.
            var blocked = await s.GetAsync("/rpc/add?a=1&b=2", ("X-Block", "yes"));
            Assert.Equal(403, blocked.Status);
        }
    }
}
