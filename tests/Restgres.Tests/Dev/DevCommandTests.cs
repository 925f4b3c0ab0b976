using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Npgsql;
using Restgres.Dev;
using Xunit;

namespace Restgres.Tests.Dev;

/// <summary>A cluster of its own: the dev roles (anon, authenticated) must not leak into the shared test cluster.</summary>
public sealed class DevClusterFixture : IAsyncLifetime
{
    private PostgresCluster? cluster;

    public PostgresCluster Cluster => cluster ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        cluster = await PostgresCluster.CreateTemporaryAsync();
        // Twice, as every `restgres dev` run after the first does.
        await DevCommand.PrepareDatabaseAsync(cluster, CancellationToken.None);
        await DevCommand.PrepareDatabaseAsync(cluster, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        if (cluster is not null)
            await cluster.DisposeAsync();
    }
}

public sealed class DevCommandTests(DevClusterFixture fixture) : IClassFixture<DevClusterFixture>
{
    [Fact]
    public async Task Preparing_twice_keeps_one_copy_of_the_demo_data()
    {
        Assert.Equal(4L, await AsRoleAsync("anon", "select count(*) from api.todos"));
        Assert.Equal(2L, await AsRoleAsync("anon", "select count(*) from api.categories"));
    }

    [Fact]
    public async Task The_authenticator_can_log_in_and_become_anon_who_may_read_but_not_write()
    {
        Assert.Equal(3L, await AsRoleAsync("anon", "select count(*) from api.open_todos"));
        Assert.Equal(3, await AsRoleAsync("anon", "select api.add_them(1, 2)"));
        var e = await Assert.ThrowsAsync<PostgresException>(
            () => AsRoleAsync("anon", "insert into api.todos (task) values ('nope') returning id"));
        Assert.Equal("42501", e.SqlState); // insufficient_privilege: PostgREST answers 401 for anon
    }

    [Fact]
    public async Task Authenticated_users_may_insert_and_new_ids_do_not_collide_with_the_seed()
    {
        var id = await AsRoleAsync("authenticated", "insert into api.todos (task) values ('from a test') returning id");
        Assert.True((int)id! > 4);
        await fixture.Cluster.ExecuteSqlAsync($"delete from api.todos where id = {id}");
    }

    [Fact]
    public void The_config_points_at_the_cluster_as_authenticator_with_the_demo_schema()
    {
        var config = DevCommand.BuildConfig(fixture.Cluster, 3123);

        Assert.Equal($"postgresql://authenticator:{DevCommand.AuthenticatorPassword}@127.0.0.1:{fixture.Cluster.Port}/postgres", config.DbUri);
        Assert.Equal<string>(["api"], config.DbSchemas);
        Assert.Equal("anon", config.DbAnonRole);
        Assert.Equal("127.0.0.1", config.ServerHost);
        Assert.Equal(3123, config.ServerPort);
        Assert.Equal(DevCommand.JwtSecret, config.JwtSecret);
    }

    [Fact]
    public async Task The_printed_token_is_a_valid_HS256_token_for_the_authenticated_role()
    {
        var token = DevCommand.DevToken();

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidateAudience = false,
            ValidateIssuer = false,
            IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(DevCommand.JwtSecret)),
        });

        Assert.True(result.IsValid, result.Exception?.Message);
        Assert.Equal("authenticated", result.Claims["role"]);
    }

    [Fact]
    public void The_banner_shows_the_url_and_example_requests()
    {
        var banner = DevCommand.Banner(DevCommand.BuildConfig(fixture.Cluster, 3000), fixture.Cluster);

        Assert.Contains("http://127.0.0.1:3000", banner, StringComparison.Ordinal);
        Assert.Contains("curl \"http://127.0.0.1:3000/todos\"", banner, StringComparison.Ordinal);
        Assert.Contains("/rpc/add_them?a=1&b=2", banner, StringComparison.Ordinal);
        Assert.Contains("Authorization: Bearer $TOKEN", banner, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new string[0], ".restgres", 3000, null)]
    [InlineData(new[] { "--data-dir", "/tmp/x", "--port", "3100", "--pg-port", "6543" }, "/tmp/x", 3100, 6543)]
    [InlineData(new[] { "--data-dir=/tmp/y", "--port=3200" }, "/tmp/y", 3200, null)]
    public void Arguments_are_parsed(string[] args, string dataDir, int port, int? pgPort)
    {
        var options = DevCommand.ParseArgs(args);

        Assert.NotNull(options);
        Assert.Equal(Path.GetFullPath(dataDir), options.DataDir);
        Assert.Equal(port, options.ApiPort);
        Assert.Equal(pgPort, options.PgPort);
    }

    [Theory]
    [InlineData("--port", "http")]
    [InlineData("--port", "70000")]
    [InlineData("--pg-port")]
    [InlineData("--frobnicate")]
    [InlineData("extra")]
    public void Bad_arguments_are_refused(params string[] args) =>
        Assert.Throws<ArgumentException>(() => DevCommand.ParseArgs(args));

    [Fact]
    public void Help_is_not_an_error() => Assert.Null(DevCommand.ParseArgs(["--help"]));

    /// <summary>As PostgREST does it: log in as the authenticator, then SET ROLE within a transaction.</summary>
    private async Task<object?> AsRoleAsync(string role, string sql)
    {
        var cs = new NpgsqlConnectionStringBuilder(
            fixture.Cluster.ConnectionStringFor("postgres", "authenticator", DevCommand.AuthenticatorPassword)) { Pooling = false }.ConnectionString;
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await using (var set = new NpgsqlCommand($"set local role {role}", conn, tx))
            await set.ExecuteNonQueryAsync();
        await using var cmd = new NpgsqlCommand(sql, conn, tx);
        var value = await cmd.ExecuteScalarAsync();
        await tx.CommitAsync();
        return value;
    }
}
