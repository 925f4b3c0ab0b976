using Restgres.Config;
using Restgres.Tests.Http;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Process;

/// <summary>
/// Schema cache reloads of a running server: NOTIFY on db-channel with 'reload schema' or an empty payload, other
/// payloads ignored, bursts debounced, and a failed reload keeping the old cache until a retry succeeds.
/// </summary>
[Collection("pg")]
public sealed class SchemaReloadTests(PgClusterFixture pg, ProcessDatabase shared) : IClassFixture<ProcessDatabase>
{
    private static readonly TimeSpan ReloadWithin = TimeSpan.FromSeconds(15);

    private static AppConfig ConfigFor(TestDatabase db) => new()
    {
        DbUri = db.Uri("restgres_authenticator"),
        DbSchemas = ["api"],
        DbAnonRole = "web_anon",
    };

    /// <summary>A table name of the test's own: the database is shared by the class.</summary>
    private static string NewTable() => "t_" + Guid.NewGuid().ToString("N")[..10];

    private static Task<bool> AnswersAsync(TestServer server, string path, int status) =>
        ProcessDatabase.EventuallyAsync(async () => (await server.GetAsync(path)).Status, status, ReloadWithin);

    [Theory]
    [InlineData("NOTIFY pgrst, 'reload schema'")]
    [InlineData("NOTIFY pgrst")]
    public async Task A_notification_reloads_the_schema_cache(string notify)
    {
        var db = await shared.GetAsync(pg);
        var table = NewTable();
        var server = await TestServer.StartAsync(ConfigFor(db));
        try
        {
            await ProcessDatabase.ListeningAsync(server);
            await db.ExecuteSqlAsync($"create table api.{table} (id int primary key); insert into api.{table} values (7);");
            Expect.Error(await server.GetAsync("/" + table), 404, "PGRST205", $"Could not find the table 'api.{table}' in the schema cache");

            await db.ExecuteSqlAsync(notify);

            Assert.True(await AnswersAsync(server, "/" + table, 200));
            Expect.Ok(await server.GetAsync("/" + table), """[{"id":7}]""");
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Other_payloads_and_other_channels_do_not_reload()
    {
        var db = await shared.GetAsync(pg);
        var table = NewTable();
        var server = await TestServer.StartAsync(ConfigFor(db) with { DbChannel = "custom" });
        try
        {
            await ProcessDatabase.ListeningAsync(server);
            var before = server.Server.State.SchemaCache;
            await db.ExecuteSqlAsync($"create table api.{table} (id int primary key);");
            await db.ExecuteSqlAsync("NOTIFY custom, 'something else'; NOTIFY custom, 'reload schemas'; NOTIFY pgrst, 'reload schema';");
            await Task.Delay(1000);
            Assert.Same(before, server.Server.State.SchemaCache);
            Assert.Equal(404, (await server.GetAsync("/" + table)).Status);

            await db.ExecuteSqlAsync("NOTIFY custom, 'reload schema'");
            Assert.True(await AnswersAsync(server, "/" + table, 200));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_burst_of_notifications_is_debounced_into_few_reloads()
    {
        var db = await shared.GetAsync(pg);
        var table = NewTable();
        var loads = 0;
        var server = await TestServer.StartAsync(ConfigFor(db), line =>
        {
            if (line.StartsWith("Schema cache loaded in", StringComparison.Ordinal)) Interlocked.Increment(ref loads);
        });
        try
        {
            await ProcessDatabase.ListeningAsync(server);
            Assert.Equal(1, Volatile.Read(ref loads));
            // psql runs each NOTIFY in a transaction of its own, so PostgreSQL delivers all 50.
            await db.ExecuteSqlAsync($"create table api.{table} (id int primary key);" + string.Concat(Enumerable.Repeat("NOTIFY pgrst;", 50)));
            Assert.True(await AnswersAsync(server, "/" + table, 200));
            await Task.Delay(500);
            // 51 without debouncing; a couple when the burst fits in one 100 ms cooldown, a few more on a busy machine.
            Assert.InRange(Volatile.Read(ref loads), 2, 10);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_failed_reload_keeps_the_old_cache_and_is_retried_until_it_succeeds()
    {
        var db = await shared.GetAsync(pg);
        var table = NewTable();
        var failures = 0;
        var server = await TestServer.StartAsync(ConfigFor(db), line =>
        {
            if (line.StartsWith("Failed to load the schema cache", StringComparison.Ordinal)) Interlocked.Increment(ref failures);
        });
        try
        {
            await ProcessDatabase.ListeningAsync(server);
            var before = server.Server.State.SchemaCache;
            Assert.NotNull(before);
            // The catalog queries read pg_rewrite (view definitions); requests do not, so they keep working.
            await db.ExecuteSqlAsync($"""
                revoke select on pg_catalog.pg_rewrite from public;
                create table api.{table} (id int primary key);
                notify pgrst, 'reload schema';
                """);
            Assert.True(await ProcessDatabase.EventuallyAsync(() => Task.FromResult(Volatile.Read(ref failures) > 0 ? 1 : 0), 1, ReloadWithin));

            Assert.Same(before, server.Server.State.SchemaCache);
            Expect.Ok(await server.GetAsync("/items?order=id"), Expect.Rows("""{"id":1}""", """{"id":2}""", """{"id":3}"""));
            Expect.Ok(await server.GetAsync("/item_ids?id=eq.2"), """[{"id":2}]""");
            Assert.Equal(404, (await server.GetAsync("/" + table)).Status);

            await db.ExecuteSqlAsync("grant select on pg_catalog.pg_rewrite to public;");
            Assert.True(await AnswersAsync(server, "/" + table, 200));
            Assert.NotSame(before, server.Server.State.SchemaCache);
        }
        finally
        {
            await server.DisposeAsync();
            await db.ExecuteSqlAsync("grant select on pg_catalog.pg_rewrite to public;");
        }
    }
}
