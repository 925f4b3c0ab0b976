using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Restgres.Requests;

/// <summary>
/// A small parser-combinator core with Parsec's semantics (consumed/empty replies, <c>try</c>, labels, error merging by
/// position). PostgREST parses query parameters with Parsec and returns its error text to clients (PGRST100
/// <c>message</c>/<c>details</c>), so reproducing the semantics reproduces those messages exactly.
/// Parsers are built once as static delegates; a parse allocates only replies' errors and results.
/// </summary>
internal static class Parsec
{
    public enum MsgKind { SysUnExpect = 0, UnExpect = 1, Expect = 2, Message = 3 }

    public sealed class Error((MsgKind Kind, string Text)[] msgs, int pos)
    {
        public Error(int pos, List<(MsgKind Kind, string Text)> msgs) : this([.. msgs], pos) { }

        private readonly (MsgKind Kind, string Text)[] _msgs = msgs;

        public int Pos { get; } = pos;
        public IReadOnlyList<(MsgKind Kind, string Text)> Msgs => _msgs;
        public bool IsUnknown => _msgs.Length == 0;

        public static Error Unknown(int pos) => new([], pos);
        public static Error Of(int pos, MsgKind kind, string text) => new([(kind, text)], pos);

        public static Error Merge(Error? e1, Error? e2)
        {
            if (e1 is null) return e2 ?? Unknown(0);
            if (e2 is null) return e1;
            if (e2.IsUnknown && !e1.IsUnknown) return e1;
            if (e1.IsUnknown && !e2.IsUnknown) return e2;
            if (e1.Pos > e2.Pos) return e1;
            if (e1.Pos < e2.Pos) return e2;
            return new Error([.. e1._msgs, .. e2._msgs], e1.Pos);
        }

        public Error WithExpect(string label)
        {
            var n = 1;
            foreach (var m in _msgs)
                if (m.Kind != MsgKind.Expect) n++;
            var result = new (MsgKind, string)[n];
            result[0] = (MsgKind.Expect, label);
            var i = 1;
            foreach (var m in _msgs)
                if (m.Kind != MsgKind.Expect) result[i++] = m;
            return new Error(result, Pos);
        }

        /// <summary>Parsec's <c>showErrorMessages "or" "unknown parse error" "expecting" "unexpected" "end of input"</c>,
        /// with newlines folded to spaces as PostgREST does.</summary>
        public string Render()
        {
            if (Msgs.Count == 0) return "unknown parse error";
            var sorted = Msgs.OrderBy(m => (int)m.Kind).ToList(); // stable, like Data.List.sort on kind-only Ord
            var sys = sorted.Where(m => m.Kind == MsgKind.SysUnExpect).Select(m => m.Text).ToList();
            var un = sorted.Where(m => m.Kind == MsgKind.UnExpect).Select(m => m.Text).ToList();
            var exp = sorted.Where(m => m.Kind == MsgKind.Expect).Select(m => m.Text).ToList();
            var other = sorted.Where(m => m.Kind == MsgKind.Message).Select(m => m.Text).ToList();
            var parts = new List<string>();
            if (un.Count == 0 && sys.Count > 0)
                parts.Add(sys[0].Length == 0 ? "unexpected end of input" : "unexpected " + sys[0]);
            AddMany(parts, "unexpected", un);
            AddMany(parts, "expecting", exp);
            AddMany(parts, "", other);
            return string.Join(" ", parts.Where(p => p.Length > 0)).Trim();
        }

        private static void AddMany(List<string> parts, string pre, List<string> msgs)
        {
            var clean = msgs.Where(m => m.Length > 0).Distinct().ToList();
            if (clean.Count == 0) return;
            var text = clean.Count == 1 ? clean[0] : string.Join(", ", clean.Take(clean.Count - 1)) + " or " + clean[^1];
            parts.Add(pre.Length == 0 ? text : pre + " " + text);
        }

