namespace Restgres.Dev;

/// <summary>
/// What <c>restgres dev</c> serves, named after the server options it sets (db-uri, db-schemas, db-anon-role,
/// jwt-secret, server-host, server-port, server-path-prefixes, server-static-dir). The dev tooling decides these values;
/// the server turns them into its own config and runs it (src/Restgres/Cli/DevServer.cs), so this library needs none
/// of the server's types.
/// </summary>
public sealed record DevServerConfig(
    string DbUri,
    string DbSchema,
    string DbAnonRole,
    string JwtSecret,
    string ServerHost,
    int ServerPort,
    string ServerPathPrefix,
    string? ServerStaticDir)
{
    /// <summary>
    /// An example app's own config file (<see cref="ConfiguredApp"/>): when set, the server reads it (relative paths
    /// in it from its folder) with <see cref="DbUri"/> and <see cref="JwtSecret"/> as <c>PGRST_DB_URI</c> and
    /// <c>JWT_SECRET</c>, and the fields above other than the host and port are not used.
    /// </summary>
    public string? ConfigFile { get; init; }

    /// <summary>
    /// The app's schedules file (server-schedules-file), with a superuser URI to install Restgres's run log
    /// (<c>restgres --schema-sql</c>) and let <see cref="DbUri"/>'s role use it before serving. With
    /// <see cref="ConfigFile"/> the config names the file itself and this only asks for that set-up.
    /// </summary>
    public string? SchedulesFile { get; init; }

    /// <summary>A superuser's URI for that set-up.</summary>
    public string? SuperuserDbUri { get; init; }
}
