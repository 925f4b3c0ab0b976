using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace Restgres.Migrations;

internal enum MigrationState
{
    /// <summary>Recorded, and the file is unchanged (or its checksum was not recorded: applied by the Supabase CLI).</summary>
    Applied,

    /// <summary>Not recorded, newer than every recorded one.</summary>
    Pending,

    /// <summary>Recorded with another checksum: the file was edited after it was applied.</summary>
    Changed,

    /// <summary>Recorded, but no file has its version.</summary>
    Missing,

    /// <summary>Not recorded, yet older than the newest recorded one: a gap in the history.</summary>
    OutOfOrder,
}

/// <summary>One line of <c>restgres migrate status</c>: a file, a history row, or both.</summary>
internal sealed record MigrationEntry(string Version, string Name, MigrationState State, MigrationFile? File, AppliedMigration? Applied);

/// <summary>The folder compared with the history: what to apply, and what stops <c>up</c>.</summary>
internal sealed record MigrationPlan(IReadOnlyList<MigrationEntry> Entries, IReadOnlyList<MigrationFile> ToApply, IReadOnlyList<string> Problems);

/// <summary>A migration that failed; the message names the file and line.</summary>
internal sealed class MigrationFailedException(string message, Exception inner) : Exception(message, inner);

/// <summary>Compares a folder with the history and applies what is pending, each file in its own transaction.</summary>
internal static partial class Migrator
{
    [GeneratedRegex(@"^(BEGIN|COMMIT|END|ROLLBACK|ABORT|START\s+TRANSACTION)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TransactionControl();

    /// <summary>
    /// What <c>up</c> would do. A pending file older than the newest applied one is a gap (someone merged an older
    /// branch after a newer migration was applied): as <c>supabase db push</c>, it is refused unless
    /// <paramref name="includeAll"/>, since applying it out of order may not give the schema its author tested.
    /// </summary>
    public static MigrationPlan Plan(string dir, IReadOnlyList<MigrationFile> files, IReadOnlyList<AppliedMigration> applied, bool includeAll)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(applied);
        var byKey = applied.ToDictionary(a => a.Key);
        var newestApplied = applied.Count == 0 ? null : applied[^1];
        var entries = new List<MigrationEntry>();
        var toApply = new List<MigrationFile>();
        var problems = new List<string>();
        foreach (var file in files)
        {
            if (byKey.Remove(file.Key, out var row))
            {
                var changed = row.Checksum is not null && row.Checksum != file.Checksum;
                entries.Add(new(file.Version, file.Name, changed ? MigrationState.Changed : MigrationState.Applied, file, row));
                if (changed)
                    problems.Add($"{Path.Combine(dir, file.FileName)} was edited after it was applied{(row.AppliedAt is { } at ? $" on {at:yyyy-MM-dd HH:mm:ss} UTC" : "")}: " +
                                 $"recorded checksum {row.Checksum}, the file's is now {file.Checksum}. An applied migration must not change: " +
                                 "restore it and put the change in a new migration (restgres migrate new NAME)");
                continue;
            }
            var gap = newestApplied is not null && MigrationVersion.Compare(file.Key, newestApplied.Key) < 0;
            entries.Add(new(file.Version, file.Name, gap ? MigrationState.OutOfOrder : MigrationState.Pending, file, null));
            if (gap && !includeAll)
                problems.Add($"{Path.Combine(dir, file.FileName)} is not applied but is older than the last applied migration {newestApplied!.Version} " +
                             "(a gap in the history): give it a version newer than that, or apply it out of order with --include-all");
            else
                toApply.Add(file);
            problems.AddRange(TransactionProblems(dir, file));
        }
        foreach (var row in byKey.Values)
        {
            entries.Add(new(row.Version, row.Name ?? "", MigrationState.Missing, null, row));
            problems.Add($"version {row.Version}{(row.Name is { Length: > 0 } n ? $" ({n})" : "")} is recorded as applied but no file in {dir} has it: " +
                         "restore the file, or point --dir at the folder this database was migrated from");
        }
        entries.Sort((a, b) => MigrationVersion.Compare(MigrationVersion.Key(a.Version), MigrationVersion.Key(b.Version)));
        return new MigrationPlan(entries, toApply, problems);
    }

    /// <summary>A file that runs in a transaction of ours must not end it: its COMMIT would commit half a migration.</summary>
    private static IEnumerable<string> TransactionProblems(string dir, MigrationFile file)
    {
        if (file.NoTransaction) yield break;
        foreach (var s in SqlStatements.Split(file.Text))
            if (TransactionControl().IsMatch(s.Text))
            {
                yield return $"{Path.Combine(dir, file.FileName)}:{SqlStatements.LineAt(file.Text, s.Offset)}: " +
                             $"'{s.Text.Split((char[])[' ', '\n', '\r', '\t'])[0]}': each migration already runs in a transaction of its own; " +
                             $"remove the transaction control, or mark the file '{MigrationFolder.NoTransactionMarker}'";
                yield break;
            }
    }

    /// <summary>
    /// Applies one file: its statements one by one (so that an error position maps to a line of the file) and its
    /// history rows, in one transaction unless the file carries the no-transaction marker. Session settings the file
    /// changed (<c>SET ROLE</c>, <c>search_path</c>) are reset afterwards, as running each file in its own psql does.
    /// </summary>
    /// <returns>How long it took, in milliseconds.</returns>
    /// <exception cref="MigrationFailedException">A statement failed; nothing of a transactional file was kept.</exception>
    public static async Task<long> ApplyAsync(NpgsqlConnection conn, string dir, MigrationFile file, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(conn);
        ArgumentNullException.ThrowIfNull(file);
        var statements = SqlStatements.Split(file.Text);
        var startedAt = DateTime.UtcNow;
        var started = Stopwatch.GetTimestamp();
        var current = 0;
        NpgsqlTransaction? tx = null;
        try
        {
            if (!file.NoTransaction) tx = await conn.BeginTransactionAsync(ct);
            for (; current < statements.Count; current++)
            {
                await using var cmd = new NpgsqlCommand(statements[current].Text, conn, tx);
                await cmd.ExecuteNonQueryAsync(ct);
            }
            await using (var reset = new NpgsqlCommand("SET SESSION AUTHORIZATION DEFAULT; RESET ALL", conn, tx))
                await reset.ExecuteNonQueryAsync(ct);
            var ms = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            await MigrationHistory.RecordAsync(conn, file, statements, startedAt, ms, ct);
            if (tx is not null) await tx.CommitAsync(ct);
            return ms;
        }
        catch (NpgsqlException e)
        {
            if (tx is not null && !conn.FullState.HasFlag(System.Data.ConnectionState.Broken))
            {
                try
                {
                    await tx.RollbackAsync(CancellationToken.None);
                }
                catch (NpgsqlException)
                {
                    // The connection is gone; the server rolls the transaction back itself.
                }
            }
            if (conn.State == System.Data.ConnectionState.Open)
            {
                try
                {
                    // A no-transaction file's SET stays in the session; the next command in this run must not see it.
                    await using var reset = new NpgsqlCommand("SET SESSION AUTHORIZATION DEFAULT; RESET ALL", conn);
                    await reset.ExecuteNonQueryAsync(CancellationToken.None);
                }
                catch (NpgsqlException)
                {
                    // The connection died with the failure; nothing more runs on it.
                }
            }
            var statement = current < statements.Count ? statements[current] : (SqlStatement?)null;
            throw new MigrationFailedException(Describe(Path.Combine(dir, file.FileName), file, statement, e), e);
        }
        finally
        {
            if (tx is not null) await tx.DisposeAsync();
        }
    }

    /// <summary>"FILE:LINE: ERROR: message (SQLSTATE x)" with PostgreSQL's detail, hint and context, psql-like.</summary>
    internal static string Describe(string path, MigrationFile file, SqlStatement? statement, NpgsqlException e)
    {
        var sb = new StringBuilder(path);
        if (statement is { } s)
        {
            var offset = e is PostgresException { Position: > 0 } pe ? s.Offset + pe.Position - 1 : s.Offset;
            sb.Append(':').Append(SqlStatements.LineAt(file.Text, offset));
        }
        if (e is PostgresException p)
        {
            sb.Append(": ERROR: ").Append(p.MessageText).Append(" (SQLSTATE ").Append(p.SqlState).Append(')');
            if (p.Detail is { Length: > 0 } detail) sb.Append("\nDETAIL: ").Append(detail);
            if (p.Hint is { Length: > 0 } hint) sb.Append("\nHINT: ").Append(hint);
            if (p.Where is { Length: > 0 } where) sb.Append("\nCONTEXT: ").Append(where);
        }
        else sb.Append(": ").Append(e.Message);
        return sb.ToString();
    }
}
