using System.Diagnostics;
using System.Globalization;

namespace Restgres.App;

/// <summary>
/// The stages PostgREST reports in <c>Server-Timing</c> (server-timing-enabled), in milliseconds. Each stage is
/// stamped by name where it ends, so the header cannot attribute time to the wrong stage.
/// </summary>
internal sealed class ServerTiming
{
    private long _last = Stopwatch.GetTimestamp();

    public double Jwt { get; private set; }
    public double Parse { get; private set; }
    public double Plan { get; private set; }
    public double Transaction { get; private set; }
    public double Response { get; private set; }

    /// <summary>Ends the JWT stage, started when the timing was created.</summary>
    public void JwtDone() => Jwt = Lap();

    /// <summary>Ends the parse stage: request line, headers and body into an ApiRequest.</summary>
    public void ParseDone() => Parse = Lap();

    /// <summary>Ends the plan stage: the action plan and its SQL (or their lookup in the plan cache).</summary>
    public void PlanDone() => Plan = Lap();

    /// <summary>Ends the transaction stage: everything on the database connection.</summary>
    public void TransactionDone() => Transaction = Lap();

    /// <summary>Ends the response stage: status, headers and body built from the result.</summary>
    public void ResponseDone() => Response = Lap();

    /// <summary>Restarts the clock without charging a stage (time spent waiting for the request body).</summary>
    public void Skip() => _last = Stopwatch.GetTimestamp();

    /// <summary>The header value, in PostgREST's order and format.</summary>
    public string Render() => string.Create(CultureInfo.InvariantCulture,
        $"jwt;dur={Jwt:0.0}, parse;dur={Parse:0.0}, plan;dur={Plan:0.0}, transaction;dur={Transaction:0.0}, response;dur={Response:0.0}");

    private double Lap()
    {
        var now = Stopwatch.GetTimestamp();
        var ms = Stopwatch.GetElapsedTime(_last, now).TotalMilliseconds;
        _last = now;
        return ms;
    }
}
