using System.Buffers;
using System.Collections.Immutable;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Restgres.Errors;

namespace Restgres.ApiRequest;

/// <summary>
/// The body of a write, ready to travel as one JSON parameter (PostgREST's Payload: ProcessedJSON / RawJSON).
/// <see cref="Json"/> is the text sent to PostgreSQL; <see cref="IsObject"/> picks <c>json_to_record</c> over
/// <c>json_to_recordset</c> (PostgREST looks at the first non-blank byte the same way).
/// </summary>
public sealed record Payload(string Json, bool IsObject)
{
    /// <summary>PostgREST's emptyPJArray: an empty array, or any JSON scalar, becomes <c>[]</c>.</summary>
    public static readonly Payload EmptyArray = new("[]", false);
}

/// <summary>A parsed body and the columns it writes (PostgREST's iPayload and iColumns).</summary>
/// <param name="Columns">Sorted and distinct, like PostgREST's <c>Set FieldName</c>.</param>
public sealed record ParsedPayload(Payload? Payload, ImmutableArray<string> Columns);

/// <summary>
/// Body parsing for POST/PUT/PATCH on relations (PostgREST's ApiRequest/Payload.hs, getPayload). Pure. JSON is only
/// validated here; the text itself goes to PostgreSQL untouched. With <c>columns=</c> the JSON is not even
/// validated (PostgreSQL reports errors). CSV and form bodies are turned into JSON.
/// </summary>
public static class PayloadParser
{
    public const string InvalidJson = "Empty or invalid json";
    public const string KeysMustMatch = "All object keys must match";
    public const string CsvFieldCount = "All lines must have same number of fields";

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    private static readonly JsonReaderOptions ReaderOptions = new()
    {
        // aeson has no depth limit; PostgreSQL's own limit (stack depth) still applies when it parses the body.
        MaxDepth = 100_000,
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
    };

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // The JSON is only read by PostgreSQL: keep non-ASCII as UTF-8 instead of \u escapes.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    /// <summary>
    /// getPayload for a relation mutation: DELETE reads no body; <c>columns=</c> applies to POST and PATCH only.
    /// Errors are PGRST102 (400) with PostgREST's messages.
    /// </summary>
    public static ParsedPayload Parse(Mutation mutation, MediaType contentType, ReadOnlyMemory<byte> body, ImmutableArray<string>? qsColumns)
    {
        if (mutation == Mutation.Delete) return new ParsedPayload(null, []);
        var columns = mutation is Mutation.Create or Mutation.Update ? qsColumns : null;
        switch (contentType.Kind)
        {
            case MediaKind.ApplicationJson:
                if (columns is { } cols)
                    return new ParsedPayload(new Payload(DecodeLenient(body.Span), StartsWithBrace(body.Span)), SortedDistinct(cols));
                return ParseJson(body.Span);
            case MediaKind.TextCsv:
                return ParseCsv(body.Span);
            case MediaKind.UrlEncoded:
                return ParseUrlEncoded(body.Span);
            default:
                throw Pgrst.InvalidBody("Content-Type not acceptable: " + contentType.ToMime());
        }
    }

