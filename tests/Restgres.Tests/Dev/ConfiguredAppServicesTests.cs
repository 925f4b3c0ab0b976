using Restgres.Dev;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Dev;

/// <summary>An example app's dev-services.sh as `restgres dev --app` runs it: started with its state folder, the
/// app's database and the JWT secret; NAME=value lines become the server's environment, other lines the banner's.</summary>
[Collection("pg")]
public sealed class ConfiguredAppServicesTests(PgClusterFixture pg) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("restgres-app-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ConfiguredApp App(string? script)
    {
        File.WriteAllText(Path.Combine(_dir, ConfiguredApp.ConfigFileName), "db-schemas = \"api\"\n");
        if (script is not null) File.WriteAllText(Path.Combine(_dir, ConfiguredApp.ServicesFileName), script);
        return ConfiguredApp.Find(_dir) ?? throw new InvalidOperationException("not found");
    }

    [Fact]
    public async Task Start_passes_state_database_and_secret_sets_NAME_value_lines_and_returns_the_others_and_stop_runs()
    {
        var app = App("""
            state=$2
            if [ "$1" = start ]; then
              mkdir -p "$state"; echo started >"$state/log"
              echo "RESTGRES_TEST_SERVICE_KEY=k-$4"
              echo "Mock at ${3%%\?*}"
            else
              echo stopped >>"$state/log"
            fi
            """);
        var shown = await app.StartServicesAsync(pg.Cluster, "s3cret", CancellationToken.None);
        Assert.Equal("k-s3cret", Environment.GetEnvironmentVariable("RESTGRES_TEST_SERVICE_KEY"));
        Assert.Equal([$"Mock at {pg.Cluster.ConnectionUri(app.Database)}"], shown);
        var lines = new List<string>();
        await app.StopServicesAsync(pg.Cluster, lines.Add);
        Assert.Empty(lines);
        var state = app.ServicesStateDir(pg.Cluster);
        Assert.Equal("started\nstopped\n", await File.ReadAllTextAsync(Path.Combine(state, "log")));
        Directory.Delete(Path.GetDirectoryName(state)!, recursive: true);
    }

    [Fact]
    public async Task A_failing_start_names_the_script_and_its_output_and_no_script_means_no_services()
    {
        var app = App("echo 'port 8089 is busy' >&2; exit 3");
        var e = await Assert.ThrowsAsync<PostgresClusterException>(() => app.StartServicesAsync(pg.Cluster, "s", CancellationToken.None));
        Assert.Contains("dev-services.sh start failed (exit 3): port 8089 is busy", e.Message, StringComparison.Ordinal);

        File.Delete(Path.Combine(_dir, ConfiguredApp.ServicesFileName));
        Assert.Empty(await App(null).StartServicesAsync(pg.Cluster, "s", CancellationToken.None));
    }

    [Fact]
    public async Task An_app_with_schedules_gets_the_run_log_installed_for_its_authenticator_and_one_without_does_not()
    {
        var app = App(null);
        Assert.Null(app.ServerConfig(pg.Cluster, 3000, null).SchedulesFile);
        File.WriteAllText(app.SchedulesFile, "tick\n  cron * * * * * *\n  sql select 1\n");
        var dev = app.ServerConfig(pg.Cluster, 3000, null);
        Assert.Equal(app.SchedulesFile, dev.SchedulesFile);
        await pg.Cluster.ExecuteSqlAsync($"""
            create database "{app.Database}";
            do $$ begin
              if not exists (select from pg_roles where rolname = 'authenticator') then create role authenticator login noinherit; end if;
            end $$;
            """);
        try
        {
            await Restgres.Cli.DevServer.PrepareSchedulesAsync(dev, CancellationToken.None);

            await using var conn = new Npgsql.NpgsqlConnection(Restgres.Execution.DbUri.Parse(pg.Cluster.ConnectionUri(app.Database)).ConnectionString);
            await conn.OpenAsync();
            await using var cmd = new Npgsql.NpgsqlCommand(
                "select has_function_privilege('authenticator', 'restgres.run_scheduled(text, text, text, timestamptz, text)', 'execute')", conn);
            Assert.Equal(true, await cmd.ExecuteScalarAsync());
        }
        finally
        {
            await pg.Cluster.ExecuteSqlAsync($"drop database \"{app.Database}\" with (force)");
        }
    }
}
