namespace Restgres.Dev;

/// <summary>A private cluster could not be created, started, stopped or queried; the message says what to do.</summary>
public class PostgresClusterException : Exception
{
    public PostgresClusterException() { }

    public PostgresClusterException(string message) : base(message) { }

    public PostgresClusterException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>No usable <c>initdb</c>/<c>pg_ctl</c>/<c>postgres</c> was found (only the client may be installed).</summary>
public sealed class PostgresBinariesNotFoundException : PostgresClusterException
{
    public PostgresBinariesNotFoundException() { }

    public PostgresBinariesNotFoundException(string message) : base(message) { }

    public PostgresBinariesNotFoundException(string message, Exception innerException) : base(message, innerException) { }
}
