using Restgres.Execution;
using Xunit;

namespace Restgres.Tests.Execution;

/// <summary>db-uri as libpq reads it, and its redaction for the admin /config output: what is hidden is exactly
/// what would be sent as a password.</summary>
public sealed class DbUriTests
{
    [Theory]
    [InlineData("postgres://u:p@ss@h/db", "u", "p@ss", "h", "db")]
    [InlineData("postgresql://app:s%40cret@db.example:6543/app", "app", "s@cret", "db.example", "app")]
    [InlineData("postgres://u@h1,h2:5433/x", "u", null, "h1,h2:5433", "x")]
    [InlineData("host=h user=u password='a b\\'c' dbname=d", "u", "a b'c", "h", "d")]
    public void Parameters_are_read_as_libpq_reads_them(string uri, string user, string? password, string host, string db)
    {
        var b = DbUri.Parse(uri);
        Assert.Equal((user, password, host, db), (b.Username, b.Password, b.Host, b.Database));
    }

    [Theory]
    [InlineData("postgres://u:p@ss@h/db", "postgres://u:***@h/db")]
    [InlineData("postgresql://u:pw@h/db?sslpassword=x&application_name=a", "postgresql://u:***@h/db?sslpassword=***&application_name=a")]
    [InlineData("postgres://u:pw@h/db?password=other", "postgres://u:***@h/db?password=***")]
    [InlineData("host=h password='a b' sslpassword=c user=u", "host=h password=*** sslpassword=*** user=u")]
    [InlineData("  postgres://u:pw@h/db  ", "  postgres://u:***@h/db  ")]
    [InlineData("postgres://u@h/db", "postgres://u@h/db")]
    [InlineData("postgres://u:@h/db", "postgres://u:@h/db")]
    [InlineData("postgresql://", "postgresql://")]
    public void Redaction_hides_every_password_and_nothing_else(string uri, string redacted) =>
        Assert.Equal(redacted, DbUri.Redact(uri, "***"));

    [Fact]
    public void Parameters_the_string_leaves_out_come_from_libpqs_environment_variables()
    {
        // PostgREST's default db-uri is "postgresql://": everything from PG* (this crashed with PGHOST set).
        var env = new Dictionary<string, string>
        {
            ["PGHOST"] = "db.internal", ["PGPORT"] = "6543", ["PGUSER"] = "app", ["PGDATABASE"] = "appdb",
            ["PGPASSWORD"] = "pw", ["PGOPTIONS"] = "-c search_path=x", ["PGAPPNAME"] = "svc",
        };
        var b = DbUri.Parse("postgresql://", env);
        Assert.Equal(("db.internal", 6543, "app", "appdb", "pw", "-c search_path=x", "svc"),
            (b.Host, b.Port, b.Username, b.Database, b.Password, b.Options, b.ApplicationName));

        // What the string gives wins.
        var given = DbUri.Parse("postgres://other@h2:5433/d2", env);
        Assert.Equal(("h2", 5433, "other", "d2", "pw"), (given.Host, given.Port, given.Username, given.Database, given.Password));
    }

    [Fact]
    public void Without_string_or_environment_libpqs_defaults_apply()
    {
        var b = DbUri.Parse("postgresql://", new Dictionary<string, string>());
        Assert.Equal(Directory.Exists("/var/run/postgresql") ? "/var/run/postgresql" : "localhost", b.Host);
        Assert.Equal(Environment.UserName, b.Username);
        Assert.Equal(Environment.UserName, b.Database);
    }
}

