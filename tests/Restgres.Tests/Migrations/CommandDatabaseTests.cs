using Restgres.Cli;
using Xunit;

namespace Restgres.Tests.Migrations;

/// <summary>The command-line tools find the database as the server does, with <c>--db-uri</c> over everything.</summary>
public sealed class CommandDatabaseTests : IDisposable
{
    private readonly string _file = Path.GetTempFileName();

    public CommandDatabaseTests() => File.WriteAllText(_file, "db-uri = \"postgresql://file@h/db\"\ndb-channel = \"mychannel\"\n");

    public void Dispose() => File.Delete(_file);

    [Fact]
    public void The_config_file_gives_the_database_and_the_rest_of_the_config() =>
        Assert.Equal(("postgresql://file@h/db", "mychannel"),
            (CommandDatabase.LoadConfig(_file, null, _ => { }, new Dictionary<string, string>()) is var c ? (c.DbUri, c.DbChannel) : default));

    [Fact]
    public void PGRST_DB_URI_overrides_the_file_and_db_uri_overrides_both()
    {
        var env = new Dictionary<string, string> { ["PGRST_DB_URI"] = "postgresql://env@h/db" };

        Assert.Equal("postgresql://env@h/db", CommandDatabase.LoadConfig(_file, null, _ => { }, env).DbUri);
        Assert.Equal("postgresql://arg@h/db", CommandDatabase.LoadConfig(_file, "postgresql://arg@h/db", _ => { }, env).DbUri);
        Assert.Equal("postgresql://arg@h/db", CommandDatabase.LoadConfig(null, "postgresql://arg@h/db", _ => { }, env).DbUri);
    }

    [Fact]
    public void A_db_listener_uri_is_the_session_the_tools_use_and_db_uri_overrides_it_too()
    {
        // Behind a transaction pooler: migrate's session advisory lock must not land on a pooled backend.
        var env = new Dictionary<string, string> { ["PGRST_DB_LISTENER_URI"] = "postgresql://direct@h/db" };
        Assert.Equal("postgresql://direct@h/db", CommandDatabase.LoadConfig(_file, null, _ => { }, env).DbListenerUri);
        Assert.Equal("postgresql://arg@h/db", CommandDatabase.LoadConfig(_file, "postgresql://arg@h/db", _ => { }, env).DbListenerUri);
    }
}
