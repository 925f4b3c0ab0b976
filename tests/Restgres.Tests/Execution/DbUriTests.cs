using Restgres.Execution;
using Xunit;

namespace Restgres.Tests.Execution;

/// <summary>db-uri as libpq reads it, and its redaction for the admin /config output: what is hidden is exactly
/// what would be sent as a password.</summary>
public sealed class DbUriTests
{
    [Theory]
    [InlineData("postgres://u:p@ss@h/db", "u", "p@ss", "h", "db")]
    [InlineData("postgresql://app:s%40cret@db.example:6543/app", "app", "s@cret", "db.example:6543", "app")]
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
}
