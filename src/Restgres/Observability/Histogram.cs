using System.Collections.Immutable;
using System.Text;

namespace Restgres.Observability;

/// <summary>A Prometheus histogram series, updated with <see cref="Interlocked"/>.</summary>
internal sealed class Histogram(ImmutableArray<double> buckets)
{
    private readonly long[] _counts = new long[buckets.Length + 1];
    private long _sumBits;
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public void Add(double value)
    {
        var i = 0;
        while (i < buckets.Length && value > buckets[i]) i++;
        Interlocked.Increment(ref _counts[i]);
        Interlocked.Increment(ref _count);
        long seen, next;
        do
        {
            seen = Interlocked.Read(ref _sumBits);
            next = BitConverter.DoubleToInt64Bits(BitConverter.Int64BitsToDouble(seen) + value);
        }
        while (Interlocked.CompareExchange(ref _sumBits, next, seen) != seen);
    }

    /// <summary>The family's header and this series, unlabelled.</summary>
    public void WriteTo(StringBuilder sb, string name, string help)
    {
        PrometheusText.Header(sb, name, "histogram", help);
        WriteSamples(sb, name, null);
    }

    /// <summary>This series' samples (the family's header written by the caller), with one label when given.</summary>
    public void WriteSamples(StringBuilder sb, string name, (string Name, string Value)? label)
    {
        long cumulative = 0;
        for (var i = 0; i <= buckets.Length; i++)
        {
            cumulative += Interlocked.Read(ref _counts[i]);
            var le = ("le", i < buckets.Length ? PrometheusText.FormatValue(buckets[i]) : "+Inf");
            if (label is { } l) PrometheusText.Sample(sb, name + "_bucket", cumulative, l, le);
            else PrometheusText.Sample(sb, name + "_bucket", cumulative, le);
        }
        var sum = BitConverter.Int64BitsToDouble(Interlocked.Read(ref _sumBits));
        if (label is { } k)
        {
            PrometheusText.Sample(sb, name + "_sum", sum, k);
            PrometheusText.Sample(sb, name + "_count", cumulative, k);
        }
        else
        {
            PrometheusText.Sample(sb, name + "_sum", sum);
            PrometheusText.Sample(sb, name + "_count", cumulative);
        }
    }
}
