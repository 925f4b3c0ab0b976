using Npgsql;

namespace Restgres.Execution;

/// <summary>
/// Runs once on every new pooled connection, before its first request.
/// <para>
/// It makes the backend allocate and free one 4 MB block. On glibc (Debian, Ubuntu, RHEL, the official Docker image)
/// freeing a block that large raises the backend's malloc mmap threshold to 4 MB and its trim threshold to 8 MB, so
/// that afterwards the few hundred KB a request's executor allocates and frees are reused instead of being handed
/// back to the kernel with <c>brk</c> at the end of every statement and faulted in again by the next one. Measured
/// under the A/B benchmark's <c>recent_completions</c>: <c>brk</c>, its TLB-shootdown IPIs and the page faults took
/// ~30 % of PostgreSQL's CPU on fresh connections; with the warm-up they vanish and the scenario went from ~3,500 to
/// ~5,700 req/s (docs/perf-notes.md, item 9). The cost is one statement per physical connection and at most 8 MB of
/// free heap kept per backend. On other allocators the statement is merely harmless.
/// </para>
/// </summary>
internal static class SessionWarmup
{
    private const string Sql = "SELECT length(repeat(' ', 4194304))";

    // A failure (say, an absurdly low statement_timeout on the login role) only loses the optimisation: the
    // connection is idle and outside any transaction either way, so it is kept.
    public static void Run(NpgsqlConnection conn)
    {
        using var cmd = new NpgsqlCommand(Sql, conn);
        try
        {
            cmd.ExecuteScalar();
        }
        catch (PostgresException)
        {
        }
    }

    public static async Task RunAsync(NpgsqlConnection conn)
    {
        await using var cmd = new NpgsqlCommand(Sql, conn);
        try
        {
            await cmd.ExecuteScalarAsync();
        }
        catch (PostgresException)
        {
        }
    }
}