        /// <summary>Parsec's <c>(line L, column C)</c>: tabs advance to the next multiple of 8, plus 1.</summary>
        public string Position(string input)
        {
            int line = 1, col = 1;
            for (var i = 0; i < Pos && i < input.Length; i++)
            {
                var c = input[i];
                if (char.IsLowSurrogate(c)) continue; // count code points, as Haskell's Char does
                if (c == '\n') { line++; col = 1; }
                else if (c == '\t') col = col + 8 - ((col - 1) % 8);
                else col++;
            }
            return $"(line {line}, column {col})";
        }
    }

    public readonly record struct Reply<T>(bool Ok, bool Consumed, T Value, int Pos, Error? Err);

    public delegate Reply<T> P<T>(string s, int pos);

    public static Reply<T> EOk<T>(T v, int pos, Error? err) => new(true, false, v, pos, err);
    public static Reply<T> EErr<T>(Error err) => new(false, false, default!, err.Pos, err);

    // Haskell's showLitChar names of the control characters below space.
    private static readonly string[] AsciiTab =
    [
        "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "a", "b", "t", "n", "v", "f", "r", "SO", "SI",
        "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US",
    ];

    /// <summary>Haskell's <c>showLitChar</c>: <c>\SOH</c>, <c>\DEL</c>, <c>\233</c>; <c>\&amp;</c> keeps a following digit
    /// (or the H after <c>\SO</c>) from joining the escape.</summary>
    private static void ShowLitChar(StringBuilder sb, int v, int next)
    {
        if (v == '\\') sb.Append("\\\\");
        else if (v == 0x7f) sb.Append("\\DEL");
        else if (v > 0x7f)
        {
            sb.Append('\\').Append(v.ToString(CultureInfo.InvariantCulture));
            if (next is >= '0' and <= '9') sb.Append("\\&");
        }
        else if (v < 0x20)
        {
            sb.Append('\\').Append(AsciiTab[v]);
            if (v == 0x0e && next == 'H') sb.Append("\\&");
        }
        else sb.Append((char)v);
    }

    // Haskell's `show` for a String, used in Parsec's messages (e.g. unexpected "x").
    public static string ShowString(string s)
    {
        var sb = new StringBuilder("\"");
        var i = 0;
        while (i < s.Length)
        {
            var v = RuneAt(s, i, out var w);
            var next = i + w < s.Length ? RuneAt(s, i + w, out _) : -1;
            if (v == '"') sb.Append("\\\"");
            else ShowLitChar(sb, v, next);
            i += w;
        }
        return sb.Append('"').ToString();
    }

    // Haskell's `show` for a Char (single quotes).
    public static string ShowChar(string s, int pos)
    {
        var v = RuneAt(s, pos, out _);
        if (v == '\'') return "'\\''";
        var sb = new StringBuilder("'");
        ShowLitChar(sb, v, -1);
        return sb.Append('\'').ToString();
    }

    // Parsec shows every character it did not expect: cache the ASCII ones, as String ("x") and as Char ('x').
    private static readonly string[] AsciiShownAsString = [.. Enumerable.Range(0, 128).Select(c => ShowString(((char)c).ToString()))];
    private static readonly string[] AsciiShownAsChar = [.. Enumerable.Range(0, 128).Select(c => ShowChar(((char)c).ToString(), 0))];

    private static string ShowCharAsString(string s, int pos) =>
        s[pos] < 128 ? AsciiShownAsString[s[pos]] : ShowString(s.Substring(pos, Width(s, pos)));

    private static string ShowCharCached(string s, int pos) => s[pos] < 128 ? AsciiShownAsChar[s[pos]] : ShowChar(s, pos);

    /// <summary>The code point at <paramref name="pos"/> (a lone surrogate reads as U+FFFD) and its UTF-16 width.</summary>
    private static int RuneAt(string s, int pos, out int width)
    {
        Rune.DecodeFromUtf16(s.AsSpan(pos), out var rune, out width);
        return rune.Value;
    }

