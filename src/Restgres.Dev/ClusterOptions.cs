using System.Collections.Immutable;

namespace Restgres.Dev;

/// <summary>How <see cref="PostgresCluster"/> creates and runs a cluster.</summary>
public sealed record ClusterOptions
{
    /// <summary>
    /// A throw-away cluster (tests): fsync, synchronous_commit and full_page_writes off and initdb without syncing, which
    /// makes setup several times faster at the price of losing the data on a machine crash.
    /// </summary>
    public bool Ephemeral { get; init; }

    /// <summary>The directory holding initdb, pg_ctl and postgres; null means PGBIN, then the usual places.</summary>
    public string? BinDir { get; init; }

    /// <summary>Extra <c>postgresql.conf</c> settings (name → value, written as given, so quote strings).</summary>
    public ImmutableDictionary<string, string> Settings { get; init; } = ImmutableDictionary<string, string>.Empty;

    /// <summary>How long <c>pg_ctl -w start</c> may take (crash recovery of a big cluster can be slow).</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Progress lines ("initialising...", "started on port ..."); null keeps quiet.</summary>
    public Action<string>? Log { get; init; }
}
