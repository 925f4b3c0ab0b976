using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Restgres.Dev;

/// <summary>The parsed arguments of <c>restgres dev</c>.</summary>
internal sealed record DevOptions(string DataDir, int ApiPort, int? PgPort, string? AppDir = null, long? Events = null);

/// <summary>
/// <c>restgres dev</c>: a private PostgreSQL cluster (in <c>./.restgres</c>) with the A/B-test dashboard
/// (examples/ab-dashboard) loaded, its API served on port 3000 at the root and under <c>/rest/v1</c> (Supabase's
/// layout) and its web page at <c>/</c>, so that trying Restgres needs nothing but the PostgreSQL server package.
/// </summary>
public static class DevCommand
{
    /// <summary>
    /// The cluster uses trust authentication on loopback, so this password only makes the db-uri look like a real one.
    /// </summary>
    public const string AuthenticatorPassword = "restgres-dev";

    /// <summary>A fixed secret so tokens printed by one run keep working in the next; dev only.</summary>
    public const string JwtSecret = "restgres-dev-jwt-secret-do-not-use-in-production";

    /// <summary>The Supabase-style prefix the API is also served under, so Supabase clients work unchanged.</summary>
    public const string SupabasePrefix = "/rest/v1";

    /// <summary>
    /// The dev anon key: a JWT with role anon signed with <see cref="JwtSecret"/>, the way Supabase's anon key is made.
    /// Its claims are fixed (issued 2026-01-01, expiring 2036-01-01), so every run prints the same key and the
    /// dashboard's web/public/config.js can ship it.
    /// </summary>
    public static string AnonKey { get; } = SignHs256(
        """{"iss":"restgres-dev","role":"anon","iat":1767225600,"exp":2082758400}""", JwtSecret);

    public const string Usage = """
        Usage: restgres dev [--data-dir DIR] [--port PORT] [--pg-port PORT] [--app NAME|DIR] [--events N]

        Starts (or reuses) a private PostgreSQL cluster in DIR (default ./.restgres), loads the A/B-test dashboard
        (examples/ab-dashboard: migrations, generated data, web page) and serves it.
          --data-dir DIR   the cluster's data directory (created on first use)
          --port PORT      the API port on 127.0.0.1 (default 3000)
          --pg-port PORT   PostgreSQL's port on 127.0.0.1 (default: the one used last time, else a free one)
          --app NAME|DIR   an example app with its own restgres.conf, by name (glucose-api: examples/glucose-api,
                           in its own database, after Restgres's own schema; its dev-services.sh, if any, starts
                           its companion processes, e.g. a mock provider) or folder; or the dashboard's folder (default:
                           examples/ab-dashboard above the working directory or the executable; without one, a small
                           built-in to-do demo)
          --events N       replace the data with a freshly generated set of N events (default: 200,000 events,
                           generated only when the database has none); e.g. --events 1000000
        Ctrl-C stops the API and then the cluster.
        """;

    /// <param name="serve">Runs the API server until the token is cancelled and returns the exit code: the server
    /// passes it in because this library does not reference the server.</param>
    /// <param name="restgresSchemaSql">Restgres's own schema (<c>restgres --schema-sql</c>), installed in an example
    /// app's database before its migrations; passed in for the same reason.</param>
    public static async Task<int> RunAsync(string[] args, Func<DevServerConfig, CancellationToken, Task<int>> serve, string restgresSchemaSql = "")
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

