using System.Collections.Concurrent;
using System.Data;
using System.Diagnostics;
using Npgsql;
using Restgres.Catalog;
using Restgres.Config;
using Restgres.Errors;
using Restgres.Sql;

namespace Restgres.Execution;

/// <summary>
/// db-group-commit (docs/group-commit.md): inserts into the same table (or calls of the same volatile function) that
/// arrive within a short window share one transaction, so many requests pay for one commit (one WAL flush). Each
/// request keeps its own statements in that transaction, in arrival order: its set_config prelude, its db-pre-request
/// call, its insert or call, so every PostgREST semantic (defaults, triggers, RLS WITH CHECK with its own claims,
/// on_conflict, Prefer) is exactly a lone request's.
/// All of a batch is sent in one round trip. A statement that fails rolls the transaction back: its request gets its
/// error, and the others run again without it (an isolation retry), so a request is never half-written and never
/// answered before the commit that holds its rows.
/// </summary>
internal sealed class GroupCommit(Observability.GroupCommitMetrics metrics)
{
    // The response GUCs and the upsert counter are read by each insert's own statement: cleared before every request but
    // the first, so that a request never sees what an earlier one of its batch (or its trigger) set. Cleared in the same
    // statement as the request's own settings (its prelude, a select of set_config calls): one statement less per
    // request, and none of these settings is one the prelude sets.
    private const string ResetSelect =
        "select set_config('response.headers', '', true), set_config('response.status', '', true), set_config('pgrst.inserted', '', true)";

    /// <summary>A later request's prelude with the reset in front, or the reset alone (a prelude that is not a plain
    /// select list, never built today) followed by the prelude.</summary>
    internal static IEnumerable<Statement> ResetAndPrelude(Statement prelude) =>
        prelude.Sql.StartsWith("select ", StringComparison.Ordinal)
            ? [prelude with { Sql = ResetSelect + ", " + prelude.Sql["select ".Length..] }]
            : [new Statement(ResetSelect, []), prelude];

    private readonly ConcurrentDictionary<Key, Group> _groups = new();

    /// <summary>
    /// Whether group commit takes this request: a POST (not PUT) into a table db-group-commit names, or a POST call of
    /// a volatile function it names as <c>rpc/name</c>; ending in COMMIT (not <c>tx=rollback</c>), without a check on
    /// its result before the commit (singular media types).
    /// </summary>
    public static bool Applies(AppConfig config, App.DbActionPlan plan, TxSettings tx, bool checkedResult) =>
        !config.DbGroupCommit.IsEmpty && !tx.Rollback && !checkedResult && plan.Explain is null
        && plan switch
        {
            App.MutateActionPlan { Plan.Mutation: Requests.Mutation.Create } mutate => Names(config, mutate.Plan.Target, ""),
            // A function that writes (not read-only: volatile) answers from its own statement like an insert does, so
            // it keeps its semantics in a shared transaction for the same reasons (docs/group-commit.md).
            App.CallActionPlan call => !call.ReadOnly && Names(config, call.Plan.Qi, "rpc/"),
            _ => false,
        };

    /// <summary>What a batch is keyed by: the table inserted into, or the function called.</summary>
    public static QualifiedIdentifier Target(App.DbActionPlan plan) => plan switch
    {
        App.MutateActionPlan mutate => mutate.Plan.Target,
        App.CallActionPlan call => call.Plan.Qi,
        _ => throw new InvalidOperationException("group commit takes inserts and function calls only"),
    };

    /// <summary>Tables are named as in their API path (or schema.name, or <c>*</c> for every table); functions as
    /// <c>rpc/name</c> or <c>rpc/schema.name</c> (never by <c>*</c>: a function joins only when it is named).</summary>
    private static bool Names(AppConfig config, QualifiedIdentifier target, string prefix)
    {
        foreach (var name in config.DbGroupCommit)
            if ((name == "*" && prefix.Length == 0) || name == prefix + target.Name || name == prefix + target.Schema + "." + target.Name)
                return true;
        return false;
    }

