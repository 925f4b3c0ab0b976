using System.Globalization;
using System.Text.Json;
using Npgsql;

namespace Restgres.Errors;

/// <summary>
/// Turns a PostgreSQL error into PostgREST's response: the SQLSTATE → HTTP status table of docs
/// references/errors.rst ("HTTP Status Codes"), PostgreSQL's message/detail/hint kept verbatim, and the two ways a
/// function author controls the response: <c>RAISE ... USING ERRCODE = 'PTnnn'</c> (status nnn) and
/// <c>RAISE SQLSTATE 'PGRST'</c> with JSON message and detail (code, message, details, hint, status, headers).
/// </summary>
internal static class PgErrorMapper
{
    /// <param name="authenticated">Whether the request ran as a role other than the anonymous one (42501 → 403, else 401).</param>
    public static ApiError Map(PostgresException e, bool authenticated)
    {
        var code = e.SqlState;
        if (code == "PGRST")
            return MapRaisePgrst(e);

        var status = StatusFor(code, e.MessageText, authenticated);
        var headers = status == 401 ? new[] { new KeyValuePair<string, string>("WWW-Authenticate", "Bearer") } : null;
        return new ApiError(status, code, e.MessageText, ApiError.Str(e.Detail), ApiError.Str(e.Hint), headers)
        {
            // The server shutting down or restarting (admin_shutdown, crash_shutdown, cannot_connect_now) or a
            // connection exception: the pool's connections are likely all gone.
            ConnectionLost = code is "57P01" or "57P02" or "57P03" || code.StartsWith("08", StringComparison.Ordinal),
            FromDatabase = true,
        };
    }

    public static int StatusFor(string code, string message, bool authenticated)
    {
        if (code.StartsWith("PT", StringComparison.Ordinal))
        {
            return int.TryParse(code.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s is >= 100 and <= 999
                ? s : 500;
        }
        return code switch
        {
            "23503" or "23505" => 409,
            "25006" => 405,
            "21000" => message.EndsWith("requires a WHERE clause", StringComparison.Ordinal) ? 400 : 500,
            "22023" => message.StartsWith("role", StringComparison.Ordinal) && message.EndsWith("does not exist", StringComparison.Ordinal) ? 401 : 400,
            "53400" => 500,
            "57P01" => 503,
            "P0001" => 400,
            "42883" => message.StartsWith("function xmlagg(", StringComparison.Ordinal) ? 406 : 404,
            "42P01" => 404,
            "42P17" => 500,
            "42501" => authenticated ? 403 : 401,
            _ => code[..2] switch
            {
                "08" => 503,
                "09" => 500,
                "0L" or "0P" => 403,
                "25" => 500,
                "28" => 403,
                "2D" or "38" or "39" or "3B" or "40" => 500,
                "53" => 503,
                "54" or "55" or "57" or "58" or "F0" or "HV" or "XX" => 500,
                "P0" => 500,
                _ => 400,
            },
        };
    }

    private static ApiError MapRaisePgrst(PostgresException e)
    {
        if (ParseObject(e.MessageText) is not { } msg || !TryString(msg, "code", out var code) || !TryString(msg, "message", out var message))
            return Pgrst.RaiseParse($"Invalid JSON value for MESSAGE: '{e.MessageText}'", MessageHint);
        if (e.Detail is null)
            return Pgrst.RaiseParse("DETAIL is missing in the RAISE statement", DetailHint);

        if (ParseObject(e.Detail) is not { } det
            || !det.TryGetProperty("status", out var statusEl) || statusEl.ValueKind != JsonValueKind.Number
            || !statusEl.TryGetInt32(out var status)
            || !det.TryGetProperty("headers", out var headersEl) || headersEl.ValueKind != JsonValueKind.Object)
            return Pgrst.RaiseParse($"Invalid JSON value for DETAIL: '{e.Detail}'", DetailHint);

        var headers = new List<KeyValuePair<string, string>>();
        foreach (var h in headersEl.EnumerateObject())
        {
            if (h.Value.ValueKind != JsonValueKind.String)
                return Pgrst.RaiseParse($"Invalid JSON value for DETAIL: '{e.Detail}'", DetailHint);
            headers.Add(new(h.Name, h.Value.GetString()!));
        }
        string? details = msg.TryGetProperty("details", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
        string? hint = msg.TryGetProperty("hint", out var hn) && hn.ValueKind == JsonValueKind.String ? hn.GetString() : null;
        return new ApiError(status, code, message, ApiError.Str(details), ApiError.Str(hint), headers) { FromDatabase = true };
    }

    /// <summary>The JSON object <paramref name="text"/> holds, or null when it is not JSON or not an object.</summary>
    private static JsonElement? ParseObject(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool TryString(JsonElement obj, string name, out string value)
    {
        if (obj.TryGetProperty(name, out var el) && el.ValueKind == JsonValueKind.String)
        {
            value = el.GetString()!;
            return true;
        }
        value = "";
        return false;
    }

    private const string MessageHint =
        "MESSAGE must be a JSON object with obligatory keys: 'code', 'message' and optional keys: 'details', 'hint'.";
    private const string DetailHint =
        "DETAIL must be a JSON object with obligatory keys: 'status', 'headers' and optional key: 'status_text'.";
}
