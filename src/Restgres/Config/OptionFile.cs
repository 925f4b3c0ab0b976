namespace Restgres.Config;

/// <summary>Reading a file that an option names (the routes file, the schedules file): one message when it cannot be
/// read, naming the kind of file and the option.</summary>
internal static class OptionFile
{
    /// <param name="kind">What the file is, for the message: "routes file".</param>
    /// <exception cref="ConfigException">The file cannot be read.</exception>
    public static string ReadText(string path, string kind, string option)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new ConfigException($"Error in {kind} '{path}' ({option}): cannot read it: {e.Message}", option);
        }
    }
}
