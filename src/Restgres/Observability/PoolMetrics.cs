using System.Diagnostics.Metrics;

namespace Restgres.Observability;

/// <summary>
/// The connection pool numbers behind PostgREST's <c>pgrst_db_pool_*</c> metrics (docs: references/observability.rst,
/// "Connection Pool Metrics"), read from Npgsql's own instruments (meter <c>Npgsql</c>) because its pool statistics
/// are not public. Only the pool instruments are enabled, so command execution pays nothing for this listener. The
/// observable counts are collected when <c>/metrics</c> is scraped; timeouts and waiting requests arrive as events,
/// which Npgsql raises only when a request has to wait for a connection.
/// </summary>
internal sealed class PoolMetrics : IDisposable
{
    private const string CountInstrument = "db.client.connection.count";
    private const string MaxInstrument = "db.client.connection.max";
    private const string PendingInstrument = "db.client.connection.npgsql.pending_requests";
    private const string TimeoutsInstrument = "db.client.connection.npgsql.timeouts";
    private const string PoolNameTag = "db.client.connection.pool.name";

    private readonly string _poolName;
    private readonly MeterListener _listener;
    private readonly Lock _scrape = new();
    private long _pending;
    private long _timeouts;
    // Written only while _scrape is held, by the callbacks RecordObservableInstruments runs synchronously.
    private int _idle;
    private int _busy;

    /// <param name="poolName">The data source's name, which Npgsql puts in the pool-name tag: its connection string
    /// without the password, unless a name was given.</param>
    public PoolMetrics(string poolName)
    {
        _poolName = poolName;
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Npgsql"
                    && instrument.Name is CountInstrument or MaxInstrument or PendingInstrument or TimeoutsInstrument)
                    listener.EnableMeasurementEvents(instrument, this);
            },
        };
        _listener.SetMeasurementEventCallback<int>(OnMeasurement);
        _listener.Start();
    }

    /// <summary>Requests waiting for a pooled connection (never negative: a wait that began before this listener
    /// started ends with a decrement only).</summary>
    public long Waiting => Math.Max(0, Interlocked.Read(ref _pending));

    /// <summary>Connection requests that gave up waiting for the pool (PGRST003).</summary>
    public long Timeouts => Interlocked.Read(ref _timeouts);

    /// <summary>Open connections, idle and in use, right now.</summary>
    public (int Idle, int Busy) Connections()
    {
        lock (_scrape)
        {
            _idle = 0;
            _busy = 0;
            _listener.RecordObservableInstruments();
            return (_idle, _busy);
        }
    }

    private static void OnMeasurement(Instrument instrument, int value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        var self = (PoolMetrics)state!;
        string? pool = null;
        string? connectionState = null;
        foreach (var tag in tags)
        {
            if (tag.Key == PoolNameTag) pool = tag.Value as string;
            else if (tag.Key == "db.client.connection.state") connectionState = tag.Value as string;
        }
        if (pool != self._poolName) return;
        switch (instrument.Name)
        {
            case PendingInstrument:
                Interlocked.Add(ref self._pending, value);
                break;
            case TimeoutsInstrument:
                Interlocked.Add(ref self._timeouts, value);
                break;
            case CountInstrument when connectionState == "idle":
                self._idle += value;
                break;
            case CountInstrument when connectionState == "used":
                self._busy += value;
                break;
        }
    }

    public void Dispose() => _listener.Dispose();
}
