using System.Text;
using Restgres.Http;

namespace Restgres.Observability;

/// <summary>
/// One server's metrics, served by the admin server's <c>/metrics</c>: PostgREST's <c>pgrst_*</c> families with their
/// names, types and help texts (Metrics.hs; docs: references/observability.rst), then Restgres's own HTTP, schema
/// cache, config reload and logging metrics, then process and runtime metrics. Counters are plain longs updated with
/// <see cref="Interlocked"/>; everything else is read when scraped.
/// </summary>
internal sealed class Metrics : IDisposable
{
    private readonly PoolMetrics _pool;
    private long _schemaLoadsOk;
    private long _schemaLoadsFailed;
    private long _schemaQueryTimeBits;
    private long _configReloadsOk;
    private long _configReloadsFailed;
    // JWT cache counts of authenticators replaced by a config reload, so that the counters stay monotonic.
    private long _jwtHitsBefore;
    private long _jwtMissesBefore;
    private long _jwtEvictionsBefore;

    public Metrics(string poolName) => _pool = new PoolMetrics(poolName);

    public HttpMetrics Http { get; } = new();

    /// <summary>server-response-cache's counters.</summary>
    public ResponseCacheMetrics ResponseCache { get; } = new();

    /// <summary>db-group-commit's batches, waits, rows and isolation retries.</summary>
    public GroupCommitMetrics GroupCommit { get; } = new();

    /// <summary>Durable jobs' depth, attempts and run times (written once workers run in this process).</summary>
    public JobMetrics Jobs { get; } = new();

    /// <summary>Schedules: leadership, runs by job and status, late and missed runs.</summary>
    public ScheduleMetrics Schedules { get; } = new();

    public long SchemaCacheLoads => Interlocked.Read(ref _schemaLoadsOk);

    public long SchemaCacheLoadFailures => Interlocked.Read(ref _schemaLoadsFailed);

    public long ConfigReloads => Interlocked.Read(ref _configReloadsOk);

    public long ConfigReloadFailures => Interlocked.Read(ref _configReloadsFailed);

    /// <summary>PostgREST's SchemaCacheLoadedObs: one more SUCCESS load, and the query time gauge.</summary>
    public void SchemaCacheLoaded(TimeSpan queryTime)
    {
        Interlocked.Exchange(ref _schemaQueryTimeBits, BitConverter.DoubleToInt64Bits(queryTime.TotalSeconds));
        Interlocked.Increment(ref _schemaLoadsOk);
    }

    /// <summary>PostgREST's SchemaCacheErrorObs: one more FAIL load.</summary>
    public void SchemaCacheLoadFailed() => Interlocked.Increment(ref _schemaLoadsFailed);

    public void ConfigReloaded(bool ok)
    {
        if (ok) Interlocked.Increment(ref _configReloadsOk);
        else Interlocked.Increment(ref _configReloadsFailed);
    }

    /// <summary>Keeps the counts of an authenticator that a config reload replaces.</summary>
    public void RetireAuthenticator(Auth.Authenticator old)
    {
        ArgumentNullException.ThrowIfNull(old);
        Interlocked.Add(ref _jwtHitsBefore, old.JwtCacheHits);
        Interlocked.Add(ref _jwtMissesBefore, old.JwtCacheMisses);
        Interlocked.Add(ref _jwtEvictionsBefore, old.JwtCacheEvictions);
    }

    /// <summary>The whole exposition text.</summary>
    public string Render(AppState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var sb = new StringBuilder(16 * 1024);
        WritePgrst(sb, state);
        Http.WriteTo(sb);
        WriteRestgres(sb, state);
        state.RateLimiter.Metrics.WriteTo(sb);
        PrometheusText.Single(sb, "restgres_rate_limit_keys", "gauge", "Rate-limit keys held in memory (local buckets and database leases)",
            state.RateLimiter.Local.Count + state.RateLimiter.Shared.Count);
        RuntimeMetrics.WriteTo(sb);
        return sb.ToString();
    }

    private void WritePgrst(StringBuilder sb, AppState state)
    {
        // Order and help texts as in PostgREST's Metrics.hs.
        PrometheusText.Single(sb, "pgrst_db_pool_timeouts_total", "counter", "The total number of pool connection timeouts", _pool.Timeouts);
        var (idle, _) = _pool.Connections();
        PrometheusText.Single(sb, "pgrst_db_pool_available", "gauge", "Available connections in the pool", idle);
        PrometheusText.Single(sb, "pgrst_db_pool_waiting", "gauge", "Requests waiting to acquire a pool connection", _pool.Waiting);
        PrometheusText.Single(sb, "pgrst_db_pool_max", "gauge", "Max pool connections", state.Config.DbPool);
        PrometheusText.Header(sb, "pgrst_schema_cache_loads_total", "counter", "The total number of times the schema cache was loaded");
        PrometheusText.Sample(sb, "pgrst_schema_cache_loads_total", SchemaCacheLoadFailures, ("status", "FAIL"));
        PrometheusText.Sample(sb, "pgrst_schema_cache_loads_total", SchemaCacheLoads, ("status", "SUCCESS"));
        PrometheusText.Single(sb, "pgrst_schema_cache_query_time_seconds", "gauge", "The query time in seconds of the last schema cache load",
            BitConverter.Int64BitsToDouble(Interlocked.Read(ref _schemaQueryTimeBits)));
        var auth = state.Authenticator;
        var hits = Interlocked.Read(ref _jwtHitsBefore) + auth.JwtCacheHits;
        var misses = Interlocked.Read(ref _jwtMissesBefore) + auth.JwtCacheMisses;
        PrometheusText.Single(sb, "pgrst_jwt_cache_requests_total", "counter", "The total number of JWT cache lookups", hits + misses);
        PrometheusText.Single(sb, "pgrst_jwt_cache_hits_total", "counter", "The total number of JWT cache hits", hits);
        PrometheusText.Single(sb, "pgrst_jwt_cache_evictions_total", "counter", "The total number of JWT cache evictions",
            Interlocked.Read(ref _jwtEvictionsBefore) + auth.JwtCacheEvictions);
    }

