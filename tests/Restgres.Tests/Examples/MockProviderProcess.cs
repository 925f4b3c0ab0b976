using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Serialization;
using Restgres.Tests.Http;

namespace Restgres.Tests.Examples;

/// <summary>One request the mock provider saw: its Idempotency-Key (the job's id) and what it answered.</summary>
public sealed record MockRequest(
    [property: JsonPropertyName("idempotency_key")] string? IdempotencyKey,
    [property: JsonPropertyName("outcome")] string Outcome,
    [property: JsonPropertyName("seq")] int Seq);

/// <summary>
/// The AI generations example's mock provider (examples/ai-generations/mock-provider/mock_provider.py) as a child
/// process on a free loopback port; stopped on dispose.
/// </summary>
public sealed class MockProviderProcess : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly System.Diagnostics.Process _process;

    private MockProviderProcess(System.Diagnostics.Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    /// <summary>Starts the mock with the given latency and random failure rate (the modes that are retried: 500, 429, an
    /// HTML 502 page, a closed socket); a fixed seed so a run's dice are the same every time.</summary>
    public static async Task<MockProviderProcess> StartAsync(int latencyMs, double failureRate, int seed = 15)
    {
        var script = Path.Combine(RepoPaths.Root, "examples", "ai-generations", "mock-provider", "mock_provider.py");
        var psi = new ProcessStartInfo("python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { script, "--port", "0", "--latency-ms", latencyMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--jitter-ms", "0", "--failure-rate", failureRate.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--quiet" })
            psi.ArgumentList.Add(a);
        var process = System.Diagnostics.Process.Start(psi) ?? throw new InvalidOperationException("could not start python3");
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        // "mock-provider: listening on http://127.0.0.1:PORT (...)"
        var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30))
            ?? throw new InvalidOperationException("the mock provider exited at once");
        var url = line.Split(' ')[3];
        return new MockProviderProcess(process, new Uri(url));
    }

    public async Task<IReadOnlyList<MockRequest>> RequestsAsync() =>
        await Http.GetFromJsonAsync<List<MockRequest>>(new Uri(BaseAddress, "/_mock/requests")) ?? [];

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
        _process.Dispose();
    }
}
