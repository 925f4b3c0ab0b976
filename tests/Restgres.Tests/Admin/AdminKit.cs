using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Restgres.Config;
using Restgres.Http;
using Restgres.Observability;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Admin;

/// <summary>Shared pieces of the admin, observability and reload tests: a schema, servers, HTTP calls, polling.</summary>
internal static class AdminKit
{
    /// <summary>Roles are cluster-wide, so these tests use their own names (created idempotently).</summary>
    public const string Authenticator = "adm_authenticator";
    public const string Anon = "adm_anon";
    public const string JwtSecret = "reallyreallyreallyreallyverysafe";

    public static readonly string Schema = PgClusterFixture.RolesSql(Authenticator, Anon) + $$"""
        create schema api;
        grant usage on schema api to {{Anon}};
        create table api.items (id int primary key, name text);
        insert into api.items values (1, 'one'), (2, 'two'), (3, 'three');
        grant select on api.items to {{Anon}};
        create table api.tags (id int primary key, item_id int references api.items(id));
        grant select on api.tags to {{Anon}};
        create function api.slow(s float8) returns int language plpgsql as $f$ begin perform pg_sleep(s); return 1; end $f$;
        grant execute on function api.slow(float8) to {{Anon}};
        create schema other;
        grant usage on schema other to {{Anon}};
        create table other.things (id int primary key);
        insert into other.things values (42);
        grant select on other.things to {{Anon}};
        create schema cfg;
        grant usage on schema cfg to {{Authenticator}};
        """;

    private static readonly HttpClient Client = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
    {
        Timeout = TimeSpan.FromSeconds(60),
    };

    /// <summary>A config for <paramref name="db"/> on a random local port, with an admin server on another one.</summary>
    public static AppConfig Config(TestDatabase db) => new()
    {
        DbUri = db.Uri(Authenticator),
        DbSchemas = ["api"],
        DbAnonRole = Anon,
        ServerHost = "127.0.0.1",
        ServerPort = 0,
        AdminServerHost = "127.0.0.1",
        AdminServerPort = 0,
        JwtSecret = JwtSecret,
        JwtSecretBytes = [.. Encoding.UTF8.GetBytes(JwtSecret)],
        // In-database config is read only for configs loaded from files and the environment (ConfigSources).
        DbConfig = false,
    };

    /// <summary>Config text for <see cref="ConfigLoader.Load"/>, which remembers its sources so that reloads work.</summary>
    public static string ConfigText(TestDatabase db, string extra = "") => $"""
        db-uri = "{db.Uri(Authenticator)}"
        db-schemas = "api"
        db-anon-role = "{Anon}"
        server-host = "127.0.0.1"
        server-port = 0
        jwt-secret = "{JwtSecret}"
        {extra}
        """;

    public static Task<ApiServer> StartAsync(AppConfig config, Action<string>? log = null) =>
        ApiServer.StartAsync(config, CancellationToken.None, log ?? (_ => { }));

    /// <summary>Loads <paramref name="text"/> from a file (so that reloads read it again) with an empty environment.</summary>
    public static AppConfig LoadFile(string path, string text, IReadOnlyDictionary<string, string>? env = null)
    {
        File.WriteAllText(path, text);
        return ConfigLoader.Load(path, env ?? new Dictionary<string, string>(), _ => { });
    }

    /// <summary>A server whose access lines and diagnostics go to memory instead of the console.</summary>
    public static async Task<(ApiServer Server, MemoryLog Log)> StartLoggedAsync(AppConfig config)
    {
        var server = await StartAsync(config);
        var log = new MemoryLog();
        server.State.Observer.Sink = log.Sink;
        return (server, log);
    }

    public static async Task<(int Status, string Body, HttpResponseMessage Response)> GetAsync(Uri baseAddress, string path,
        params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseAddress, path));
        foreach (var (n, v) in headers) request.Headers.TryAddWithoutValidation(n, v);
        var response = await Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, body, response);
    }

    public static async Task<int> StatusAsync(Uri baseAddress, string path) => (await GetAsync(baseAddress, path)).Status;

    /// <summary>Polls until <paramref name="condition"/> holds; false when it did not within <paramref name="within"/>.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan? within = null)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < (within ?? TimeSpan.FromSeconds(20)))
        {
            if (await condition()) return true;
            await Task.Delay(100);
        }
        return false;
    }

    /// <summary>Waits until the db-channel listener is listening (NOTIFYs sent before would be lost).</summary>
    public static async Task ListeningAsync(ApiServer server) =>
        Assert.True(await EventuallyAsync(() => Task.FromResult(server.State.ListenerOn)), "the db-channel listener did not start");

    /// <summary>The value of an unlabelled (or exactly labelled) sample in a Prometheus exposition, or null.</summary>
    public static double? Sample(string exposition, string nameWithLabels)
    {
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith(nameWithLabels + " ", StringComparison.Ordinal))
                return double.Parse(line[(nameWithLabels.Length + 1)..], CultureInfo.InvariantCulture);
        }
        return null;
    }

    public static int FreePort() => Restgres.Dev.PostgresCluster.FreePort();

    /// <summary>HS256 token for <paramref name="claimsJson"/>, signed with <see cref="JwtSecret"/>.</summary>
    public static string Token(string claimsJson)
    {
        static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var head = B64(Encoding.UTF8.GetBytes("""{"alg":"HS256","typ":"JWT"}"""));
        var body = B64(Encoding.UTF8.GetBytes(claimsJson));
        using var hmac = new System.Security.Cryptography.HMACSHA256(Encoding.UTF8.GetBytes(JwtSecret));
        return head + "." + body + "." + B64(hmac.ComputeHash(Encoding.ASCII.GetBytes(head + "." + body)));
    }
}

/// <summary>A <see cref="LogSink"/> writing to memory, for looking at log lines.</summary>
internal sealed class MemoryLog
{
    // TextWriter.Synchronized locks on the wrapper, so reads lock on it too.
    private readonly StringWriter _outText = new();
    private readonly StringWriter _errText = new();
    private readonly TextWriter _out;
    private readonly TextWriter _err;

    public MemoryLog()
    {
        _out = TextWriter.Synchronized(_outText);
        _err = TextWriter.Synchronized(_errText);
        Sink = new LogSink(_out, _err);
    }

    public LogSink Sink { get; }

    /// <summary>Standard output lines written so far (flushes the sink first).</summary>
    public async Task<string[]> OutAsync()
    {
        await Sink.FlushAsync(TimeSpan.FromSeconds(10));
        lock (_out) return _outText.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public async Task<string[]> ErrAsync()
    {
        await Sink.FlushAsync(TimeSpan.FromSeconds(10));
        lock (_err) return _errText.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
