using System.Globalization;
using Npgsql;
using Restgres.Config;
using Restgres.Dev;
using Restgres.Migrations;

namespace Restgres.Cli;

/// <summary>
/// <c>restgres migrate status|up|new</c>: applies a folder of SQL migrations (the Supabase CLI's layout and history
/// table) and tells running servers to reload their schema cache. docs/migrations.md is the user's guide.
/// </summary>
internal static class MigrateCommand
{
    public const string Usage = $"""
        Usage: restgres migrate status [--dir DIR] [OPTIONS]
               restgres migrate up [--dir DIR] [--dry-run] [--include-all] [OPTIONS]
               restgres migrate new NAME [--dir DIR]

        Applies the SQL migrations in DIR (default {MigrationFolder.DefaultDir}), files named <version>_<name>.sql
        (20240101120000_create_profiles.sql, or 001_roles.sql), in version order, each in its own transaction, and
        records them in supabase_migrations.schema_migrations (the Supabase CLI's history table). A file containing
        the line '{MigrationFolder.NoTransactionMarker}' runs without a transaction (CREATE INDEX CONCURRENTLY, ...).
          status           list every migration: applied (when, how long), pending, edited, missing
          up               apply the pending migrations, then NOTIFY db-channel 'reload schema' so that running
                           servers reload their schema cache
          new NAME         create DIR/<next version>_NAME.sql, empty
          --dir DIR        the migrations folder
          --dry-run        (up) print what would be applied; change nothing
          --include-all    (up) also apply pending files older than the last applied one (refused otherwise)
          --db-uri URI     the database (default: PGRST_DB_URI, else db-uri of the config file, else libpq's defaults)
          --config FILE    a Restgres/PostgREST config file to read db-uri (and db-channel, db-schemas, ...) from
        Two migrators never run at once: the second waits for the first (an advisory lock).
        Exit status: 0 done (status: nothing wrong), 1 a migration failed or was refused (status: a problem shown),
        2 bad arguments. See docs/migrations.md.
        """;

    private sealed record Options(string Verb, string Dir, string? Name, bool DryRun, bool IncludeAll, string? ConfigPath, string? DbUri);

