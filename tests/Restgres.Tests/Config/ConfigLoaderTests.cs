using System.Collections.Immutable;
using System.Text;
using Restgres.Config;
using Xunit;

namespace Restgres.Tests.Config;

/// <summary>Options, defaults, precedence and validation, as PostgREST v16's Config.hs.</summary>
public sealed class ConfigLoaderTests
{
    private static (AppConfig Config, List<string> Warnings) Load(string file = "", params (string Name, string Value)[] env)
    {
        var warnings = new List<string>();
        var envDict = env.ToDictionary(e => e.Name, e => e.Value, StringComparer.Ordinal);
        var config = ConfigLoader.LoadText(file, envDict, warnings.Add, "test.conf");
        return (config, warnings);
    }

    private static ConfigException LoadFails(string file = "", params (string Name, string Value)[] env) =>
        Assert.Throws<ConfigException>(() => Load(file, env));

    [Fact]
    public void Without_file_or_environment_every_option_has_PostgREST_default()
    {
        var (c, warnings) = Load();
        Assert.Empty(warnings);
        Assert.Empty(c.AppSettings);
        Assert.Equal(ErrorVerbosity.Verbose, c.ClientErrorVerbosity);
        Assert.False(c.DbAggregatesEnabled);
        Assert.Null(c.DbAnonRole);
        Assert.Equal("pgrst", c.DbChannel);
        Assert.True(c.DbChannelEnabled);
        Assert.Equal<string>(["public"], c.DbExtraSearchPath);
        Assert.Equal<string>(["statement_timeout", "plan_filter.statement_cost_limit", "default_transaction_isolation"], c.DbHoistedTxSettings);
        Assert.Null(c.DbMaxRows);
        Assert.False(c.DbPlanEnabled);
        Assert.Equal(10, c.DbPool);
        Assert.Equal(10, c.DbPoolAcquisitionTimeout);
        Assert.Equal(1800, c.DbPoolMaxLifetime);
        Assert.Equal(30, c.DbPoolMaxIdletime);
        Assert.True(c.DbPoolAutomaticRecovery);
        Assert.Null(c.DbPreRequest);
        Assert.True(c.DbPreparedStatements);
        Assert.Null(c.DbRootSpec);
        Assert.Equal<string>(["public"], c.DbSchemas);
        Assert.True(c.DbConfig);
        Assert.Null(c.DbPreConfig);
        Assert.Equal(TxEnd.Commit, c.DbTxEnd);
        Assert.Equal("postgresql://", c.DbUri);
        Assert.Null(c.JwtAud);
        Assert.Equal("$.role", c.JwtRoleClaimKey);
        Assert.False(c.JwtRoleClaimPath.IsDeprecatedSyntax);
        Assert.Null(c.JwtSecret);
        Assert.Empty(c.JwtSecretBytes);
        Assert.False(c.JwtSecretIsBase64);
        Assert.Equal(1000, c.JwtCacheMaxEntries);
        Assert.Equal(LogLevel.Error, c.LogLevel);
        Assert.False(c.LogQuery);
        Assert.Equal(OpenApiMode.FollowPrivileges, c.OpenApiMode);
        Assert.False(c.OpenApiSecurityActive);
        Assert.Null(c.OpenApiServerProxyUri);
        Assert.Empty(c.ServerCorsAllowedOrigins);
        Assert.Equal("!4", c.ServerHost);
        Assert.Equal(3000, c.ServerPort);
        Assert.False(c.ServerReusePort);
        Assert.Null(c.ServerTraceHeader);
        Assert.False(c.ServerTimingEnabled);
        Assert.Null(c.ServerUnixSocket);
        Assert.Equal(432, c.ServerUnixSocketMode);
        Assert.True(c.UrlUseLegacyTargetNames);
        Assert.Equal("!4", c.AdminServerHost);
        Assert.Null(c.AdminServerPort);
        Assert.Null(c.AdminServerUnixSocket);
        Assert.Equal(432, c.AdminServerUnixSocketMode);
        Assert.Null(c.InternalSchemaCacheQuerySleep);
        Assert.Null(c.InternalSchemaCacheQuerySleepBeforeQueries);
        Assert.Equal("text", c.LogFormat);
        Assert.Empty(c.ServerPathPrefixes);
        Assert.Null(c.ServerStaticDir);
        Assert.Null(c.ConfigFilePath);
    }

    [Fact]
    public void The_loader_defaults_match_a_fresh_AppConfig()
    {
        var loaded = Load().Config;
        var fresh = new AppConfig();
        foreach (var p in typeof(AppConfig).GetProperties())
        {
            var a = p.GetValue(loaded);
            var b = p.GetValue(fresh);
            if (a is System.Collections.IEnumerable ea && b is System.Collections.IEnumerable eb)
                Assert.Equal(eb.Cast<object>(), ea.Cast<object>());
            else if (p.PropertyType == typeof(RoleClaimPath))
                Assert.Equal(((RoleClaimPath)b!).Text, ((RoleClaimPath)a!).Text);
            else
                Assert.True(Equals(a, b), $"{p.Name}: loaded {a}, AppConfig default {b}");
        }
    }

    /// <summary>Every option set to a value other than its default.</summary>
    /// <summary>A routes file without routes (valid), for <see cref="EveryOptionSet"/>.</summary>
    private static readonly string EmptyRoutesFile = WriteEmptyRoutesFile();

    private static string WriteEmptyRoutesFile()
    {
        var path = Path.Combine(Path.GetTempPath(), "restgres-empty-routes.conf");
        File.WriteAllText(path, "# no routes\n");
        return path;
    }

