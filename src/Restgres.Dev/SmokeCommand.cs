using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Restgres.Dev;

/// <summary>One endpoint to call: a GET, or a POST when it has a body.</summary>
internal sealed record SmokeCheck(string Name, string Method, string Path, string? Body, int Status = 200);

/// <summary>What <c>restgres smoke</c> runs: the checks, where and with which key.</summary>
internal sealed record SmokePlan(string Url, string? ApiKey, IReadOnlyList<SmokeCheck> Checks, string LogJob, bool Log, TimeSpan Timeout);

/// <summary>The outcome of one check.</summary>
internal sealed record SmokeResult(SmokeCheck Check, int? Status, double Milliseconds, bool Ok, string Detail);

/// <summary>
/// <c>restgres smoke</c>: calls a list of API endpoints (by default the A/B dashboard's calls) and fails with a
/// readable report when one answers anything but the expected status or an empty result: the health check a team
/// runs from CI or a scheduler after each deploy. With <c>--log</c> each run is recorded through the app's
/// <c>log_analytics_run</c> function, so the database keeps the history next to the refresh jobs'.
/// </summary>
public static class SmokeCommand
{
    public const string DefaultUrl = "http://127.0.0.1:3000/rest/v1";

    public const string Usage = """
        Usage: restgres smoke [--config FILE] [--url URL] [--apikey KEY] [--log] [--timeout SECONDS]

        Calls a list of API endpoints and exits non-zero, with a report, when any answers another status than
        expected (200) or an empty result ([], {}, null or nothing). Default list: the A/B dashboard's calls
        (examples/ab-dashboard/smoke.json holds the same list as a file to copy).
          --config FILE    a JSON file: {"url": "...", "apikey": "...", "log_job": "smoke",
                           "checks": [{"name": "...", "path": "/rpc/fn", "body": {...}, "status": 200}, ...]}
                           (a check with a body is a POST, without one a GET; "method" overrides)
          --url URL        the API's base URL (default: the file's, else $RESTGRES_URL, else http://127.0.0.1:3000/rest/v1)
          --apikey KEY     sent as the apikey header and as Authorization: Bearer KEY, Supabase style (default: the
                           file's, else $RESTGRES_APIKEY; without a key the calls are anonymous)
          --log            record the run with POST URL/rpc/log_analytics_run (job name: the file's log_job or "smoke")
          --timeout S      seconds each call may take (default 10)
        Exit status: 0 every check passed, 1 a check failed (or the run could not be recorded), 2 bad arguments.
        """;