    public static Task<int> RunAsync(string[] args) => RunAsync(args, Console.Out, Console.Error);

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        Options? options;
        try
        {
            options = Parse(args);
        }
        catch (ArgumentException e)
        {
            await error.WriteLineAsync($"restgres migrate: {e.Message}. See 'restgres migrate --help'.");
            return 2;
        }
        if (options is null)
        {
            await output.WriteLineAsync(Usage);
            return 0;
        }
        try
        {
            if (options.Verb == "new")
            {
                var path = MigrationFolder.NewFile(options.Dir, options.Name!, DateTime.UtcNow);
                await output.WriteLineAsync($"Created {path}");
                return 0;
            }
            // The folder is read and checked before connecting: a bad folder is reported the same with or without
            // a database, and nothing is changed.
            var files = MigrationFolder.Read(options.Dir);
            // The tools print their own output; the server's warnings (unimplemented options) are noise here.
            var config = CommandDatabase.LoadConfig(options.ConfigPath, options.DbUri, _ => { });
            NpgsqlConnection conn;
            try
            {
                conn = await CommandDatabase.OpenAsync(config, "migrate", ct);
            }
            catch (CommandDatabaseException e)
            {
                await error.WriteLineAsync("restgres migrate: " + e.Message);
                return 1;
            }
            await using (conn)
            {
                return options.Verb == "status"
                    ? await StatusAsync(conn, options, files, output, error, ct)
                    : await UpAsync(conn, config, options, files, output, error, ct);
            }
        }
        catch (Exception e) when (e is MigrationException or ConfigException)
        {
            await error.WriteLineAsync("restgres migrate: " + e.Message);
            return 1;
        }
        catch (NpgsqlException e)
        {
            await error.WriteLineAsync("restgres migrate: the database failed: " + e.Message);
            return 1;
        }
    }

    private static Options? Parse(string[] args)
    {
        string? verb = null, name = null, configPath = null, dbUri = null;
        var dir = MigrationFolder.DefaultDir;
        bool dryRun = false, includeAll = false;
        var reader = new ArgReader(args);
        while (reader.Next())
        {
            if (reader.IsHelp) return null;
            switch (reader.Name)
            {
                case "--dir": dir = reader.Value(); break;
                case "--dry-run": dryRun = true; break;
                case "--include-all": includeAll = true; break;
                case "--config": configPath = reader.Value(); break;
                case "--db-uri": dbUri = reader.Value(); break;
                case "status" or "up" or "new" when verb is null: verb = reader.Arg; break;
                default:
                    if (verb == "new" && name is null && !reader.IsOption) name = reader.Arg;
                    else throw reader.Unexpected();
                    break;
            }
        }
        if (verb is null) throw new ArgumentException("say what to do: status, up or new NAME");
        if (verb == "new" && name is null) throw new ArgumentException("'new' needs a NAME");
        if (dryRun && verb != "up") throw new ArgumentException("--dry-run goes with 'up'");
        if (includeAll && verb != "up") throw new ArgumentException("--include-all goes with 'up'");
        return new Options(verb, dir, name, dryRun, includeAll, configPath, dbUri);
    }

    private static async Task<int> StatusAsync(NpgsqlConnection conn, Options options, List<MigrationFile> files,
        TextWriter output, TextWriter error, CancellationToken ct)
    {
        var plan = Migrator.Plan(options.Dir, files, await MigrationHistory.ReadAsync(conn, ct), includeAll: false);
        await output.WriteLineAsync($"{"VERSION",-16} {"STATE",-12} {"APPLIED (UTC)",-19} {"MS",6}  NAME");
        foreach (var e in plan.Entries)
        {
            var state = e.State switch
            {
                MigrationState.Applied => "applied",
                MigrationState.Pending => "pending",
                MigrationState.Changed => "EDITED",
                MigrationState.Missing => "NO FILE",
                _ => "GAP",
            };
            var at = e.Applied?.AppliedAt?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? (e.Applied is null ? "" : "-");
            var ms = e.Applied?.DurationMs?.ToString(CultureInfo.InvariantCulture) ?? "";
            await output.WriteLineAsync($"{e.Version,-16} {state,-12} {at,-19} {ms,6}  {e.Name}");
        }
        var applied = plan.Entries.Count(e => e.State is MigrationState.Applied or MigrationState.Changed or MigrationState.Missing);
        await output.WriteLineAsync($"{applied} applied, {plan.Entries.Count(e => e.State is MigrationState.Pending or MigrationState.OutOfOrder)} pending");
        foreach (var problem in plan.Problems) await error.WriteLineAsync("restgres migrate: " + problem);
        return plan.Problems.Count == 0 ? 0 : 1;
    }

    private static async Task<int> UpAsync(NpgsqlConnection conn, AppConfig config, Options options, List<MigrationFile> files,
        TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (options.DryRun)
        {
            var preview = Migrator.Plan(options.Dir, files, await MigrationHistory.ReadAsync(conn, ct), options.IncludeAll);
            if (await RefusedAsync(preview, error)) return 1;
            foreach (var file in preview.ToApply)
                await output.WriteLineAsync($"Would apply {file.FileName}{(file.NoTransaction ? " (no transaction)" : "")}");
            await output.WriteLineAsync(preview.ToApply.Count == 0 ? "Nothing to apply (dry run)" : $"{preview.ToApply.Count} to apply (dry run: nothing was changed)");
            return 0;
        }
        await LockAsync(conn, output, ct);
        // Created and read under the lock: a migrator that waited sees what the first one applied.
        await using (var create = new NpgsqlCommand(MigrationHistory.CreateSql, conn))
            await create.ExecuteNonQueryAsync(ct);
        var plan = Migrator.Plan(options.Dir, files, await MigrationHistory.ReadAsync(conn, ct), options.IncludeAll);
        if (await RefusedAsync(plan, error)) return 1;
        if (plan.ToApply.Count == 0)
        {
            await output.WriteLineAsync($"Nothing to apply: the database is up to date ({files.Count} migrations)");
            return 0;
        }
        var applied = 0;
        foreach (var file in plan.ToApply)
        {
            try
            {
                var ms = await Migrator.ApplyAsync(conn, options.Dir, file, ct);
                applied++;
                await output.WriteLineAsync($"Applied {file.FileName} in {ms} ms");
            }
            catch (MigrationFailedException e)
            {
                await error.WriteLineAsync("restgres migrate: " + e.Message);
                await error.WriteLineAsync(file.NoTransaction
                    ? $"Its statements before that one stay applied (the file is marked no-transaction) but it is not recorded: fix it and run up again (keep such files idempotent)."
                    : "The migration was rolled back.");
                var later = plan.ToApply.Count - applied - 1;
                if (later > 0) await error.WriteLineAsync($"{later} later migration(s) were not applied.");
                if (applied > 0) await NotifyAsync(conn, config, output);
                return 1;
            }
        }
        await output.WriteLineAsync($"Applied {applied} migration(s)");
        await NotifyAsync(conn, config, output);
        return 0;
    }

    private static async Task<bool> RefusedAsync(MigrationPlan plan, TextWriter error)
    {
        foreach (var problem in plan.Problems) await error.WriteLineAsync("restgres migrate: " + problem);
        if (plan.Problems.Count > 0) await error.WriteLineAsync("Nothing was applied.");
        return plan.Problems.Count > 0;
    }

    /// <summary>A session-level advisory lock, released when the connection closes (even if the process dies).</summary>
    private static async Task LockAsync(NpgsqlConnection conn, TextWriter output, CancellationToken ct)
    {
        await using var tryLock = new NpgsqlCommand($"select pg_try_advisory_lock({MigrationHistory.LockKey})", conn);
        if (await tryLock.ExecuteScalarAsync(ct) is true) return;
        await output.WriteLineAsync("Another migrator is running; waiting for it to finish (advisory lock)...");
        await using var wait = new NpgsqlCommand($"select pg_advisory_lock({MigrationHistory.LockKey})", conn);
        await wait.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Running servers reload their schema cache, as after PostgREST's <c>NOTIFY pgrst, 'reload schema'</c>.</summary>
    private static async Task NotifyAsync(NpgsqlConnection conn, AppConfig config, TextWriter output)
    {
        if (!config.DbChannelEnabled) return;
        await using var cmd = new NpgsqlCommand("select pg_notify($1, 'reload schema')", conn) { Parameters = { new() { Value = config.DbChannel } } };
        await cmd.ExecuteNonQueryAsync();
        await output.WriteLineAsync($"Sent NOTIFY {config.DbChannel}, 'reload schema'");
    }
}
