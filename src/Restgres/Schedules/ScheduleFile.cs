using System.Collections.Immutable;
using System.Text.RegularExpressions;
using Cronos;
using Restgres.Config;

namespace Restgres.Schedules;

/// <summary>What a job does: a SQL statement, or an API request to this server.</summary>
internal abstract record JobAction;

/// <summary>A SQL statement, run in its own transaction (as <c>role</c> when given).</summary>
internal sealed record SqlAction(string Sql, string? Role) : JobAction;

/// <summary>An API request (<c>POST /rpc/cleanup {...}</c>) sent to this server, with extra headers.</summary>
internal sealed record RequestAction(string Method, string PathAndQuery, string? Body, ImmutableArray<(string Name, string Value)> Headers) : JobAction
{
    // By content: ImmutableArray compares by reference, and a re-read of an unchanged file must compare equal.
    public bool Equals(RequestAction? other) =>
        other is not null && Method == other.Method && PathAndQuery == other.PathAndQuery && Body == other.Body
        && Headers.SequenceEqual(other.Headers);

    public override int GetHashCode() => HashCode.Combine(Method, PathAndQuery, Body, Headers.Length);
}

/// <summary>One job of the schedules file.</summary>
internal sealed record ScheduledJob(string Name, string CronText, CronExpression Cron, bool HasSeconds, JobAction Action, int Line)
{
    /// <summary>pg_cron (1.4) takes five-field expressions and runs SQL only.</summary>
    public bool FitsPgCron => !HasSeconds && Action is SqlAction && !CronText.StartsWith('@');
}

/// <summary>The parsed schedules file. Equal by content: every config snapshot (a reload, the in-database config read
/// before each schema cache load) re-reads the file, and the leader keeps its jobs running unless they changed.</summary>
internal sealed record ScheduleTable(string Path, ImmutableArray<ScheduledJob> Jobs)
{
    public bool Equals(ScheduleTable? other) => other is not null && Path == other.Path && Jobs.SequenceEqual(other.Jobs);

    public override int GetHashCode() => HashCode.Combine(Path, Jobs.Length);
}

/// <summary>
/// The schedules file (docs/schedules.md). One job per block: its name at the start of a line, then indented lines
/// <c>cron EXPR</c> (five fields, or six with seconds first; UTC) and one of <c>sql STATEMENT</c> or
/// <c>request METHOD /path [JSON body]</c>, optionally <c>role NAME</c> (sql) or <c>header Name: value</c> (request).
/// <c>#</c> starts a comment line. Every error names the file and the line.
/// </summary>
internal static partial class ScheduleFile
{
    public const string Option = "server-schedules-file";