        // --app NAME: an example app with its own restgres.conf (examples/NAME), else the A/B dashboard's folder.
        var configured = options.AppDir is { } appArg ? ConfiguredApp.Find(appArg) : null;
        DevApp app;
        try
        {
            app = configured is not null ? DevApp.Embedded : options.AppDir is { } dir ? DevApp.At(dir) : DevApp.Locate();
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"restgres dev: {e.Message}");
            return 1;
        }
        if (configured is not null)
        {
            if (options.Events is not null)
                await Console.Error.WriteLineAsync("restgres dev: --events applies to the A/B dashboard only; ignored");
        }
        else if (!app.IsDashboard)
        {
            await Console.Error.WriteLineAsync(
                $"restgres dev: {DevApp.RelativePath} not found above {Environment.CurrentDirectory} or {AppContext.BaseDirectory}; " +
                "serving the built-in to-do demo (pass --app DIR for the A/B dashboard)");
            if (options.Events is not null)
                await Console.Error.WriteLineAsync("restgres dev: --events applies to the A/B dashboard only; ignored");
        }

        PostgresCluster? cluster = null;
        try
        {
            var clusterOptions = ClusterOptionsFor(PostgresBinaries.Locate()) with { Log = Console.Error.WriteLine };
            cluster = await PostgresCluster.StartAsync(options.DataDir, options.PgPort, clusterOptions, cts.Token);
            if (configured is not null)
            {
                await PrepareRolesAsync(cluster, cts.Token);
                await configured.LoadAsync(cluster, restgresSchemaSql, line => Console.Error.WriteLine(line), cts.Token);
                var appConfig = configured.ServerConfig(cluster, options.ApiPort, Environment.GetEnvironmentVariable("JWT_SECRET"));
                try
                {
                    var services = await configured.StartServicesAsync(cluster, appConfig.JwtSecret, cts.Token);
                    Console.WriteLine(configured.Banner(appConfig, cluster, services));
                    return await serve(appConfig, cts.Token);
                }
                finally
                {
                    await configured.StopServicesAsync(cluster, line => Console.Error.WriteLine(line));
                }
            }
            await PrepareDatabaseAsync(cluster, app, options.Events, cts.Token);
            var config = BuildConfig(cluster, options.ApiPort, app);
            Console.WriteLine(Banner(config, cluster, app, await SchedulerAsync(cluster, cts.Token)));
            return await serve(config, cts.Token);
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
        string? appDir = null;
        long? events = null;
        var reader = new ArgReader(args);
        while (reader.Next())
        {
            if (reader.IsHelp)
                return null;
            switch (reader.Name)
            {
                case "--data-dir":
                    dataDir = reader.Value();
                    if (dataDir.Length == 0)
                        throw new ArgumentException("--data-dir needs a directory");
                    break;
                case "--port":
                    apiPort = ParsePort(reader.Name, reader.Value());
                    break;
                case "--pg-port":
                    pgPort = ParsePort(reader.Name, reader.Value());
                    break;
                case "--app":
                    appDir = reader.Value();
                    if (appDir.Length == 0)
                        throw new ArgumentException("--app needs a directory");
                    break;
                case "--events":
                    var text = reader.Value();
                    events = long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is > 0 and <= 1_000_000_000
                        ? n
                        : throw new ArgumentException($"--events must be a number of events (1-1000000000), not '{text}'");
                    break;
                default:
                    throw reader.Unexpected();
            }
        }
        return new DevOptions(Path.GetFullPath(dataDir), apiPort, pgPort, appDir, events);
    }

    private static int ParsePort(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? port
            : throw new ArgumentException($"{name} must be a port number (1-65535), not '{value}'");

    /// <summary>
    /// pg_cron refreshes the dashboard's aggregates every minute (examples/ab-dashboard/migrations/008_schedule.sql); it
    /// must be preloaded and pointed at the app's database. pg_stat_statements stays preloaded as PostgresCluster sets it,
    /// because this later setting replaces that one. Without the package the cluster starts as before and the
    /// migration says the aggregates are refreshed on start only.
    /// </summary>
    internal static ClusterOptions ClusterOptionsFor(PostgresBinaries binaries)
    {
        if (!binaries.HasModule("pg_cron"))
            return new ClusterOptions();
        var preload = binaries.HasModule("pg_stat_statements") ? "'pg_stat_statements,pg_cron'" : "'pg_cron'";
        return new ClusterOptions
        {
            Settings = ImmutableDictionary<string, string>.Empty
                .Add("shared_preload_libraries", preload)
                .Add("cron.database_name", "'postgres'")
                // Jobs run in background workers rather than over a libpq connection, so no password or host setting
                // is involved.
                .Add("cron.use_background_workers", "on")
                .Add("max_worker_processes", "16"),
        };
    }

    /// <summary>
    /// Creates the roles of PostgREST's recommended setup (docs: explanations/db_authz.rst) when missing and loads the
    /// app; both are idempotent because they run on every start.
    /// </summary>
    internal static async Task PrepareDatabaseAsync(PostgresCluster cluster, DevApp app, long? events, CancellationToken ct)
    {
        await PrepareRolesAsync(cluster, ct);
        if (app.IsDashboard)
        {
            await app.LoadAsync(cluster, events, line => Console.Error.WriteLine(line), ct);
            // The refresh schedule (schedules.conf) runs as ab_scheduler; the server registers it with pg_cron, which
            // takes usage on schema cron (docs/schedules.md).
            await cluster.ExecuteSqlAsync("""
                grant ab_scheduler to authenticator;
                do $$ begin
                  if to_regnamespace('cron') is not null then
                    grant usage on schema cron to authenticator;
                  end if;
                end $$;
                """, ct: ct);
        }
        else
            await cluster.ExecuteSqlAsync(DemoSql(), ct: ct);
    }

    /// <summary>The login role every app's API connects as, and the two API roles most apps use.</summary>
    private static async Task PrepareRolesAsync(PostgresCluster cluster, CancellationToken ct)
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
    }

    /// <summary>Whether pg_cron is loaded in this cluster (it may be a reused one started without it), so that the
    /// schedule's refresh runs there rather than in the server.</summary>
    private static async Task<bool> SchedulerAsync(PostgresCluster cluster, CancellationToken ct)
    {
        await using var conn = new Npgsql.NpgsqlConnection(cluster.ConnectionString);
        await conn.OpenAsync(ct);
        await using var cmd = new Npgsql.NpgsqlCommand(
            "select to_regclass('cron.job') is not null", conn);
        try
        {
            return await cmd.ExecuteScalarAsync(ct) is true;
        }
        catch (Npgsql.PostgresException)
        {
            // cron.job exists only with the extension; to_regclass guards the name, this guards its privileges.
            return false;
        }
    }

    internal static string DemoSql()
    {
        using var stream = typeof(DevCommand).Assembly.GetManifestResourceStream("Restgres.Dev.demo.sql")
            ?? throw new InvalidOperationException("the embedded resource Restgres.Dev.demo.sql is missing from the build");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    internal static DevServerConfig BuildConfig(PostgresCluster cluster, int apiPort, DevApp app) => new(
        DbUri: cluster.ConnectionUri("postgres", "authenticator", AuthenticatorPassword),
        DbSchema: app.Schema,
        DbAnonRole: "anon",
        JwtSecret: JwtSecret,
        ServerHost: "127.0.0.1",
        ServerPort: apiPort,
        ServerPathPrefix: SupabasePrefix,
        ServerStaticDir: app.WebBuilt ? app.WebDist : null)
    {
        SchedulesFile = app.IsDashboard ? Path.Combine(app.Directory!, "schedules.conf") : null,
        SuperuserDbUri = cluster.ConnectionUri("postgres"),
    };

    /// <summary>A compact HS256 JWT (RFC 7519) with the given claims, as Supabase mints its anon key.</summary>
    internal static string SignHs256(string claimsJson, string secret)
    {
        var signingInput = Base64Url("""{"alg":"HS256","typ":"JWT"}"""u8) + "." + Base64Url(Encoding.UTF8.GetBytes(claimsJson));
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64Url(signature);
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

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

    internal static string Banner(DevServerConfig config, PostgresCluster cluster, DevApp app, bool cronScheduled)
    {
        var url = $"http://{config.ServerHost}:{config.ServerPort.ToString(CultureInfo.InvariantCulture)}";
        if (!app.IsDashboard)
            return TodoBanner(url, cluster);
        var dashboard = app.WebBuilt
            ? $"{url}/"
            : $"not built: run 'npm ci && npm run build' in {Path.Combine(app.Directory!, "web")} (./run.sh does it)";
        var refresh = "refreshed every minute (schedules.conf) "
            + (cronScheduled ? "by pg_cron" : "by Restgres itself (pg_cron is not loaded)")
            + "; runs: select * from restgres.schedule_runs";
        var smoke = SmokeInvocation();
        return $$"""

            Restgres dev server: the A/B-test dashboard ({{app.Directory}})

              Dashboard   {{dashboard}}
              API         {{url}}/  and  {{url}}{{SupabasePrefix}}/   (schema "public", anonymous role "anon")
              API docs    {{url}}{{SupabasePrefix}}/  in a browser
              PostgreSQL  psql "{{cluster.ConnectionUri()}}"   (data in {{cluster.DataDir}})
              Aggregates  {{refresh}}

            Supabase-style calls (the anon key is a JWT with role anon, signed with the dev jwt-secret):
              export URL={{url}}
              export ANON_KEY={{AnonKey}}
              curl -X POST "$URL{{SupabasePrefix}}/rpc/variant_overview" -H "apikey: $ANON_KEY" -H "Authorization: Bearer $ANON_KEY" -H "Content-Type: application/json" -d '{}'
              curl "$URL{{SupabasePrefix}}/v_conversion_funnel?select=*" -H "apikey: $ANON_KEY" -H "Authorization: Bearer $ANON_KEY"
              curl -X POST "$URL{{SupabasePrefix}}/rpc/recent_completions" -H "apikey: $ANON_KEY" -H "Authorization: Bearer $ANON_KEY" -H "Content-Type: application/json" -d '{"limit_count":50}'
              curl -X POST "$URL{{SupabasePrefix}}/rpc/completion_time_distribution" -H "apikey: $ANON_KEY" -H "Authorization: Bearer $ANON_KEY" -H "Content-Type: application/json" -d '{}'
              curl -X POST "$URL{{SupabasePrefix}}/rpc/leaderboard" -H "apikey: $ANON_KEY" -H "Authorization: Bearer $ANON_KEY" -H "Content-Type: application/json" -d '{"variant":"A","limit_count":10}'
              curl -X POST "$URL{{SupabasePrefix}}/rpc/leaderboard" -H "apikey: $ANON_KEY" -H "Authorization: Bearer $ANON_KEY" -H "Content-Type: application/json" -d '{"variant":"B","limit_count":10}'

            Smoke check of those calls (add --log to record the run with log_analytics_run):
              {{smoke}} smoke --url "$URL{{SupabasePrefix}}" --apikey "$ANON_KEY"

            As an analyst (role authenticated may also read the raw tables):
              export TOKEN={{DevToken()}}
              curl "$URL/events?select=id,event_name,variant,created_at&order=id.desc&limit=3" -H "Authorization: Bearer $TOKEN"

            Ctrl-C stops the API server and PostgreSQL.

            """;
    }

    /// <summary>How to run this executable again: relative to the working directory when below it (run.sh's case).</summary>
    private static string SmokeInvocation()
    {
        var path = Environment.ProcessPath ?? "restgres";
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? path : relative;
    }

    private static string TodoBanner(string url, PostgresCluster cluster) => $$"""

            Restgres dev server: {{url}}   (API schema "api", anonymous role "anon"; also under {{url}}{{SupabasePrefix}})
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
