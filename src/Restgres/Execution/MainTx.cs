using System.Buffers;
using System.Data;
using System.Text.Json;
using Npgsql;
using Restgres.Errors;
using Restgres.Sql;

namespace Restgres.Execution;

/// <summary>The one row every main statement returns (PostgREST's ResultSet), with the body as UTF-8 bytes.</summary>
internal sealed class ResultSet
{
    public long? TableTotal { get; set; }
    public long QueryTotal { get; set; }
    public string? GucHeaders { get; set; }
    public string? GucStatus { get; set; }
    public byte[] Body { get; set; } = [];
    public int BodyLength { get; set; }
    public long? PlannedTotal { get; set; }
    /// <summary>Location bindings like <c>id=eq.1</c> (inserts with return=headers-only).</summary>
    public string[] Location { get; set; } = [];
    /// <summary>Rows inserted by an upsert (pgrst.inserted), deciding 201 vs 200.</summary>
    public long? Inserted { get; set; }
    /// <summary>The WAL position after the transaction committed, when asked (read replicas' <c>Restgres-LSN</c>).</summary>
    public string? CommitLsn { get; set; }
}

/// <summary>Everything one transaction needs besides the main statement: the settings prelude and the pre-request.</summary>
internal sealed record TxSettings(
    bool ReadOnly,
    string Role,
    Statement Prelude,
    Statement? PreRequest,
    bool Rollback,
    bool Anonymous,
    string IsolationLevel = "READ COMMITTED")
{
    /// <summary>
    /// The BEGIN statement. The isolation level comes from a function's or role's default_transaction_isolation
    /// setting and is checked against PostgreSQL's four levels, so it can never inject SQL.
    /// </summary>
    public string Begin => "BEGIN ISOLATION LEVEL " + (IsolationLevel switch
    {
        "SERIALIZABLE" or "REPEATABLE READ" or "READ UNCOMMITTED" => IsolationLevel,
        _ => "READ COMMITTED",
    }) + (ReadOnly ? " READ ONLY" : " READ WRITE");
}