    internal static readonly string EveryOptionSet = $"""
        client-error-verbosity = "minimal"
        db-aggregates-enabled = true
        db-anon-role = "web_anon"
        db-channel = "mychannel"
        db-channel-enabled = false
        db-extra-search-path = "extensions, util"
        db-hoisted-tx-settings = "work_mem"
        db-max-rows = 500
        db-plan-enabled = true
        db-pool = 3
        db-pool-acquisition-timeout = 4
        db-pool-max-lifetime = 60
        db-pool-max-idletime = 5
        db-pool-automatic-recovery = false
        db-pre-request = "api.check"
        db-prepared-statements = false
        db-root-spec = "root"
        db-schemas = "api, v2"
        db-config = false
        db-pre-config = "postgrest.pre_config"
        db-tx-end = "rollback-allow-override"
        db-uri = "postgres://app@localhost/app"
        db-listener-uri = "postgres://app@direct/app"
        jwt-aud = "https://example.com/aud"
        jwt-role-claim-key = "$$.postgrest.roles[0]"
        jwt-secret = "cmVhbGx5cmVhbGx5cmVhbGx5cmVhbGx5dmVyeXNhZmU="
        jwt-secret-is-base64 = true
        jwt-cache-max-entries = 5
        log-level = "info"
        log-query = true
        openapi-mode = "ignore-privileges"
        openapi-security-active = true
        openapi-server-proxy-uri = "https://example.com:8443/api"
        server-cors-allowed-origins = "https://a.example, https://b.example"
        server-host = "127.0.0.1"
        server-port = 8080
        server-reuseport = true
        server-trace-header = "X-Request-Id"
        server-timing-enabled = true
        server-unix-socket = "/tmp/pgrst.sock"
        server-unix-socket-mode = "600"
        url-use-legacy-target-names = false
        admin-server-host = "127.0.0.2"
        admin-server-port = 8081
        admin-server-unix-socket = "/tmp/admin.sock"
        admin-server-unix-socket-mode = "600"
        internal-schema-cache-query-sleep-before-queries = 1
        internal-schema-cache-query-sleep = 2
        log-format = "json"
        server-path-prefixes = "/rest/v1, /api"
        server-static-dir = "{Path.GetTempPath()}"
        server-routes-file = "{EmptyRoutesFile}"
        server-schedules-file = "{EmptyRoutesFile}"
        server-max-body-size = 100
        server-etag = true
        server-cache-control = "items: max-age=60; *: no-cache"
        server-compression = "gzip, br"
        server-compression-min-size = 10
        trace-exporter = "console"
        trace-otlp-endpoint = "http://127.0.0.1:4318/v1/traces"
        trace-otlp-protocol = "http/protobuf"
        trace-sample-ratio = 0.25
        server-response-cache = "variant_overview: 30s; rpc/statistics: 5m"
        server-response-cache-size = 1000000
        server-idempotency = "orders: 24h; rpc/request_generation: 1h"
        server-rate-limits = "anon=60/min per ip, *=unlimited"
        server-cancel-on-disconnect = true
        server-rate-limit-headers = true
        server-rate-limit-store = "database"
        server-rate-limit-max-keys = 1000
        server-trusted-proxies = "10.0.0.0/8"
        db-group-commit = "events, api.clicks"
        db-group-commit-window = 5
        db-group-commit-max-requests = 100
        db-group-commit-max-inflight = 2
        db-read-replicas = "postgresql://app@replica1/app, postgresql://app@replica2/app"
        db-read-replica-max-lag = 5
        jobs-enabled = true
        jobs-queues = "generations, webhooks"
        jobs-lease = 5000
        jobs-poll-interval = 250
        """;

    [Fact]
    public void Every_option_is_read_from_the_file()
    {
        var (c, _) = Load(EveryOptionSet);
        Assert.Equal(ErrorVerbosity.Minimal, c.ClientErrorVerbosity);
        Assert.True(c.DbAggregatesEnabled);
        Assert.Equal("web_anon", c.DbAnonRole);
        Assert.Equal("mychannel", c.DbChannel);
        Assert.False(c.DbChannelEnabled);
        Assert.Equal<string>(["extensions", "util"], c.DbExtraSearchPath);
        Assert.Equal<string>(["work_mem"], c.DbHoistedTxSettings);
        Assert.Equal(500, c.DbMaxRows);
        Assert.True(c.DbPlanEnabled);
        Assert.Equal(3, c.DbPool);
        Assert.Equal(4, c.DbPoolAcquisitionTimeout);
        Assert.Equal(60, c.DbPoolMaxLifetime);
        Assert.Equal(5, c.DbPoolMaxIdletime);
        Assert.False(c.DbPoolAutomaticRecovery);
        Assert.Equal(new QualifiedName("api", "check"), c.DbPreRequest);
        Assert.False(c.DbPreparedStatements);
        Assert.Equal(new QualifiedName("", "root"), c.DbRootSpec);
        Assert.Equal<string>(["api", "v2"], c.DbSchemas);
        Assert.Equal(TxEnd.RollbackAllowOverride, c.DbTxEnd);
        Assert.True(c.TxRollbackAll);
        Assert.True(c.TxAllowOverride);
        Assert.Equal("postgres://app@localhost/app", c.DbUri);
        Assert.Equal("https://example.com/aud", c.JwtAud);
        Assert.Equal("$.postgrest.roles[0]", c.JwtRoleClaimKey);
        Assert.Equal("cmVhbGx5cmVhbGx5cmVhbGx5cmVhbGx5dmVyeXNhZmU=", c.JwtSecret);
        Assert.True(c.JwtSecretIsBase64);
        Assert.Equal(Encoding.UTF8.GetBytes("reallyreallyreallyreallyverysafe"), c.JwtSecretBytes);
        Assert.Equal(LogLevel.Info, c.LogLevel);
        Assert.True(c.LogQuery);
        Assert.Equal(OpenApiMode.IgnorePrivileges, c.OpenApiMode);
        Assert.True(c.OpenApiSecurityActive);
        Assert.Equal("https://example.com:8443/api", c.OpenApiServerProxyUri);
        Assert.Equal<string>(["https://a.example", "https://b.example"], c.ServerCorsAllowedOrigins);
        Assert.Equal("127.0.0.1", c.ServerHost);
        Assert.Equal(8080, c.ServerPort);
        Assert.Equal("X-Request-Id", c.ServerTraceHeader);
        Assert.True(c.ServerTimingEnabled);
        Assert.False(c.UrlUseLegacyTargetNames);
        Assert.Equal("127.0.0.2", c.AdminServerHost);
        Assert.Equal(8081, c.AdminServerPort);
        Assert.False(c.DbConfig);
        Assert.Equal(new QualifiedName("postgrest", "pre_config"), c.DbPreConfig);
        Assert.Equal(5, c.JwtCacheMaxEntries);
        Assert.True(c.ServerReusePort);
        Assert.Equal("/tmp/pgrst.sock", c.ServerUnixSocket);
        Assert.Equal(384, c.ServerUnixSocketMode);
        Assert.Equal("/tmp/admin.sock", c.AdminServerUnixSocket);
        Assert.Equal(384, c.AdminServerUnixSocketMode);
        Assert.Equal(1, c.InternalSchemaCacheQuerySleepBeforeQueries);
        Assert.Equal(2, c.InternalSchemaCacheQuerySleep);
        Assert.Equal("json", c.LogFormat);
        Assert.Equal<string>(["/rest/v1", "/api"], c.ServerPathPrefixes);
        Assert.Equal(Path.GetTempPath(), c.ServerStaticDir);
        Assert.Equal(100, c.ServerMaxBodySize);
        Assert.True(c.ServerEtag);
        Assert.Equal("max-age=60", c.ServerCacheControl!.For("items"));
        Assert.Equal<string>(["gzip", "br"], c.ServerCompression);
        Assert.Equal(10, c.ServerCompressionMinSize);
        Assert.Equal(TimeSpan.FromSeconds(30), c.ServerResponseCache!.For("variant_overview"));
        Assert.Equal(TimeSpan.FromMinutes(5), c.ServerResponseCache.For("rpc/statistics"));
        Assert.Null(c.ServerResponseCache.For("other"));
        Assert.Equal(1000000, c.ServerResponseCacheSize);
        Assert.True(c.JobsEnabled);
        Assert.Equal<string>(["generations", "webhooks"], c.JobsQueues);
        Assert.Equal(5000, c.JobsLease);
        Assert.Equal(250, c.JobsPollInterval);
    }

