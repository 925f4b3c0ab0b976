using Restgres.Config;
using Restgres.Dev;
using Restgres.Http;

namespace Restgres.Cli;

/// <summary>The server's half of <c>restgres dev</c>: the dev tooling prepares the cluster and says what to serve.</summary>
internal static class DevServer
{
    internal static AppConfig AppConfigFor(DevServerConfig dev) => new()
    {
        DbUri = dev.DbUri,
        DbSchemas = [dev.DbSchema],
        DbAnonRole = dev.DbAnonRole,
        JwtSecret = dev.JwtSecret,
        ServerHost = dev.ServerHost,
        ServerPort = dev.ServerPort,
        ServerPathPrefixes = [dev.ServerPathPrefix],
        ServerStaticDir = dev.ServerStaticDir,
        // Seeing each request is most of the point of a dev server.
        LogLevel = Config.LogLevel.Info,
    };

    internal static Task<int> RunAsync(DevServerConfig dev, CancellationToken ct) => ApiServer.RunAsync(AppConfigFor(dev), ct);
}