    private void WriteRestgres(StringBuilder sb, AppState state)
    {
        var (idle, busy) = _pool.Connections();
        PrometheusText.Header(sb, "restgres_db_pool_connections", "gauge", "Open pool connections, by state");
        PrometheusText.Sample(sb, "restgres_db_pool_connections", idle, ("state", "idle"));
        PrometheusText.Sample(sb, "restgres_db_pool_connections", busy, ("state", "used"));
        PrometheusText.Single(sb, "restgres_jwt_cache_entries", "gauge", "Tokens in the JWT validation cache", state.Authenticator.JwtCacheCount);
        var cache = state.SchemaCache;
        PrometheusText.Single(sb, "restgres_schema_cache_loaded", "gauge", "1 when a schema cache is loaded", cache is null ? 0 : 1);
        if (cache is not null)
        {
            PrometheusText.Header(sb, "restgres_schema_cache_objects", "gauge", "Objects in the schema cache, by kind");
            PrometheusText.Sample(sb, "restgres_schema_cache_objects", cache.Tables.Count, ("kind", "relations"));
            PrometheusText.Sample(sb, "restgres_schema_cache_objects", cache.Relationships.Values.Sum(r => r.Count), ("kind", "relationships"));
            PrometheusText.Sample(sb, "restgres_schema_cache_objects", cache.Routines.Values.Sum(r => r.Count), ("kind", "routines"));
        }
        PrometheusText.Single(sb, "restgres_db_connected", "gauge", "1 unless the server is recovering from a lost database connection", state.Recovery.IsConnected ? 1 : 0);
        PrometheusText.Header(sb, "restgres_config_reloads_total", "counter", "Configuration reloads (SIGUSR2, NOTIFY 'reload config', in-database config), by outcome");
        PrometheusText.Sample(sb, "restgres_config_reloads_total", ConfigReloadFailures, ("status", "FAIL"));
        PrometheusText.Sample(sb, "restgres_config_reloads_total", ConfigReloads, ("status", "SUCCESS"));
        ResponseCache.WriteTo(sb, state.CurrentResponseCache);
        GroupCommit.WriteTo(sb);
        Schedules.WriteTo(sb);
        var (waiting, _, inFlight) = state.GroupCommit.Open();
        PrometheusText.Single(sb, "restgres_group_commit_waiting", "gauge", "Inserts waiting in open group-commit batches", waiting);
        PrometheusText.Single(sb, "restgres_group_commit_in_flight", "gauge", "Group-commit batches sent and not yet committed", inFlight);
        Jobs.WriteTo(sb);
        if (state.Replicas is { } replicas) WriteReplicas(sb, replicas);
        PrometheusText.Single(sb, "restgres_log_lines_dropped_total", "counter", "Log lines dropped because the log writer could not keep up",
            state.Observer.Sink.Dropped);
        PrometheusText.Header(sb, "restgres_build_info", "gauge", "The running Restgres version");
        PrometheusText.Sample(sb, "restgres_build_info", 1, ("version", Cli.CommandLine.Version));
    }

    /// <summary>db-read-replicas: transactions per pool, and each replica's health and lag (docs/read-replicas.md).</summary>
    private static void WriteReplicas(StringBuilder sb, Execution.ReadReplicas replicas)
    {
        PrometheusText.Header(sb, "restgres_db_pool_requests_total", "counter", "Transactions run, by pool (primary or read replica)");
        PrometheusText.Sample(sb, "restgres_db_pool_requests_total", replicas.PrimaryRequests, ("pool", "primary"));
        foreach (var r in replicas.All)
            PrometheusText.Sample(sb, "restgres_db_pool_requests_total", r.Requests, ("pool", r.Name));
        PrometheusText.Header(sb, "restgres_db_replica_healthy", "gauge",
            "1 when the read replica serves reads; 0 when down, lagging, not a standby or not checked yet");
        foreach (var r in replicas.All)
            PrometheusText.Sample(sb, "restgres_db_replica_healthy", r.Health == Execution.ReplicaHealth.Healthy ? 1 : 0, ("pool", r.Name));
        PrometheusText.Header(sb, "restgres_db_replica_lag_seconds", "gauge",
            "Age of the oldest primary WAL position the read replica has not replayed (0: caught up)");
        foreach (var r in replicas.All)
            PrometheusText.Sample(sb, "restgres_db_replica_lag_seconds", r.LagSeconds, ("pool", r.Name));
    }

    public void Dispose() => _pool.Dispose();
}