/// <summary>
/// Runs one request's transaction on a pooled connection in a single round trip where possible: BEGIN, the
/// set_config prelude, the pre-request function, the main statement (and the planner count), and COMMIT or ROLLBACK,
/// sent as one Npgsql batch (PostgREST sends the same statements one after the other).
/// </summary>
internal static class MainTx
{
    /// <summary>
    /// Runs the transaction. <paramref name="check"/> sees the main result before the transaction ends and may
    /// return an error (PGRST116, PGRST124, PGRST115, ...), which rolls the transaction back. Read-only transactions
    /// without a check end in the same round trip.
    /// </summary>
    /// <param name="after">A statement run after the main one in the same transaction, whose result is ignored (the
    /// response cache's <c>pg_notify</c>, delivered only if the transaction commits).</param>
    /// <param name="idempotency">The request's <c>Idempotency-Key</c> (server-idempotency): its begin statement runs
    /// first, as the authenticator; when it answers (replay, 409, 422) the transaction is rolled back and the answer
    /// thrown (<see cref="IdempotentReplay"/> or an <see cref="ApiError"/>).</param>
    /// <param name="beforeCommit">With <paramref name="idempotency"/>: builds the response from the checked result and
    /// returns the statement storing it, run after <c>RESET ROLE</c> in the round trip that commits.</param>
    /// <param name="commitLsn">Read the WAL position right after COMMIT, in the round trip that commits
    /// (<see cref="ResultSet.CommitLsn"/>).</param>
    public static async Task<ResultSet> RunAsync(NpgsqlDataSource ds, TxSettings tx, Statement main, Statement? explain,
        Func<ResultSet, ApiError?>? check, CancellationToken ct, Statement? after = null,
        IdempotentRequest? idempotency = null, Func<ResultSet, Statement>? beforeCommit = null, bool commitLsn = false)
    {
        await using var conn = await OpenAsync(ds, ct);
        await using var batch = Begin(conn, tx, idempotency?.Begin);
        Add(batch, main);
        if (explain is not null) Add(batch, explain);
        if (after is not null) Add(batch, after);
        // The transaction's end goes in the same round trip when nothing can change it: a read-only transaction
        // (a failed check changes nothing), or any transaction without a check on its result or a response to store.
        var endInBatch = (tx.ReadOnly || check is null) && beforeCommit is null;
        if (endInBatch)
        {
            if (tx.Rollback && !tx.ReadOnly)
            {
                // PostgREST checks deferred constraints before rolling back (optionalRollback).
                batch.BatchCommands.Add(new NpgsqlBatchCommand("SET CONSTRAINTS ALL IMMEDIATE"));
                batch.BatchCommands.Add(new NpgsqlBatchCommand("ROLLBACK"));
            }
            else
            {
                End(batch, tx);
                if (commitLsn && !tx.Rollback) batch.BatchCommands.Add(ReadYourWrites.CommitLsnCommand());
            }
        }

        var result = new ResultSet();
        try
        {
            await using (var reader = await batch.ExecuteReaderAsync(CommandBehavior.SequentialAccess, ct))
            {
                // Skip the prelude and pre-request results (Npgsql skips statements without a result set, like BEGIN).
                while (!IsMainResult(reader))
                    if (!await reader.NextResultAsync(ct)) throw new InvalidOperationException("main statement returned no result");
                if (await reader.ReadAsync(ct))
                    await ReadStandardRowAsync(reader, result, ct);
                if (explain is not null)
                {
                    await reader.NextResultAsync(ct);
                    if (await reader.ReadAsync(ct))
                        result.PlannedTotal = PlanRows(reader.GetString(0));
                }
                while (await reader.NextResultAsync(ct))
                    await ReadCommitLsnAsync(reader, result, ct);
            }
            var error = check?.Invoke(result);
            Statement? store = null;
            if (error is null && beforeCommit is not null && !tx.Rollback)
            {
                try
                {
                    store = beforeCommit(result);
                }
                catch (ApiError e)
                {
                    error = e;
                }
            }
            if (store is not null && error is null)
            {
                // The stored response commits with the write, or neither does. RESET ROLE: the functions of Restgres's
                // schema are the authenticator's to call, never the request role's.
                await using var end = new NpgsqlBatch(conn);
                end.BatchCommands.Add(new NpgsqlBatchCommand("RESET ROLE"));
                Add(end, store);
                end.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
                await EndAsync(end, commitLsn, result, ct);
            }
            else if (!endInBatch)
            {
                // Rolled back transactions still check deferred constraints first, as PostgREST does.
                var end = error is null && !tx.Rollback ? "COMMIT" : error is null ? "SET CONSTRAINTS ALL IMMEDIATE; ROLLBACK" : "ROLLBACK";
                if (commitLsn && end == "COMMIT")
                {
                    await using var commit = new NpgsqlBatch(conn);
                    commit.BatchCommands.Add(new NpgsqlBatchCommand(end));
                    await EndAsync(commit, commitLsn: true, result, ct);
                }
                else
                {
                    await using var cmd = new NpgsqlCommand(end, conn);
                    await cmd.ExecuteNonQueryAsync(ct);
                }
            }
            if (error is not null)
            {
                Release(result);
                throw error;
            }
        }
        catch (PostgresException e) when (e.InvariantSeverity is "FATAL" or "PANIC")
        {
            // The server ended the session under the request (pg_terminate_backend, a shutdown): the connection is
            // gone, which PostgREST reports as a client error in libpq's words, and starts recovering.
            Release(result);
            throw Pgrst.DbClient(NoConnection);
        }
        catch (PostgresException e)
        {
            Release(result);
            // idempotency_begin's answers fail its execution, not its Bind: no prepared statement to reset.
            var outcome = idempotency is not null && IdempotentRequest.IsOutcome(e);
            await RollbackQuietlyAsync(conn, e, resetPrepared: !outcome);
            if (outcome) throw await idempotency!.OutcomeAsync(conn, e, ct);
            throw PgErrorMapper.Map(e, !tx.Anonymous);
        }
        catch (NpgsqlException e)
        {
            Release(result);
            throw ClientError(e);
        }
        return result;
    }

