using Restgres.Config;
using Restgres.Tests.Http;
using Xunit;

namespace Restgres.Tests.Infrastructure;

/// <summary>
/// A test class's fixture: one database made from <see cref="Sql"/> and the servers started on it, one per
/// configuration name, started on first use and shared by the class's tests (xunit class fixture); the servers are
/// stopped and the database dropped after them.
/// </summary>
public abstract class ServersOnOneDatabase : IAsyncLifetime
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, TestServer> _servers = new(StringComparer.Ordinal);
    private TestDatabase? _database;

    public TestDatabase Database => _database ?? throw new InvalidOperationException("no database yet");

    /// <summary>What the database is made of (roles included: they are shared by the cluster).</summary>
    protected virtual Task<string> SqlAsync() => throw new NotSupportedException("override SqlAsync or CreateDatabaseAsync");

    /// <summary>Makes the database; by default from <see cref="SqlAsync"/>.</summary>
    protected virtual async Task<TestDatabase> CreateDatabaseAsync(PgClusterFixture pg) =>
        await pg.CreateDatabaseAsync(await SqlAsync());

    /// <summary>The configuration every server of the class starts from.</summary>
    internal abstract AppConfig BaseConfig { get; }

    internal async Task<TestServer> ServerAsync(PgClusterFixture pg, string name, Func<AppConfig, AppConfig>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(pg);
        await _gate.WaitAsync();
        try
        {
            _database ??= await CreateDatabaseAsync(pg);
            if (!_servers.TryGetValue(name, out var server))
            {
                // A configured server's config is no longer the one its file gives: without its source, the config
                // re-read before each schema cache load (PostgREST's) cannot undo what the test set.
                server = await TestServer.StartAsync(configure is null ? BaseConfig : configure(BaseConfig) with { Source = null });
                _servers[name] = server;
            }
            return server;
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var server in _servers.Values)
            await server.DisposeAsync();
        _servers.Clear();
        if (_database is not null)
            await _database.DropAsync();
        _gate.Dispose();
        GC.SuppressFinalize(this);
    }
}
