using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Restgres.Observability;

/// <summary>
/// Request counts and a latency histogram by method, status and resource (beyond PostgREST, which has no HTTP
/// metrics). Recording a request is a lock-free dictionary read and three interlocked increments; series are created
/// once per new (method, status, resource) combination. The label values are bounded so that a client cannot grow
/// the series without limit: methods outside the standard set become <c>OTHER</c>, and a resource is a table or
/// function name from the schema cache, <c>/</c> for the root, or <c>(other)</c> for anything else.
/// </summary>
internal sealed class HttpMetrics
{
    /// <summary>Prometheus client libraries' default buckets, in seconds.</summary>
    public static readonly ImmutableArray<double> Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Label value for a path that names nothing in the schema cache.</summary>
    public const string OtherResource = "(other)";

    /// <summary>Beyond this many series new combinations are counted under <see cref="OtherResource"/>.</summary>
    private const int MaxSeries = 5000;

    private static readonly double[] BucketArray = [.. Buckets];
    private readonly ConcurrentDictionary<SeriesKey, Series> _series = new();
    private volatile ResourceNames? _names;
    private long _inFlight;

    /// <summary>Requests being served right now.</summary>
    public long InFlight => Interlocked.Read(ref _inFlight);

    internal void Started() => Interlocked.Increment(ref _inFlight);

    /// <summary>Records one finished request; <paramref name="elapsedTicks"/> are <see cref="Stopwatch"/> ticks.</summary>
    public void Observe(string method, int status, string resource, long elapsedTicks)
    {
        Interlocked.Decrement(ref _inFlight);
        var key = new SeriesKey(NormalizeMethod(method), status, resource);
        if (!_series.TryGetValue(key, out var series))
        {
            if (_series.Count >= MaxSeries) key = key with { Resource = OtherResource };
            series = _series.GetOrAdd(key, static _ => new Series());
        }
        series.Add(elapsedTicks);
    }

    /// <summary>
    /// The resource label for a decoded request path: the table or view name (<c>/items</c> → <c>items</c>), the
    /// function (<c>/rpc/f</c> → <c>rpc/f</c>), <c>/</c> for the root, or <see cref="OtherResource"/>. Allocation-free:
    /// the name is looked up by span in a set built once per schema cache snapshot.
    /// </summary>
    public string Resource(Catalog.SchemaCache? cache, string path, ImmutableArray<string> prefixes)
    {
        ArgumentNullException.ThrowIfNull(path);
        var span = path.AsSpan();
        foreach (var p in prefixes)
        {
            if (span.StartsWith(p, StringComparison.Ordinal) && (span.Length == p.Length || span[p.Length] == '/'))
            {
                span = span[p.Length..];
                break;
            }
        }
        span = span.TrimStart('/');
        if (span.IsEmpty) return "/";
        if (cache is null) return OtherResource;
        var names = _names;
        if (names is null || !ReferenceEquals(names.Cache, cache)) _names = names = new ResourceNames(cache);
        var slash = span.IndexOf('/');
        var first = slash < 0 ? span : span[..slash];
        if (first.SequenceEqual("rpc") && slash >= 0)
        {
            var rest = span[(slash + 1)..];
            var end = rest.IndexOf('/');
            span = span[..(slash + 1 + (end < 0 ? rest.Length : end))];
            return names.Lookup.TryGetValue(span, out var fn) ? fn : OtherResource;
        }
        return names.Lookup.TryGetValue(first, out var name) ? name : OtherResource;
    }

    private static string NormalizeMethod(string method) => method switch
    {
        "GET" or "HEAD" or "POST" or "PUT" or "PATCH" or "DELETE" or "OPTIONS" => method,
        _ => "OTHER",
    };

    /// <summary>Writes <c>restgres_http_requests_total</c>, <c>restgres_http_request_duration_seconds</c> and the in-flight gauge.</summary>
    public void WriteTo(StringBuilder sb)
    {
        ArgumentNullException.ThrowIfNull(sb);
        var snapshot = _series.ToArray();
        Array.Sort(snapshot, static (a, b) => a.Key.CompareTo(b.Key));

        PrometheusText.Header(sb, "restgres_http_requests_total", "counter", "HTTP requests served, by method, status and resource");
        foreach (var (key, series) in snapshot)
            PrometheusText.Sample(sb, "restgres_http_requests_total", Interlocked.Read(ref series.Count), key.Labels());

        PrometheusText.Header(sb, "restgres_http_request_duration_seconds", "histogram", "HTTP request duration in seconds, by method, status and resource");
        foreach (var (key, series) in snapshot)
        {
            var status = key.Status.ToString(CultureInfo.InvariantCulture);
            long cumulative = 0;
            for (var i = 0; i <= BucketArray.Length; i++)
            {
                cumulative += Interlocked.Read(ref series.BucketCounts[i]);
                var le = i < BucketArray.Length ? PrometheusText.FormatValue(BucketArray[i]) : "+Inf";
                PrometheusText.Sample(sb, "restgres_http_request_duration_seconds_bucket", cumulative,
                    ("method", key.Method), ("status", status), ("resource", key.Resource), ("le", le));
            }
            PrometheusText.Sample(sb, "restgres_http_request_duration_seconds_sum",
                (double)Interlocked.Read(ref series.SumTicks) / Stopwatch.Frequency, key.Labels());
            PrometheusText.Sample(sb, "restgres_http_request_duration_seconds_count", cumulative, key.Labels());
        }

        PrometheusText.Single(sb, "restgres_http_requests_in_flight", "gauge", "HTTP requests being served", Math.Max(0, InFlight));
    }

    private readonly record struct SeriesKey(string Method, int Status, string Resource) : IComparable<SeriesKey>
    {
        public (string, string)[] Labels() =>
            [("method", Method), ("status", Status.ToString(CultureInfo.InvariantCulture)), ("resource", Resource)];

        public int CompareTo(SeriesKey other)
        {
            var c = string.CompareOrdinal(Resource, other.Resource);
            if (c != 0) return c;
            c = string.CompareOrdinal(Method, other.Method);
            return c != 0 ? c : Status.CompareTo(other.Status);
        }
    }

    private sealed class Series
    {
        public long Count;
        public long SumTicks;
        public readonly long[] BucketCounts = new long[BucketArray.Length + 1];

        public void Add(long ticks)
        {
            Interlocked.Increment(ref Count);
            Interlocked.Add(ref SumTicks, ticks);
            var seconds = (double)ticks / Stopwatch.Frequency;
            var i = 0;
            while (i < BucketArray.Length && seconds > BucketArray[i]) i++;
            Interlocked.Increment(ref BucketCounts[i]);
        }
    }

    /// <summary>The resource names of one schema cache snapshot: relation names and <c>rpc/</c> + function names.</summary>
    private sealed class ResourceNames
    {
        public ResourceNames(Catalog.SchemaCache cache)
        {
            Cache = cache;
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var key in cache.Tables.Keys) names.Add(key.Name);
            foreach (var key in cache.Routines.Keys) names.Add("rpc/" + key.Name);
            Lookup = names.ToFrozenSet(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        }

        public Catalog.SchemaCache Cache { get; }

        public FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> Lookup { get; }
    }
}
