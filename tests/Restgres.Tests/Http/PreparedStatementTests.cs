using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Http;

/// <summary>
/// Prepared statements (db-prepared-statements, on by default) survive a request that fails in PostgreSQL: Npgsql
/// prepares a statement on its second use, and a failure in that execution must not leave the pooled connection
/// believing in statements the server never prepared (reliability finding F1: the next request on that connection
/// got "unexpected backend message" and a 500).
/// </summary>
[Collection("pg")]
public sealed class PreparedStatementTests(PgClusterFixture pg, ReadPathApi api) : IClassFixture<ReadPathApi>
{
    [Fact]
    public async Task A_statement_that_fails_on_its_second_use_does_not_break_the_next_request()
    {
        // One connection, so every request shares its prepared statements.
        var s = await api.ServerAsync(pg, "one-connection", c => c with { DbPool = 1 });
        for (var round = 0; round < 3; round++)
        {
            Expect.Ok(await s.GetAsync("/books?select=id&id=eq.1"), """[{"id":1}]""");
            var bad = await s.GetAsync("/books?select=id&id=eq.abc");
            Assert.Equal((400, "PostgREST; error=22P02"), (bad.Status, bad.Header("Proxy-Status")));
            Expect.Ok(await s.GetAsync("/books?select=id&id=eq.1"), """[{"id":1}]""");
        }
    }

    [Fact]
    public async Task A_failing_write_does_not_break_the_reads_after_it()
    {
        var s = await api.ServerAsync(pg, "one-connection", c => c with { DbPool = 1 });
        for (var round = 0; round < 3; round++)
        {
            Expect.Ok(await s.GetAsync("/books?select=id&id=eq.2"), """[{"id":2}]""");
            var denied = await s.SendAsync(HttpMethod.Post, "/books", """{"id":1}""", ("Content-Type", "application/json"));
            Assert.True(denied.Status is 401 or 403 or 409, denied.ToString());
            Expect.Ok(await s.GetAsync("/books?select=id&id=eq.2"), """[{"id":2}]""");
        }
    }
}