    [Theory]
    [InlineData("PGRST_DB_URI", "postgres://env/db")]
    [InlineData("PGRST_DB_SCHEMAS", "env_schema")]
    [InlineData("PGRST_SERVER_PORT", "4000")]
    [InlineData("PGRST_DB_ANON_ROLE", "env_anon")]
    [InlineData("PGRST_JWT_SECRET_IS_BASE64", "false")]
    public void An_environment_variable_overrides_the_file(string name, string value)
    {
        var file = """
            db-uri = "postgres://file/db"
            db-schemas = "file_schema"
            server-port = 3001
            db-anon-role = "file_anon"
            jwt-secret-is-base64 = false
            """;
        var (c, _) = Load(file, (name, value));
        switch (name)
        {
            case "PGRST_DB_URI": Assert.Equal(value, c.DbUri); break;
            case "PGRST_DB_SCHEMAS": Assert.Equal<string>([value], c.DbSchemas); break;
            case "PGRST_SERVER_PORT": Assert.Equal(4000, c.ServerPort); break;
            case "PGRST_DB_ANON_ROLE": Assert.Equal(value, c.DbAnonRole); break;
            default: Assert.False(c.JwtSecretIsBase64); break;
        }
    }

    [Fact]
    public void An_empty_environment_variable_unsets_the_option_even_when_the_file_sets_it()
    {
        // PostgREST looks at the variable first and, if it exists, not at the file; "" then means unset.
        var (c, _) = Load("db-anon-role = \"file_anon\"\ndb-schemas = \"api\"", ("PGRST_DB_ANON_ROLE", ""), ("PGRST_DB_SCHEMAS", ""));
        Assert.Null(c.DbAnonRole);
        Assert.Equal<string>(["public"], c.DbSchemas);
    }

    public static TheoryData<string, object, object> Aliases => new()
    {
        { "db-schema = \"api\"", (Func<AppConfig, object?>)(c => string.Join(',', c.DbSchemas)), "api" },
        { "max-rows = 7", (Func<AppConfig, object?>)(c => c.DbMaxRows), 7L },
        { "pre-request = \"s.f\"", (Func<AppConfig, object?>)(c => c.DbPreRequest), new QualifiedName("s", "f") },
        { "root-spec = \"s.root\"", (Func<AppConfig, object?>)(c => c.DbRootSpec), new QualifiedName("s", "root") },
        { "role-claim-key = \"$$.r\"", (Func<AppConfig, object?>)(c => c.JwtRoleClaimKey), "$.r" },
        { "secret-is-base64 = true\njwt-secret = \"cmVhbGx5cmVhbGx5cmVhbGx5cmVhbGx5dmVyeXNhZmU=\"", (Func<AppConfig, object?>)(c => c.JwtSecretIsBase64), true },
        { "db-pool-timeout = 12", (Func<AppConfig, object?>)(c => c.DbPoolMaxIdletime), 12 },
        // The new name wins over the old one...
        { "db-schemas = \"new\"\ndb-schema = \"old\"", (Func<AppConfig, object?>)(c => string.Join(',', c.DbSchemas)), "new" },
        { "db-max-rows = 1\nmax-rows = 2", (Func<AppConfig, object?>)(c => c.DbMaxRows), 1L },
        // ...except for the pool idle time, where PostgREST reads db-pool-timeout first.
        { "db-pool-max-idletime = 1\ndb-pool-timeout = 2", (Func<AppConfig, object?>)(c => c.DbPoolMaxIdletime), 2 },
        { "server-host = \"10.0.0.1\"", (Func<AppConfig, object?>)(c => c.AdminServerHost), "10.0.0.1" },
        { "server-host = \"10.0.0.1\"\nadmin-server-host = \"127.0.0.1\"", (Func<AppConfig, object?>)(c => c.AdminServerHost), "127.0.0.1" },
    };

    [Theory]
    [MemberData(nameof(Aliases))]
    public void An_old_option_name_is_still_accepted(string file, object get, object expected)
    {
        var (c, warnings) = Load(file);
        Assert.Equal(expected, ((Func<AppConfig, object?>)get)(c));
        Assert.Empty(warnings);
    }

