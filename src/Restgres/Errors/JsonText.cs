using System.Globalization;
using System.Text;

namespace Restgres.Errors;

/// <summary>
/// Minimal JSON text writer matching aeson's output byte for byte (no spaces, non-ASCII kept as UTF-8, only
/// <c>"</c>, <c>\</c> and control characters escaped), because PostgREST clients and its test-suite compare
/// error bodies and their Content-Length exactly. System.Text.Json escapes more (e.g. <c>&lt;</c>, emoji).
/// </summary>
internal static class JsonText
{
    public static void WriteString(StringBuilder sb, string value)
    {
        sb.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < 0x20)
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else
                        sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }

    public static string Quote(string value)
    {
        var sb = new StringBuilder(value.Length + 2);
        WriteString(sb, value);
        return sb.ToString();
    }

    /// <summary>Serialises a flat object of string-valued keys (PostgREST's request.headers / request.cookies GUCs).</summary>
    public static string Object(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var sb = new StringBuilder();
        sb.Append('{');
        var first = true;
        foreach (var (k, v) in pairs)
        {
            if (!first) sb.Append(',');
            first = false;
            WriteString(sb, k);
            sb.Append(':');
            WriteString(sb, v);
        }
        sb.Append('}');
        return sb.ToString();
    }

    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

}
