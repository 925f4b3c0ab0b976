using System.Globalization;
using Npgsql;
using Restgres.Dev;
using Xunit;

namespace Restgres.Tests.Dev;

/// <summary>Each test runs its own cluster, so stopping and reusing cannot disturb the shared one.</summary>
public sealed class PostgresClusterTests
{
    private static readonly ClusterOptions Ephemeral = new() { Ephemeral = true };

    [Fact]
    public async Task A_temporary_cluster_starts_and_accepts_a_connection_as_the_postgres_superuser()
    {
        await using var cluster = await PostgresCluster.CreateTemporaryAsync();

        Assert.Equal("postgres", await ScalarAsync(cluster.ConnectionString, "select current_user"));
        Assert.Equal("UTC", await ScalarAsync(cluster.ConnectionString, "show timezone"));
        Assert.Equal("off", await ScalarAsync(cluster.ConnectionString, "show fsync"));
        Assert.Equal("127.0.0.1", await ScalarAsync(cluster.ConnectionString, "show listen_addresses"));
        Assert.Equal("UTF8", await ScalarAsync(cluster.ConnectionString, "show server_encoding"));
        Assert.Equal(cluster.Port.ToString(CultureInfo.InvariantCulture), await ScalarAsync(cluster.ConnectionString, "show port"));
    }

    [Fact]
    public async Task As_root_the_server_runs_as_the_postgres_os_user_through_runuser()
    {
        await using var cluster = await PostgresCluster.CreateTemporaryAsync();

        var postmasterPid = int.Parse(File.ReadLines(Path.Combine(cluster.DataDir, "postmaster.pid")).First(), CultureInfo.InvariantCulture);
        var uid = File.ReadLines($"/proc/{postmasterPid}/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal))
            .Split('\t', StringSplitOptions.RemoveEmptyEntries)[1];
        if (Environment.IsPrivilegedProcess)
        {
            Assert.Equal("postgres", cluster.RunAsUser);
            Assert.NotEqual("0", uid);
            Assert.Equal(await IdAsync("postgres"), uid);
        }
        else
        {
            Assert.Null(cluster.RunAsUser);
            Assert.Equal(await IdAsync(Environment.UserName), uid);
        }
        Assert.Equal(1, await ScalarAsync(cluster.ConnectionString, "select 1"));
    }

    [Fact]
    public async Task StartAsync_on_a_data_dir_whose_server_is_running_reuses_that_server()
    {
        var dir = NewDataDir();
        PostgresCluster? first = null;
        try
        {
            first = await PostgresCluster.StartAsync(dir, options: Ephemeral);
            await first.ExecuteSqlAsync("create table marker (id int); insert into marker values (42);");

            await using (var second = await PostgresCluster.StartAsync(dir, port: PostgresCluster.FreePort(), options: Ephemeral))
            {
                Assert.True(second.WasAlreadyRunning);
                Assert.False(first.WasAlreadyRunning);
                Assert.Equal(first.Port, second.Port);
                Assert.Equal(42, await ScalarAsync(second.ConnectionString, "select id from marker"));
            }

            // Disposing a reused cluster leaves the server to the instance that started it.
            Assert.Equal(42, await ScalarAsync(first.ConnectionString, "select id from marker"));
        }
        finally
        {
            if (first is not null)
                await first.DisposeAsync();
            Directory.Delete(Path.GetDirectoryName(dir)!, recursive: true);
        }
    }

    [Fact]
    public async Task StopAsync_stops_the_server_and_a_later_start_keeps_the_data_and_the_port()
    {
        var dir = NewDataDir();
        PostgresCluster? cluster = null;
        try
        {
            cluster = await PostgresCluster.StartAsync(dir, options: Ephemeral);
            var port = cluster.Port;
            await cluster.ExecuteSqlAsync("create table kept (id int); insert into kept values (7);");

            await cluster.StopAsync();

            Assert.False(File.Exists(Path.Combine(dir, "postmaster.pid")));
            await Assert.ThrowsAnyAsync<NpgsqlException>(() => ScalarAsync(cluster.ConnectionString, "select 1"));
            await cluster.StopAsync(); // a second stop is harmless

            await using var again = await PostgresCluster.StartAsync(dir, options: Ephemeral);
            Assert.False(again.WasAlreadyRunning);
            Assert.Equal(port, again.Port);
            Assert.Equal(7, await ScalarAsync(again.ConnectionString, "select id from kept"));
        }
        finally
        {
            if (cluster is not null)
                await cluster.DisposeAsync();
            Directory.Delete(Path.GetDirectoryName(dir)!, recursive: true);
        }
    }

    [Fact]
    public async Task StartAsync_listens_on_the_port_it_is_given()
    {
        var dir = NewDataDir();
        var port = PostgresCluster.FreePort();
        try
        {
            await using var cluster = await PostgresCluster.StartAsync(dir, port, Ephemeral);
            Assert.Equal(port, cluster.Port);
            Assert.Equal(port.ToString(CultureInfo.InvariantCulture), await ScalarAsync(cluster.ConnectionString, "show port"));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(dir)!, recursive: true);
        }
    }

