using System.Globalization;
using System.Text;

namespace Restgres.Observability;

/// <summary>
/// The Prometheus text exposition format, version 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/),
/// written by hand: PostgREST serves its <c>/metrics</c> in this format (docs: references/observability.rst), and the
/// format is small enough that a client library would only add a dependency.
/// </summary>
internal static class PrometheusText
{
    /// <summary>PostgREST's (Admin.hs: MTTextPlain), which Prometheus reads as this format (text/plain without a
    /// version is 0.0.4); scripts written for PostgREST compare it exactly.</summary>
    public const string ContentType = "text/plain; charset=utf-8";

    /// <summary>Writes the <c># HELP</c> and <c># TYPE</c> lines of a metric family.</summary>
    public static void Header(StringBuilder sb, string name, string type, string help)
    {
        ArgumentNullException.ThrowIfNull(sb);
        sb.Append("# HELP ").Append(name).Append(' ');
        // In HELP text only backslash and newline are escaped.
        foreach (var c in help)
        {
            if (c == '\\') sb.Append(@"\\");
            else if (c == '\n') sb.Append(@"\n");
            else sb.Append(c);
        }
        sb.Append('\n').Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    /// <summary>Writes one sample line; <paramref name="labels"/> are name/value pairs, values escaped here.</summary>
    public static void Sample(StringBuilder sb, string name, double value, params ReadOnlySpan<(string Name, string Value)> labels)
    {
        ArgumentNullException.ThrowIfNull(sb);
        sb.Append(name);
        if (labels.Length > 0)
        {
            sb.Append('{');
            for (var i = 0; i < labels.Length; i++)
            {
                if (i > 0) sb.Append(',');
                sb.Append(labels[i].Name).Append("=\"");
                AppendLabelValue(sb, labels[i].Value);
                sb.Append('"');
            }
            sb.Append('}');
        }
        sb.Append(' ').Append(FormatValue(value)).Append('\n');
    }

    /// <summary>A family with one unlabelled sample.</summary>
    public static void Single(StringBuilder sb, string name, string type, string help, double value)
    {
        Header(sb, name, type, help);
        Sample(sb, name, value);
    }

    /// <summary>Float text as Prometheus parses it: shortest round-trip form, +Inf, -Inf, NaN; a whole number with
    /// ".0" as PostgREST's Haskell client writes it (<c>pgrst_schema_cache_loads_total{status="SUCCESS"} 1.0</c>,
    /// which scripts and PostgREST's io tests match as text).</summary>
    public static string FormatValue(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN"
        : Math.Abs(value) < 1e15 && value == Math.Floor(value) ? value.ToString("0.0", CultureInfo.InvariantCulture)
        : value.ToString("R", CultureInfo.InvariantCulture);

    private static void AppendLabelValue(StringBuilder sb, string value)
    {
        // Label values escape backslash, double quote and newline.
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\': sb.Append(@"\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append(@"\n"); break;
                default: sb.Append(c); break;
            }
        }
    }
}