    private static int Width(string s, int pos) => char.IsHighSurrogate(s[pos]) && pos + 1 < s.Length && char.IsLowSurrogate(s[pos + 1]) ? 2 : 1;

    /// <summary>Parsec's <c>satisfy</c> on one code point (Haskell's Char). The value is its first UTF-16 unit: use
    /// <see cref="Captured{T}"/> to build text, so that characters outside the BMP stay whole.</summary>
    public static P<char> Satisfy(Func<Rune, bool> pred) => (s, pos) =>
    {
        if (pos >= s.Length) return EErr<char>(Error.Of(pos, MsgKind.SysUnExpect, ""));
        var v = RuneAt(s, pos, out var w);
        if (pred(new Rune(v))) return new Reply<char>(true, true, s[pos], pos + w, Error.Unknown(pos + w));
        return EErr<char>(Error.Of(pos, MsgKind.SysUnExpect, ShowCharAsString(s, pos)));
    };

    /// <summary>Runs <paramref name="p"/> and returns the text it consumed (the characters a <c>many</c> collected).</summary>
    public static P<string> Captured<T>(P<T> p) => (s, pos) =>
    {
        var r = p(s, pos);
        return r.Ok
            ? new Reply<string>(true, r.Consumed, s[pos..r.Pos], r.Pos, r.Err)
            : new Reply<string>(false, r.Consumed, null!, r.Pos, r.Err);
    };

    public static P<char> Char(char c) => Label(Satisfy(r => r.Value == c), ShowString(c.ToString()));

    public static P<char> OneOf(string chars) => Satisfy(r => r.Value < 0x10000 && chars.Contains((char)r.Value, StringComparison.Ordinal));

    public static P<char> NoneOf(string chars) => Satisfy(r => !(r.Value < 0x10000 && chars.Contains((char)r.Value, StringComparison.Ordinal)));

    public static readonly P<char> AnyChar = Satisfy(_ => true);

    public static readonly P<char> Letter = Label(Satisfy(Rune.IsLetter), "letter");

    public static readonly P<char> Digit = Label(Satisfy(r => r.Value is >= '0' and <= '9'), "digit");

    /// <summary>Parsec's <c>string</c> (<c>tokens</c>): errors are reported at the start position.</summary>
    public static P<string> Str(string tok)
    {
        var shown = ShowString(tok);
        return (s, pos) => StrAt(s, pos, tok, shown);
    }

    private static Reply<string> StrAt(string s, int pos, string tok, string shown)
    {
        for (var i = 0; i < tok.Length; i++)
        {
            var p = pos + i;
            if (p >= s.Length)
            {
                var err = Error.Of(pos, MsgKind.SysUnExpect, "").WithExpect(shown);
                return i == 0 ? EErr<string>(err) : new Reply<string>(false, true, null!, pos, err);
            }
            if (s[p] != tok[i])
            {
                var err = Error.Of(pos, MsgKind.SysUnExpect, ShowCharAsString(s, p)).WithExpect(shown);
                return i == 0 ? EErr<string>(err) : new Reply<string>(false, true, null!, pos, err);
            }
        }
        return new Reply<string>(true, tok.Length > 0, tok, pos + tok.Length, Error.Unknown(pos + tok.Length));
    }

    public static P<T> Label<T>(P<T> p, string label) => (s, pos) =>
    {
        var r = p(s, pos);
        if (r.Consumed) return r;
        if (r.Ok) return r.Err is null || r.Err.IsUnknown ? r : r with { Err = r.Err.WithExpect(label) };
        return r with { Err = (r.Err ?? Error.Unknown(pos)).WithExpect(label) };
    };

    public static P<T> Try<T>(P<T> p) => (s, pos) =>
    {
        var r = p(s, pos);
        return !r.Ok && r.Consumed ? r with { Consumed = false, Pos = pos } : r;
    };

