namespace Restgres.Config;

/// <summary>
/// One meaningful line of a file of blocks (the routes and schedules files): a block starts with a line at the start of
/// the line, and its options are indented <c>key value</c> lines. Blank lines and <c>#</c> comment lines are skipped.
/// </summary>
internal readonly record struct BlockFileLine(int Number, string Text, bool Indented)
{
    /// <summary>An option line's first word.</summary>
    public string Key => Text.AsSpan().IndexOfAny(' ', '\t') is var space and >= 0 ? Text[..space] : Text;

    /// <summary>An option line's rest, trimmed.</summary>
    public string Value => Text.AsSpan().IndexOfAny(' ', '\t') is var space and >= 0 ? Text[(space + 1)..].Trim() : "";

    /// <summary>The meaningful lines of <paramref name="text"/>, trimmed, with their 1-based numbers.</summary>
    public static IEnumerable<BlockFileLine> Read(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            var trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed[0] == '#') continue;
            yield return new BlockFileLine(i + 1, trimmed, char.IsWhiteSpace(line[0]));
        }
    }
}
