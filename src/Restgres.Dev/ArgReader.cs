namespace Restgres.Dev;

/// <summary>
/// Reads a verb's arguments in order: <c>--name value</c>, <c>--name=value</c>, flags and plain arguments, for
/// <c>serve</c>, <c>smoke</c> and <c>dev</c> alike. The verb decides what each name means; this only splits and
/// fetches values, and words its errors the same way for all of them. Self-contained, so a verb can live in another
/// project and keep it.
/// </summary>
/// <example>
/// <code>
/// var args = new ArgReader(argv);
/// while (args.Next())
///     switch (args.Name)
///     {
///         case "--port": port = args.Value(); break;
///         default: throw args.Unexpected();
///     }
/// </code>
/// </example>
public sealed class ArgReader(IReadOnlyList<string> args)
{
    private int _index = -1;
    private string? _inline;

    /// <summary>The current argument as given.</summary>
    public string Arg { get; private set; } = "";

    /// <summary>The current option's name (<c>--port</c> of <c>--port=3000</c>), or the whole argument.</summary>
    public string Name { get; private set; } = "";

    /// <summary>Whether the current argument asks for help (<c>-h</c>, <c>--help</c>).</summary>
    public bool IsHelp => Arg is "-h" or "--help";

    /// <summary>Whether the current argument looks like an option rather than a plain value.</summary>
    public bool IsOption => Arg.StartsWith('-');

    /// <summary>Moves to the next argument; false at the end.</summary>
    public bool Next()
    {
        if (++_index >= args.Count) return false;
        Arg = args[_index];
        var eq = Arg.IndexOf('=', StringComparison.Ordinal);
        (Name, _inline) = Arg.StartsWith("--", StringComparison.Ordinal) && eq > 0 ? (Arg[..eq], Arg[(eq + 1)..]) : (Arg, null);
        return true;
    }

    /// <summary>The current option's value: after <c>=</c>, or the next argument.</summary>
    /// <exception cref="ArgumentException">There is none.</exception>
    public string Value()
    {
        if (_inline is not null) return _inline;
        if (_index + 1 >= args.Count) throw new ArgumentException($"{Name} needs a value");
        return args[++_index];
    }

    /// <summary>The error for an argument the verb does not take.</summary>
    public ArgumentException Unexpected() => new($"unexpected argument '{Arg}'");
}
