using Restgres.Config;
using Restgres.Schedules;
using Xunit;

namespace Restgres.Tests.Schedules;

public sealed class ScheduleFileTests
{
    [Fact]
    public void A_file_gives_sql_and_request_jobs_with_five_or_six_field_cron()
    {
        var table = ScheduleFile.Parse("schedules.conf", """
            # nightly
            privacy_cleanup
              cron 0 2 * * *
              sql select privacy_cleanup()

            collect_metrics
              cron 0 */6 * * *
              request POST /rpc/collect_metrics {"hours": 24}
              header Authorization: Bearer abc

            fast
              cron */5 * * * * *
              sql insert into ticks default values
              role app_worker
            """);

        Assert.Equal(["privacy_cleanup", "collect_metrics", "fast"], table.Jobs.Select(j => j.Name));
        Assert.Equal(new SqlAction("select privacy_cleanup()", null), table.Jobs[0].Action);
        Assert.True(table.Jobs[0].FitsPgCron);
        var request = Assert.IsType<RequestAction>(table.Jobs[1].Action);
        Assert.Equal(("POST", "/rpc/collect_metrics", """{"hours": 24}"""), (request.Method, request.PathAndQuery, request.Body));
        Assert.Equal(("Authorization", "Bearer abc"), Assert.Single(request.Headers));
        Assert.False(table.Jobs[1].FitsPgCron);
        Assert.True(table.Jobs[2].HasSeconds);
        Assert.False(table.Jobs[2].FitsPgCron);
        Assert.Equal(new DateTime(2024, 1, 1, 2, 0, 0, DateTimeKind.Utc), table.Jobs[0].Cron.GetNextOccurrence(new DateTime(2024, 1, 1, 1, 0, 0, DateTimeKind.Utc)));
    }

    [Theory]
    [InlineData("job\n  cron 61 * * * *\n  sql select 1", 2, "'cron 61 * * * *' is not a valid cron expression")]
    [InlineData("job\n  sql select 1\n  cron * * *", 3, "'cron * * *' has 3 fields")]
    [InlineData("job\n  cron * * * * *", 1, "the job 'job' has no 'sql' or 'request' line")]
    [InlineData("job\n  sql select 1", 1, "the job 'job' has no 'cron' line")]
    [InlineData("  cron * * * * *", 1, "no job name comes before it")]
    [InlineData("a\n  cron * * * * *\n  sql select 1\na\n  cron * * * * *\n  sql select 2", 4, "the job 'a' is also on line 1")]
    [InlineData("job\n  cron * * * * *\n  request FETCH /x", 3, "is not 'request METHOD /path [JSON body]'")]
    [InlineData("job\n  cron * * * * *\n  request POST /rpc/f {nope", 3, "the request body is not JSON")]
    [InlineData("job\n  cron * * * * *\n  sql select 1\n  when daily", 4, "unknown option 'when'")]
    [InlineData("my job\n  cron * * * * *", 1, "'my job' is not a job name")]
    public void A_bad_file_names_the_file_and_line(string text, int line, string message)
    {
        var e = Assert.Throws<ConfigException>(() => ScheduleFile.Parse("/etc/restgres/schedules.conf", text));

        Assert.Contains($"schedules file '/etc/restgres/schedules.conf' (server-schedules-file), line {line}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_invalid_cron_expression_stops_the_config_from_loading()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "refresh\n  cron 0 25 * * *\n  sql select 1\n");

            var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(null,
                new Dictionary<string, string> { ["PGRST_SERVER_SCHEDULES_FILE"] = path }, _ => { }));

            Assert.Contains($"'{path}' (server-schedules-file), line 2: 'cron 0 25 * * *' is not a valid cron expression", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