    [Fact]
    public void An_alias_is_read_from_its_own_environment_variable()
    {
        var (c, _) = Load("", ("PGRST_DB_SCHEMA", "legacy"), ("PGRST_MAX_ROWS", "9"));
        Assert.Equal<string>(["legacy"], c.DbSchemas);
        Assert.Equal(9, c.DbMaxRows);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("True", true)]
    [InlineData("TRUE", true)]
    [InlineData("\"true\"", true)]
    [InlineData("false", false)]
    [InlineData("False", false)]
    [InlineData("1", true)]
    [InlineData("5", true)]
    [InlineData("0", false)]
    [InlineData("-1", false)]
    public void A_boolean_in_the_environment_is_coerced_like_PostgREST(string value, bool expected)
    {
        var (c, _) = Load("", ("PGRST_DB_PLAN_ENABLED", value));
        Assert.Equal(expected, c.DbPlanEnabled);
    }

    [Theory]
    [InlineData("db-plan-enabled = true", true)]
    [InlineData("db-plan-enabled = on", true)]
    [InlineData("db-plan-enabled = \"true\"", true)]
    [InlineData("db-plan-enabled = \"True\"", true)]
    [InlineData("db-plan-enabled = 1", true)]
    [InlineData("db-plan-enabled = false", false)]
    [InlineData("db-plan-enabled = off", false)]
    [InlineData("db-plan-enabled = \"\"", false)]
    public void A_boolean_in_the_file_may_be_a_bool_a_string_or_a_number(string file, bool expected) =>
        Assert.Equal(expected, Load(file).Config.DbPlanEnabled);

    [Theory]
    [InlineData("server-port = 8080", 8080)]
    [InlineData("server-port = \"8080\"", 8080)]
    [InlineData("server-port = \" 8080 \"", 8080)]
    [InlineData("server-port = 8080.0", 8080)]
    [InlineData("server-port = 8e3", 8000)]
    [InlineData("server-port = \"\"", 3000)]
    public void An_integer_may_be_a_number_or_a_string(string file, int expected) =>
        Assert.Equal(expected, Load(file).Config.ServerPort);

    [Fact]
    public void Db_max_rows_accepts_values_beyond_32_bits()
    {
        Assert.Equal(5_000_000_000L, Load("db-max-rows = 5000000000").Config.DbMaxRows);
    }

    [Theory]
    [InlineData("", new[] { "public" })]
    [InlineData("db-extra-search-path = \"\"", new string[0])]
    [InlineData("db-extra-search-path = \"ext\"", new[] { "ext" })]
    [InlineData("db-extra-search-path = \" a ,b \"", new[] { "a", "b" })]
    public void Db_extra_search_path_treats_empty_as_the_empty_list(string file, string[] expected) =>
        Assert.Equal(expected, Load(file).Config.DbExtraSearchPath);

    [Fact]
    public void Db_extra_search_path_set_empty_in_the_environment_is_the_empty_list() =>
        Assert.Empty(Load("db-extra-search-path = \"ext\"", ("PGRST_DB_EXTRA_SEARCH_PATH", "")).Config.DbExtraSearchPath);

    [Theory]
    [InlineData("", new string[0])]
    [InlineData("server-cors-allowed-origins = \"\"", new string[0])]
    [InlineData("server-cors-allowed-origins = \"https://a.example\"", new[] { "https://a.example" })]
    public void Server_cors_allowed_origins_unset_or_empty_means_any_origin(string file, string[] expected) =>
        Assert.Equal(expected, Load(file).Config.ServerCorsAllowedOrigins);

    [Theory]
    [InlineData("db-hoisted-tx-settings = \"\"", 3)]
    [InlineData("db-anon-role = \"\"", 0)]
    public void An_empty_string_counts_as_unset(string file, int hoisted)
    {
        var (c, _) = Load(file);
        Assert.Null(c.DbAnonRole);
        if (hoisted > 0) Assert.Equal(hoisted, c.DbHoistedTxSettings.Length);
    }

    [Theory]
    [InlineData("commit", TxEnd.Commit)]
    [InlineData("commit-allow-override", TxEnd.CommitAllowOverride)]
    [InlineData("rollback", TxEnd.Rollback)]
    [InlineData("rollback-allow-override", TxEnd.RollbackAllowOverride)]
    public void Db_tx_end_accepts_its_four_values(string value, object expected) =>
        Assert.Equal((TxEnd)expected, Load($"db-tx-end = \"{value}\"").Config.DbTxEnd);

    [Theory]
    [InlineData("crit", LogLevel.Crit)]
    [InlineData("error", LogLevel.Error)]
    [InlineData("warn", LogLevel.Warn)]
    [InlineData("info", LogLevel.Info)]
    [InlineData("debug", LogLevel.Debug)]
    public void Log_level_accepts_its_five_values(string value, object expected) =>
        Assert.Equal((LogLevel)expected, Load($"log-level = \"{value}\"").Config.LogLevel);

    [Theory]
    [InlineData("follow-privileges", OpenApiMode.FollowPrivileges)]
    [InlineData("ignore-privileges", OpenApiMode.IgnorePrivileges)]
    [InlineData("disabled", OpenApiMode.Disabled)]
    public void Openapi_mode_accepts_its_three_values(string value, object expected) =>
        Assert.Equal((OpenApiMode)expected, Load($"openapi-mode = \"{value}\"").Config.OpenApiMode);

    [Theory]
    [InlineData("660", 432)]
    [InlineData("600", 384)]
    [InlineData("777", 511)]
    [InlineData("0660", 432)]
    [InlineData("644abc", 420)]
    public void A_socket_mode_is_read_as_octal(string value, int expected)
    {
        var (c, _) = Load($"server-unix-socket-mode = \"{value}\"\nadmin-server-unix-socket-mode = \"{value}\"");
        Assert.Equal(expected, c.ServerUnixSocketMode);
        Assert.Equal(expected, c.AdminServerUnixSocketMode);
    }