    /// <summary>Runs a batch ending the transaction, followed by the commit position's query when asked.</summary>
    private static async Task EndAsync(NpgsqlBatch end, bool commitLsn, ResultSet result, CancellationToken ct)
    {
        if (!commitLsn)
        {
            await end.ExecuteNonQueryAsync(ct);
            return;
        }
        end.BatchCommands.Add(ReadYourWrites.CommitLsnCommand());
        await using var reader = await end.ExecuteReaderAsync(ct);
        do await ReadCommitLsnAsync(reader, result, ct);
        while (await reader.NextResultAsync(ct));
    }

    /// <summary>Keeps the commit position when the reader stands on its result.</summary>
    internal static async Task ReadCommitLsnAsync(NpgsqlDataReader reader, ResultSet result, CancellationToken ct)
    {
        if (ReadYourWrites.IsCommitLsn(reader) && await reader.ReadAsync(ct)) result.CommitLsn = reader.GetString(0);
    }

    internal static bool IsMainResult(NpgsqlDataReader reader) =>
        reader.FieldCount >= 5 && reader.GetName(0) == "total_result_set";

    /// <summary>
    /// Reads the standard row: total_result_set, page_total, response_headers, response_status, optionally
    /// location (text[]) and response_inserted (bigint), and the body last (streamed: sequential access).
    /// </summary>
    internal static async Task ReadStandardRowAsync(NpgsqlDataReader reader, ResultSet result, CancellationToken ct)
    {
        result.TableTotal = await reader.IsDBNullAsync(0, ct) ? null : reader.GetInt64(0);
        result.QueryTotal = reader.GetInt64(1);
        result.GucHeaders = await reader.IsDBNullAsync(2, ct) ? null : reader.GetString(2);
        result.GucStatus = await reader.IsDBNullAsync(3, ct) ? null : reader.GetString(3);
        var bodyOrdinal = reader.FieldCount - 1;
        for (var i = 4; i < bodyOrdinal; i++)
        {
            switch (reader.GetName(i))
            {
                case "location":
                    result.Location = await reader.IsDBNullAsync(i, ct) ? [] : reader.GetFieldValue<string[]>(i);
                    break;
                case "response_inserted":
                    result.Inserted = await reader.IsDBNullAsync(i, ct) ? null : reader.GetInt64(i);
                    break;
            }
        }
        if (!await reader.IsDBNullAsync(bodyOrdinal, ct))
        {
            await using var stream = await reader.GetStreamAsync(bodyOrdinal, ct);
            var buf = ArrayPool<byte>.Shared.Rent(stream.CanSeek ? (int)Math.Max(16, stream.Length) : 4096);
            var len = 0;
            while (true)
            {
                if (len == buf.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(buf.Length * 2);
                    Buffer.BlockCopy(buf, 0, bigger, 0, len);
                    ArrayPool<byte>.Shared.Return(buf);
                    buf = bigger;
                }
                var n = await stream.ReadAsync(buf.AsMemory(len), ct);
                if (n == 0) break;
                len += n;
            }
            result.Body = buf;
            result.BodyLength = len;
        }
    }

