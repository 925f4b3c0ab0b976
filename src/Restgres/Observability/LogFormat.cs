using System.Globalization;
using System.Text;

namespace Restgres.Observability;

/// <summary>What the access log records about one request.</summary>
/// <param name="Target">The raw request target: path and query string as the client sent them.</param>
/// <param name="Role">The database role the request ran as; null when authentication failed or never ran.</param>
/// <param name="Bytes">The response body size, when known (Content-Length).</param>
/// <param name="Sql">The main SQL statement, with <c>log-query</c>.</param>
/// <param name="TraceId">The W3C trace id of the request (its span's, or the client's traceparent), for JSON lines.</param>
internal sealed record AccessEntry(
    DateTimeOffset Time,
    string Remote,
    string? Role,
    string Method,
    string Target,
    string Protocol,
    int Status,
    long? Bytes,
    string? Referer,
    string? UserAgent,
    string RequestId,
    double DurationMs,
    string? Sql = null,
    string? TraceId = null);

/// <summary>
/// Log line formats: PostgREST's (Logger.hs and Logger/Apache.hs) and the JSON lines of <c>log-format = json</c>
/// (beyond PostgREST: one object per line, so that log pipelines need no parsing rules).
/// </summary>
internal static class LogFormat
{
    [ThreadStatic]
    private static (long Second, TimeSpan Offset, string Text) s_lastTime;

    /// <summary>PostgREST's time format, <c>%d/%b/%Y:%T %z</c>: <c>26/Jul/2021:01:56:38 -0500</c>.</summary>
    public static string Time(DateTimeOffset t)
    {
        var second = t.ToUnixTimeSeconds();
        var cached = s_lastTime;
        if (cached.Text is not null && cached.Second == second && cached.Offset == t.Offset) return cached.Text;
        var offset = t.Offset;
        var sign = offset < TimeSpan.Zero ? '-' : '+';
        offset = offset.Duration();
        var text = string.Create(CultureInfo.InvariantCulture,
            $"{t:dd'/'MMM'/'yyyy':'HH':'mm':'ss} {sign}{offset.Hours:00}{offset.Minutes:00}");
        s_lastTime = (second, t.Offset, text);
        return text;
    }

    /// <summary>PostgREST's logWithZTime: <c>time: message</c>, newlines of the message kept on one line.</summary>
    public static string TextDiagnostic(DateTimeOffset t, string message) => Time(t) + ": " + message;

    /// <summary><c>{"time":...,"level":...,"message":...}</c></summary>
    public static string JsonDiagnostic(DateTimeOffset t, string level, string message)
    {
        var sb = new StringBuilder(64 + message.Length);
        sb.Append("{\"time\":");
        JsonString(sb, IsoTime(t));
        sb.Append(",\"level\":");
        JsonString(sb, level);
        sb.Append(",\"message\":");
        JsonString(sb, message);
        sb.Append('}');
        return sb.ToString();
    }

    /// <summary>
    /// PostgREST's access line (Logger/Apache.hs, vendored from wai-logger):
    /// <c>127.0.0.1 - web_anon [26/Jul/2021:01:56:38 -0500] "GET /clients HTTP/1.1" 200 56 "" "curl/7.64.0"</c>.
    /// </summary>
    public static string Apache(AccessEntry e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var sb = new StringBuilder(128 + e.Target.Length);
        sb.Append(e.Remote).Append(" - ").Append(e.Role ?? "-").Append(" [").Append(Time(e.Time)).Append("] \"")
            .Append(e.Method).Append(' ').Append(e.Target).Append(' ').Append(e.Protocol).Append("\" ")
            .Append(e.Status.ToString(CultureInfo.InvariantCulture)).Append(' ')
            .Append(e.Bytes is { } b ? b.ToString(CultureInfo.InvariantCulture) : "-")
            .Append(" \"").Append(e.Referer ?? "").Append("\" \"").Append(e.UserAgent ?? "").Append('"');
        return sb.ToString();
    }