    public static P<T> Or<T>(params P<T>[] ps) => (s, pos) =>
    {
        Error? err = null;
        foreach (var p in ps)
        {
            var r = p(s, pos);
            if (r.Consumed) return r;
            if (r.Ok) return r with { Err = Error.Merge(err, r.Err) };
            err = Error.Merge(err, r.Err);
        }
        return EErr<T>(err!);
    };

    public static P<T> Pure<T>(T v) => (_, pos) => EOk(v, pos, Error.Unknown(pos));

    public static P<T> Fail<T>(string message) => (_, pos) => EErr<T>(Error.Of(pos, MsgKind.Message, message));

    /// <summary>Parsec's <c>parserZero</c> (<c>empty</c>, a failed <c>guard</c>): fails with an unknown error.</summary>
    public static P<T> Zero<T>() => (_, pos) => EErr<T>(Error.Unknown(pos));

    /// <summary>Monadic bind with Parsec's error merging when the continuation does not consume.</summary>
    public static P<TB> Bind<TA, TB>(P<TA> p, Func<TA, P<TB>> k) => (s, pos) =>
    {
        var r = p(s, pos);
        if (!r.Ok) return new Reply<TB>(false, r.Consumed, default!, r.Pos, r.Err);
        var r2 = k(r.Value)(s, r.Pos);
        if (r2.Consumed) return r2;
        var err = r.Err is null || r.Err.IsUnknown ? r2.Err : Error.Merge(r.Err, r2.Err);
        return r2 with { Consumed = r.Consumed, Err = err };
    };

    public static P<TB> Map<TA, TB>(P<TA> p, Func<TA, TB> f) => (s, pos) =>
    {
        var r = p(s, pos);
        return r.Ok ? new Reply<TB>(true, r.Consumed, f(r.Value), r.Pos, r.Err) : new Reply<TB>(false, r.Consumed, default!, r.Pos, r.Err);
    };

    /// <summary>
    /// <c>f &lt;$&gt; a &lt;*&gt; b</c>: <see cref="Bind{TA, TB}"/> for a second parser that does not depend on the first
    /// value, without building a parser per call (the grammar's parsers are all static).
    /// </summary>
    public static P<TR> Seq<TA, TB, TR>(P<TA> a, P<TB> b, Func<TA, TB, TR> f) => (s, pos) =>
    {
        var r = a(s, pos);
        if (!r.Ok) return new Reply<TR>(false, r.Consumed, default!, r.Pos, r.Err);
        var r2 = b(s, r.Pos);
        var consumed = r.Consumed || r2.Consumed;
        var err = r2.Consumed || r.Err is null || r.Err.IsUnknown ? r2.Err : Error.Merge(r.Err, r2.Err);
        return r2.Ok
            ? new Reply<TR>(true, consumed, f(r.Value, r2.Value), r2.Pos, err)
            : new Reply<TR>(false, consumed, default!, r2.Pos, err);
    };

    /// <summary><c>p &gt;&gt;= \v -&gt; guard (pred v) &gt;&gt; pure v</c>: a failed guard is an unknown error after <paramref name="p"/>.</summary>
    public static P<T> Where<T>(P<T> p, Func<T, bool> pred) => (s, pos) =>
    {
        var r = p(s, pos);
        if (!r.Ok || pred(r.Value)) return r;
        var zero = Error.Unknown(r.Pos);
        return new Reply<T>(false, r.Consumed, default!, r.Pos, r.Err is null || r.Err.IsUnknown ? zero : Error.Merge(r.Err, zero));
    };

    /// <summary>
    /// <paramref name="p"/>, failing with a message (Parsec's <c>fail</c>) at the start of what it read when
    /// <paramref name="problem"/> finds one in its result.
    /// </summary>
    public static P<T> Refuse<T>(P<T> p, Func<T, string?> problem) => (s, pos) =>
    {
        var r = p(s, pos);
        if (!r.Ok || problem(r.Value) is not { } message) return r;
        return new Reply<T>(false, true, default!, pos, Error.Of(pos, MsgKind.Message, message));
    };

