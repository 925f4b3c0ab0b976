using System.Globalization;
using System.Text;

namespace Restgres.ApiRequest;

/// <summary>
/// A small parser-combinator core with Parsec's semantics (consumed/empty replies, <c>try</c>, labels, error merging by
/// position). PostgREST parses query parameters with Parsec and returns its error text to clients (PGRST100
/// <c>message</c>/<c>details</c>), so reproducing the semantics reproduces those messages exactly.
/// Parsers are built once as static delegates; a parse allocates only replies' errors and results.
/// </summary>
internal static class Parsec
{
    public enum MsgKind { SysUnExpect = 0, UnExpect = 1, Expect = 2, Message = 3 }

    public sealed class Error(int pos, List<(MsgKind Kind, string Text)> msgs)
    {
        public int Pos { get; } = pos;
        public List<(MsgKind Kind, string Text)> Msgs { get; } = msgs;
        public bool IsUnknown => Msgs.Count == 0;

        public static Error Unknown(int pos) => new(pos, []);
        public static Error Of(int pos, MsgKind kind, string text) => new(pos, [(kind, text)]);

        public static Error Merge(Error? e1, Error? e2)
        {
            if (e1 is null) return e2 ?? Unknown(0);
            if (e2 is null) return e1;
            if (e2.IsUnknown && !e1.IsUnknown) return e1;
            if (e1.IsUnknown && !e2.IsUnknown) return e2;
            if (e1.Pos > e2.Pos) return e1;
            if (e1.Pos < e2.Pos) return e2;
            return new Error(e1.Pos, [.. e1.Msgs, .. e2.Msgs]);
        }

        public Error WithExpect(string label)
        {
            var msgs = new List<(MsgKind, string)>(Msgs.Count + 1) { (MsgKind.Expect, label) };
            foreach (var m in Msgs)
                if (m.Kind != MsgKind.Expect) msgs.Add(m);
            return new Error(Pos, msgs);
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

    // Haskell's `show` for a String, used in Parsec's messages (e.g. unexpected "x").
    public static string ShowString(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var rune in s.EnumerateRunes())
        {
            var v = rune.Value;
            if (v == '"') sb.Append("\\\"");
            else if (v == '\\') sb.Append("\\\\");
            else if (v == '\n') sb.Append("\\n");
            else if (v == '\t') sb.Append("\\t");
            else if (v == '\r') sb.Append("\\r");
            else if (v < 0x20 || v >= 0x7f) sb.Append('\\').Append(v.ToString(CultureInfo.InvariantCulture));
            else sb.Append((char)v);
        }
        return sb.Append('"').ToString();
    }

    // Haskell's `show` for a Char (single quotes).
    public static string ShowChar(string s, int pos)
    {
        var rune = Rune.GetRuneAt(s, pos);
        var v = rune.Value;
        if (v == '\'') return "'\\''";
        if (v == '\\') return "'\\\\'";
        if (v == '\n') return "'\\n'";
        if (v == '\t') return "'\\t'";
        if (v < 0x20 || v >= 0x7f) return "'\\" + v.ToString(CultureInfo.InvariantCulture) + "'";
        return "'" + (char)v + "'";
    }

    private static string ShowCharAsString(string s, int pos) => ShowString(Rune.GetRuneAt(s, pos).ToString());

    private static int Width(string s, int pos) => char.IsHighSurrogate(s[pos]) && pos + 1 < s.Length ? 2 : 1;

    public static P<char> Satisfy(Func<Rune, bool> pred) => (s, pos) =>
    {
        if (pos >= s.Length) return EErr<char>(Error.Of(pos, MsgKind.SysUnExpect, ""));
        var r = Rune.GetRuneAt(s, pos);
        if (pred(r)) return new Reply<char>(true, true, s[pos], pos + Width(s, pos), Error.Unknown(pos + Width(s, pos)));
        return EErr<char>(Error.Of(pos, MsgKind.SysUnExpect, ShowCharAsString(s, pos)));
    };

