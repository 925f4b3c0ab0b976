namespace Restgres.Cli;

/// <summary>The text printed by <c>restgres --example</c>.</summary>
internal static class ConfigExample
{
    public const string Text = """
        ## The standard connection URI format, documented at
        ## https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING
        db-uri = "postgresql://"

        ## The database role to use when no client authentication is provided
        # db-anon-role = "anon"

        ## The name of which database schema to expose to REST clients
        db-schemas = "public"

        ## Port the server is listening on for HTTP requests
        server-port = 3000
        """;
}