    /// <summary>
    /// One JSON object per request: <c>time</c>, <c>level</c> (info, warn for 4xx, error for 5xx), <c>request_id</c>,
    /// <c>remote</c>, <c>role</c> (null when unauthenticated), <c>method</c>, <c>path</c>, <c>query</c> (without '?'),
    /// <c>protocol</c>, <c>status</c>, <c>bytes</c> (null when unknown), <c>duration_ms</c>, <c>user_agent</c>,
    /// <c>referer</c>, <c>sql</c> with <c>log-query</c>, and <c>trace_id</c> when the request is traced or the client
    /// sent a <c>traceparent</c>.
    /// </summary>
    public static string Json(AccessEntry e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var q = e.Target.IndexOf('?', StringComparison.Ordinal);
        var path = q < 0 ? e.Target : e.Target[..q];
        var query = q < 0 ? "" : e.Target[(q + 1)..];
        var sb = new StringBuilder(256 + e.Target.Length + (e.Sql?.Length ?? 0));
        sb.Append("{\"time\":");
        JsonString(sb, IsoTime(e.Time));
        sb.Append(",\"level\":");
        JsonString(sb, e.Status >= 500 ? "error" : e.Status >= 400 ? "warn" : "info");
        sb.Append(",\"request_id\":");
        JsonString(sb, e.RequestId);
        sb.Append(",\"remote\":");
        JsonString(sb, e.Remote);
        sb.Append(",\"role\":");
        JsonString(sb, e.Role);
        sb.Append(",\"method\":");
        JsonString(sb, e.Method);
        sb.Append(",\"path\":");
        JsonString(sb, path);
        sb.Append(",\"query\":");
        JsonString(sb, query);
        sb.Append(",\"protocol\":");
        JsonString(sb, e.Protocol);
        sb.Append(",\"status\":").Append(e.Status.ToString(CultureInfo.InvariantCulture));
        sb.Append(",\"bytes\":").Append(e.Bytes is { } b ? b.ToString(CultureInfo.InvariantCulture) : "null");
        sb.Append(",\"duration_ms\":").Append(Math.Round(e.DurationMs, 3).ToString("0.###", CultureInfo.InvariantCulture));
        sb.Append(",\"user_agent\":");
        JsonString(sb, e.UserAgent);
        sb.Append(",\"referer\":");
        JsonString(sb, e.Referer);
        if (e.Sql is not null)
        {
            sb.Append(",\"sql\":");
            JsonString(sb, e.Sql);
        }
        if (e.TraceId is not null)
        {
            sb.Append(",\"trace_id\":");
            JsonString(sb, e.TraceId);
        }
        sb.Append('}');
        return sb.ToString();
    }

    /// <summary>
    /// Client text for a log line with its control characters escaped (<c>\x0A</c>): a decoded <c>%0A</c> in a path
    /// must not start a forged log line.
    /// </summary>
    public static string Printable(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.AsSpan().ContainsAnyInRange('\0', '\x1f') && !text.Contains('\x7f', StringComparison.Ordinal)) return text;
        var sb = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if (c < 0x20 || c == 0x7f) sb.Append("\\x").Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>PostgREST's showOnSingleLine for SQL: line breaks become spaces, so one statement is one log line.</summary>
    public static string SingleLine(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.AsSpan().IndexOfAny('\n', '\r') < 0) return text;
        return string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries));
    }

    private static string IsoTime(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>A JSON string literal (or <c>null</c>), escaping quotes, backslashes and control characters.</summary>
    internal static void JsonString(StringBuilder sb, string? s)
    {
        if (s is null)
        {
            sb.Append("null");
            return;
        }
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append(@"\\"); break;
                case '\n': sb.Append(@"\n"); break;
                case '\r': sb.Append(@"\r"); break;
                case '\t': sb.Append(@"\t"); break;
                case < ' ':
                    sb.Append(@"\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default: sb.Append(c); break;
            }
        }
        sb.Append('"');
    }
}
