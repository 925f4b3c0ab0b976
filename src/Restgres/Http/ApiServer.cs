using Restgres.Config;

namespace Restgres.Http;

/// <summary>The HTTP server: Kestrel with one terminal request delegate (no MVC), as the guide asks.</summary>
public sealed class ApiServer : IAsyncDisposable
{
    private ApiServer(Uri baseAddress) => BaseAddress = baseAddress;

    /// <summary>The address the server listens on (with the real port when port 0 was asked for).</summary>
    public Uri BaseAddress { get; }

    /// <summary>Binds, loads the schema cache and starts serving.</summary>
    public static Task<ApiServer> StartAsync(AppConfig config, CancellationToken ct)
    {
        _ = config;
        _ = ct;
        throw new NotImplementedException();
    }

    /// <summary>Serves until SIGINT/SIGTERM, then shuts down gracefully. Returns the process exit code.</summary>
    public static Task<int> RunAsync(AppConfig config, CancellationToken ct)
    {
        _ = config;
        _ = ct;
        return Task.FromResult(1);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
