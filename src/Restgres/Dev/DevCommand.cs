using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Restgres.Config;
using Restgres.Http;

namespace Restgres.Dev;

/// <summary>The parsed arguments of <c>restgres dev</c>.</summary>
internal sealed record DevOptions(string DataDir, int ApiPort, int? PgPort);

/// <summary>
/// <c>restgres dev</c>: a private PostgreSQL cluster (in <c>./.restgres</c>) with the demo app, served on port 3000,
/// so that trying Restgres needs nothing but the PostgreSQL server package.
/// </summary>
public static class DevCommand
{
    /// <summary>
    /// The cluster uses trust authentication on loopback, so this password only makes the db-uri look like a real one.
    /// </summary>
    public const string AuthenticatorPassword = "restgres-dev";

    /// <summary>A fixed secret so tokens printed by one run keep working in the next; dev only.</summary>
    public const string JwtSecret = "restgres-dev-jwt-secret-do-not-use-in-production";

    public const string Usage = """
        Usage: restgres dev [--data-dir DIR] [--port PORT] [--pg-port PORT]

        Starts (or reuses) a private PostgreSQL cluster in DIR (default ./.restgres), loads the demo app and serves it.
          --data-dir DIR   the cluster's data directory (created on first use)
          --port PORT      the API port on 127.0.0.1 (default 3000)
          --pg-port PORT   PostgreSQL's port on 127.0.0.1 (default: the one used last time, else a free one)
        Ctrl-C stops the API and then the cluster.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        DevOptions options;
        try
        {
            var parsed = ParseArgs(args);
            if (parsed is null)
            {
                Console.WriteLine(Usage);
                return 0;
            }
            options = parsed;
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"restgres dev: {e.Message}. See 'restgres dev --help'.");
            return 1;
        }
        // Checked before starting PostgreSQL so that a busy port costs nothing to discover.
        if (!PostgresCluster.IsPortFree(options.ApiPort))
        {
            await Console.Error.WriteLineAsync(
                $"restgres dev: port {options.ApiPort} on 127.0.0.1 is in use; choose another with --port.");
            return 1;
        }

        // Ctrl-C or SIGTERM while the cluster starts must still lead to a clean pg_ctl stop, so we take over both
        // signals for the whole run; the API server reacts to the same signals and to the token. A third Ctrl-C
        // gives up on a clean stop and lets the runtime terminate the process.
        using var cts = new CancellationTokenSource();
        var signals = 0;
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = Interlocked.Increment(ref signals) < 3;
            cts.Cancel();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        PostgresCluster? cluster = null;
        try
        {
            cluster = await PostgresCluster.StartAsync(
                options.DataDir, options.PgPort, new ClusterOptions { Log = Console.Error.WriteLine }, cts.Token);
            await PrepareDatabaseAsync(cluster, cts.Token);
            var config = BuildConfig(cluster, options.ApiPort);
            Console.WriteLine(Banner(config, cluster));
            return await ApiServer.RunAsync(config, cts.Token);
        }
        catch (PostgresClusterException e)
        {
            await Console.Error.WriteLineAsync($"restgres dev: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return 130;
        }
        finally
        {
            if (cluster is not null)
            {
                await Console.Error.WriteLineAsync($"Stopping PostgreSQL ({cluster.DataDir})");
                try
                {
                    await cluster.StopAsync(CancellationToken.None);
                }
                catch (PostgresClusterException e)
                {
                    await Console.Error.WriteLineAsync($"restgres dev: {e.Message}");
                }
            }
        }
    }

    /// <summary>Null means help was asked for.</summary>
    /// <exception cref="ArgumentException">An unknown option or a bad value.</exception>
    internal static DevOptions? ParseArgs(IReadOnlyList<string> args)
    {
        var dataDir = ".restgres";
        var apiPort = 3000;
        int? pgPort = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help")
                return null;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            var (name, inlineValue) = arg.StartsWith("--", StringComparison.Ordinal) && eq > 0
                ? (arg[..eq], arg[(eq + 1)..])
                : (arg, null);
            string Value()
            {
                if (inlineValue is not null)
                    return inlineValue;
                if (i + 1 >= args.Count)
                    throw new ArgumentException($"{name} needs a value");
                return args[++i];
            }
            switch (name)
            {
                case "--data-dir":
                    dataDir = Value();
                    if (dataDir.Length == 0)
                        throw new ArgumentException("--data-dir needs a directory");
                    break;
                case "--port":
                    apiPort = ParsePort(name, Value());
                    break;
                case "--pg-port":
                    pgPort = ParsePort(name, Value());
                    break;
                default:
                    throw new ArgumentException($"unexpected argument '{arg}'");
            }
        }
        return new DevOptions(Path.GetFullPath(dataDir), apiPort, pgPort);
    }

    private static int ParsePort(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? port
            : throw new ArgumentException($"{name} must be a port number (1-65535), not '{value}'");

    /// <summary>
    /// Creates the roles of PostgREST's recommended setup (docs: explanations/db_authz.rst) when missing and loads the
    /// demo; both are idempotent because they run on every start.
    /// </summary>
    internal static async Task PrepareDatabaseAsync(PostgresCluster cluster, CancellationToken ct)
    {
        var password = AuthenticatorPassword.Replace("'", "''", StringComparison.Ordinal);
        await cluster.ExecuteSqlAsync($"""
            do $$
            begin
              if not exists (select from pg_roles where rolname = 'authenticator') then
                create role authenticator login noinherit password '{password}';
              end if;
              if not exists (select from pg_roles where rolname = 'anon') then
                create role anon nologin;
              end if;
              if not exists (select from pg_roles where rolname = 'authenticated') then
                create role authenticated nologin;
              end if;
            end
            $$;
            -- The authenticator switches to these per request (SET ROLE), so it must be a member.
            grant anon, authenticated to authenticator;
            """, ct: ct);
        await cluster.ExecuteSqlAsync(DemoSql(), ct: ct);
    }

    internal static string DemoSql()
    {
        using var stream = typeof(DevCommand).Assembly.GetManifestResourceStream("Restgres.Dev.demo.sql")
            ?? throw new InvalidOperationException("the embedded resource Restgres.Dev.demo.sql is missing from the build");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    internal static AppConfig BuildConfig(PostgresCluster cluster, int apiPort) => new()
    {
        DbUri = cluster.ConnectionUri("postgres", "authenticator", AuthenticatorPassword),
        DbSchemas = ["api"],
        DbAnonRole = "anon",
        JwtSecret = JwtSecret,
        ServerHost = "127.0.0.1",
        ServerPort = apiPort,
        // Seeing each request is most of the point of a dev server.
        LogLevel = Config.LogLevel.Info,
    };

    /// <summary>A token for the <c>authenticated</c> role, valid for a year, signed with the dev secret.</summary>
    internal static string DevToken()
    {
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        return handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object>
            {
                ["role"] = "authenticated",
                ["exp"] = DateTimeOffset.UtcNow.AddYears(1).ToUnixTimeSeconds(),
            },
            SigningCredentials = new SigningCredentials(
                new SymmetricSecurityKey(Encoding.UTF8.GetBytes(JwtSecret)), SecurityAlgorithms.HmacSha256),
        });
    }

    internal static string Banner(AppConfig config, PostgresCluster cluster)
    {
        var url = $"http://{config.ServerHost}:{config.ServerPort.ToString(CultureInfo.InvariantCulture)}";
        return $$"""

            Restgres dev server: {{url}}   (API schema "api", anonymous role "anon")
            PostgreSQL: psql "{{cluster.ConnectionUri()}}"   (data in {{cluster.DataDir}})

            Try:
              curl "{{url}}/todos"
              curl "{{url}}/todos?select=id,task,categories(name)&done=is.false&order=due.asc"
              curl "{{url}}/rpc/add_them?a=1&b=2"
              export TOKEN={{DevToken()}}
              curl -X POST "{{url}}/todos" -H "Authorization: Bearer $TOKEN" \
                   -H "Content-Type: application/json" -H "Prefer: return=representation" \
                   -d '{"task": "try restgres"}'

            Ctrl-C stops the API server and PostgreSQL.

            """;
    }
}