    /// <summary>
    /// Runs an EXPLAIN of the main statement (Accept: application/vnd.pgrst.plan) in the request's transaction and
    /// returns its rows joined as lines (text format gives one row per line, JSON one row), as PostgREST's planRow.
    /// </summary>
    public static async Task<byte[]> RunPlanAsync(NpgsqlDataSource ds, TxSettings tx, Statement explain, CancellationToken ct)
    {
        await using var conn = await OpenAsync(ds, ct);
        await using var batch = Begin(conn, tx);
        Add(batch, explain);
        End(batch, tx);
        var sb = new System.Text.StringBuilder();
        try
        {
            await using var reader = await batch.ExecuteReaderAsync(ct);
            do
            {
                if (reader.FieldCount != 1 || reader.GetName(0) != "QUERY PLAN") continue;
                while (await reader.ReadAsync(ct))
                    sb.Append(reader.GetValue(0).ToString()).Append('\n');
            }
            while (await reader.NextResultAsync(ct));
        }
        catch (PostgresException e)
        {
            await RollbackQuietlyAsync(conn, e);
            throw PgErrorMapper.Map(e, !tx.Anonymous);
        }
        return System.Text.Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>Returns a pooled body buffer once the response is written.</summary>
    public static void Release(ResultSet rs)
    {
        if (rs.Body.Length > 0) ArrayPool<byte>.Shared.Return(rs.Body);
        rs.Body = [];
    }

    private static long? PlanRows(string explainJson)
    {
        using var doc = JsonDocument.Parse(explainJson);
        var plan = doc.RootElement[0].GetProperty("Plan");
        return plan.TryGetProperty("Plan Rows", out var rows) ? rows.GetInt64() : null;
    }

    /// <summary>
    /// A request's batch up to its main statement: BEGIN, the set_config prelude and the db-pre-request function, in
    /// PostgREST's order (the pre-request sees the request's settings and may reject it before any work).
    /// </summary>
    /// <param name="first">A statement run right after BEGIN, before the role is set (idempotency's begin).</param>
    internal static NpgsqlBatch Begin(NpgsqlConnection conn, TxSettings tx, Statement? first = null)
    {
        var batch = new NpgsqlBatch(conn);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(tx.Begin));
        if (first is not null) Add(batch, first);
        Add(batch, tx.Prelude);
        if (tx.PreRequest is { } pre) Add(batch, pre);
        return batch;
    }

    /// <summary>Ends the batch's transaction: ROLLBACK with tx=rollback (or db-tx-end rollback), else COMMIT.</summary>
    internal static void End(NpgsqlBatch batch, TxSettings tx) =>
        batch.BatchCommands.Add(new NpgsqlBatchCommand(tx.Rollback ? "ROLLBACK" : "COMMIT"));

    /// <summary>Appends a statement with its parameters.</summary>
    internal static void Add(NpgsqlBatch batch, Statement st)
    {
        var cmd = new NpgsqlBatchCommand(st.Sql);
        foreach (var p in st.Params)
            cmd.Parameters.Add(new NpgsqlParameter { Value = p.Value ?? DBNull.Value, NpgsqlDbType = p.Type });
        batch.BatchCommands.Add(cmd);
    }

    /// <summary>
    /// Opens a pooled connection, mapping pool exhaustion to PGRST003 (504) and a database that cannot be reached to
    /// PGRST000 (503), as PostgREST maps hasql-pool's AcquisitionTimeoutUsageError and ConnectionUsageError.
    /// </summary>
    public static async Task<NpgsqlConnection> OpenAsync(NpgsqlDataSource ds, CancellationToken ct)
    {
        try
        {
            var poolLog = PoolLog.Of(ds);
            poolLog?.Borrowing();
            var conn = await ds.OpenConnectionAsync(ct);
            poolLog?.Borrowed(conn);
            return conn;
        }
        catch (NpgsqlException e) when (e is not PostgresException && IsPoolExhausted(e))
        {
            throw Pgrst.PoolTimeout();
        }
        catch (NpgsqlException e)
        {
            throw ConnectionError(e);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw Pgrst.DbConnection(e.Message);
        }
    }

    /// <summary>PGRST000 for a connection that could not be opened; marked when the credentials were refused.</summary>
    internal static ApiError ConnectionError(NpgsqlException e) =>
        Pgrst.DbConnection(ConnectionFailure(e), IsAuthenticationFailure(e));

    // PostgREST stops on exactly these: "password authentication failed" (28P01) and libpq's "no password supplied"
    // (Npgsql's "No password has been provided").
    private static bool IsAuthenticationFailure(NpgsqlException e) =>
        e is PostgresException { SqlState: "28P01" }
        || e.Message.StartsWith("No password has been provided", StringComparison.Ordinal);

