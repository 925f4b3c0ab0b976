using Cronos;
using Restgres.Schedules;
using Xunit;

namespace Restgres.Tests.Schedules;

/// <summary>What a job's loop does after a run, whatever the clocks say (pure; no database).</summary>
public sealed class SchedulerTimingTests
{
    private static readonly CronExpression EverySecond = CronExpression.Parse("* * * * * *", CronFormat.IncludeSeconds);
    private static readonly DateTime At = new(2026, 12, 7, 8, 0, 1, DateTimeKind.Utc);

    [Theory]
    // A run that ends before the next due time: nothing missed, the next second.
    [InlineData(20, 0, 2)]
    // A run of 2.2 s passes two due times: counted, and the next one after it ends.
    [InlineData(2_200, 2, 4)]
    // The timer ended a few milliseconds before the wall clock reached the due time and the run was quicker than that
    // (a coarse monotonic clock): nothing missed and the next due time is the one after this run's, not this one again.
    // This case once threw (a range that ends before it begins) and ended the job's loop for good.
    [InlineData(-3, 0, 2)]
    [InlineData(0, 0, 2)]
    public void After_a_run_the_missed_due_times_and_the_next_one_follow_from_when_it_ended(int endedAfterMs, int missed, int nextSecond)
    {
        var (m, next) = Scheduler.AfterRun(EverySecond, At, At.AddMilliseconds(endedAfterMs));

        Assert.Equal(missed, m);
        Assert.Equal(At.Date.AddHours(8).AddSeconds(nextSecond), next);
    }
}