    /// <summary>
    /// Validates a JSON body (aeson's decode: one value, surrounding whitespace only) and applies payloadAttributes:
    /// an object gives its keys; an array must hold only objects with the same key set; anything else is <c>[]</c>.
    /// Invalid JSON is reported before non-uniform keys, as in PostgREST where decoding comes first.
    /// </summary>
    public static ParsedPayload ParseJson(ReadOnlySpan<byte> body)
    {
        string text;
        try
        {
            text = StrictUtf8.GetString(body);
        }
        catch (DecoderFallbackException)
        {
            throw Pgrst.InvalidBody(InvalidJson);
        }

        var reader = new Utf8JsonReader(body, isFinalBlock: true, new JsonReaderState(ReaderOptions));
        var keyIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var lookup = keyIndex.GetAlternateLookup<ReadOnlySpan<char>>();
        char[]? nameBuf = null;
        bool[] seen = [];
        var uniform = true;
        try
        {
            if (!reader.Read()) throw Pgrst.InvalidBody(InvalidJson);
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    ReadObjectKeys(ref reader, keyIndex, ref nameBuf);
                    Drain(ref reader);
                    return new ParsedPayload(new Payload(text, true), SortedKeys(keyIndex));

                case JsonTokenType.StartArray:
                    var index = 0;
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (reader.TokenType != JsonTokenType.StartObject)
                        {
                            uniform = false;
                            reader.Skip();
                        }
                        else if (index == 0)
                        {
                            ReadObjectKeys(ref reader, keyIndex, ref nameBuf);
                            seen = new bool[keyIndex.Count];
                        }
                        else if (!uniform)
                            reader.Skip();
                        else
                            uniform = SameKeys(ref reader, lookup, seen, ref nameBuf);
                        index++;
                    }
                    Drain(ref reader);
                    if (index == 0) return new ParsedPayload(Payload.EmptyArray, []);
                    if (!uniform) throw Pgrst.InvalidBody(KeysMustMatch);
                    return new ParsedPayload(new Payload(text, false), SortedKeys(keyIndex));

                default:
                    // A scalar body is valid JSON that PostgREST truncates to an empty array.
                    reader.Skip();
                    Drain(ref reader);
                    return new ParsedPayload(Payload.EmptyArray, []);
            }
        }
        catch (JsonException)
        {
            throw Pgrst.InvalidBody(InvalidJson);
        }
        catch (InvalidOperationException)
        {
            // CopyString on a malformed escape or invalid UTF-8 in a property name.
            throw Pgrst.InvalidBody(InvalidJson);
        }
        finally
        {
            if (nameBuf is not null) ArrayPool<char>.Shared.Return(nameBuf);
        }
    }

    /// <summary>Reads to the end of the input so that trailing garbage is a JSON error.</summary>
    private static void Drain(ref Utf8JsonReader reader)
    {
        while (reader.Read()) { }
    }

    private static ReadOnlySpan<char> PropertyName(ref Utf8JsonReader reader, ref char[]? buf)
    {
        var max = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        if (buf is null || buf.Length < max)
        {
            if (buf is not null) ArrayPool<char>.Shared.Return(buf);
            buf = ArrayPool<char>.Shared.Rent(Math.Max(64, max));
        }
        var n = reader.CopyString(buf);
        return buf.AsSpan(0, n);
    }

    /// <summary>Reader on StartObject: records its keys (duplicates collapse, as in aeson's KeyMap), ends on EndObject.</summary>
    private static void ReadObjectKeys(ref Utf8JsonReader reader, Dictionary<string, int> keys, ref char[]? buf)
    {
        var lookup = keys.GetAlternateLookup<ReadOnlySpan<char>>();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = PropertyName(ref reader, ref buf);
            if (!lookup.ContainsKey(name)) lookup[name] = keys.Count;
            reader.Read();
            reader.Skip();
        }
    }

    /// <summary>Reader on StartObject: whether the object's key set equals the first object's, without allocating.</summary>
    private static bool SameKeys(ref Utf8JsonReader reader, Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> lookup, bool[] seen, ref char[]? buf)
    {
        Array.Clear(seen);
        var distinct = 0;
        var same = true;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (same)
            {
                var name = PropertyName(ref reader, ref buf);
                if (lookup.TryGetValue(name, out var i))
                {
                    if (!seen[i])
                    {
                        seen[i] = true;
                        distinct++;
                    }
                }
                else same = false;
            }
            reader.Read();
            reader.Skip();
        }
        return same && distinct == seen.Length;
    }

    private static ImmutableArray<string> SortedKeys(Dictionary<string, int> keys)
    {
        var arr = keys.Keys.ToArray();
        Array.Sort(arr, StringComparer.Ordinal);
        return ImmutableArray.Create(arr);
    }

    public static ImmutableArray<string> SortedDistinct(IEnumerable<string> names)
    {
        var set = new SortedSet<string>(names, StringComparer.Ordinal);
        return [.. set];
    }

    private static bool StartsWithBrace(ReadOnlySpan<byte> body)
    {
        foreach (var b in body)
        {
            if (b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r') continue;
            return b == (byte)'{';
        }
        return false;
    }

    /// <summary>Raw JSON with <c>columns=</c> is not validated; PostgreSQL rejects what it cannot parse.</summary>
    private static string DecodeLenient(ReadOnlySpan<byte> body) => Encoding.UTF8.GetString(body);

    /// <summary>
    /// application/x-www-form-urlencoded: http-types' parseSimpleQuery (split on <c>&amp;</c> and <c>;</c>, <c>+</c>
    /// is a space, a key without <c>=</c> has an empty value), the last value of a repeated key wins (HM.fromList),
    /// every value is a JSON string.
    /// </summary>
    public static ParsedPayload ParseUrlEncoded(ReadOnlySpan<byte> body)
    {
        var text = Encoding.UTF8.GetString(body);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in QueryParams.SplitQuery(text))
            map[k] = v ?? "";
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, WriterOptions))
        {
            w.WriteStartObject();
            foreach (var (k, v) in map) w.WriteString(k, v);
            w.WriteEndObject();
        }
        return new ParsedPayload(new Payload(Encoding.UTF8.GetString(ms.GetBuffer(), 0, (int)ms.Length), true), SortedDistinct(map.Keys));
    }

    /// <summary>
    /// text/csv (cassava's decodeByName): a header row, then records; <c>\n</c>, <c>\r\n</c> or <c>\r</c> end lines,
    /// fields may be double-quoted with <c>""</c> escapes, blank lines are skipped. Each record is zipped with the header
    /// (extra fields dropped, a short record yields fewer keys, which then fails the same-keys check). A field whose
    /// (unquoted) text is <c>NULL</c> becomes a JSON null, every other one a string (PostgREST's csvToJson).
    /// </summary>
    public static ParsedPayload ParseCsv(ReadOnlySpan<byte> body)
    {
        var text = Encoding.UTF8.GetString(body);
        var rows = CsvRecords(text);
        if (rows.Count == 0) throw Pgrst.InvalidBody("parse error (not enough input) at \"\"");
        var header = rows[0];
        var keyCount = new HashSet<string>(header, StringComparer.Ordinal).Count;
        using var ms = new MemoryStream();
        var records = 0;
        var uniform = true;
        using (var w = new Utf8JsonWriter(ms, WriterOptions))
        {
            w.WriteStartArray();
            for (var r = 1; r < rows.Count; r++)
            {
                var row = rows[r];
                // toNamedRecord zips header and fields into a map: later duplicates of a name win.
                var obj = new Dictionary<string, string>(StringComparer.Ordinal);
                for (var i = 0; i < Math.Min(header.Count, row.Count); i++) obj[header[i]] = row[i];
                if (obj.Count != keyCount) uniform = false;
                w.WriteStartObject();
                foreach (var (k, v) in obj)
                {
                    if (v == "NULL") w.WriteNull(k);
                    else w.WriteString(k, v);
                }
                w.WriteEndObject();
                records++;
            }
            w.WriteEndArray();
        }
        if (records == 0) return new ParsedPayload(Payload.EmptyArray, []);
        if (!uniform) throw Pgrst.InvalidBody(CsvFieldCount);
        return new ParsedPayload(new Payload(Encoding.UTF8.GetString(ms.GetBuffer(), 0, (int)ms.Length), false), SortedDistinct(header));
    }

    /// <summary>RFC 4180 records as cassava reads them; the header must end with a line break.</summary>
    private static List<List<string>> CsvRecords(string s)
    {
        var rows = new List<List<string>>();
        var i = 0;
        var field = new StringBuilder();
        while (i < s.Length)
        {
            var row = new List<string>();
            while (true)
            {
                field.Clear();
                if (i < s.Length && s[i] == '"')
                {
                    i++;
                    while (true)
                    {
                        if (i >= s.Length) throw Pgrst.InvalidBody("parse error (not enough input) at \"\"");
                        if (s[i] == '"')
                        {
                            if (i + 1 < s.Length && s[i + 1] == '"')
                            {
                                field.Append('"');
                                i += 2;
                                continue;
                            }
                            i++;
                            break;
                        }
                        field.Append(s[i++]);
                    }
                }
                else
                {
                    while (i < s.Length && s[i] is not (',' or '\n' or '\r' or '"')) field.Append(s[i++]);
                    if (i < s.Length && s[i] == '"')
                        throw Pgrst.InvalidBody($"parse error (endOfInput) at \"{Excerpt(s, i)}\"");
                }
                row.Add(field.ToString());
                if (i < s.Length && s[i] == ',')
                {
                    i++;
                    continue;
                }
                break;
            }
            var ended = false;
            if (i < s.Length && s[i] == '\r')
            {
                i++;
                if (i < s.Length && s[i] == '\n') i++;
                ended = true;
            }
            else if (i < s.Length && s[i] == '\n')
            {
                i++;
                ended = true;
            }
            else if (i < s.Length)
                throw Pgrst.InvalidBody($"parse error (endOfInput) at \"{Excerpt(s, i)}\"");
            if (rows.Count == 0 && !ended) throw Pgrst.InvalidBody("parse error (not enough input) at \"\"");
            // removeBlankLines: a record that is one empty field is a blank line (never the header).
            if (rows.Count > 0 && row.Count == 1 && row[0].Length == 0) continue;
            rows.Add(row);
        }
        return rows;
    }

    private static string Excerpt(string s, int i) => s.Length - i > 20 ? s.Substring(i, 20) : s[i..];
}