    /// <summary>
    /// A connection that broke during the transaction (the server went away, a network failure): not an error
    /// PostgreSQL reported, so PostgREST's PGRST001 (503) rather than a 500.
    /// </summary>
    /// <summary>libpq's message for a connection that is gone (with its newline, as PostgREST passes it on).</summary>
    private const string NoConnection = "no connection to the server\n";

    internal static ApiError ClientError(NpgsqlException e) => Pgrst.DbClient(ConnectionFailure(e));

    // Npgsql raises the same exception type for every pool wait that times out; its message is the only distinction
    // from a connect attempt that timed out (which is a connection error, not a busy pool).
    private static bool IsPoolExhausted(NpgsqlException e) =>
        e.Message.StartsWith("The connection pool has been exhausted", StringComparison.Ordinal);

    /// <summary>
    /// A connection failure as libpq words it where PostgREST's users grep for it (a host name that does not resolve:
    /// "could not translate host name ..."), otherwise as <see cref="ConnectionFailure"/> does.
    /// </summary>
    internal static string Describe(Exception e, string? host)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.HostNotFound or System.Net.Sockets.SocketError.TryAgain or System.Net.Sockets.SocketError.NoData } dns)
                return $"could not translate host name \"{host}\" to address: {dns.Message}";
        return e is NpgsqlException n ? ConnectionFailure(n) : e.Message;
    }

    /// <summary>What went wrong, in the spirit of libpq's messages that PostgREST passes on as details.</summary>
    private static string ConnectionFailure(NpgsqlException e) => e switch
    {
        PostgresException pg => $"{pg.Severity}:  {pg.MessageText}",
        { InnerException: { } inner } when inner.Message != e.Message => $"{e.Message}: {inner.Message}",
        _ => e.Message,
    };

    /// <summary>
    /// Ends the failed transaction, then resets the prepared statement of the statement that failed (see
    /// <see cref="ResetPreparedAsync"/>). Errors are ignored: a broken connection is discarded by the pool.
    /// </summary>
    internal static async Task RollbackQuietlyAsync(NpgsqlConnection conn, PostgresException failure, bool resetPrepared = true)
    {
        try
        {
            if (conn.State == ConnectionState.Open)
            {
                await using (var cmd = new NpgsqlCommand("ROLLBACK", conn))
                    await cmd.ExecuteNonQueryAsync();
                if (resetPrepared && failure.BatchCommand is { } failed && AutoPrepares(conn))
                    await ResetPreparedAsync(conn, failed);
            }
        }
        catch (NpgsqlException)
        {
            // The connection is broken; the pool discards it.
        }
    }

    /// <summary>
    /// Reliability finding F1 (docs/reliability.md). Npgsql (10.0.3) auto-prepares a statement on its second use and
    /// counts it prepared as soon as PostgreSQL parsed it. When the Bind then fails (a value that does not convert to
    /// its parameter's type: <c>id=eq.abc</c>), the statement stays "prepared" without its row description, and its
    /// next use on that connection misreads the rows ("unexpected backend message DataRow": a 500). Preparing the same
    /// text explicitly replaces that entry with a described one, and unpreparing drops it; the connection's other
    /// prepared statements stay (forgetting them all broke a spec case checking pg_prepared_statements). Two round
    /// trips, on failed requests only.
    /// </summary>
    private static async Task ResetPreparedAsync(NpgsqlConnection conn, NpgsqlBatchCommand failed)
    {
        await using var cmd = new NpgsqlCommand(failed.CommandText, conn);
        foreach (NpgsqlParameter p in failed.Parameters)
            cmd.Parameters.Add(p.Clone());
        try
        {
            await cmd.PrepareAsync();
        }
        catch (PostgresException)
        {
            // The text does not parse (the failure was its Parse): nothing of it is prepared.
            return;
        }
        await cmd.UnprepareAsync();
    }

    private static bool AutoPrepares(NpgsqlConnection conn) =>
        new NpgsqlConnectionStringBuilder(conn.ConnectionString).MaxAutoPrepare > 0;
}
