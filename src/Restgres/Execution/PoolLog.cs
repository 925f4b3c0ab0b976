using System.Data;
using System.Runtime.CompilerServices;
using Npgsql;

namespace Restgres.Execution;

/// <summary>
/// PostgREST's pool observations at log-level debug (its usePool and hasql-pool's connection observations), in its
/// words and order: "Trying to borrow a connection from pool", "Connection … is being established" and "… is available
/// due to connection establishment" for a new physical connection, "Connection … is used", "… is available due to
/// session success", then "Borrowed a connection from the pool" (PostgREST observes that when its session ends).
/// A connection is named by its backend process id written as a UUID (hasql-pool names it with a random UUID; the pid
/// also finds it in pg_stat_activity). Request connections are observed, as PostgREST's are: log-level is reloadable,
/// so <see cref="_enabled"/> is asked each time.
/// </summary>
internal sealed class PoolLog(Func<bool> enabled, Action<string> log)
{
    // Kept beside the data source rather than in every signature that passes one along (requests, group commit,
    // OpenAPI): MainTx.OpenAsync is the one place requests borrow a connection.
    private static readonly ConditionalWeakTable<NpgsqlDataSource, PoolLog> Attached = new();

    private readonly Func<bool> _enabled = enabled;

    public static void Attach(NpgsqlDataSource ds, PoolLog poolLog) => Attached.AddOrUpdate(ds, poolLog);

    public static PoolLog? Of(NpgsqlDataSource ds) => Attached.TryGetValue(ds, out var poolLog) && poolLog._enabled() ? poolLog : null;

    public static string Name(int backendPid) => $"00000000-0000-0000-0000-{backendPid:x12}";

    public void Borrowing() => log("Trying to borrow a connection from pool");

    /// <summary>Called by the physical connection initializer, before the connection's first use.</summary>
    public void Established(NpgsqlConnection conn)
    {
        if (!_enabled()) return;
        log($"Connection {Name(conn.ProcessID)} is being established");
        log($"Connection {Name(conn.ProcessID)} is available due to connection establishment");
    }

    /// <summary>Logs the borrow, and the release when the request closes the connection.</summary>
    public void Borrowed(NpgsqlConnection conn)
    {
        var name = Name(conn.ProcessID);
        log($"Connection {name} is used");
        conn.StateChange += (_, e) =>
        {
            if (e.CurrentState != ConnectionState.Closed) return;
            log($"Connection {name} is available due to session success");
            log("Borrowed a connection from the pool");
        };
    }
}