    public static P<TA> Left<TA, TB>(P<TA> a, P<TB> b) => Seq(a, b, (x, _) => x);

    public static P<TB> Right<TA, TB>(P<TA> a, P<TB> b) => Seq(a, b, (_, y) => y);

    public static P<List<T>> Many<T>(P<T> p) => (s, pos) =>
    {
        var list = new List<T>();
        var cur = pos;
        var consumed = false;
        while (true)
        {
            var r = p(s, cur);
            if (r.Ok && !r.Consumed) throw new InvalidOperationException("many applied to a parser that accepts an empty string");
            if (!r.Ok)
            {
                if (r.Consumed) return new Reply<List<T>>(false, true, null!, r.Pos, r.Err);
                return new Reply<List<T>>(true, consumed, list, cur, r.Err);
            }
            list.Add(r.Value);
            cur = r.Pos;
            consumed = true;
        }
    };

    /// <summary><c>skipMany</c>: <see cref="Many{T}"/> without collecting the results.</summary>
    public static P<bool> SkipMany<T>(P<T> p) => (s, pos) =>
    {
        var cur = pos;
        while (true)
        {
            var r = p(s, cur);
            if (r.Ok && !r.Consumed) throw new InvalidOperationException("skipMany applied to a parser that accepts an empty string");
            if (!r.Ok)
            {
                if (r.Consumed) return new Reply<bool>(false, true, false, r.Pos, r.Err);
                return new Reply<bool>(true, cur != pos, true, cur, r.Err);
            }
            cur = r.Pos;
        }
    };

    public static P<List<T>> Many1<T>(P<T> p) => Seq(p, Many(p), (first, rest) => { rest.Insert(0, first); return rest; });

    public static P<List<T>> SepBy1<T, TS>(P<T> p, P<TS> sep) =>
        Seq(p, Many(Right(sep, p)), (first, rest) => { rest.Insert(0, first); return rest; });

    public static P<List<T>> SepBy<T, TS>(P<T> p, P<TS> sep) => Or(SepBy1(p, sep), Map(Pure(0), _ => new List<T>()));

    public static P<T?> OptionMaybe<T>(P<T> p) where T : class => Or(Map(p, v => (T?)v), Pure<T?>(null));

    public static P<T> Option<T>(T def, P<T> p) => Or(p, Pure(def));

    public static P<T> Between<TO, TC, T>(P<TO> open, P<TC> close, P<T> p) => Right(open, Left(p, close));

    public static P<T> LookAhead<T>(P<T> p) => (s, pos) =>
    {
        var r = p(s, pos);
        if (r.Ok) return EOk(r.Value, pos, Error.Unknown(pos));
        return r;
    };

    /// <summary><c>eof</c>: <c>notFollowedBy anyToken &lt;?&gt; "end of input"</c>; the unexpected token is shown as a Char.
    /// Even when it succeeds it reports that it expected the end of input, which later errors at the same position
    /// merge with (PostgREST's <c>... ")", "," or end of input</c>).
    /// Parsec's anyToken does not advance the position, so the unexpected character is reported where it stands.</summary>
    public static readonly P<bool> Eof = Label<bool>((s, pos) =>
        pos >= s.Length
            ? EOk(true, pos, Error.Of(pos, MsgKind.SysUnExpect, ""))
            : EErr<bool>(Error.Of(pos, MsgKind.UnExpect, ShowCharCached(s, pos))), "end of input");