    [Fact]
    public async Task Disposing_a_temporary_cluster_stops_it_and_deletes_its_directory()
    {
        var cluster = await PostgresCluster.CreateTemporaryAsync();
        var root = Path.GetDirectoryName(cluster.DataDir)!;
        Assert.True(Directory.Exists(root));

        await cluster.DisposeAsync();

        Assert.False(Directory.Exists(root));
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => ScalarAsync(cluster.ConnectionString, "select 1"));
    }

    [Fact]
    public async Task Missing_server_binaries_give_a_message_that_says_what_to_install()
    {
        var empty = Directory.CreateTempSubdirectory("restgres-nobin-").FullName;
        try
        {
            var e = await Assert.ThrowsAsync<PostgresBinariesNotFoundException>(
                () => PostgresCluster.StartAsync(Path.Combine(empty, "data"), options: new ClusterOptions { BinDir = empty }));

            Assert.Contains("PostgreSQL server binaries not found", e.Message, StringComparison.Ordinal);
            Assert.Contains("apt-get install postgresql-15", e.Message, StringComparison.Ordinal);
            Assert.Contains("initdb", e.Message, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(empty, "data")));
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public void The_locator_picks_the_newest_complete_version_and_skips_client_only_ones()
    {
        var root = Directory.CreateTempSubdirectory("restgres-layout-").FullName;
        try
        {
            FakeBin(root, "9.6", complete: true);
            FakeBin(root, "13", complete: true);
            FakeBin(root, "16", complete: true);
            FakeBin(root, "17", complete: false); // only the client package installed

            var found = PostgresBinaries.Locate(null, null, [root], pathEnv: null, usePgConfig: false);

            Assert.Equal(Path.Combine(root, "16", "bin"), found.BinDir);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void The_locator_reports_where_it_looked_when_only_the_client_is_installed()
    {
        var root = Directory.CreateTempSubdirectory("restgres-layout-").FullName;
        try
        {
            FakeBin(root, "15", complete: false);

            var e = Assert.Throws<PostgresBinariesNotFoundException>(
                () => PostgresBinaries.Locate(null, null, [root], pathEnv: null, usePgConfig: false));

            Assert.Contains("PostgreSQL server binaries not found", e.Message, StringComparison.Ordinal);
            Assert.Contains(root, e.Message, StringComparison.Ordinal);
            Assert.Contains("PGBIN", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void PGBIN_naming_a_directory_without_the_server_is_an_error_not_a_fallback()
    {
        var dir = Directory.CreateTempSubdirectory("restgres-pgbin-").FullName;
        try
        {
            var e = Assert.Throws<PostgresBinariesNotFoundException>(
                () => PostgresBinaries.Locate(null, dir, ["/usr/lib/postgresql"], pathEnv: null, usePgConfig: false));

            Assert.Contains(dir, e.Message, StringComparison.Ordinal);
            Assert.Contains("PGBIN", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_directory_that_is_not_a_cluster_is_refused_rather_than_overwritten()
    {
        var dir = NewDataDir();
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "precious.txt"), "keep me");
        try
        {
            var e = await Assert.ThrowsAsync<PostgresClusterException>(() => PostgresCluster.StartAsync(dir, options: Ephemeral));

            Assert.Contains("holds no PostgreSQL cluster", e.Message, StringComparison.Ordinal);
            Assert.Equal("keep me", await File.ReadAllTextAsync(Path.Combine(dir, "precious.txt")));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(dir)!, recursive: true);
        }
    }

    [Fact]
    public async Task SQL_errors_carry_PostgreSQLs_message_and_stop_the_script()
    {
        await using var cluster = await PostgresCluster.CreateTemporaryAsync();

        var e = await Assert.ThrowsAsync<PostgresClusterException>(
            () => cluster.ExecuteSqlAsync("create table a (id int);\nselect * from no_such_table;\ncreate table b (id int);"));

        Assert.Contains("relation \"no_such_table\" does not exist", e.Message, StringComparison.Ordinal);
        Assert.Equal(1L, await ScalarAsync(cluster.ConnectionString, "select count(*) from pg_tables where tablename = 'a'"));
        Assert.Equal(0L, await ScalarAsync(cluster.ConnectionString, "select count(*) from pg_tables where tablename = 'b'"));
    }

    [Fact]
    public async Task A_SQL_file_runs_from_its_own_directory_so_relative_includes_work()
    {
        var dir = Directory.CreateTempSubdirectory("restgres-sql-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "part.sql"), "create table included (id int);");
            await File.WriteAllTextAsync(Path.Combine(dir, "main.sql"), "\\i part.sql\ninsert into included values (5);\n");
            await using var cluster = await PostgresCluster.CreateTemporaryAsync();

            await cluster.ExecuteSqlFileAsync(Path.Combine(dir, "main.sql"));

            Assert.Equal(5, await ScalarAsync(cluster.ConnectionString, "select id from included"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A data dir path under a fresh temp dir (the tests delete the parent).</summary>
    private static string NewDataDir() => Path.Combine(Directory.CreateTempSubdirectory("restgres-test-").FullName, "data");

    private static void FakeBin(string root, string version, bool complete)
    {
        var bin = Directory.CreateDirectory(Path.Combine(root, version, "bin")).FullName;
        File.WriteAllText(Path.Combine(bin, "psql"), "");
        if (complete)
        {
            foreach (var program in new[] { "initdb", "pg_ctl", "postgres" })
                File.WriteAllText(Path.Combine(bin, program), "");
        }
    }

    private static async Task<string> IdAsync(string user)
    {
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("id", ["-u", user]) { RedirectStandardOutput = true })!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return output.Trim();
    }

    /// <summary>Unpooled, so a connection never outlives the server it was opened to.</summary>
    internal static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        var cs = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, Timeout = 5 }.ConnectionString;
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return await cmd.ExecuteScalarAsync();
    }
}
