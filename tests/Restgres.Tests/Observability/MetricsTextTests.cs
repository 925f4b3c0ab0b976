using System.Collections.Frozen;
using System.Diagnostics;
using System.Text;
using Restgres.Catalog;
using Restgres.Observability;
using Xunit;

namespace Restgres.Tests.Observability;

/// <summary>The Prometheus text writer and the HTTP request metrics, without a server.</summary>
public sealed class MetricsTextTests
{
    private static SchemaCache Cache(string[] tables, string[] routines) => new()
    {
        Tables = tables.ToFrozenDictionary(t => new QualifiedIdentifier("api", t), t => new Table
        {
            Schema = "api", Name = t, PrimaryKey = [], Columns = [], ColumnsByName = FrozenDictionary<string, Column>.Empty,
        }),
        Relationships = FrozenDictionary<QualifiedIdentifier, IReadOnlyList<Relationship>>.Empty,
        Routines = routines.ToFrozenDictionary(r => new QualifiedIdentifier("api", r), _ => (IReadOnlyList<Routine>)[]),
        Representations = FrozenDictionary<(string, string), DataRepresentation>.Empty,
    };

    [Fact]
    public void Samples_escape_label_values_and_format_numbers_as_Prometheus_parses_them()
    {
        var sb = new StringBuilder();
        PrometheusText.Header(sb, "m", "counter", "help with \\ and\nnewline");
        PrometheusText.Sample(sb, "m", 1.5, ("a", "x\"y\\z\nw"), ("b", ""));
        PrometheusText.Sample(sb, "m", double.PositiveInfinity);
        PrometheusText.Sample(sb, "m", 1e-7);
        Assert.Equal(
            "# HELP m help with \\\\ and\\nnewline\n# TYPE m counter\n" +
            "m{a=\"x\\\"y\\\\z\\nw\",b=\"\"} 1.5\n" +
            "m +Inf\n" +
            "m 1E-07\n",
            sb.ToString());
    }

    [Theory]
    [InlineData("/items", "items")]
    [InlineData("/items/", "items")]
    [InlineData("/items/extra", "items")]
    [InlineData("/rpc/f", "rpc/f")]
    [InlineData("/rpc/f/x", "rpc/f")]
    [InlineData("/rpc/g", "(other)")]
    [InlineData("/rpc", "(other)")]
    [InlineData("/", "/")]
    [InlineData("", "/")]
    [InlineData("/unknown", "(other)")]
    [InlineData("/rest/v1/items", "items")]
    [InlineData("/rest/v1", "/")]
    [InlineData("/rest/v1/rpc/f", "rpc/f")]
    [InlineData("/rest/v10/items", "(other)")]
    public void The_resource_label_is_a_known_name_or_other(string path, string resource)
    {
        var http = new HttpMetrics();
        Assert.Equal(resource, http.Resource(Cache(["items"], ["f"]), path, ["/rest/v1"]));
    }

    [Fact]
    public void Without_a_schema_cache_every_resource_but_the_root_is_other()
    {
        var http = new HttpMetrics();
        Assert.Equal("(other)", http.Resource(null, "/items", []));
        Assert.Equal("/", http.Resource(null, "/", []));
    }

    [Fact]
    public void A_new_schema_cache_snapshot_brings_its_names()
    {
        var http = new HttpMetrics();
        Assert.Equal("(other)", http.Resource(Cache(["a"], []), "/b", []));
        Assert.Equal("b", http.Resource(Cache(["b"], []), "/b", []));
    }

    [Fact]
    public void Requests_are_counted_per_series_with_cumulative_buckets()
    {
        var http = new HttpMetrics();
        void Observe(string method, int status, double seconds)
        {
            http.Started();
            http.Observe(method, status, "items", (long)(seconds * Stopwatch.Frequency));
        }
        Observe("GET", 200, 0.003);
        Observe("GET", 200, 0.02);
        Observe("GET", 200, 20);
        Observe("BREW", 418, 0.001);
        var sb = new StringBuilder();
        http.WriteTo(sb);
        var text = sb.ToString();

        Assert.Contains("restgres_http_requests_total{method=\"GET\",status=\"200\",resource=\"items\"} 3.0\n", text);
        // Methods outside the standard set share one label value.
        Assert.Contains("restgres_http_requests_total{method=\"OTHER\",status=\"418\",resource=\"items\"} 1.0\n", text);
        Assert.Contains("restgres_http_request_duration_seconds_bucket{method=\"GET\",status=\"200\",resource=\"items\",le=\"0.005\"} 1.0\n", text);
        Assert.Contains("restgres_http_request_duration_seconds_bucket{method=\"GET\",status=\"200\",resource=\"items\",le=\"0.025\"} 2.0\n", text);
        Assert.Contains("restgres_http_request_duration_seconds_bucket{method=\"GET\",status=\"200\",resource=\"items\",le=\"10.0\"} 2.0\n", text);
        Assert.Contains("restgres_http_request_duration_seconds_bucket{method=\"GET\",status=\"200\",resource=\"items\",le=\"+Inf\"} 3.0\n", text);
        Assert.Contains("restgres_http_request_duration_seconds_count{method=\"GET\",status=\"200\",resource=\"items\"} 3.0\n", text);
        Assert.Contains("restgres_http_requests_in_flight 0.0\n", text);
        var sum = text.Split('\n').Single(l => l.StartsWith("restgres_http_request_duration_seconds_sum{method=\"GET\"", StringComparison.Ordinal));
        Assert.Equal(20.023, double.Parse(sum[(sum.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture), 3);
    }

    [Fact]
    public void Recording_is_safe_from_many_threads()
    {
        var http = new HttpMetrics();
        Parallel.For(0, 100_000, i =>
        {
            http.Started();
            http.Observe(i % 2 == 0 ? "GET" : "POST", 200, "items", 1);
        });
        var sb = new StringBuilder();
        http.WriteTo(sb);
        Assert.Contains("restgres_http_requests_total{method=\"GET\",status=\"200\",resource=\"items\"} 50000.0\n", sb.ToString());
        Assert.Contains("restgres_http_requests_total{method=\"POST\",status=\"200\",resource=\"items\"} 50000.0\n", sb.ToString());
        Assert.Equal(0, http.InFlight);
    }
}
