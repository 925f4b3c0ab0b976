using Npgsql;

namespace Restgres.Migrations;

/// <summary>A migration recorded in the database. Checksum, time and duration are null for one applied by the
/// Supabase CLI (or before Restgres kept them).</summary>
internal sealed record AppliedMigration(string Version, string? Name, string? Checksum, DateTime? AppliedAt, long? DurationMs)
{
    public string Key => MigrationVersion.Key(Version);
}

/// <summary>
/// The history tables. Applied versions live in the Supabase CLI's own table,
/// <c>supabase_migrations.schema_migrations (version text primary key, statements text[], name text)</c>, created and
/// filled exactly as the CLI does (pkg/migration/history.go), so a Supabase project's history is understood and
/// <c>supabase migration list</c> still reads ours. What the CLI does not keep (checksum, time, duration) lives in a
/// side table beside it, <c>supabase_migrations.restgres_migrations</c>, rather than in extra columns: the CLI owns
/// its table's shape (it adds columns with <c>ADD COLUMN IF NOT EXISTS</c>, truncates it in <c>migration repair</c>
/// and <c>squash</c>), so columns of ours could clash with one it adds later. docs/migrations.md says more.
/// </summary>
internal static class MigrationHistory
{
    /// <summary>The advisory lock key held while migrating: "restgres" in ASCII, unlikely to meet an app's own keys.</summary>
    public const long LockKey = 0x7265737467726573;

    public const string CreateSql = """
        CREATE SCHEMA IF NOT EXISTS supabase_migrations;
        CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY);
        ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[];
        ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text;
        CREATE TABLE IF NOT EXISTS supabase_migrations.restgres_migrations (
          version     text        NOT NULL PRIMARY KEY,
          checksum    text        NOT NULL,
          applied_at  timestamptz NOT NULL,
          duration_ms bigint      NOT NULL,
          applied_by  text        NOT NULL DEFAULT current_user
        );
        COMMENT ON TABLE supabase_migrations.restgres_migrations IS
          'restgres migrate: sha256 checksum, start time and duration of each migration in schema_migrations';
        """;

    /// <summary>The recorded migrations; none when the tables do not exist yet (nothing is created here, so that
    /// <c>status</c> and <c>--dry-run</c> leave the database as it was).</summary>
    public static async Task<List<AppliedMigration>> ReadAsync(NpgsqlConnection conn, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(conn);
        await using (var exists = new NpgsqlCommand(
            "select to_regclass('supabase_migrations.schema_migrations') is not null, to_regclass('supabase_migrations.restgres_migrations') is not null", conn))
        await using (var reader = await exists.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            if (!reader.GetBoolean(0)) return [];
            if (!reader.GetBoolean(1))
            {
                await reader.CloseAsync();
                return await QueryAsync(conn, "select version, name, null, null::timestamptz, null::bigint from supabase_migrations.schema_migrations", ct);
            }
        }
        return await QueryAsync(conn, """
            select m.version, m.name, r.checksum, r.applied_at, r.duration_ms
            from supabase_migrations.schema_migrations m
            left join supabase_migrations.restgres_migrations r using (version)
            """, ct);
    }

    private static async Task<List<AppliedMigration>> QueryAsync(NpgsqlConnection conn, string sql, CancellationToken ct)
    {
        var result = new List<AppliedMigration>();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            result.Add(new AppliedMigration(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetDateTime(3),
                reader.IsDBNull(4) ? null : reader.GetInt64(4)));
        result.Sort((a, b) => MigrationVersion.Compare(a.Key, b.Key));
        return result;
    }

    /// <summary>Records <paramref name="file"/> as applied (in the caller's transaction, if any).</summary>
    public static async Task RecordAsync(NpgsqlConnection conn, MigrationFile file, IReadOnlyList<SqlStatement> statements,
        DateTime appliedAt, long durationMs, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(conn);
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(statements);
        await using var batch = new NpgsqlBatch(conn)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)")
                {
                    Parameters = { new() { Value = file.Version }, new() { Value = file.Name }, new() { Value = statements.Select(s => s.Text).ToArray() } },
                },
                // A row left over from a migration the Supabase CLI reverted (migration repair) is replaced.
                new NpgsqlBatchCommand("""
                    insert into supabase_migrations.restgres_migrations (version, checksum, applied_at, duration_ms) values ($1, $2, $3, $4)
                    on conflict (version) do update set checksum = excluded.checksum, applied_at = excluded.applied_at,
                      duration_ms = excluded.duration_ms, applied_by = excluded.applied_by
                    """)
                {
                    Parameters = { new() { Value = file.Version }, new() { Value = file.Checksum }, new() { Value = appliedAt }, new() { Value = durationMs } },
                },
            },
        };
        await batch.ExecuteNonQueryAsync(ct);
    }
}
