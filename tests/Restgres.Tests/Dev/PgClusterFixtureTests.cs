using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Dev;

[Collection("pg")]
public sealed class PgClusterFixtureTests(PgClusterFixture pg)
{
    [Fact]
    public async Task A_database_created_from_a_script_holds_what_the_script_made()
    {
        var db = await pg.CreateDatabaseAsync("create table items (id int); insert into items values (1), (2);");

        Assert.Equal(2L, await db.ScalarAsync("select count(*) from items"));
        Assert.Equal(db.Name, await db.ScalarAsync("select current_database()"));
        await db.DropAsync();
    }

    [Fact]
    public async Task Databases_are_independent_of_each_other()
    {
        var a = await pg.CreateDatabaseAsync("create table only_in_a (id int);");
        var b = await pg.CreateDatabaseAsync("select 1;");

        Assert.Equal(1L, await a.ScalarAsync("select count(*) from pg_tables where tablename = 'only_in_a'"));
        Assert.Equal(0L, await b.ScalarAsync("select count(*) from pg_tables where tablename = 'only_in_a'"));
        await a.DropAsync();
        await b.DropAsync();
    }

    [Fact]
    public async Task A_database_can_be_built_from_sql_files()
    {
        var dir = Directory.CreateTempSubdirectory("restgres-fixture-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "1.sql"), "create table t (id int);");
            await File.WriteAllTextAsync(Path.Combine(dir, "2.sql"), "insert into t values (9);");

            var db = await pg.CreateDatabaseFromFilesAsync(Path.Combine(dir, "1.sql"), Path.Combine(dir, "2.sql"));

            Assert.Equal(9, await db.ScalarAsync("select id from t"));
            Assert.StartsWith($"postgresql://postgres@127.0.0.1:{pg.Cluster.Port}/", db.Uri(), StringComparison.Ordinal);
            await db.DropAsync();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
