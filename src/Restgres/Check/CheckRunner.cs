using System.Collections.Immutable;
using Npgsql;

namespace Restgres.Check;

/// <summary>An expectation the database does not meet; <see cref="Line"/> is its line in the expectations file.</summary>
internal sealed record Mismatch(int Line, string Object, string Message);

/// <summary>A lint's finding; <see cref="IgnoredBecause"/> is the expectations file's reason when it accepts it.</summary>
internal sealed record Finding(Lint Lint, string Object, string Message, string? IgnoredBecause = null);

internal sealed record CheckReport(int Checked, ImmutableArray<Mismatch> Mismatches, ImmutableArray<Finding> Findings)
{
    public IEnumerable<Finding> Reported => Findings.Where(f => f.IgnoredBecause is null);

    public bool Clean => Mismatches.IsEmpty && !Reported.Any();
}

/// <summary>
/// Runs the expectations and the lints against a database, read-only (one READ ONLY transaction, rolled back), with
/// <c>search_path = pg_catalog</c> so that every name it prints is schema-qualified the same way on every database.
/// </summary>
internal static class CheckRunner
{
    public static async Task<CheckReport> RunAsync(NpgsqlConnection conn, Expectations expectations,
        IReadOnlyList<string> exposedSchemas, string? anonRole, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(conn);
        ArgumentNullException.ThrowIfNull(expectations);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await using (var setup = new NpgsqlCommand("set transaction read only; set local search_path = pg_catalog", conn, tx))
            await setup.ExecuteNonQueryAsync(ct);
        var checker = new ExpectationChecker(conn, tx);
        foreach (var obj in expectations.Objects)
            await checker.CheckAsync(obj, ct);

        var findings = ImmutableArray.CreateBuilder<Finding>();
        var usedIgnores = new HashSet<LintIgnore>();
        foreach (var lint in Lints.All)
        {
            await using var cmd = new NpgsqlCommand(lint.Sql + "\norder by 1", conn, tx);
            cmd.Parameters.AddWithValue("exposed", exposedSchemas.ToArray());
            cmd.Parameters.Add(new NpgsqlParameter<string?>("anon", NpgsqlTypes.NpgsqlDbType.Text) { TypedValue = anonRole });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var obj = reader.GetString(0);
                var ignore = expectations.Ignores.FirstOrDefault(i => i.Matches(lint.Id, obj));
                if (ignore is not null) usedIgnores.Add(ignore);
                findings.Add(new Finding(lint, obj, reader.GetString(1), ignore?.Reason));
            }
        }
        await tx.RollbackAsync(ct);

        var mismatches = checker.Mismatches;
        foreach (var ignore in expectations.Ignores.Where(i => !usedIgnores.Contains(i)))
            mismatches.Add(new Mismatch(ignore.Line, ignore.Object,
                $"ignore {ignore.LintId} {ignore.Object} matches no finding; remove it (or fix the object name)"));
        return new CheckReport(checker.Checked, [.. mismatches.OrderBy(m => m.Line)], findings.ToImmutable());
    }
}