    private static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];

    [GeneratedRegex(@"^[A-Za-z0-9_.-]{1,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex JobName();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_$]*$", RegexOptions.CultureInvariant)]
    private static partial Regex RoleName();

    /// <exception cref="ConfigException">The file cannot be read or is invalid.</exception>
    public static ScheduleTable Load(string path) =>
        Parse(path, OptionFile.ReadText(path, "schedules file", Option));

    /// <exception cref="ConfigException">The text is not a valid schedules file.</exception>
    public static ScheduleTable Parse(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var jobs = ImmutableArray.CreateBuilder<ScheduledJob>();
        Block? block = null;
        foreach (var line in BlockFileLine.Read(text))
        {
            var (n, trimmed) = (line.Number, line.Text);
            if (!line.Indented)
            {
                if (block is not null) jobs.Add(Finish(path, block));
                if (!JobName().IsMatch(trimmed))
                    throw Error(path, n, $"'{trimmed}' is not a job name (letters, digits, '_', '.', '-'; options go on indented lines below it)");
                if (jobs.FirstOrDefault(j => j.Name == trimmed) is { } twin)
                    throw Error(path, n, $"the job '{trimmed}' is also on line {twin.Line}");
                block = new Block(trimmed, n);
                continue;
            }
            if (block is null) throw Error(path, n, $"'{trimmed}' is indented, but no job name comes before it");
            var (key, value) = (line.Key, line.Value);
            switch (key)
            {
                case "cron":
                    if (block.Cron is not null) throw Error(path, n, "a second 'cron' in one job");
                    (block.Cron, block.HasSeconds) = ParseCron(path, n, value);
                    block.CronText = value;
                    break;
                case "sql":
                    if (block.Sql is not null || block.Method is not null) throw Error(path, n, "a job runs one 'sql' statement or one 'request'");
                    if (value.Length == 0) throw Error(path, n, "'sql' needs a statement, e.g. 'sql select refresh_stats()'");
                    block.Sql = value;
                    break;
                case "request":
                    if (block.Sql is not null || block.Method is not null) throw Error(path, n, "a job runs one 'sql' statement or one 'request'");
                    ParseRequest(path, n, value, block);
                    break;
                case "role":
                    if (!RoleName().IsMatch(value)) throw Error(path, n, $"'role {value}' is not a role name");
                    block.Role = value;
                    break;
                case "header":
                    var colon = value.IndexOf(':', StringComparison.Ordinal);
                    if (colon <= 0) throw Error(path, n, $"'header {value}' is not 'header Name: value'");
                    block.Headers.Add((value[..colon].Trim(), value[(colon + 1)..].Trim()));
                    break;
                default:
                    throw Error(path, n, $"unknown option '{key}' (expected cron, sql, request, role or header)");
            }
        }
        if (block is not null) jobs.Add(Finish(path, block));
        return new ScheduleTable(path, jobs.ToImmutable());
    }

    private static (CronExpression, bool) ParseCron(string path, int n, string value)
    {
        if (value.Length == 0) throw Error(path, n, "'cron' needs an expression, e.g. 'cron 0 2 * * *' (daily at 02:00 UTC)");
        var fields = value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        var seconds = fields == 6;
        if (!value.StartsWith('@') && fields is not (5 or 6))
            throw Error(path, n, $"'cron {value}' has {fields} fields: a cron expression has five (minute hour day month weekday) or six (seconds first)");
        try
        {
            return (CronExpression.Parse(value, seconds ? CronFormat.IncludeSeconds : CronFormat.Standard), seconds);
        }
        catch (CronFormatException e)
        {
            throw Error(path, n, $"'cron {value}' is not a valid cron expression: {e.Message}");
        }
    }

    private static void ParseRequest(string path, int n, string value, Block block)
    {
        var parts = value.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || !Methods.Contains(parts[0]) || !parts[1].StartsWith('/'))
            throw Error(path, n, $"'request {value}' is not 'request METHOD /path [JSON body]' (METHOD one of {string.Join(", ", Methods)})");
        if (parts.Length == 3)
        {
            try
            {
                using var _ = System.Text.Json.JsonDocument.Parse(parts[2]);
            }
            catch (System.Text.Json.JsonException e)
            {
                throw Error(path, n, $"the request body is not JSON: {e.Message}");
            }
        }
        (block.Method, block.Target, block.Body) = (parts[0], parts[1], parts.Length == 3 ? parts[2] : null);
    }

    private static ScheduledJob Finish(string path, Block b)
    {
        if (b.Cron is null) throw Error(path, b.Line, $"the job '{b.Name}' has no 'cron' line");
        JobAction action;
        if (b.Sql is not null)
        {
            if (b.Headers.Count > 0) throw Error(path, b.Line, $"the job '{b.Name}' runs SQL: 'header' goes with 'request'");
            action = new SqlAction(b.Sql, b.Role);
        }
        else if (b.Method is not null)
        {
            if (b.Role is not null) throw Error(path, b.Line, $"the job '{b.Name}' sends a request: its role comes from the request's token (a 'header Authorization: Bearer ...'), not 'role'");
            action = new RequestAction(b.Method, b.Target!, b.Body, [.. b.Headers]);
        }
        else throw Error(path, b.Line, $"the job '{b.Name}' has no 'sql' or 'request' line");
        return new ScheduledJob(b.Name, b.CronText!, b.Cron, b.HasSeconds, action, b.Line);
    }

    private static ConfigException Error(string path, int line, string message) =>
        new($"Error in schedules file '{path}' ({Option}), line {line}: {message}", Option);

    private sealed class Block(string name, int line)
    {
        public string Name { get; } = name;
        public int Line { get; } = line;
        public CronExpression? Cron { get; set; }
        public string? CronText { get; set; }
        public bool HasSeconds { get; set; }
        public string? Sql { get; set; }
        public string? Role { get; set; }
        public string? Method { get; set; }
        public string? Target { get; set; }
        public string? Body { get; set; }
        public List<(string, string)> Headers { get; } = [];
    }
}
