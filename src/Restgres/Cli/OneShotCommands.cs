using System.Net.Sockets;
using Npgsql;
using Restgres.Admin;
using Restgres.Catalog;
using Restgres.Config;
using Restgres.Execution;

namespace Restgres.Cli;

/// <summary>
/// PostgREST's flags that do one thing and exit (CLI.hs, Client.hs): <c>--dump-config</c>, <c>--dump-schema</c> and
/// <c>--ready</c>. Their output and messages are PostgREST's, since health checks and scripts parse them.
/// </summary>
internal static class OneShotCommands
{
    /// <summary>Long enough for a database that answers; the flags are used by scripts that would rather fail.</summary>
    private static readonly TimeSpan DatabaseTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The effective configuration, as PostgREST's <c>--dump-config</c>: with <c>db-config</c> on, the settings in the
    /// database override the file and the environment (CLI.hs runs readInDbConfig first). Nothing is redacted: it is
    /// the operator's own terminal (the admin server's <c>/config</c> redacts).
    /// </summary>
    public static async Task<int> DumpConfigAsync(AppConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.DbConfig) config = await WithDatabaseSettingsAsync(config);
        await Console.Out.WriteAsync(ConfigDump.ToText(config, redact: false));
        await Console.Out.FlushAsync();
        return 0;
    }

    /// <summary>The schema cache as JSON (the admin server's <c>/schema_cache</c> document), one line.</summary>
    public static async Task<int> DumpSchemaAsync(AppConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.DbConfig) config = await WithDatabaseSettingsAsync(config);
        using var cts = new CancellationTokenSource(DatabaseTimeout);
        try
        {
            await using var dataSource = DataSources.Create(config);
            await using var conn = await dataSource.OpenConnectionAsync(cts.Token);
            var cache = await SchemaCacheLoader.LoadAsync(conn, config.DbSchemas, config.DbExtraSearchPath, cts.Token);
            await using var stdout = Console.OpenStandardOutput();
            await stdout.WriteAsync(SchemaCacheJson.Serialize(cache), cts.Token);
            await stdout.WriteAsync("\n"u8.ToArray(), cts.Token);
            return 0;
        }
        catch (Exception e) when (IsDatabaseFailure(e))
        {
            await Console.Error.WriteLineAsync($"restgres: could not load the schema cache: {e.Message}");
            return 1;
        }
    }

    /// <summary>
    /// Client.hs <c>ready</c>: GET the admin server's <c>/ready</c>; "OK: url" on stdout and exit 0 for a 2xx answer,
    /// else "ERROR: ..." on stderr and exit 1.
    /// </summary>
    public static async Task<int> ReadyAsync(AppConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.AdminServerPort is not { } port)
            return await FailAsync("Admin server is not running. Please check admin-server-port config.");
        var host = config.AdminServerHost;
        if (host is "*" or "*4" or "!4" or "*6" or "!6")
            return await FailAsync($"The `--ready` flag cannot be used when server-host is configured as \"{host}\". "
                + "Please update your server-host config to \"localhost\".");
        var url = $"http://{(host.Contains(':', StringComparison.Ordinal) ? "[" + host + "]" : host)}:{port}/ready";
        using var client = new HttpClient { Timeout = DatabaseTimeout };
        HttpResponseMessage response;
        try
        {
            response = await client.GetAsync(new Uri(url));
        }
        catch (UriFormatException)
        {
            return await FailAsync("invalid url - " + url);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return await FailAsync("connection refused to " + url);
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode) return await FailAsync(url);
        }
        await Console.Out.WriteLineAsync("OK: " + url);
        return 0;

        static async Task<int> FailAsync(string message)
        {
            await Console.Error.WriteLineAsync("ERROR: " + message);
            return 1;
        }
    }

    /// <summary>
    /// <paramref name="config"/> read again with the in-database settings on top. As PostgREST, a database that
    /// cannot be reached, or settings that do not make a valid config, are reported and the config stays as it was.
    /// </summary>
    private static async Task<AppConfig> WithDatabaseSettingsAsync(AppConfig config)
    {
        IReadOnlyDictionary<string, string> settings;
        using var cts = new CancellationTokenSource(DatabaseTimeout);
        try
        {
            await using var dataSource = DataSources.Create(config);
            settings = await InDbConfig.QueryAsync(dataSource, config.DbPreConfig, cts.Token);
        }
        catch (Exception e) when (IsDatabaseFailure(e))
        {
            await Console.Error.WriteLineAsync("Failed to query database settings for the config parameters. " + e.Message);
            return config;
        }
        if (settings.Count == 0 || config.Source is not { } source) return config;
        try
        {
            // The loader's warnings were printed by the first reading.
            return ConfigLoader.Load(source.Path, source.Env, _ => { }, settings);
        }
        catch (ConfigException e)
        {
            await Console.Error.WriteLineAsync("Failed reloading config: Error in config " + e.Message);
            return config;
        }
    }

    private static bool IsDatabaseFailure(Exception e) =>
        e is NpgsqlException or TimeoutException or SocketException or InvalidOperationException or ArgumentException
            or OperationCanceledException;
}
