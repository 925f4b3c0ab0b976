using Npgsql;
using Restgres.Cli;
using Restgres.Tests.Admin;
using Restgres.Tests.Http;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Migrations;

/// <summary>
/// <c>restgres migrate</c> run as the command line runs it (MigrateCommand.RunAsync with the user's arguments) against
/// a real database: applying, recording, refusing edited files and gaps, rolling back a failing file with its line,
/// waiting for another migrator, and telling running servers to reload.
/// </summary>
[Collection("pg")]
public sealed class MigrateCommandTests(PgClusterFixture pg) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("restgres-migrate-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed record Run(int Exit, string Out, string Err);

    private static async Task<Run> MigrateAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await MigrateCommand.RunAsync(args, output, error);
        return new Run(exit, output.ToString(), error.ToString());
    }

    private Task<Run> UpAsync(TestDatabase db, params string[] extra) => MigrateAsync(["up", "--dir", _dir, "--db-uri", db.Uri(), .. extra]);

    private void Write(string fileName, string sql) => File.WriteAllText(Path.Combine(_dir, fileName), sql);

    private static Task<TestDatabase> EmptyDatabaseAsync(PgClusterFixture pg) => pg.CreateDatabaseAsync("select 1");

    private static async Task<bool> HistoryExistsAsync(TestDatabase db) =>
        await db.ScalarAsync("select to_regclass('supabase_migrations.schema_migrations') is not null") is true;

    private void WriteThreeMigrations()
    {
        Write("20240101000000_create_notes.sql", "create table notes (id int primary key, body text);\n");
        Write("20240102000000_add_author.sql", "-- a column\nalter table notes add column author text;\ninsert into notes values (1, 'hi', 'me');\n");
        Write("20240103000000_note_view.sql", "create view note_bodies as select body from notes;\n");
    }

    [Fact]
    public async Task Up_applies_the_pending_files_in_version_order_and_records_version_name_statements_checksum_time_and_duration()
    {
        var db = await EmptyDatabaseAsync(pg);
        WriteThreeMigrations();

        var run = await UpAsync(db);

        Assert.Equal(0, run.Exit);
        Assert.Contains("Applied 3 migration(s)", run.Out, StringComparison.Ordinal);
        Assert.Equal("hi", await db.ScalarAsync("select body from note_bodies"));
        Assert.Equal("20240101000000 create_notes|20240102000000 add_author|20240103000000 note_view",
            await db.ScalarAsync("select string_agg(version || ' ' || name, '|' order by version) from supabase_migrations.schema_migrations"));
        Assert.Equal(new[] { "alter table notes add column author text", "insert into notes values (1, 'hi', 'me')" },
            (string[])(await db.ScalarAsync("select statements from supabase_migrations.schema_migrations where version = '20240102000000'"))!);
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(_dir, "20240101000000_create_notes.sql"))));
        Assert.Equal(sha, await db.ScalarAsync("select checksum from supabase_migrations.restgres_migrations where version = '20240101000000'"));
        Assert.Equal(3L, await db.ScalarAsync(
            "select count(*) from supabase_migrations.restgres_migrations where applied_at > now() - interval '1 hour' and duration_ms >= 0"));

        var again = await UpAsync(db);
        Assert.Equal(0, again.Exit);
        Assert.Contains("Nothing to apply", again.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_lists_applied_and_pending_migrations_and_dry_run_changes_nothing()
    {
        var db = await EmptyDatabaseAsync(pg);
        WriteThreeMigrations();
        var third = File.ReadAllText(Path.Combine(_dir, "20240103000000_note_view.sql"));
        File.Delete(Path.Combine(_dir, "20240103000000_note_view.sql"));
        Assert.Equal(0, (await UpAsync(db)).Exit);
        Write("20240103000000_note_view.sql", third);

        var status = await MigrateAsync("status", "--dir", _dir, "--db-uri", db.Uri());
        var dry = await UpAsync(db, "--dry-run");

        Assert.Equal(0, status.Exit);
        Assert.Matches(@"20240101000000\s+applied\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\d+\s+create_notes", status.Out);
        Assert.Matches(@"20240103000000\s+pending\s+note_view", status.Out);
        Assert.Contains("2 applied, 1 pending", status.Out, StringComparison.Ordinal);
        Assert.Equal(0, dry.Exit);
        Assert.Contains("Would apply 20240103000000_note_view.sql", dry.Out, StringComparison.Ordinal);
        Assert.Null(await db.ScalarAsync("select to_regclass('note_bodies')::text"));
    }

    [Fact]
    public async Task Status_and_dry_run_on_a_fresh_database_create_no_history_table()
    {
        var db = await EmptyDatabaseAsync(pg);
        WriteThreeMigrations();

        Assert.Equal(0, (await MigrateAsync("status", "--dir", _dir, "--db-uri", db.Uri())).Exit);
        Assert.Equal(0, (await UpAsync(db, "--dry-run")).Exit);

        Assert.False(await HistoryExistsAsync(db));
    }

    [Fact]
    public async Task An_applied_file_that_was_edited_is_refused_naming_both_checksums()
    {
        var db = await EmptyDatabaseAsync(pg);
        WriteThreeMigrations();
        Assert.Equal(0, (await UpAsync(db)).Exit);
        var recorded = (string)(await db.ScalarAsync("select checksum from supabase_migrations.restgres_migrations where version = '20240102000000'"))!;
        Write("20240102000000_add_author.sql", "alter table notes add column author varchar(10);\n");
        Write("20240104000000_more.sql", "create table more (id int);\n");
        var now = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(_dir, "20240102000000_add_author.sql"))));

        var run = await UpAsync(db);
        var status = await MigrateAsync("status", "--dir", _dir, "--db-uri", db.Uri());

        Assert.Equal(1, run.Exit);
        Assert.Contains("20240102000000_add_author.sql was edited after it was applied", run.Err, StringComparison.Ordinal);
        Assert.Contains($"recorded checksum {recorded}, the file's is now {now}", run.Err, StringComparison.Ordinal);
        Assert.Contains("Nothing was applied", run.Err, StringComparison.Ordinal);
        Assert.Null(await db.ScalarAsync("select to_regclass('more')::text"));
        Assert.Equal(1, status.Exit);
        Assert.Matches(@"20240102000000\s+EDITED", status.Out);
    }

    [Fact]
    public async Task A_failing_migration_is_rolled_back_with_its_file_and_line_and_later_files_are_untouched()
    {
        var db = await EmptyDatabaseAsync(pg);
        Write("20240101000000_ok.sql", "create table ok (id int);\n");
        Write("20240102000000_broken.sql", """
            -- creates a table, then fails

            create table half (id int);
            insert into half values (1);
            select id,
                   no_such_column
            from half;
            """);
        Write("20240103000000_later.sql", "create table later (id int);\n");

        var run = await UpAsync(db);

        Assert.Equal(1, run.Exit);
        Assert.Contains("Applied 20240101000000_ok.sql", run.Out, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_dir, "20240102000000_broken.sql") + ":6: ERROR: column \"no_such_column\" does not exist (SQLSTATE 42703)",
            run.Err, StringComparison.Ordinal);
        Assert.Contains("rolled back", run.Err, StringComparison.Ordinal);
        Assert.Contains("1 later migration(s) were not applied", run.Err, StringComparison.Ordinal);
        Assert.NotNull(await db.ScalarAsync("select to_regclass('ok')::text"));
        Assert.Null(await db.ScalarAsync("select to_regclass('half')::text"));
        Assert.Null(await db.ScalarAsync("select to_regclass('later')::text"));
        Assert.Equal("20240101000000", await db.ScalarAsync("select string_agg(version, ',') from supabase_migrations.schema_migrations"));
        Assert.Equal(1L, await db.ScalarAsync("select count(*) from supabase_migrations.restgres_migrations"));
    }

    [Fact]
    public async Task An_error_without_a_position_names_the_line_of_its_statement()
    {
        var db = await EmptyDatabaseAsync(pg);
        Write("1_raise.sql", "select 1;\n\ndo $$ begin\n  raise exception 'nope';\nend $$;\n");

        var run = await UpAsync(db);

        Assert.Equal(1, run.Exit);
        Assert.Contains("1_raise.sql:3: ERROR: nope (SQLSTATE P0001)", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_migrator_waits_for_the_first_and_then_finds_nothing_to_apply()
    {
        var db = await EmptyDatabaseAsync(pg);
        WriteThreeMigrations();
        await using var holder = new NpgsqlConnection(db.ConnectionString);
        await holder.OpenAsync();
        await using (var lockCmd = new NpgsqlCommand($"select pg_advisory_lock({Restgres.Migrations.MigrationHistory.LockKey})", holder))
            await lockCmd.ExecuteNonQueryAsync();

        var waiting = UpAsync(db);
        // Observed, not timed: the command's session shows up waiting on the advisory lock.
        Assert.True(await AdminKit.EventuallyAsync(async () => await db.ScalarAsync(
            "select count(*) from pg_locks l join pg_stat_activity a using (pid) where l.locktype = 'advisory' and not l.granted and a.application_name = 'restgres migrate' and a.datname = current_database()") is 1L));
        Assert.False(waiting.IsCompleted);
        Assert.Null(await db.ScalarAsync("select to_regclass('notes')::text"));
        await using (var unlock = new NpgsqlCommand($"select pg_advisory_unlock({Restgres.Migrations.MigrationHistory.LockKey})", holder))
            await unlock.ExecuteNonQueryAsync();

        var run = await waiting;

        Assert.Equal(0, run.Exit);
        Assert.Contains("Another migrator is running; waiting", run.Out, StringComparison.Ordinal);
        Assert.Contains("Applied 3 migration(s)", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_migrators_started_together_apply_each_file_once()
    {
        var db = await EmptyDatabaseAsync(pg);
        WriteThreeMigrations();

        var runs = await Task.WhenAll(UpAsync(db), UpAsync(db));

        Assert.All(runs, r => Assert.Equal(0, r.Exit));
        Assert.Single(runs, r => r.Out.Contains("Applied 3 migration(s)", StringComparison.Ordinal));
        Assert.Single(runs, r => r.Out.Contains("Nothing to apply", StringComparison.Ordinal));
        Assert.Equal(3L, await db.ScalarAsync("select count(*) from supabase_migrations.schema_migrations"));
    }

    [Fact]
    public async Task After_applying_a_running_server_reloads_its_schema_cache()
    {
        var db = await pg.CreateDatabaseAsync(AdminKit.Schema);
        await using var server = await AdminKit.StartAsync(AdminKit.Config(db));
        await AdminKit.ListeningAsync(server);
        Assert.Equal(404, await AdminKit.StatusAsync(server.BaseAddress, "/fresh"));
        Write("20240101000000_fresh.sql", $"create table api.fresh (id int); grant select on api.fresh to {AdminKit.Anon};");

        var run = await UpAsync(db);

        Assert.Equal(0, run.Exit);
        Assert.Contains("Sent NOTIFY pgrst, 'reload schema'", run.Out, StringComparison.Ordinal);
        Assert.True(await AdminKit.EventuallyAsync(async () => await AdminKit.StatusAsync(server.BaseAddress, "/fresh") == 200));
    }

    [Fact]
    public async Task A_pending_file_older_than_the_last_applied_one_is_a_gap_refused_unless_include_all()
    {
        var db = await EmptyDatabaseAsync(pg);
        Write("20240101000000_a.sql", "create table a (id int);");
        Write("20240103000000_c.sql", "create table c (id int);");
        Assert.Equal(0, (await UpAsync(db)).Exit);
        Write("20240102000000_b.sql", "create table b (id int);");
        Write("20240104000000_d.sql", "create table d (id int);");

        var refused = await UpAsync(db);

        Assert.Equal(1, refused.Exit);
        Assert.Contains("20240102000000_b.sql is not applied but is older than the last applied migration 20240103000000 (a gap in the history)", refused.Err, StringComparison.Ordinal);
        Assert.Contains("--include-all", refused.Err, StringComparison.Ordinal);
        Assert.Null(await db.ScalarAsync("select to_regclass('d')::text"));

        var included = await UpAsync(db, "--include-all");

        Assert.Equal(0, included.Exit);
        Assert.Equal(4L, await db.ScalarAsync("select count(*) from supabase_migrations.schema_migrations"));
    }

    [Fact]
    public async Task A_recorded_version_without_a_file_is_refused()
    {
        var db = await EmptyDatabaseAsync(pg);
        WriteThreeMigrations();
        Assert.Equal(0, (await UpAsync(db)).Exit);
        File.Delete(Path.Combine(_dir, "20240103000000_note_view.sql"));

        var run = await UpAsync(db);

        Assert.Equal(1, run.Exit);
        Assert.Contains("version 20240103000000 (note_view) is recorded as applied but no file in", run.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("20240101000000_a.sql|20240101000000_b.sql", "20240101000000_a.sql and 20240101000000_b.sql have the same version 20240101000000")]
    [InlineData("001_a.sql|1_b.sql", "001_a.sql and 1_b.sql have the same version 1")]
    [InlineData("20240101000000_a.sql|README.md", "README.md: not a SQL migration")]
    [InlineData("20240101000000_a.sql|seed.sql", "seed.sql: the file name must be <version>_<name>.sql")]
    public async Task A_bad_folder_is_refused_before_the_database_is_touched(string files, string message)
    {
        var db = await EmptyDatabaseAsync(pg);
        foreach (var f in files.Split('|')) Write(f, "create table t_" + Guid.NewGuid().ToString("N")[..8] + " (id int);");

        var run = await UpAsync(db);

        Assert.Equal(1, run.Exit);
        Assert.Contains(message, run.Err, StringComparison.Ordinal);
        Assert.False(await HistoryExistsAsync(db));
    }

    [Fact]
    public async Task An_unreadable_file_is_refused_and_nothing_is_applied()
    {
        var db = await EmptyDatabaseAsync(pg);
        Write("20240101000000_a.sql", "create table a (id int);");
        // Tests may run as root, who reads any file; a link to nothing cannot be read by anyone.
        File.CreateSymbolicLink(Path.Combine(_dir, "20240102000000_gone.sql"), Path.Combine(_dir, "no-such-target"));

        var run = await UpAsync(db);

        Assert.Equal(1, run.Exit);
        Assert.Contains("20240102000000_gone.sql: cannot be read", run.Err, StringComparison.Ordinal);
        Assert.False(await HistoryExistsAsync(db));
    }

    [Fact]
    public async Task A_file_that_is_not_UTF8_text_is_refused()
    {
        var db = await EmptyDatabaseAsync(pg);
        File.WriteAllBytes(Path.Combine(_dir, "20240101000000_bin.sql"), [0x73, 0x65, 0xff, 0xfe, 0x00]);

        var run = await UpAsync(db);

        Assert.Equal(1, run.Exit);
        Assert.Contains("20240101000000_bin.sql: cannot be read: it is not UTF-8 text", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_database_is_a_clear_error()
    {
        WriteThreeMigrations();

        var run = await MigrateAsync("up", "--dir", _dir, "--db-uri", $"postgresql://postgres:secret@127.0.0.1:{AdminKit.FreePort()}/nowhere");

        Assert.Equal(1, run.Exit);
        Assert.StartsWith("restgres migrate: cannot connect to the database at 127.0.0.1:", run.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_folder_is_a_clear_error() =>
        Assert.Contains("no such folder", (await MigrateAsync("up", "--dir", Path.Combine(_dir, "nope"), "--db-uri", "postgresql://")).Err, StringComparison.Ordinal);

    [Fact]
    public async Task A_file_marked_no_transaction_can_create_an_index_concurrently()
    {
        var db = await EmptyDatabaseAsync(pg);
        Write("20240101000000_t.sql", "create table t (id int);");
        Write("20240102000000_idx.sql", "-- restgres:no-transaction\ncreate index concurrently if not exists t_id on t (id);\n");

        var run = await UpAsync(db);

        Assert.Equal(0, run.Exit);
        Assert.NotNull(await db.ScalarAsync("select to_regclass('t_id')::text"));
    }

    [Fact]
    public async Task Without_the_marker_a_concurrent_index_fails_and_transaction_control_in_a_file_is_refused()
    {
        var db = await EmptyDatabaseAsync(pg);
        Write("20240101000000_t.sql", "create table t (id int);\ncreate index concurrently t_id on t (id);\n");
        var concurrently = await UpAsync(db);
        File.Delete(Path.Combine(_dir, "20240101000000_t.sql"));
        Write("20240101000000_t.sql", "begin;\ncreate table t (id int);\ncommit;\n");
        var transactionControl = await UpAsync(db);

        Assert.Equal(1, concurrently.Exit);
        Assert.Contains("20240101000000_t.sql:2: ERROR: CREATE INDEX CONCURRENTLY cannot run inside a transaction block", concurrently.Err, StringComparison.Ordinal);
        Assert.Equal(1, transactionControl.Exit);
        Assert.Contains("20240101000000_t.sql:1: 'begin': each migration already runs in a transaction of its own", transactionControl.Err, StringComparison.Ordinal);
        Assert.Null(await db.ScalarAsync("select to_regclass('t')::text"));
    }

    [Fact]
    public async Task Session_settings_of_one_file_do_not_leak_into_the_next()
    {
        var db = await EmptyDatabaseAsync(pg);
        Write("1_schema.sql", "create schema elsewhere; set search_path = elsewhere;");
        Write("2_table.sql", "create table where_am_i (id int);");

        Assert.Equal(0, (await UpAsync(db)).Exit);

        Assert.Equal("public", await db.ScalarAsync("select relnamespace::regnamespace::text from pg_class where relname = 'where_am_i'"));
    }

    [Theory]
    [InlineData("glucose-api")]
    [InlineData("click-analytics")]
    [InlineData("ab-dashboard")]
    [InlineData("floyo")]
    [InlineData("ai-generations")]
    public async Task An_example_app_s_migrations_apply_and_a_second_run_has_nothing_to_do(string app)
    {
        // The AI generations app's migrations use Restgres's own schema, which its migrate.sh installs first.
        var db = app == "ai-generations" ? await pg.CreateDatabaseAsync(Restgres.Execution.RestgresSchema.Sql) : await EmptyDatabaseAsync(pg);
        var dir = Restgres.Dev.ConfiguredApp.MigrationsDirectoryOf(Path.Combine(RepoPaths.Root, "examples", app));

        var first = await MigrateAsync("up", "--dir", dir, "--db-uri", db.Uri());
        var second = await MigrateAsync("up", "--dir", dir, "--db-uri", db.Uri());

        Assert.True(first.Exit == 0, first.Err);
        Assert.Equal(0, second.Exit);
        Assert.Contains("Nothing to apply", second.Out, StringComparison.Ordinal);
        Assert.Equal((long)Directory.GetFiles(dir, "*.sql").Length, await db.ScalarAsync("select count(*) from supabase_migrations.schema_migrations"));
    }

    [Fact]
    public async Task New_creates_the_next_timestamped_file_or_the_next_number_in_a_numbered_folder()
    {
        var run = await MigrateAsync("new", "create_profiles", "--dir", Path.Combine(_dir, "supabase"));
        Write("001_roles.sql", "");
        Write("002_tables.sql", "");
        var numbered = await MigrateAsync("new", "more", "--dir", _dir);

        Assert.Equal(0, run.Exit);
        Assert.Matches(@"^[0-9]{14}_create_profiles\.sql$", Path.GetFileName(Directory.GetFiles(Path.Combine(_dir, "supabase")).Single()));
        Assert.Equal(0, numbered.Exit);
        Assert.True(File.Exists(Path.Combine(_dir, "003_more.sql")));
        Assert.Equal(1, (await MigrateAsync("new", "bad name", "--dir", _dir)).Exit);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("up", "-h")]
    public async Task Help_prints_the_usage(params string[] args)
    {
        var run = await MigrateAsync(args);

        Assert.Equal(0, run.Exit);
        Assert.Contains("Usage: restgres migrate status", run.Out, StringComparison.Ordinal);
        Assert.Contains("--db-uri URI", run.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData]
    [InlineData("sideways")]
    [InlineData("up", "--frobnicate")]
    [InlineData("status", "--dry-run")]
    [InlineData("new")]
    [InlineData("up", "--dir")]
    public async Task Bad_arguments_exit_2(params string[] args) => Assert.Equal(2, (await MigrateAsync(args)).Exit);
}