    [Theory]
    [InlineData("api.check", "api", "check")]
    [InlineData("check", "", "check")]
    [InlineData("a.b.c", "a", "b.c")]
    public void Function_names_are_split_on_the_first_dot(string value, string schema, string name)
    {
        var (c, _) = Load($"db-pre-request = \"{value}\"\ndb-root-spec = \"{value}\"\ndb-pre-config = \"{value}\"");
        Assert.Equal(new QualifiedName(schema, name), c.DbPreRequest);
        Assert.Equal(new QualifiedName(schema, name), c.DbRootSpec);
        Assert.Equal(new QualifiedName(schema, name), c.DbPreConfig);
    }

    [Fact]
    public void App_settings_come_from_the_file_and_the_environment_sorted_with_the_environment_winning()
    {
        var (c, warnings) = Load("""
            app.settings.jwt_exp = "3600"
            app.settings.shared = "from file"
            app.settings.number = 42
            app.settings.flag = true
            app.settings.empty = ""
            """, ("PGRST_APP_SETTINGS_shared", "from env"), ("PGRST_APP_SETTINGS_MixedCase", "kept"));
        Assert.Empty(warnings);
        Assert.Equal<KeyValuePair<string, string>>(
            [
                new("app.settings.MixedCase", "kept"),
                new("app.settings.empty", ""),
                new("app.settings.flag", "true"),
                new("app.settings.jwt_exp", "3600"),
                new("app.settings.number", "42"),
                new("app.settings.shared", "from env"),
            ],
            c.AppSettings);
    }

    [Fact]
    public void A_nested_app_setting_is_ignored_with_a_warning()
    {
        var (c, warnings) = Load("app.settings.a.b = \"x\"");
        Assert.Empty(c.AppSettings);
        Assert.Equal<string>(["restgres: unknown option 'app.settings.a.b' ignored"], warnings);
    }

    [Fact]
    public void App_settings_can_be_written_as_groups() =>
        Assert.Equal<KeyValuePair<string, string>>([new("app.settings.name", "v")], Load("app { settings { name = \"v\" } }").Config.AppSettings);

