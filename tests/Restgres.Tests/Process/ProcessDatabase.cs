using System.Diagnostics;
using Restgres.Tests.Http;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Process;

/// <summary>
/// A small _database (schema api: items 1-3 and a view over them, anonymous role web_anon) shared by the tests of one
/// class (xunit class fixture), created on first use and dropped after the class. Tests that change it use table
/// names of their own.
/// </summary>
public sealed class ProcessDatabase : IAsyncLifetime
{
    public static readonly string Schema = PgClusterFixture.RolesSql("restgres_authenticator", "web_anon") + """
        create schema api;
        grant usage on schema api to web_anon;
        alter default privileges in schema api grant select on tables to web_anon;
        create table api.items (id int primary key);
        insert into api.items values (1), (2), (3);
        create view api.item_ids as select id from api.items;
        """;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private TestDatabase? _database;

    public async Task<TestDatabase> GetAsync(PgClusterFixture pg)
    {
        await _gate.WaitAsync();
        try
        {
            return _database ??= await pg.CreateDatabaseAsync(Schema);
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_database is not null) await _database.DropAsync();
        _gate.Dispose();
    }

    /// <summary>Polls until <paramref name="probe"/> returns <paramref name="expected"/>; false when it did not in time.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<int>> probe, int expected, TimeSpan within)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < within)
        {
            if (await probe() == expected) return true;
            await Task.Delay(100);
        }
        return false;
    }

    /// <summary>Waits for the server's db-channel listener: notifications sent before its LISTEN would be lost.</summary>
    public static async Task ListeningAsync(TestServer server)
    {
        Assert.True(await EventuallyAsync(() => Task.FromResult(server.Server.State.ListenerOn ? 1 : 0), 1, TimeSpan.FromSeconds(10)),
            "the db-channel listener did not start");
    }
}
