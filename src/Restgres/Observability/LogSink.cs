using System.Text;
using System.Threading.Channels;

namespace Restgres.Observability;

/// <summary>
/// Where log lines go: a bounded queue drained by one background writer, so that logging never blocks a request
/// (PostgREST's Logger.hs carries the same wish as a TODO: "log with buffering enabled to not lose throughput").
/// When the writer falls behind by more than the queue holds, lines are dropped and counted, and a line saying how
/// many were dropped is written once it catches up. Access lines go to standard output and diagnostics to standard
/// error, as PostgREST does (docs: references/observability.rst, "Logs").
/// </summary>
internal sealed class LogSink : IAsyncDisposable
{
    private const int Capacity = 16 * 1024;

    private static readonly Lazy<LogSink> ConsoleSink = new(() => new LogSink(
        new StreamWriter(System.Console.OpenStandardOutput(), new UTF8Encoding(false), 64 * 1024) { AutoFlush = false },
        new StreamWriter(System.Console.OpenStandardError(), new UTF8Encoding(false), 16 * 1024) { AutoFlush = false }));

    private readonly Channel<Entry> _queue = Channel.CreateBounded<Entry>(new BoundedChannelOptions(Capacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private readonly Task _writer;
    private long _dropped;
    private long _droppedReported;
    private volatile bool _json;

    public LogSink(TextWriter stdout, TextWriter stderr)
    {
        _out = stdout;
        _err = stderr;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>The process's standard output and error.</summary>
    public static LogSink Console => ConsoleSink.Value;

    /// <summary>Diagnostics as JSON objects (<c>log-format = json</c>) rather than PostgREST's timestamped text.</summary>
    public bool Json
    {
        get => _json;
        set => _json = value;
    }

    /// <summary>Lines dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues one line (without its newline) for standard output.</summary>
    public void Out(string line) => Enqueue(new Entry(true, line, null));

    /// <summary>Queues one line (without its newline) for standard error.</summary>
    public void Err(string line) => Enqueue(new Entry(false, line, null));

    /// <summary>
    /// A server diagnostic for standard error, always written whatever the log level, like PostgREST's observations
    /// that its logger does not filter: text is <c>06/May/2024:08:16:11 -0500: message</c>, JSON one object.
    /// </summary>
    public void Diagnostic(string message, string level = "info") =>
        Err(_json ? LogFormat.JsonDiagnostic(DateTimeOffset.Now, level, message) : LogFormat.TextDiagnostic(DateTimeOffset.Now, message));

    private void Enqueue(Entry e)
    {
        if (!_queue.Writer.TryWrite(e)) Interlocked.Increment(ref _dropped);
    }

    /// <summary>Waits (at most <paramref name="timeout"/>) until every line queued so far is written and flushed.</summary>
    public async Task FlushAsync(TimeSpan timeout)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _queue.Writer.WriteAsync(new Entry(false, null, done), cts.Token);
            await done.Task.WaitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
        }
        catch (ChannelClosedException)
        {
        }
    }

    private async Task WriteLoopAsync()
    {
        var reader = _queue.Reader;
        var flushes = new List<TaskCompletionSource>();
        while (await reader.WaitToReadAsync())
        {
            try
            {
                // Write everything queued, then flush once: one system call per burst rather than per line.
                while (reader.TryRead(out var e))
                {
                    if (e.Flush is { } f) flushes.Add(f);
                    else if (e.Line is { } line) await (e.ToStdout ? _out : _err).WriteLineAsync(line);
                }
                var dropped = Interlocked.Read(ref _dropped);
                if (dropped != _droppedReported)
                {
                    var message = $"{dropped - _droppedReported} log lines dropped: the log writer could not keep up";
                    await _err.WriteLineAsync(_json
                        ? LogFormat.JsonDiagnostic(DateTimeOffset.Now, "warn", message)
                        : LogFormat.TextDiagnostic(DateTimeOffset.Now, message));
                    _droppedReported = dropped;
                }
                await _out.FlushAsync();
                await _err.FlushAsync();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // A closed pipe must not take the server down; the lines are lost either way.
            }
            foreach (var f in flushes) f.TrySetResult();
            flushes.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
    }

    private readonly record struct Entry(bool ToStdout, string? Line, TaskCompletionSource? Flush);
}