    /// <summary>
    /// Parsec's <c>notFollowedBy p = try (do { c &lt;- try p; unexpected (show c) } &lt;|&gt; return ())</c> for a one-character
    /// parser: fails, without consuming, when <paramref name="p"/> matches (unexpected 'c', reported after it);
    /// otherwise succeeds and keeps <paramref name="p"/>'s error, e.g. <c>expecting "&gt;"</c>.
    /// </summary>
    public static P<bool> NotFollowedBy(P<char> p) => (s, pos) =>
    {
        var r = p(s, pos);
        if (r.Ok) return EErr<bool>(Error.Of(r.Pos, MsgKind.UnExpect, ShowCharCached(s, pos)));
        return EOk(true, pos, r.Err ?? Error.Unknown(pos));
    };

    /// <summary>How many parenthesised levels <see cref="Nested{T}"/> allows (select embeds, logic trees).</summary>
    public const int MaxNesting = 100;

    // The depth of the parse running on this thread. The parsers are static delegates shared by every request, so the
    // depth cannot live in them; a parse runs synchronously from Run to its end on one thread (no await inside), and
    // Nested restores the count in a finally, so a thread-local counter is exactly the current parse's depth.
    [ThreadStatic]
    private static int s_nesting;

    private sealed class NestingTooDeepException(int pos) : Exception
    {
        public int Pos { get; } = pos;
    }

    /// <summary>
    /// One level of recursion into a parenthesised sub-grammar. PostgREST's parser has no limit, but each level costs a
    /// few kilobytes of stack here and a stack overflow would kill the process, so a request nesting deeper than
    /// <see cref="MaxNesting"/> (or running out of stack) fails as a parse error at the opening parenthesis.
    /// </summary>
    public static P<T> Nested<T>(P<T> p) => (s, pos) =>
    {
        if (s_nesting >= MaxNesting || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw new NestingTooDeepException(pos);
        s_nesting++;
        try
        {
            return p(s, pos);
        }
        finally
        {
            s_nesting--;
        }
    };

    public static P<T> Lazy<T>(Func<P<T>> f)
    {
        P<T>? cached = null;
        return (s, pos) => (cached ??= f())(s, pos);
    }

    /// <summary>Data.Char's <c>isSpace</c>: what Data.Text's <c>strip</c> removes.</summary>
    public static bool IsHsSpace(char c) =>
        c is ' ' or (>= '\t' and <= '\r') or '\u00a0' || (c > '\u00ff' && CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.SpaceSeparator);

    /// <summary>Data.Text's <c>strip</c>.</summary>
    public static string HsStrip(string s)
    {
        int a = 0, b = s.Length;
        while (a < b && IsHsSpace(s[a])) a++;
        while (b > a && IsHsSpace(s[b - 1])) b--;
        return a == 0 && b == s.Length ? s : s[a..b];
    }

    /// <summary>Runs a parser on the whole input; returns the value or the (message, details) pair PostgREST shows.</summary>
    public static bool Run<T>(P<T> p, string input, string sourceName, out T value, out (string Message, string Details) error)
    {
        Reply<T> r;
        try
        {
            r = p(input, 0);
        }
        catch (NestingTooDeepException e)
        {
            value = default!;
            var at = Error.Unknown(e.Pos);
            error = (sourceName.Length == 0 ? at.Position(input) : $"\"{sourceName}\" {at.Position(input)}",
                $"nesting too deep: more than {MaxNesting} levels of parentheses");
            return false;
        }
        if (r.Ok)
        {
            value = r.Value;
            error = default;
            return true;
        }
        value = default!;
        var err = r.Err ?? Error.Unknown(0);
        // Parsec's Show SourcePos: the source name in quotes (not escaped), omitted when empty.
        error = (sourceName.Length == 0 ? err.Position(input) : $"\"{sourceName}\" {err.Position(input)}", err.Render());
        return false;
    }
}

/// <summary>
/// Haskell's <c>Read</c> for numbers (Text.Read.Lex), which PostgREST applies to <c>limit</c>/<c>offset</c>
/// (<c>readMaybe :: Integer</c>), <c>max-affected</c> (<c>readMaybe :: Int64</c>) and Accept q-values (wai's
/// <c>reads :: Double</c>). It accepts surrounding spaces, parentheses, a separate minus sign (<c>- 5</c>), and hex/octal
/// literals (<c>0x10</c>, <c>0o17</c>), but not a plus sign.
/// </summary>
/// <remarks>
/// The input is client-controlled, so the reader is one linear pass with no recursion: nested parentheses are
/// counted rather than recursed into (a recursion per <c>(</c> overflowed the stack, which .NET cannot catch), and an
/// integer literal is kept modulo 2^64 with a flag for "at least 2^64" rather than as a BigInteger grown per digit
/// (quadratic in the literal's length). That is all the callers need: Integer is clamped to a long, Int64 wraps.
/// </remarks>
internal static class HaskellRead
{
    /// <summary><c>readMaybe s :: Maybe Integer</c>, clamped to the range of a long.</summary>
    public static long? ReadInteger(string s)
    {
        var i = 0;
        if (!ReadNumber(s, ref i, integerOnly: true, out var n) || n.Double is not null) return null;
        SkipSpaces(s, ref i);
        if (i != s.Length) return null;
        const ulong minMagnitude = 1UL << 63;
        if (n.Negative) return n.Huge || n.Low >= minMagnitude ? long.MinValue : -(long)n.Low;
        return n.Huge || n.Low > long.MaxValue ? long.MaxValue : (long)n.Low;
    }

