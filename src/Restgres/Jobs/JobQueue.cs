using System.Collections.Immutable;
using System.Text.Json;
using Npgsql;

namespace Restgres.Jobs;

/// <summary>The handler kinds of <c>restgres.define_queue</c>.</summary>
internal enum JobHandler
{
    Sql,
    Http,
}

/// <summary>
/// One row of <c>restgres.job_queues</c> as a worker uses it (docs/jobs.md). Immutable: a changed queue is a new
/// definition, swapped in when the workers re-read the table.
/// </summary>
internal sealed record JobQueue(
    string Name,
    JobHandler Handler,
    string Target,
    int Concurrency,
    int TimeoutMs,
    ImmutableArray<KeyValuePair<string, string>> Headers,
    string? SecretEnv,
    string? BodyKey,
    int BatchSize)
{
    /// <summary>The queues of the database, those named in <paramref name="only"/> (all when empty).</summary>
    public static async Task<ImmutableArray<JobQueue>> LoadAsync(NpgsqlDataSource dataSource, ImmutableArray<string> only, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var cmd = dataSource.CreateCommand(
            "select name, handler, target, concurrency, timeout_ms, options::text from restgres.job_queues order by name");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var queues = ImmutableArray.CreateBuilder<JobQueue>();
        while (await reader.ReadAsync(ct))
        {
            var name = reader.GetString(0);
            if (!only.IsEmpty && !only.Contains(name)) continue;
            using var options = JsonDocument.Parse(reader.GetString(5));
            var headers = ImmutableArray.CreateBuilder<KeyValuePair<string, string>>();
            if (options.RootElement.TryGetProperty("headers", out var h) && h.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in h.EnumerateObject())
                    headers.Add(new(p.Name, p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText()));
            }
            queues.Add(new JobQueue(
                name,
                reader.GetString(1) == "sql" ? JobHandler.Sql : JobHandler.Http,
                reader.GetString(2),
                reader.GetInt32(3),
                reader.GetInt32(4),
                headers.ToImmutable(),
                StringOption(options.RootElement, "secret_env"),
                StringOption(options.RootElement, "body_key"),
                options.RootElement.TryGetProperty("batch_size", out var b) && b.TryGetInt32(out var batch) ? batch : 1));
        }
        return queues.ToImmutable();
    }

    private static string? StringOption(JsonElement options, string name) =>
        options.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