    public static P<char> Char(char c) => Label(Satisfy(r => r.Value == c), ShowString(c.ToString()));

    public static P<char> OneOf(string chars) => Satisfy(r => r.Value < 0x10000 && chars.Contains((char)r.Value, StringComparison.Ordinal));

    public static P<char> NoneOf(string chars) => Satisfy(r => !(r.Value < 0x10000 && chars.Contains((char)r.Value, StringComparison.Ordinal)));

    public static readonly P<char> AnyChar = Satisfy(_ => true);

    public static readonly P<char> Letter = Label(Satisfy(Rune.IsLetter), "letter");

    public static readonly P<char> Digit = Label(Satisfy(r => r.Value is >= '0' and <= '9'), "digit");

    /// <summary>Parsec's <c>string</c> (<c>tokens</c>): errors are reported at the start position.</summary>
    public static P<string> Str(string tok) => (s, pos) =>
    {
        var shown = ShowString(tok);
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
    };

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

    public static P<TA> Left<TA, TB>(P<TA> a, P<TB> b) => Bind(a, x => Map(b, _ => x));

    public static P<TB> Right<TA, TB>(P<TA> a, P<TB> b) => Bind(a, _ => b);

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

    public static P<List<T>> Many1<T>(P<T> p) => Bind(p, first => Map(Many(p), rest => { rest.Insert(0, first); return rest; }));

    public static P<List<T>> SepBy1<T, TS>(P<T> p, P<TS> sep) =>
        Bind(p, first => Map(Many(Right(sep, p)), rest => { rest.Insert(0, first); return rest; }));

    public static P<List<T>> SepBy<T, TS>(P<T> p, P<TS> sep) => Or(SepBy1(p, sep), Pure(new List<T>()));

    public static P<T?> OptionMaybe<T>(P<T> p) where T : class => Or(Map(p, v => (T?)v), Pure<T?>(null));

    public static P<T> Option<T>(T def, P<T> p) => Or(p, Pure(def));

    public static P<T> Between<TO, TC, T>(P<TO> open, P<TC> close, P<T> p) => Right(open, Left(p, close));

    public static P<T> LookAhead<T>(P<T> p) => (s, pos) =>
    {
        var r = p(s, pos);
        if (r.Ok) return EOk(r.Value, pos, Error.Unknown(pos));
        return r;
    };

    /// <summary><c>eof</c>: <c>notFollowedBy anyToken &lt;?&gt; "end of input"</c>; the unexpected token is shown as a Char.</summary>
    public static readonly P<bool> Eof = Label<bool>((s, pos) =>
        pos >= s.Length ? EOk(true, pos, Error.Unknown(pos)) : EErr<bool>(Error.Of(pos, MsgKind.UnExpect, ShowChar(s, pos))), "end of input");

    /// <summary><c>notFollowedBy (char c)</c>: fails (without consuming) when the next char is <paramref name="c"/>.</summary>
    public static P<bool> NotFollowedByChar(Func<char, bool> pred) => (s, pos) =>
        pos < s.Length && pred(s[pos])
            ? EErr<bool>(Error.Of(pos + 1, MsgKind.UnExpect, ShowChar(s, pos)))
            : EOk(true, pos, Error.Unknown(pos));

    public static P<T> Lazy<T>(Func<P<T>> f)
    {
        P<T>? cached = null;
        return (s, pos) => (cached ??= f())(s, pos);
    }

    /// <summary>Runs a parser on the whole input; returns the value or the (message, details) pair PostgREST shows.</summary>
    public static bool Run<T>(P<T> p, string input, string sourceName, out T value, out (string Message, string Details) error)
    {
        var r = p(input, 0);
        if (r.Ok)
        {
            value = r.Value;
            error = default;
            return true;
        }
        value = default!;
        var err = r.Err ?? Error.Unknown(0);
        error = ($"\"{sourceName}\" {err.Position(input)}", err.Render());
        return false;
    }
}
