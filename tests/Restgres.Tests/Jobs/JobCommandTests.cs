using System.Diagnostics;
using Restgres.Tests.Infrastructure;
using Restgres.Tests.Process;
using Xunit;

namespace Restgres.Tests.Jobs;

/// <summary>The job verbs of the executable: 'restgres schema install' and 'restgres worker', and their mistakes.</summary>
[Collection("pg")]
public sealed class JobCommandTests(PgClusterFixture pg)
{
    [Fact]
    public async Task Schema_install_is_idempotent_and_names_what_is_wrong_with_its_arguments()
    {
        var db = await pg.CreateDatabaseAsync("select 1");
        try
        {
            for (var i = 0; i < 2; i++)
            {
                var (code, stdout, stderr) = await RestgresProcess.RunAsync(["schema", "install", "--db-uri", db.Uri()]);
                Assert.True(code == 0, stderr);
                Assert.Contains("schema 'restgres' is installed", stdout, StringComparison.Ordinal);
            }
            Assert.Equal(0L, await db.ScalarAsync("select count(*) from restgres.jobs"));
            var missing = await RestgresProcess.RunAsync(["schema"]);
            Assert.Equal(1, missing.ExitCode);
            Assert.Contains("missing the action ('install')", missing.StdErr, StringComparison.Ordinal);
            var extra = await RestgresProcess.RunAsync(["schema", "install", "a.conf", "b.conf"]);
            Assert.Equal(1, extra.ExitCode);
            Assert.Contains("unexpected argument 'b.conf'", extra.StdErr, StringComparison.Ordinal);
            var worker = await RestgresProcess.RunAsync(["worker", "--port", "1"]);
            Assert.Equal(1, worker.ExitCode);
            Assert.Contains("restgres worker: unexpected argument '--port'", worker.StdErr, StringComparison.Ordinal);
        }
        finally
        {
            await db.DropAsync();
        }
    }

    [Fact]
    public async Task A_worker_on_a_database_without_the_schema_says_how_to_install_it_and_keeps_running()
    {
        var db = await pg.CreateDatabaseAsync("select 1");
        try
        {
            await using var worker = RestgresProcess.Start(["worker"], new Dictionary<string, string>
            {
                ["PGRST_DB_URI"] = db.Uri(),
                ["PGRST_JOBS_POLL_INTERVAL"] = "100",
            });
            var sw = Stopwatch.StartNew();
            while (!worker.StdErr.Contains("run 'restgres schema install'", StringComparison.Ordinal))
            {
                Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), "no hint in: " + worker.StdErr);
                await Task.Delay(50);
            }
            Assert.Null(await worker.WaitForExitAsync(TimeSpan.Zero));
        }
        finally
        {
            await db.DropAsync();
        }
    }
}
