using Restgres.Dev;
using Xunit;

namespace Restgres.Tests.Dev;

/// <summary>The argument reader every verb shares (serve, smoke, dev).</summary>
public sealed class ArgReaderTests
{
    private static List<string> Read(params string[] args)
    {
        var seen = new List<string>();
        var reader = new ArgReader(args);
        while (reader.Next())
        {
            seen.Add(reader.Name switch
            {
                "--port" or "--url" => reader.Name + "=" + reader.Value(),
                "--log" => "flag",
                _ when reader.IsHelp => "help",
                _ when !reader.IsOption => "plain " + reader.Arg,
                _ => throw reader.Unexpected(),
            });
        }
        return seen;
    }

    [Theory]
    [InlineData(new[] { "--port", "3000" }, "--port=3000")]
    [InlineData(new[] { "--port=3000" }, "--port=3000")]
    // Only the first '=' splits, and an empty inline value is a value.
    [InlineData(new[] { "--url=http://x/?a=b" }, "--url=http://x/?a=b")]
    [InlineData(new[] { "--url=" }, "--url=")]
    // A value may look like an option: it is taken as given.
    [InlineData(new[] { "--url", "--log" }, "--url=--log")]
    [InlineData(new[] { "--log", "file.conf", "-h" }, "flag|plain file.conf|help")]
    [InlineData(new[] { "--help" }, "help")]
    public void Options_values_flags_and_plain_arguments_are_read_in_order(string[] args, string expected) =>
        Assert.Equal(expected, string.Join('|', Read(args)));

    [Fact]
    public void A_missing_value_or_an_unknown_option_is_an_argument_error()
    {
        Assert.Equal("--port needs a value", Assert.Throws<ArgumentException>(() => Read("--port")).Message);
        Assert.Equal("unexpected argument '--frobnicate=1'", Assert.Throws<ArgumentException>(() => Read("--frobnicate=1")).Message);
    }
}
