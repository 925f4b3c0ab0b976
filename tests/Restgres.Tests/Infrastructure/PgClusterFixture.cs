using Npgsql;
using Restgres.Dev;
using Xunit;

namespace Restgres.Tests.Infrastructure;

/// <summary>
/// Tests that need PostgreSQL join this collection (<c>[Collection("pg")]</c>) and take <see cref="PgClusterFixture"/>
/// in their constructor: one throw-away _cluster serves the whole run, and each test class makes its own databases.
/// </summary>
[CollectionDefinition("pg")]
public sealed class PgCollection : ICollectionFixture<PgClusterFixture>;

/// <summary>
/// One temporary, ephemeral _cluster (fsync off, random loopback port, deleted at the end). Databases are cheap to
/// create, so isolate tests by database; roles are _cluster-wide, so fixtures create them idempotently
/// (<see cref="RolesSql"/>).
/// </summary>
public sealed class PgClusterFixture : IAsyncLifetime
{
    private PostgresCluster? _cluster;

    public PostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("the _cluster is not started yet");

    /// <summary>
    /// SQL creating a login role <paramref name="authenticator"/> (noinherit, as PostgREST's authenticator) and a
    /// nologin role <paramref name="anon"/> granted to it, unless they exist: roles are shared by every database of the
    /// _cluster, and test classes run in any order. The names are the tests' own constants, not user input.
    /// </summary>
    public static string RolesSql(string authenticator, string anon) => $$"""
        do $$
        begin
          if not exists (select from pg_roles where rolname = '{{authenticator}}') then
            create role {{authenticator}} login noinherit;
          end if;
          if not exists (select from pg_roles where rolname = '{{anon}}') then
            create role {{anon}} nologin;
          end if;
        end
        $$;
        grant {{anon}} to {{authenticator}};

        """;

    public async Task InitializeAsync() => _cluster = await PostgresCluster.CreateTemporaryAsync();

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
            await _cluster.DisposeAsync();
    }

    /// <summary>A fresh database with <paramref name="sql"/> run in it (through psql, stopping at the first error).</summary>
    public async Task<TestDatabase> CreateDatabaseAsync(string sql, string? name = null)
    {
        var db = await CreateEmptyDatabaseAsync(name);
        await Cluster.ExecuteSqlAsync(sql, db.Name);
        return db;
    }

    /// <summary>A fresh database with the SQL files run in it in order (relative <c>\i</c> works from each file).</summary>
    public async Task<TestDatabase> CreateDatabaseFromFilesAsync(params string[] paths)
    {
        var db = await CreateEmptyDatabaseAsync(null);
        foreach (var path in paths)
            await Cluster.ExecuteSqlFileAsync(path, db.Name);
        return db;
    }

    private async Task<TestDatabase> CreateEmptyDatabaseAsync(string? name)
    {
        name ??= "t_" + Guid.NewGuid().ToString("N")[..16];
        await Cluster.ExecuteSqlAsync($"create database \"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"");
        return new TestDatabase(Cluster, name);
    }
}

/// <summary>A database in the shared _cluster.</summary>
public sealed record TestDatabase(PostgresCluster Cluster, string Name)
{
    /// <summary>Npgsql connection string as the superuser.</summary>
    public string ConnectionString => Cluster.ConnectionStringFor(Name);

    /// <summary>Npgsql connection string for another user (trust auth: any password or none).</summary>
    public string ConnectionStringFor(string user, string? password = null) => Cluster.ConnectionStringFor(Name, user, password);

    /// <summary>A <c>postgresql://</c> URI for <c>AppConfig.DbUri</c>.</summary>
    public string Uri(string user = PostgresCluster.SuperUser, string? password = null) => Cluster.ConnectionUri(Name, user, password);

    public Task ExecuteSqlAsync(string sql) => Cluster.ExecuteSqlAsync(sql, Name);

    /// <summary>Runs a query as the superuser and returns the first column of the first row.</summary>
    public async Task<object?> ScalarAsync(string sql)
    {
        await using var conn = new NpgsqlConnection(ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        var value = await cmd.ExecuteScalarAsync();
        return value is DBNull ? null : value;
    }

    /// <summary>Drops the database; WITH (FORCE) ends sessions still connected (a test server's pool).</summary>
    public async Task DropAsync() =>
        await Cluster.ExecuteSqlAsync($"drop database if exists \"{Name.Replace("\"", "\"\"", StringComparison.Ordinal)}\" with (force)");
}
