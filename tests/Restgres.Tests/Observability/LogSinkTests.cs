using System.Diagnostics;
using Restgres.Observability;
using Xunit;

namespace Restgres.Tests.Observability;

/// <summary>The log sink never blocks its callers: a stuck writer costs dropped lines, not stuck requests.</summary>
public sealed class LogSinkTests
{
    /// <summary>A writer that blocks until released, like a terminal or pipe nobody reads.</summary>
    private sealed class StuckWriter : StringWriter
    {
        public readonly ManualResetEventSlim Released = new(false);

        public override Task WriteLineAsync(string? value)
        {
            Released.Wait();
            lock (this) return base.WriteLineAsync(value);
        }

        public override string ToString()
        {
            lock (this) return base.ToString();
        }
    }

    [Fact]
    public async Task Lines_are_written_in_order_to_their_stream()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        await using var sink = new LogSink(stdout, stderr);
        for (var i = 0; i < 100; i++) sink.Out("line " + i);
        sink.Err("diagnostic");
        await sink.FlushAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => "line " + i), stdout.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("diagnostic" + Environment.NewLine, stderr.ToString());
    }

    [Fact]
    public async Task A_stuck_writer_never_blocks_the_caller_and_dropped_lines_are_counted_then_reported()
    {
        var stdout = new StuckWriter();
        var stderr = new StringWriter();
        var sink = new LogSink(stdout, stderr);
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < 50_000; i++) sink.Out("line " + i);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"logging 50,000 lines took {sw.Elapsed}");
        Assert.True(sink.Dropped > 0);
        var dropped = sink.Dropped;

        stdout.Released.Set();
        await sink.FlushAsync(TimeSpan.FromSeconds(30));
        var written = stdout.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries).Length;
        Assert.Equal(50_000, written + dropped);
        Assert.Contains($"{dropped} log lines dropped", stderr.ToString());
        await sink.DisposeAsync();
    }

    [Fact]
    public async Task Diagnostics_follow_the_format()
    {
        var stderr = new StringWriter();
        await using var sink = new LogSink(new StringWriter(), stderr);
        sink.Diagnostic("text line");
        sink.Json = true;
        sink.Diagnostic("json line", "warn");
        await sink.FlushAsync(TimeSpan.FromSeconds(10));
        var lines = stderr.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}: text line$", lines[0]);
        using var doc = System.Text.Json.JsonDocument.Parse(lines[1]);
        Assert.Equal("json line", doc.RootElement.GetProperty("message").GetString());
        Assert.Equal("warn", doc.RootElement.GetProperty("level").GetString());
    }

    [Fact]
    public async Task Flushing_returns_when_the_writer_cannot_finish_in_time()
    {
        var stdout = new StuckWriter();
        var sink = new LogSink(stdout, new StringWriter());
        sink.Out("stuck");
        var sw = Stopwatch.StartNew();
        await sink.FlushAsync(TimeSpan.FromMilliseconds(200));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
        stdout.Released.Set();
        await sink.DisposeAsync();
        Assert.Contains("stuck", stdout.ToString(), StringComparison.Ordinal);
    }
}
