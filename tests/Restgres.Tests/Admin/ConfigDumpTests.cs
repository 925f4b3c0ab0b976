using Restgres.Admin;
using Restgres.Config;
using Xunit;

namespace Restgres.Tests.Admin;

/// <summary>The admin server's /config text: PostgREST's --dump-config format, secrets redacted.</summary>
public sealed class ConfigDumpTests
{
    [Theory]
    [InlineData("postgres://user:pw@host:5432/db", "postgres://user:<redacted>@host:5432/db")]
    [InlineData("postgresql://user@host/db", "postgresql://user@host/db")]
    [InlineData("postgres://host/db?user=u&password=pw&sslmode=require", "postgres://host/db?user=u&password=<redacted>&sslmode=require")]
    [InlineData("host=localhost password=pw dbname=x", "host=localhost password=<redacted> dbname=x")]
    [InlineData("host=localhost password='p w' dbname=x", "host=localhost password=<redacted> dbname=x")]
    [InlineData("postgresql://", "postgresql://")]
    // A pattern stopping at the first '@' showed "ss@h" of this password; libpq splits at the last '@'.
    [InlineData("postgres://u:p@ss@h/db", "postgres://u:<redacted>@h/db")]
    [InlineData("postgres://u@h/db?sslpassword=key-pass&sslmode=verify-full", "postgres://u@h/db?sslpassword=<redacted>&sslmode=verify-full")]
    [InlineData("host=h sslpassword=kp password=pw", "host=h sslpassword=<redacted> password=<redacted>")]
    [InlineData("host=h password", "<redacted>")]
    public void The_db_uri_password_is_redacted(string uri, string shown)
    {
        Assert.Equal(shown, ConfigDump.RedactDbUri(uri));
    }

    [Fact]
    public void The_dump_has_sorted_key_value_lines_in_PostgREST_format()
    {
        var config = ConfigLoader.LoadText("""
            db-uri = "postgres://authenticator:pw@localhost/app"
            db-schemas = "api, v2"
            db-anon-role = "anon"
            db-max-rows = 100
            jwt-secret = "reallyreallyreallyreallyverysafe"
            app.settings.jwt_key = "k"
            app.settings.name = "say \"hi\""
            """, new Dictionary<string, string>(), _ => { });
        var text = ConfigDump.ToText(config);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(lines.Order(StringComparer.Ordinal), lines);
        Assert.Contains("db-schemas = \"api,v2\"", lines);
        Assert.Contains("db-max-rows = 100", lines);
        Assert.Contains("db-pool = 10", lines);
        Assert.Contains("db-tx-end = \"commit\"", lines);
        Assert.Contains("admin-server-port = \"\"", lines);
        Assert.Contains("server-unix-socket-mode = \"660\"", lines);
        Assert.Contains("log-level = \"error\"", lines);
        Assert.Contains("jwt-secret = \"<redacted>\"", lines);
        Assert.Contains("db-uri = \"postgres://authenticator:<redacted>@localhost/app\"", lines);
        Assert.Contains("app.settings.jwt_key = \"<redacted>\"", lines);
        Assert.Contains("app.settings.name = \"say \\\"hi\\\"\"", lines);
        Assert.DoesNotContain("reallyreally", text);
    }

    private static string[] Dump(string text) =>
        ConfigDump.ToText(ConfigLoader.LoadText(text, new Dictionary<string, string>(), _ => { }), redact: false)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void Dump_config_is_PostgREST_s_text_unredacted_and_reads_back_the_same()
    {
        const string text = """
            db-uri = "postgres://authenticator:pw@localhost/app"
            db-pool-max-idletime = 5
            jwt-secret = "reallyreallyreallyreallyverysafe"
            jwt-role-claim-key = "$$.user[0].real_role"
            server-unix-socket-mode = "777"
            """;
        var lines = Dump(text);

        Assert.Contains("db-uri = \"postgres://authenticator:pw@localhost/app\"", lines);
        Assert.Contains("jwt-secret = \"reallyreallyreallyreallyverysafe\"", lines);
        // '$' is the config file's escape character: the dump doubles it so that it reads back as written.
        Assert.Contains("jwt-role-claim-key = \"$$.user[0].real_role\"", lines);
        Assert.Contains("db-pool-max-idletime = 5", lines);
        Assert.Contains("server-unix-socket-mode = \"777\"", lines);
        Assert.Contains("admin-server-port = \"\"", lines);
        Assert.Equal(lines, Dump(string.Join('\n', lines)));
    }

    [Fact]
    public void Dump_config_shows_the_deprecated_role_claim_key_with_quoted_keys_as_PostgREST()
    {
        var lines = Dump("jwt-role-claim-key = \".roles[?(@ ^== \\\"role1\\\")]\"");

        Assert.Contains("jwt-role-claim-key = \".\\\"roles\\\"[?(@ ^== \\\"role1\\\")]\"", lines);
    }

    [Fact]
    public void Restgres_own_options_are_in_the_dump_only_when_set()
    {
        var plain = Dump("db-schemas = \"api\"");
        Assert.Equal(45, plain.Length);
        Assert.DoesNotContain(plain, l => l.StartsWith("server-compression", StringComparison.Ordinal) || l.StartsWith("log-format", StringComparison.Ordinal));

        var set = Dump("db-schemas = \"api\"\nlog-format = \"json\"");
        Assert.Contains("log-format = \"json\"", set);
    }
}