    /// <summary><c>readMaybe s :: Maybe Int64</c> (wraps around like <c>fromInteger</c>).</summary>
    public static long? ReadInt64(string s)
    {
        var i = 0;
        if (!ReadNumber(s, ref i, integerOnly: true, out var n) || n.Double is not null) return null;
        SkipSpaces(s, ref i);
        if (i != s.Length) return null;
        return (long)(n.Negative ? 0UL - n.Low : n.Low);
    }

    /// <summary>The first result of <c>reads s :: [(Double, String)]</c> (leftover text allowed), or null.</summary>
    public static double? ReadsDouble(string s)
    {
        var i = 0;
        if (!ReadNumber(s, ref i, integerOnly: false, out var n)) return null;
        if (n.Double is { } d) return n.Negative ? -d : d;
        return n.Negative && n.Approx != 0 ? -n.Approx : n.Approx;
    }

    /// <summary>
    /// A number literal: an integer's magnitude modulo 2^64 (<see cref="Low"/>), whether it is 2^64 or more
    /// (<see cref="Huge"/>) and its nearest double (<see cref="Approx"/>); or, with a fraction or exponent, a double.
    /// </summary>
    private readonly record struct Number(ulong Low, bool Huge, double Approx, double? Double, bool Negative);

    private static void SkipSpaces(string s, ref int i)
    {
        while (i < s.Length && Parsec.IsHsSpace(s[i])) i++;
    }

    // readNumber: parens (do { x <- lexP; case x of Symbol "-" -> negate <$> (lexP >>= convert); _ -> convert x }).
    // `parens` nests: n opening parentheses (each after optional spaces) need n closing ones after the number.
    private static bool ReadNumber(string s, ref int i, bool integerOnly, out Number n)
    {
        n = default;
        var start = i;
        var depth = 0;
        SkipSpaces(s, ref i);
        while (i < s.Length && s[i] == '(')
        {
            depth++;
            i++;
            SkipSpaces(s, ref i);
        }
        var negative = false;
        if (i < s.Length && s[i] == '-')
        {
            // The lexer reads a whole run of symbol characters: only a lone "-" is a minus sign.
            if (i + 1 < s.Length && "!@#$%&*+./<=>?\\^|:-~".Contains(s[i + 1], StringComparison.Ordinal))
            {
                i = start;
                return false;
            }
            negative = true;
            i++;
            SkipSpaces(s, ref i);
        }
        if (!LexNumber(s, ref i, integerOnly, out n))
        {
            i = start;
            return false;
        }
        for (var d = 0; d < depth; d++)
        {
            SkipSpaces(s, ref i);
            if (i >= s.Length || s[i] != ')')
            {
                i = start;
                return false;
            }
            i++;
        }
        n = n with { Negative = negative };
        return true;
    }