    /// <summary>
    /// Joins the open batch of requests like this one (or opens one) and completes when the batch's transaction has
    /// committed with this request's rows, or with this request's own error. A request whose client left before its
    /// batch was sent is dropped from it; once sent, it commits with the others.
    /// </summary>
    /// <param name="commitLsn">Read the WAL position after the batch commits (read replicas' <c>Restgres-LSN</c>).</param>
    public Task<ResultSet> RunAsync(AppConfig config, NpgsqlDataSource ds, QualifiedIdentifier target, TxSettings tx,
        Statement main, Statement? after, CancellationToken aborted, bool commitLsn = false)
    {
        // Requests share a transaction only when their preludes set the same settings (same text: same role settings,
        // timezone, app settings) as the same role, so each prelude replaces every value the previous one set.
        var key = new Key(target, tx.Begin, tx.Role, tx.Prelude.Sql, tx.PreRequest?.Sql);
        var entry = new Entry(ds, tx, main, after, aborted, Stopwatch.GetTimestamp(), commitLsn);
        var group = _groups.GetOrAdd(key, static _ => new Group());
        var maxInflight = config.DbGroupCommitMaxInflight;
        List<Entry>? opened = null;
        List<Entry>? send;
        lock (group.Gate)
        {
            if (group.Open is null) opened = group.Open = [];
            group.Open.Add(entry);
            if (group.Open.Count >= config.DbGroupCommitMaxRequests)
            {
                // Full: it goes now, or, when maxInflight batches are committing, as soon as one of them returns
                // (before the batch that opens next, so requests are sent in the order they came).
                group.Full.Enqueue(group.Open);
                group.Open = opened = null;
            }
            send = group.Take(maxInflight);
        }
        if (send is not null) _ = SendAsync(group, send, maxInflight);
        if (opened is not null) _ = FlushLaterAsync(group, opened, config.DbGroupCommitWindow, maxInflight);
        return entry.Done.Task;
    }

    /// <summary>Requests waiting in batches not sent yet, how many of them lost their client (dropped when sent), and the
    /// batches sent and not yet committed.</summary>
    public (int Waiting, int Left, int InFlight) Open()
    {
        var (waiting, left, inFlight) = (0, 0, 0);
        foreach (var group in _groups.Values)
        {
            lock (group.Gate)
            {
                inFlight += group.InFlight;
                foreach (var batch in group.Full.Append(group.Open ?? []))
                {
                    waiting += batch.Count;
                    foreach (var e in batch)
                        if (e.Aborted.IsCancellationRequested) left++;
                }
            }
        }
        return (waiting, left, inFlight);
    }

    private async Task FlushLaterAsync(Group group, List<Entry> batch, int windowMs, int maxInflight)
    {
        await Task.Delay(windowMs);
        lock (group.Gate)
        {
            // Sent already (full, or a commit of its kind returned), or every slot is taken: then it stays open, taking
            // more requests, and goes when a commit returns.
            if (!ReferenceEquals(group.Open, batch) || !group.HasSlot(maxInflight)) return;
            group.Open = null;
            group.InFlight++;
        }
        await SendAsync(group, batch, maxInflight);
    }

    /// <summary>Commits one batch in one of its kind's slots; then the next batch waiting for a slot takes it.</summary>
    private async Task SendAsync(Group group, List<Entry> batch, int maxInflight)
    {
        try
        {
            await FlushAsync(batch);
        }
        finally
        {
            List<Entry>? next;
            lock (group.Gate)
            {
                group.InFlight--;
                // Classic group commit: what gathered while this batch committed goes now, whatever is left of its
                // window, so under load the commit latency itself is the window and the batch size follows the load.
                if (maxInflight > 0 && group.Full.Count == 0 && group.Open is { Count: > 0 } open)
                {
                    group.Full.Enqueue(open);
                    group.Open = null;
                }
                next = group.Take(maxInflight);
            }
            if (next is not null) _ = SendAsync(group, next, maxInflight);
        }
    }

    private async Task FlushAsync(List<Entry> batch)
    {
        var live = new List<Entry>(batch.Count);
        foreach (var e in batch)
        {
            if (e.Aborted.IsCancellationRequested) e.Done.TrySetCanceled(e.Aborted);
            else live.Add(e);
        }
        if (live.Count == 0) return;
        var now = Stopwatch.GetTimestamp();
        foreach (var e in live) metrics.Waited(now - e.Enqueued);

        var pending = new Queue<List<Entry>>();
        pending.Enqueue(live);
        try
        {
            // Not the requests' cancellation: once sent, the batch belongs to all of them.
            await using var conn = await MainTx.OpenAsync(live[0].DataSource, CancellationToken.None);
            while (pending.TryDequeue(out var group))
            {
                var (failed, error) = await RunOnceAsync(conn, group);
                if (error is null) continue;
                if (failed >= 0)
                {
                    group[failed].Done.TrySetException(PgErrorMapper.Map(error, !group[failed].Tx.Anonymous));
                    group.RemoveAt(failed);
                    if (group.Count == 0) continue;
                    metrics.Retried();
                    pending.Enqueue(group);
                }
                else if (group.Count == 1)
                {
                    group[0].Done.TrySetException(PgErrorMapper.Map(error, !group[0].Tx.Anonymous));
                }
                else
                {
                    // Failed at BEGIN or COMMIT (a deferred constraint): no request to blame, so each runs alone.
                    metrics.Retried();
                    foreach (var e in group) pending.Enqueue([e]);
                }
            }
        }
        catch (Exception e)
        {
            // The pool or the connection failed (PGRST000/001/003): every request still waiting gets that error, as a lone
            // request would. A request already answered is unaffected (TrySet).
            var error = e switch
            {
                ApiError api => api,
                NpgsqlException npg => MainTx.ClientError(npg),
                _ => e,
            };
            foreach (var entry in live) entry.Done.TrySetException(error);
        }
    }

