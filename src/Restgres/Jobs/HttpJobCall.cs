using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Restgres.Jobs;

/// <summary>A job as a worker holds it after <c>restgres.job_claim</c>.</summary>
internal sealed record ClaimedJob(long Id, string Payload, int Attempt, int MaxAttempts);

/// <summary>
/// How an attempt ended, as <c>restgres.job_finish</c> takes it: <see cref="Result"/> is <c>completed</c>,
/// <c>retry</c> or <c>discard</c>; <see cref="BodyJson"/> the response as JSON (parsed when it is JSON, else a string
/// holding an excerpt).
/// </summary>
internal sealed record JobOutcome(string Result, int? Status, string? BodyJson, int LatencyMs, string? Error, int? RetryAfterMs = null);

/// <summary>
/// The http handler (docs/jobs.md): POSTs the payload (or its <c>body_key</c> member) to the queue's URL with the
/// queue's headers (<c>${env:NAME}</c> expanded), <c>Idempotency-Key: job id</c> and, with <c>secret_env</c>,
/// <c>X-Restgres-Signature: sha256=HEX</c> (HMAC-SHA256 of the body bytes), within <c>timeout_ms</c> for the whole
/// exchange. 2xx completes; 408, 429, 5xx, a timeout or a connection error retries (a <c>Retry-After</c> in seconds
/// delays the retry); any other status discards.
/// </summary>
internal static partial class HttpJobCall
{
    public const string SignatureHeader = "X-Restgres-Signature";

    /// <summary>Most of a response read: enough for a generation's result; beyond it only an excerpt is kept.</summary>
    private const int MaxResponseBytes = 1 << 20;

    /// <summary>The excerpt of a response that is not JSON (an HTML error page, a truncated body).</summary>
    private const int ExcerptChars = 2000;

    public static async Task<JobOutcome> RunAsync(HttpClient client, JobQueue queue, ClaimedJob job, Func<string, string?> env, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(env);
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        int Elapsed() => (int)System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;

        string body;
        if (queue.BodyKey is { } key)
        {
            using var payload = JsonDocument.Parse(job.Payload);
            if (payload.RootElement.ValueKind != JsonValueKind.Object || !payload.RootElement.TryGetProperty(key, out var member))
                return new JobOutcome("discard", null, null, 0, $"the payload has no member \"{key}\" (the queue's body_key)");
            body = member.GetRawText();
        }
        else
        {
            body = job.Payload;
        }
        var bytes = Encoding.UTF8.GetBytes(body);
        if (!Uri.TryCreate(queue.Target, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            return new JobOutcome("discard", null, null, 0, $"the queue's target \"{queue.Target}\" is not an http(s) URL");
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        foreach (var (name, template) in queue.Headers)
        {
            var value = ExpandEnv(template, env, out var missing);
            if (missing is not null)
                return new JobOutcome("retry", null, null, 0, $"header {name}: environment variable {missing} is not set in this worker");
            if (!request.Headers.TryAddWithoutValidation(name, value))
                request.Content.Headers.TryAddWithoutValidation(name, value);
        }
        if (queue.SecretEnv is { } secretEnv)
        {
            if (env(secretEnv) is not { Length: > 0 } secret)
                return new JobOutcome("retry", null, null, 0, $"secret_env: environment variable {secretEnv} is not set in this worker");
            request.Headers.TryAddWithoutValidation(SignatureHeader, Sign(Encoding.UTF8.GetBytes(secret), bytes));
        }
        request.Headers.TryAddWithoutValidation("Idempotency-Key", job.Id.ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("X-Restgres-Job", job.Id.ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("X-Restgres-Attempt", job.Attempt.ToString(CultureInfo.InvariantCulture));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(queue.TimeoutMs);
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            var responseBody = await ReadBodyAsync(response.Content, timeout.Token);
            var (result, retryAfter) = Classify(response);
            return new JobOutcome(result, status, responseBody, Elapsed(),
                result == "completed" ? null : $"HTTP {status} {response.ReasonPhrase}".TrimEnd(), retryAfter);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return new JobOutcome("retry", null, null, Elapsed(), $"timed out after {queue.TimeoutMs} ms");
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return new JobOutcome("retry", null, null, Elapsed(), "the worker stopped the attempt (the job was cancelled or its lease lost)");
        }
        catch (HttpRequestException e)
        {
            return new JobOutcome("retry", null, null, Elapsed(), "connection error: " + Describe(e));
        }
        catch (IOException e)
        {
            return new JobOutcome("retry", null, null, Elapsed(), "connection error: " + e.Message);
        }
    }

    /// <summary><c>sha256=</c> and the lower-case hex HMAC-SHA256 of <paramref name="body"/> under <paramref name="key"/>.</summary>
    public static string Sign(byte[] key, ReadOnlySpan<byte> body) => "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(key, body));

    /// <summary>The retry decision for a response: 2xx completes; 408, 429 and 5xx retry; the rest discards.</summary>
    public static (string Result, int? RetryAfterMs) Classify(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var status = (int)response.StatusCode;
        if (status is >= 200 and < 300) return ("completed", null);
        if (status is 408 or 429 or >= 500)
        {
            int? retryAfter = response.Headers.RetryAfter?.Delta is { } delta ? (int)Math.Min(delta.TotalMilliseconds, int.MaxValue) : null;
            return ("retry", retryAfter);
        }
        return ("discard", null);
    }

    /// <summary><paramref name="template"/> with each <c>${env:NAME}</c> replaced; <paramref name="missing"/> names an
    /// unset variable.</summary>
    public static string ExpandEnv(string template, Func<string, string?> env, out string? missing)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(env);
        string? unset = null;
        var value = EnvReference().Replace(template, m =>
        {
            var v = env(m.Groups[1].Value);
            if (v is null) unset ??= m.Groups[1].Value;
            return v ?? "";
        });
        missing = unset;
        return value;
    }

    /// <summary>The response as JSON text: itself when it parses, else a JSON string of its first characters.</summary>
    private static async Task<string?> ReadBodyAsync(HttpContent content, CancellationToken ct)
    {
        await using var stream = await content.ReadAsStreamAsync(ct);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(MaxResponseBytes);
        try
        {
            var length = 0;
            int read;
            while (length < MaxResponseBytes && (read = await stream.ReadAsync(buffer.AsMemory(length, MaxResponseBytes - length), ct)) > 0)
                length += read;
            if (length == 0) return null;
            if (length < MaxResponseBytes)
            {
                try
                {
                    using var doc = JsonDocument.Parse(buffer.AsMemory(0, length));
                    var json = doc.RootElement.GetRawText();
                    // jsonb refuses \u0000: such a body is kept as an excerpt.
                    if (!json.Contains("\\u0000", StringComparison.Ordinal)) return json;
                }
                catch (JsonException)
                {
                    // Not JSON: keep an excerpt below.
                }
            }
            var text = Encoding.UTF8.GetString(buffer, 0, Math.Min(length, ExcerptChars * 4)).Replace("\0", "", StringComparison.Ordinal);
            return JsonSerializer.Serialize(text.Length > ExcerptChars ? text[..ExcerptChars] : text);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string Describe(HttpRequestException e) =>
        e.InnerException is { } inner && inner.Message != e.Message ? $"{e.Message} ({inner.Message})" : e.Message;

    [GeneratedRegex(@"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}", RegexOptions.CultureInvariant)]
    private static partial Regex EnvReference();
}