    /// <summary>The dashboard's calls, as the issue lists them and examples/ab-dashboard/smoke.json repeats them.</summary>
    internal static readonly IReadOnlyList<SmokeCheck> DashboardChecks =
    [
        new("variant_overview", "POST", "/rpc/variant_overview", "{}"),
        new("conversion_funnel", "GET", "/v_conversion_funnel?select=*", null),
        new("recent_completions", "POST", "/rpc/recent_completions", """{"limit_count":50}"""),
        new("time_distribution", "POST", "/rpc/completion_time_distribution", "{}"),
        new("leaderboard_A", "POST", "/rpc/leaderboard", """{"variant":"A","limit_count":10}"""),
        new("leaderboard_B", "POST", "/rpc/leaderboard", """{"variant":"B","limit_count":10}"""),
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        SmokePlan? plan;
        try
        {
            plan = ParseArgs(args, Environment.GetEnvironmentVariable);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"restgres smoke: {e.Message}. See 'restgres smoke --help'.");
            return 2;
        }
        if (plan is null)
        {
            Console.WriteLine(Usage);
            return 0;
        }
        using var http = new HttpClient { Timeout = plan.Timeout };
        return await RunAsync(plan, http, Console.Out);
    }

    internal static async Task<int> RunAsync(SmokePlan plan, HttpClient http, TextWriter output)
    {
        var started = Stopwatch.GetTimestamp();
        await output.WriteLineAsync($"restgres smoke: {plan.Checks.Count} checks against {plan.Url}");
        var results = new List<SmokeResult>();
        foreach (var check in plan.Checks)
        {
            var result = await CallAsync(http, plan, check);
            results.Add(result);
            await output.WriteLineAsync(FormatLine(result));
        }
        var failed = results.Where(r => !r.Ok).ToList();
        var totalMs = (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var summary = failed.Count == 0
            ? $"{results.Count} of {results.Count} checks passed"
            : $"{failed.Count} of {results.Count} checks failed: " +
              string.Join("; ", failed.Select(r => $"{r.Check.Name} ({(r.Status?.ToString(CultureInfo.InvariantCulture) ?? "no answer")}: {r.Detail})"));
        await output.WriteLineAsync($"{(failed.Count == 0 ? "OK" : "FAILED")}: {summary} in {totalMs} ms");

        var exit = failed.Count == 0 ? 0 : 1;
        if (plan.Log)
        {
            var logged = await LogRunAsync(http, plan, failed.Count == 0 ? "ok" : "failed", totalMs, summary);
            await output.WriteLineAsync(logged.Ok
                ? $"recorded as {plan.LogJob} in analytics_run_log (id {logged.Detail})"
                : $"could not record the run with log_analytics_run: {logged.Detail}");
            if (!logged.Ok)
                exit = 1;
        }
        return exit;
    }

    private static async Task<SmokeResult> CallAsync(HttpClient http, SmokePlan plan, SmokeCheck check)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var request = Request(plan, check.Method, check.Path, check.Body);
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var status = (int)response.StatusCode;
            if (status != check.Status)
                return new(check, status, ms, false, $"expected {check.Status}: {Shorten(body)}");
            return IsEmpty(body)
                ? new(check, status, ms, false, $"empty result ({Shorten(body)})")
                : new(check, status, ms, true, Describe(body));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            var reason = e is TaskCanceledException ? $"no answer within {plan.Timeout.TotalSeconds} s" : e.Message;
            return new(check, null, Stopwatch.GetElapsedTime(started).TotalMilliseconds, false, reason);
        }
    }

    private static async Task<SmokeResult> LogRunAsync(HttpClient http, SmokePlan plan, string status, int ms, string message)
    {
        var check = new SmokeCheck("log_analytics_run", "POST", "/rpc/log_analytics_run", null);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("job_name", plan.LogJob);
            json.WriteString("status", status);
            json.WriteNumber("duration_ms", ms);
            json.WriteString("message", message);
            json.WriteEndObject();
        }
        var body = Encoding.UTF8.GetString(buffer.WrittenSpan);
        try
        {
            using var request = Request(plan, "POST", check.Path, body);
            using var response = await http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            return response.IsSuccessStatusCode
                ? new(check, (int)response.StatusCode, 0, true, text.Trim())
                : new(check, (int)response.StatusCode, 0, false, $"{(int)response.StatusCode} {Shorten(text)}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return new(check, null, 0, false, e.Message);
        }
    }

    private static HttpRequestMessage Request(SmokePlan plan, string method, string path, string? body)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), plan.Url.TrimEnd('/') + path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (plan.ApiKey is { Length: > 0 } key)
        {
            // Supabase's gateway wants both; PostgREST (and Restgres) reads the Bearer token and ignores apikey.
            request.Headers.TryAddWithoutValidation("apikey", key);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        if (body is not null)
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        return request;
    }

    internal static bool IsEmpty(string body) => body.Trim() is "" or "[]" or "{}" or "null";

    /// <summary>"2 rows" for an array, "1 object" for an object, else the start of the body.</summary>
    internal static string Describe(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind switch
            {
                JsonValueKind.Array => doc.RootElement.GetArrayLength() == 1 ? "1 row" : $"{doc.RootElement.GetArrayLength()} rows",
                JsonValueKind.Object => "1 object",
                _ => Shorten(body),
            };
        }
        catch (JsonException)
        {
            return Shorten(body);
        }
    }

    private static string Shorten(string body)
    {
        var flat = body.ReplaceLineEndings(" ").Trim();
        return flat.Length <= 160 ? flat : flat[..157] + "...";
    }

    private static string FormatLine(SmokeResult r) =>
        string.Create(CultureInfo.InvariantCulture,
            $"  {(r.Ok ? "ok  " : "FAIL"),-4}  {r.Check.Name,-20} {r.Check.Method,-4} {r.Check.Path,-34} {(r.Status?.ToString(CultureInfo.InvariantCulture) ?? "---"),3} {r.Milliseconds,7:0.0} ms  {r.Detail}");

    /// <summary>Null means help was asked for.</summary>
    /// <exception cref="ArgumentException">An unknown option, a bad value or an unreadable config file.</exception>
    internal static SmokePlan? ParseArgs(IReadOnlyList<string> args, Func<string, string?> env)
    {
        string? configPath = null, url = null, apiKey = null;
        var log = false;
        var timeout = TimeSpan.FromSeconds(10);
        var reader = new ArgReader(args);
        while (reader.Next())
        {
            if (reader.IsHelp)
                return null;
            switch (reader.Name)
            {
                case "--config":
                    configPath = reader.Value();
                    break;
                case "--url":
                    url = reader.Value();
                    break;
                case "--apikey":
                    apiKey = reader.Value();
                    break;
                case "--log":
                    log = true;
                    break;
                case "--timeout":
                    var text = reader.Value();
                    timeout = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s is > 0 and <= 3600
                        ? TimeSpan.FromSeconds(s)
                        : throw new ArgumentException($"--timeout must be a number of seconds (0-3600], not '{text}'");
                    break;
                default:
                    throw reader.Unexpected();
            }
        }

        var file = configPath is null ? null : ReadConfig(configPath);
        url ??= file?.Url ?? NonEmpty(env("RESTGRES_URL")) ?? DefaultUrl;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            throw new ArgumentException($"--url must be an http(s) URL, not '{url}'");
        apiKey ??= file?.ApiKey ?? NonEmpty(env("RESTGRES_APIKEY"));
        return new SmokePlan(url, apiKey, file?.Checks ?? DashboardChecks, file?.LogJob ?? "smoke", log, timeout);
    }

    private static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private sealed record ConfigFile(string? Url, string? ApiKey, string? LogJob, IReadOnlyList<SmokeCheck>? Checks);

    private static ConfigFile ReadConfig(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"cannot read {path}: {e.Message}");
        }
        try
        {
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new ArgumentException($"{path}: expected a JSON object");
            List<SmokeCheck>? checks = null;
            if (root.TryGetProperty("checks", out var list))
            {
                if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
                    throw new ArgumentException($"{path}: \"checks\" must be a non-empty array");
                checks = [];
                foreach (var c in list.EnumerateArray())
                {
                    var checkPath = String(c, "path") ?? throw new ArgumentException($"{path}: every check needs a \"path\"");
                    if (!checkPath.StartsWith('/'))
                        throw new ArgumentException($"{path}: check path '{checkPath}' must start with '/'");
                    var body = c.TryGetProperty("body", out var b) && b.ValueKind != JsonValueKind.Null ? b.GetRawText() : null;
                    var method = (String(c, "method") ?? (body is null ? "GET" : "POST")).ToUpperInvariant();
                    var status = c.TryGetProperty("status", out var st) && st.TryGetInt32(out var code) ? code : 200;
                    checks.Add(new SmokeCheck(String(c, "name") ?? checkPath, method, checkPath, body, status));
                }
            }
            return new ConfigFile(String(root, "url"), String(root, "apikey"), String(root, "log_job"), checks);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{path} is not valid JSON: {e.Message}");
        }
    }

    private static string? String(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