    /// <summary>
    /// One transaction over <paramref name="group"/>: BEGIN, each request's statements, COMMIT, in one round trip. On
    /// success each request's task gets its result; on a database error nothing committed, and the index of the
    /// request whose statement failed (-1 for BEGIN or COMMIT) comes back with the error.
    /// </summary>
    private async Task<(int Failed, PostgresException? Error)> RunOnceAsync(NpgsqlConnection conn, List<Entry> group)
    {
        await using var batch = new NpgsqlBatch(conn);
        var owner = new List<int>();
        void Add(Statement st, int i)
        {
            MainTx.Add(batch, st);
            owner.Add(i);
        }
        batch.BatchCommands.Add(new NpgsqlBatchCommand(group[0].Tx.Begin));
        owner.Add(-1);
        for (var i = 0; i < group.Count; i++)
        {
            var e = group[i];
            foreach (var st in i > 0 ? ResetAndPrelude(e.Tx.Prelude) : [e.Tx.Prelude]) Add(st, i);
            if (e.Tx.PreRequest is { } pre) Add(pre, i);
            Add(e.Main, i);
            if (e.After is { } after) Add(after, i);
        }
        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        owner.Add(-1);
        if (group.Exists(e => e.CommitLsn))
        {
            batch.BatchCommands.Add(ReadYourWrites.CommitLsnCommand());
            owner.Add(-1);
        }
        var position = new ResultSet();

        var results = new ResultSet[group.Count];
        var read = 0;
        try
        {
            await using (var reader = await batch.ExecuteReaderAsync(CommandBehavior.SequentialAccess))
            {
                do
                {
                    await MainTx.ReadCommitLsnAsync(reader, position, CancellationToken.None);
                    if (!MainTx.IsMainResult(reader)) continue;
                    var rs = results[read++] = new ResultSet();
                    if (await reader.ReadAsync()) await MainTx.ReadStandardRowAsync(reader, rs, CancellationToken.None);
                }
                while (await reader.NextResultAsync());
            }
        }
        catch (PostgresException e)
        {
            for (var i = 0; i < read; i++) MainTx.Release(results[i]);
            await MainTx.RollbackQuietlyAsync(conn, e);
            var at = e.BatchCommand is { } failed ? batch.BatchCommands.IndexOf(failed) : -1;
            return (at >= 0 ? owner[at] : -1, e);
        }
        catch
        {
            for (var i = 0; i < read; i++) MainTx.Release(results[i]);
            throw;
        }
        if (read != group.Count) throw new InvalidOperationException("a group-commit insert returned no result");
        long rows = 0;
        for (var i = 0; i < group.Count; i++)
        {
            rows += results[i].QueryTotal;
            if (group[i].CommitLsn) results[i].CommitLsn = position.CommitLsn;
            group[i].Done.TrySetResult(results[i]);
        }
        metrics.Committed(group.Count, rows);
        return (-1, null);
    }

    private readonly record struct Key(QualifiedIdentifier Target, string Begin, string Role, string Prelude, string? PreRequest);

    /// <summary>The batches of one key. Guarded by <see cref="Gate"/>.</summary>
    private sealed class Group
    {
        public readonly Lock Gate = new();

        /// <summary>The batch taking requests, until its window ends, it is full or (bounded) a commit returns.</summary>
        public List<Entry>? Open;

        /// <summary>Closed batches waiting for a slot, oldest first.</summary>
        public readonly Queue<List<Entry>> Full = new();

        /// <summary>Batches sent and not yet committed.</summary>
        public int InFlight;

        public bool HasSlot(int maxInflight) => maxInflight == 0 || InFlight < maxInflight;

        /// <summary>The oldest closed batch when a slot is free (taking the slot), else null. At most one: each batch
        /// that returns takes the next one, so one call per event keeps every slot busy.</summary>
        public List<Entry>? Take(int maxInflight)
        {
            if (Full.Count == 0 || !HasSlot(maxInflight)) return null;
            InFlight++;
            return Full.Dequeue();
        }
    }

    private sealed record Entry(NpgsqlDataSource DataSource, TxSettings Tx, Statement Main, Statement? After,
        CancellationToken Aborted, long Enqueued, bool CommitLsn)
    {
        // Continuations run off the flushing task, so one slow response never delays the rest of the batch.
        public TaskCompletionSource<ResultSet> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