    [Fact]
    public void A_db_uri_starting_with_at_is_read_from_that_file_and_trimmed()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "  postgres://from-file/db\n\n");
            Assert.Equal("postgres://from-file/db", Load($"db-uri = \"@{file}\"").Config.DbUri);
            Assert.Equal("postgres://from-file/db", Load("", ("PGRST_DB_URI", "@" + file)).Config.DbUri);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void A_jwt_secret_starting_with_at_is_read_from_that_file_without_its_last_newline()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, " reallyreallyreallyreallyverysafe \n");
            var c = Load($"jwt-secret = \"@{file}\"").Config;
            Assert.Equal(" reallyreallyreallyreallyverysafe ", c.JwtSecret);
            Assert.Equal(34, c.JwtSecretBytes.Length);
        }
        finally
        {
            File.Delete(file);
        }
    }


    [Fact]
    public void A_binary_jwt_secret_file_is_the_key_byte_for_byte()
    {
        // Bytes that are no UTF-8: decoding them as text would turn each into U+FFFD and sign with another key.
        byte[] key = [.. Enumerable.Range(0, 40).Select(i => (byte)(0x80 + (i * 7 % 120)))];
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(file, [.. key, (byte)'\n']);
            Assert.Equal(key, Load($"jwt-secret = \"@{file}\"").Config.JwtSecretBytes.ToArray());
            File.WriteAllBytes(file, key);
            Assert.Equal(key, Load($"jwt-secret = \"@{file}\"").Config.JwtSecretBytes.ToArray());
        }
        finally
        {
            File.Delete(file);
        }
    }
    [Fact]
    public void The_session_connections_go_to_db_listener_uri_when_set_and_to_db_uri_otherwise()
    {
        var pooled = Load("db-uri = \"postgres://app@pooler:6432/app\"").Config;
        Assert.Equal("pooler", new Npgsql.NpgsqlConnectionStringBuilder(Restgres.Execution.DataSources.ListenerConnectionString(pooled)).Host);
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "postgres://app@direct:5432/app\n");
            var split = Load($"db-uri = \"postgres://app@pooler:6432/app\"\ndb-listener-uri = \"@{file}\"").Config;
            var listener = new Npgsql.NpgsqlConnectionStringBuilder(Restgres.Execution.DataSources.ListenerConnectionString(split));
            Assert.Equal(("direct", 5432, false), (listener.Host, listener.Port, listener.Pooling));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void A_malformed_db_listener_uri_is_a_config_error_naming_the_option()
    {
        var e = LoadFails("db-listener-uri = \"postgres://app@direct:notaport/app\"");
        Assert.Equal("db-listener-uri", e.Option);
        Assert.StartsWith("Invalid db-listener-uri: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_at_file_is_a_config_error_naming_the_option()
    {
        var e = LoadFails("jwt-secret = \"@/nonexistent/secret\"");
        Assert.Equal("jwt-secret", e.Option);
        Assert.StartsWith("Invalid jwt-secret: cannot read the file '/nonexistent/secret'", e.Message, StringComparison.Ordinal);
        e = LoadFails("db-uri = \"@/nonexistent/uri\"");
        Assert.StartsWith("Invalid db-uri: cannot read the file '/nonexistent/uri'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cmVhbGx5cmVhbGx5cmVhbGx5cmVhbGx5dmVyeXNhZmU=")]
    [InlineData(" cmVhbGx5cmVhbGx5cmVhbGx5cmVhbGx5dmVyeXNhZmU= ")]
    [InlineData("cmVhbGx5cmVhbGx5cmVhbGx5cmVhbGx5dmVyeXNhZmU.")] // URL-safe padding
    public void A_base64_secret_is_decoded(string secret)
    {
        var c = Load($"jwt-secret = \"{secret}\"\njwt-secret-is-base64 = true").Config;
        Assert.True(c.JwtSecretIsBase64);
        Assert.Equal(secret, c.JwtSecret);
        Assert.Equal("reallyreallyreallyreallyverysafe", Encoding.UTF8.GetString(c.JwtSecretBytes.AsSpan()));
    }

    [Fact]
    public void A_base64_secret_with_url_safe_characters_is_decoded()
    {
        var bytes = Enumerable.Range(0, 48).Select(i => (byte)(i * 5 + 250)).ToArray();
        var urlSafe = Convert.ToBase64String(bytes).Replace('+', '-').Replace('/', '_');
        var c = Load("", ("PGRST_JWT_SECRET", urlSafe), ("PGRST_JWT_SECRET_IS_BASE64", "true")).Config;
        Assert.Equal(bytes, c.JwtSecretBytes);
    }

    [Theory]
    [InlineData("""{"kty":"oct","k":"c2hvcnQ"}""")]
    [InlineData("""{"keys":[]}""")]
    public void A_short_JSON_web_key_is_accepted_as_the_secret(string jwk)
    {
        var c = Load("", ("PGRST_JWT_SECRET", jwk)).Config;
        Assert.Equal(jwk, c.JwtSecret);
    }

    [Fact]
    public void Restgres_path_prefixes_are_trimmed_and_deduplicated() =>
        Assert.Equal<string>(["/a", "/b/c"], Load("server-path-prefixes = \" /a, /b/c ,, /a\"").Config.ServerPathPrefixes);

    [Fact]
    public void Restgres_static_dir_must_be_an_existing_directory()
    {
        var dir = Directory.CreateTempSubdirectory("restgres-static-");
        try
        {
            Assert.Equal(dir.FullName, Load($"server-static-dir = \"{dir.FullName}\"").Config.ServerStaticDir);
        }
        finally
        {
            dir.Delete();
        }
        var e = LoadFails("server-static-dir = \"/nonexistent/static\"");
        Assert.Equal("Invalid server-static-dir: '/nonexistent/static' is not a directory", e.Message);
    }

    public static TheoryData<string, string, string> InvalidValues => new()
    {
        // file, option named, message
        { "client-error-verbosity = \"loud\"", "client-error-verbosity", "Invalid client-error-verbosity. Check your configuration." },
        { "openapi-mode = \"all\"", "openapi-mode", "Invalid openapi-mode. Check your configuration." },
        { "log-level = \"trace\"", "log-level", "Invalid logging level. Check your configuration. (log-level)" },
        { "db-tx-end = \"abort\"", "db-tx-end", "Invalid transaction termination. Check your configuration. (db-tx-end)" },
        { "db-schemas = \"api, pg_catalog\"", "db-schemas", "db-schemas does not allow schema: 'pg_catalog'" },
        { "db-schemas = \"information_schema\"", "db-schemas", "db-schemas does not allow schema: 'information_schema'" },
        { "db-schema = \"pg_catalog\"", "db-schemas", "db-schemas does not allow schema: 'pg_catalog'" },
        { "admin-server-port = 3000", "admin-server-port", "admin-server-port cannot be the same as server-port" },
        { "server-port = 4000\nadmin-server-port = 4000", "admin-server-port", "admin-server-port cannot be the same as server-port" },
        { "server-unix-socket-mode = \"abc\"", "server-unix-socket-mode", "Invalid server-unix-socket-mode: not an octal" },
        { "server-unix-socket-mode = \"900\"", "server-unix-socket-mode", "Invalid server-unix-socket-mode: not an octal" },
        { "server-unix-socket-mode = \"500\"", "server-unix-socket-mode", "Invalid server-unix-socket-mode: needs to be between 600 and 777" },
        { "admin-server-unix-socket-mode = \"1777\"", "admin-server-unix-socket-mode", "Invalid admin-server-unix-socket-mode: needs to be between 600 and 777" },
        { "openapi-server-proxy-uri = \"example.com\"", "openapi-server-proxy-uri", "Malformed proxy uri, a correct example: https://example.com:8443/basePath (openapi-server-proxy-uri)" },
        { "jwt-aud = \"not a:uri\"", "jwt-aud", "jwt-aud should be a string or a valid URI" },
        { "jwt-secret = \"tooshort\"", "jwt-secret", "The JWT secret must be at least 32 characters long. (jwt-secret)" },
        { "jwt-secret = \"c2hvcnQ=\"\njwt-secret-is-base64 = true", "jwt-secret", "The JWT secret must be at least 32 characters long. (jwt-secret)" },
        { "jwt-secret = \"not base64!\"\njwt-secret-is-base64 = true", "jwt-secret", "Invalid jwt-secret: jwt-secret-is-base64 is true but the secret is not valid base64" },
        { "server-port = \"abc\"", "server-port", "Invalid server-port: expected an integer, got 'abc'" },
        { "server-port = 1.5", "server-port", "Invalid server-port: expected an integer, got '1.5'" },
        { "server-port = \"+80\"", "server-port", "Invalid server-port: expected an integer, got '+80'" },
        { "server-port = 70000", "server-port", "Invalid server-port: 70000 is not a port number (0-65535)" },
        { "admin-server-port = -1", "admin-server-port", "Invalid admin-server-port: -1 is not a port number (0-65535)" },
        { "db-pool = 0", "db-pool", "Invalid db-pool: 0, the pool needs at least one connection" },
        { "db-pool = 99999999999", "db-pool", "Invalid db-pool: 99999999999 is out of range" },
        { "db-pool-acquisition-timeout = -1", "db-pool-acquisition-timeout", "Invalid db-pool-acquisition-timeout: -1, it cannot be negative" },
        { "db-pool-max-lifetime = -1", "db-pool-max-lifetime", "Invalid db-pool-max-lifetime: -1, it cannot be negative" },
        { "db-pool-max-idletime = -1", "db-pool-max-idletime", "Invalid db-pool-max-idletime: -1, it cannot be negative" },
        { "db-max-rows = \"ten\"", "db-max-rows", "Invalid db-max-rows: expected an integer, got 'ten'" },
        { "db-plan-enabled = \"maybe\"", "db-plan-enabled", "Invalid db-plan-enabled: expected a boolean (true or false), got 'maybe'" },
        { "db-plan-enabled = 0.5", "db-plan-enabled", "Invalid db-plan-enabled: expected a boolean (true or false), got '0.5'" },
        { "db-schemas = [\"a\", \"b\"]", "db-schemas", "Invalid db-schemas: a list is not accepted here, use a comma-separated \"string\"" },
        { "app.settings.x = [1]", "app.settings.x", "Invalid app.settings.x: a list is not accepted here, use a comma-separated \"string\"" },
        { "jwt-role-claim-key = \"role\"", "jwt-role-claim-key", "failed to parse role-claim-key value (role): unexpected 'r' at position 1, expected '.key', '[index]' or '[?(@ == \"value\")]'" },
        { "jwt-role-claim-key = \"$$.a[\"", "jwt-role-claim-key", "failed to parse role-claim-key value ($.a[): expected a selector: 'name', index, slice, '*' or ?filter but the path ended at position 5" },
        { "log-format = \"xml\"", "log-format", "Invalid log-format 'xml'. Admitted values: text, json." },
        { "trace-exporter = \"jaeger\"", "trace-exporter", "Invalid trace-exporter. Admitted values: off, otlp, console." },
        { "trace-otlp-protocol = \"http\"", "trace-otlp-protocol", "Invalid trace-otlp-protocol. Admitted values: grpc, http/protobuf." },
        { "trace-sample-ratio = \"1.5\"", "trace-sample-ratio", "Invalid trace-sample-ratio '1.5': a number from 0 to 1." },
        { "trace-sample-ratio = \"half\"", "trace-sample-ratio", "Invalid trace-sample-ratio 'half': a number from 0 to 1." },
        { "server-path-prefixes = \"api\"", "server-path-prefixes", "Invalid server-path-prefixes: 'api' must start with '/'" },
        { "server-path-prefixes = \"/api/\"", "server-path-prefixes", "Invalid server-path-prefixes: '/api/' must not end with '/'" },
        { "server-path-prefixes = \"/\"", "server-path-prefixes", "Invalid server-path-prefixes: '/' must not end with '/'" },
        { "server-path-prefixes = \"/a?b\"", "server-path-prefixes", "Invalid server-path-prefixes: '/a?b' must be a plain path (no '?', '#' or spaces)" },
        { "server-response-cache = \"items\"", "server-response-cache", "Invalid server-response-cache: 'items' is not 'path: value'" },
        { "server-response-cache = \"items: 0s\"", "server-response-cache", "Invalid server-response-cache: the time to live of 'items' must be a positive duration such as 500ms, 30s, 5m, 1h or 1d, got '0s'" },
        { "server-response-cache = \"items: -5m\"", "server-response-cache", "Invalid server-response-cache: the time to live of 'items' must be a positive duration such as 500ms, 30s, 5m, 1h or 1d, got '-5m'" },
        { "server-response-cache = \"items: soon\"", "server-response-cache", "Invalid server-response-cache: the time to live of 'items' must be a positive duration such as 500ms, 30s, 5m, 1h or 1d, got 'soon'" },
        { "server-response-cache = \"items: 1m; items: 2m\"", "server-response-cache", "Invalid server-response-cache: 'items' is named twice" },
        { "server-idempotency = \"orders\"", "server-idempotency", "Invalid server-idempotency: 'orders' is not 'path: value'" },
        { "server-idempotency = \"orders: forever\"", "server-idempotency", "Invalid server-idempotency: the time to live of 'orders' must be a positive duration such as 500ms, 30s, 5m, 1h or 1d, got 'forever'" },
        { "server-idempotency = \"orders: 1h; /orders: 2h\"", "server-idempotency", "Invalid server-idempotency: 'orders' is named twice" },
        { "jobs-lease = 50", "jobs-lease", "Invalid jobs-lease: 50, a lease lasts at least 100 ms" },
        { "jobs-poll-interval = 5", "jobs-poll-interval", "Invalid jobs-poll-interval: 5, poll at most every 10 ms" },
        { "db-group-commit-max-requests = 0", "db-group-commit-max-requests", "Invalid db-group-commit-max-requests: 0, a batch holds at least one request" },
        { "db-group-commit-window = -1", "db-group-commit-window", "Invalid db-group-commit-window: -1, it cannot be negative" },
        { "db-group-commit-max-inflight = -1", "db-group-commit-max-inflight", "Invalid db-group-commit-max-inflight: -1, it cannot be negative" },
        { "db-read-replicas = \"postgresql://u:secret@replica/app?fast=1\"", "db-read-replicas", "Invalid db-read-replicas: 'postgresql://u:***@replica/app?fast=1': unsupported connection parameter 'fast'" },
        { "db-read-replicas = \"postgresql://replica1/app,,postgresql://replica2/app\"", "db-read-replicas", "Invalid db-read-replicas: an empty URI in the list" },
        { "db-read-replica-max-lag = -1", "db-read-replica-max-lag", "Invalid db-read-replica-max-lag: -1, it cannot be negative" },
        { "server-response-cache-size = 0", "server-response-cache-size", "Invalid server-response-cache-size: 0 is not a positive number of bytes" },
        { "server-response-cache-size = -1", "server-response-cache-size", "Invalid server-response-cache-size: -1 is not a positive number of bytes" },
    };

    [Theory]
    [MemberData(nameof(InvalidValues))]
    public void An_invalid_value_stops_loading_with_a_one_line_message_naming_the_option(string file, string option, string message)
    {
        var e = LoadFails(file);
        Assert.Equal(message, e.Message);
        Assert.Equal(option, e.Option);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void An_invalid_value_in_the_environment_is_reported_the_same_way()
    {
        var e = LoadFails("", ("PGRST_OPENAPI_MODE", "nope"));
        Assert.Equal("Invalid openapi-mode. Check your configuration.", e.Message);
    }

    [Theory]
    [InlineData("http://example.com")]
    [InlineData("https://example.com:8443/basePath")]
    [InlineData("HTTPS://example.com/a/b%20c")]
    [InlineData("http://[::1]:3000/")]
    public void A_well_formed_proxy_uri_is_accepted(string uri) =>
        Assert.Equal(uri, Load($"openapi-server-proxy-uri = \"{uri}\"").Config.OpenApiServerProxyUri);

    [Theory]
    [InlineData("ftp://example.com")]
    [InlineData("http://example.com/?q=1")]
    [InlineData("http://example.com/#frag")]
    [InlineData("http://user@example.com")]
    [InlineData("http://example.com:0")]
    [InlineData("http://example.com:65536")]
    [InlineData("http://example.com:")]
    [InlineData("http:///path")]
    [InlineData("/relative/path")]
    public void A_malformed_proxy_uri_is_refused(string uri) =>
        Assert.Equal("openapi-server-proxy-uri", LoadFails($"openapi-server-proxy-uri = \"{uri}\"").Option);

    [Theory]
    [InlineData("my-audience")]
    [InlineData("urn:example:aud")]
    [InlineData("https://example.com/path?x=1#frag")]
    public void Jwt_aud_is_a_string_or_a_uri(string aud) => Assert.Equal(aud, Load($"jwt-aud = \"{aud}\"").Config.JwtAud);

    [Fact]
    public void Every_option_has_its_effect_so_setting_any_warns_of_nothing()
    {
        // PostgREST's test hooks were the last options accepted without an effect; the loader still warns for an
        // option marked not implemented, and the table should mark none.
        Assert.All(ConfigOptions.All, o => Assert.True(o.Implemented, o.Name));
        var (_, warnings) = Load("""
            internal-schema-cache-query-sleep = 10
            internal-schema-cache-query-sleep-before-queries = 20
            server-unix-socket = "/tmp/pgrst.sock"
            server-reuseport = true
            db-pre-config = "postgrest.pre_config"
            jwt-cache-max-entries = 0
            """);
        Assert.Empty(warnings);
    }

    [Fact]
    public void Unknown_options_in_the_file_warn_and_unknown_variables_only_at_log_level_debug()
    {
        var (c, warnings) = Load("db-shemas = \"typo\"\nserver.port = 1", ("PGRST_SERVER_PROT", "1"), ("PATH", "/bin"));
        Assert.Equal<string>(["public"], c.DbSchemas);
        Assert.Equal(["restgres: unknown option 'db-shemas' ignored", "restgres: unknown option 'server.port' ignored"], warnings);
        (_, warnings) = Load("log-level = \"debug\"", ("PGRST_SERVER_PROT", "1"), ("PATH", "/bin"));
        Assert.Equal(["restgres: unknown option 'PGRST_SERVER_PROT' ignored"], warnings);
    }

    [Fact]
    public void The_deprecated_role_claim_key_syntax_is_accepted_with_PostgREST_s_warning_and_the_JSON_Path_to_use()
    {
        var (c, warnings) = Load("jwt-role-claim-key = \".postgrest.roles[0]\"");
        Assert.Equal(".postgrest.roles[0]", c.JwtRoleClaimKey);
        Assert.True(c.JwtRoleClaimPath.IsDeprecatedSyntax);
        Assert.Equal(
            [
                "WARNING: The config `jwt-role-claim-key=.\"postgrest\".\"roles\"[0]` is using the deprecated JSPath syntax.",
                "Update `jwt-role-claim-key=.\"postgrest\".\"roles\"[0]` to the new JSONPath syntax as support for JSPath will be removed in a future release. "
                    + "See the migration guide on how to update: https://github.com/PostgREST/postgrest/blob/main/CHANGELOG.md#migration-to-v16",
                "restgres: the JSON Path equivalent of jwt-role-claim-key '.postgrest.roles[0]' is '$.postgrest.roles[0]'",
            ],
            warnings);
    }

    [Fact]
    public void A_role_claim_key_from_the_environment_needs_no_dollar_escaping()
    {
        var (c, _) = Load("", ("PGRST_JWT_ROLE_CLAIM_KEY", "$.app_metadata.role"));
        Assert.Equal("$.app_metadata.role", c.JwtRoleClaimKey);
    }

    [Fact]
    public void Loading_a_file_by_path_records_the_path()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "db-schemas = \"api\"\n");
            var c = ConfigLoader.Load(file, ImmutableDictionary<string, string>.Empty, _ => { });
            Assert.Equal<string>(["api"], c.DbSchemas);
            Assert.Equal(file, c.ConfigFilePath);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void The_example_config_loads_without_warnings_and_means_the_defaults()
    {
        var (c, warnings) = Load(Restgres.Cli.ConfigExample.Text);
        Assert.Equal<string>([], warnings);
        var (defaults, _) = Load();
        Assert.Equal(defaults.DbUri, c.DbUri);
        Assert.Equal<string>(defaults.DbSchemas, c.DbSchemas);
        Assert.Equal<string>(defaults.DbHoistedTxSettings, c.DbHoistedTxSettings);
        Assert.Equal(defaults.JwtRoleClaimKey, c.JwtRoleClaimKey);
        Assert.Equal(defaults with { JwtRoleClaimPath = c.JwtRoleClaimPath, DbSchemas = c.DbSchemas,
            DbExtraSearchPath = c.DbExtraSearchPath, DbHoistedTxSettings = c.DbHoistedTxSettings,
            AppSettings = c.AppSettings, ServerCorsAllowedOrigins = c.ServerCorsAllowedOrigins,
            ServerPathPrefixes = c.ServerPathPrefixes, JwtSecretBytes = c.JwtSecretBytes }, c);
    }

    [Theory]
    // A key set whose key has an invalid parameter (n is not base64url), a JWK without kty, any other JSON object.
    [InlineData("""{"keys":[{"kty":"RSA","n":"not base64!","e":"AQAB"}]}""")]
    [InlineData("""{"n":"sXch","e":"AQAB"}""")]
    [InlineData("""{"secret":"a-very-long-shared-secret-of-many-characters"}""")]
    public void A_json_secret_that_is_no_valid_jwk_or_key_set_is_refused(string secret)
    {
        // PostgREST would use the JSON text as an HS256 secret: a published key set would let anyone sign tokens.
        var e = LoadFails("jwt-secret = " + Quote(secret));
        Assert.Contains("not a valid JSON Web Key", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"kty":"oct","k":"cmVhbGx5cmVhbGx5cmVhbGx5cmVhbGx5dmVyeXNhZmU"}""")]
    [InlineData("""{"keys":[{"kty":"RSA","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}]}""")]
    [InlineData("a plain secret of more than thirty-two characters")]
    public void Valid_keys_and_plain_secrets_are_accepted(string secret) => Assert.NotNull(Load("jwt-secret = " + Quote(secret)).Config.JwtSecret);

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}