    private static bool LexNumber(string s, ref int i, bool integerOnly, out Number n)
    {
        n = default;
        if (!integerOnly)
        {
            foreach (var (word, value) in new[] { ("NaN", double.NaN), ("Infinity", double.PositiveInfinity) })
            {
                if (string.CompareOrdinal(s, i, word, 0, word.Length) != 0) continue;
                var end = i + word.Length;
                if (end < s.Length && (char.IsLetterOrDigit(s[end]) || s[end] is '_' or '\'')) return false;
                i = end;
                n = new Number(0, false, 0, value, false);
                return true;
            }
        }
        // lexHexOct <++ lexDecNumber
        if (i + 2 < s.Length && s[i] == '0' && s[i + 1] is 'x' or 'X' or 'o' or 'O')
        {
            var radix = s[i + 1] is 'x' or 'X' ? 16 : 8;
            var j = i + 2;
            var acc = new Accumulator();
            while (j < s.Length && DigitValue(s[j], radix) is { } d)
            {
                acc.Add(radix, d);
                j++;
            }
            if (j > i + 2)
            {
                i = j;
                n = new Number(acc.Low, acc.Huge, acc.Approx, null, false);
                return true;
            }
        }
        var k = i;
        var dec = new Accumulator();
        while (k < s.Length && char.IsAsciiDigit(s[k]))
        {
            dec.Add(10, s[k] - '0');
            k++;
        }
        if (k == i) return false;
        var intEnd = k;
        var hasFrac = false;
        if (k + 1 < s.Length && s[k] == '.' && char.IsAsciiDigit(s[k + 1]))
        {
            k += 2;
            while (k < s.Length && char.IsAsciiDigit(s[k])) k++;
            hasFrac = true;
        }
        var hasExp = false;
        if (k < s.Length && s[k] is 'e' or 'E')
        {
            var e = k + 1;
            if (e < s.Length && s[e] is '+' or '-') e++;
            if (e < s.Length && char.IsAsciiDigit(s[e]))
            {
                while (e < s.Length && char.IsAsciiDigit(s[e])) e++;
                k = e;
                hasExp = true;
            }
        }
        // double.Parse is linear in the text's length and correctly rounded.
        if (hasFrac || hasExp)
        {
            // A fraction or exponent makes it no Integer (numberToInteger is Nothing): the caller rejects it.
            n = new Number(0, false, 0, double.Parse(s.AsSpan(i, k - i), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture), false);
        }
        else
        {
            var approx = dec.Huge
                ? double.Parse(s.AsSpan(i, intEnd - i), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture)
                : dec.Low;
            n = new Number(dec.Low, dec.Huge, approx, null, false);
        }
        i = k;
        return true;
    }

    /// <summary>Digits folded into a magnitude modulo 2^64, with overflow noted and a running double for hex/octal.</summary>
    private struct Accumulator
    {
        public ulong Low;
        public bool Huge;
        public double Approx;

        public void Add(int radix, int digit)
        {
            var wide = (UInt128)Low * (uint)radix + (uint)digit;
            if (wide > ulong.MaxValue) Huge = true;
            Low = (ulong)wide;
            // Exact below 2^53; above it (hex or octal literals beyond any sensible q-value) within rounding.
            Approx = Approx * radix + digit;
        }
    }

    private static int? DigitValue(char c, int radix)
    {
        int d = c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'a' and <= 'f' => c - 'a' + 10,
            >= 'A' and <= 'F' => c - 'A' + 10,
            _ => 99,
        };
        return d < radix ? d : null;
    }
}
