using System.Buffers;
using System.Collections.Immutable;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Restgres.Errors;

namespace Restgres.Requests;

/// <summary>
/// The body of a write, ready to travel as one JSON parameter (PostgREST's Payload: ProcessedJSON / RawJSON).
/// <see cref="Json"/> is the text sent to PostgreSQL; <see cref="IsObject"/> picks <c>json_to_record</c> over
/// <c>json_to_recordset</c> (PostgREST looks at the first non-blank byte the same way).
/// </summary>
internal sealed record Payload(string Json, bool IsObject)
{
    /// <summary>PostgREST's emptyPJArray: an empty array, or any JSON scalar, becomes <c>[]</c>.</summary>
    public static readonly Payload EmptyArray = new("[]", false);
}

/// <summary>A parsed body and the columns it writes (PostgREST's iPayload and iColumns).</summary>
/// <param name="Columns">Sorted and distinct, like PostgREST's <c>Set FieldName</c>.</param>
internal sealed record ParsedPayload(Payload? Payload, ImmutableArray<string> Columns);

/// <summary>
/// The body of a POST /rpc call once parsed (PostgREST's Payload for ActRoutine Inv).
/// <see cref="Keys"/> are the argument names the overload is chosen by (PostgREST's iColumns).
/// </summary>
internal abstract record CallPayload(ImmutableSortedSet<string> Keys);

/// <summary>A JSON object or array of objects (or CSV converted to one); <see cref="Raw"/> is sent as one json parameter.</summary>
internal sealed record JsonCallPayload(ReadOnlyMemory<byte> Raw, ImmutableSortedSet<string> Keys) : CallPayload(Keys);

/// <summary>A JSON body sent unchecked because <c>?columns=</c> names the arguments.</summary>
internal sealed record RawJsonCallPayload(ReadOnlyMemory<byte> Raw, ImmutableSortedSet<string> Keys) : CallPayload(Keys);

/// <summary>An <c>application/x-www-form-urlencoded</c> body: ordered name/value pairs (repeats kept for VARIADIC).</summary>
internal sealed record UrlEncodedCallPayload(ImmutableArray<KeyValuePair<string, string>> Params, ImmutableSortedSet<string> Keys) : CallPayload(Keys);

/// <summary>text/plain, text/xml or application/octet-stream: the whole body is the single unnamed argument.</summary>
internal sealed record RawCallPayload(ReadOnlyMemory<byte> Raw) : CallPayload(ImmutableSortedSet<string>.Empty);

/// <summary>
/// The request body parser (PostgREST's ApiRequest/Payload.hs, getPayload), one for writes and calls as in PostgREST:
/// <see cref="Parse"/> for POST/PUT/PATCH/DELETE on relations, <see cref="ParseCall"/> for POST /rpc. Both read JSON,
/// CSV and form bodies with the same code; they differ only where getPayload looks at the action (isProc): a call
/// takes an empty JSON body as <c>{}</c>, keeps every form pair (VARIADIC) and accepts raw text/xml/binary bodies.
/// Pure. JSON is only validated; the text itself goes to PostgreSQL untouched. With <c>columns=</c> the JSON is not
/// even validated (PostgreSQL reports errors). Errors are PGRST102 (400) with PostgREST's messages.
/// </summary>
internal static class PayloadParser
{
    public const string InvalidJson = "Empty or invalid json";
    public const string KeysMustMatch = "All object keys must match";
    public const string CsvFieldCount = "All lines must have same number of fields";

    /// <summary>Ordinal order, as Haskell's <c>Data.Set Text</c> sorts (error messages list the keys this way).</summary>
    public static readonly StringComparer KeyOrder = StringComparer.Ordinal;

    private static readonly JsonReaderOptions ReaderOptions = new()
    {
        // aeson has no depth limit; PostgreSQL's own limit (stack depth) still applies when it parses the body. The
        // reader is not recursive, so a deep body costs no stack here.
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

    private static readonly ImmutableSortedSet<string> NoKeys = ImmutableSortedSet<string>.Empty.WithComparer(KeyOrder);

    /// <summary>PostgREST's emptyPJArray for a call.</summary>
    private static readonly JsonCallPayload EmptyCallArray = new("[]"u8.ToArray(), NoKeys);

    /// <summary>
    /// getPayload for a relation mutation: DELETE reads no body; <c>columns=</c> applies to POST and PATCH only.
    /// </summary>
    public static ParsedPayload Parse(Mutation mutation, MediaType contentType, ReadOnlyMemory<byte> body, ImmutableArray<string>? qsColumns)
    {
        if (mutation == Mutation.Delete) return new ParsedPayload(null, []);
        var columns = mutation is Mutation.Create or Mutation.Update ? qsColumns : null;
        switch (contentType.Kind)
        {
            case MediaKind.ApplicationJson:
                if (columns is { } cols)
                    return new ParsedPayload(new Payload(Encoding.UTF8.GetString(body.Span), StartsWithBrace(body.Span)), SortedDistinct(cols));
                return JsonAttributes(body.Span, out var keys) switch
                {
                    JsonShape.Empty => new ParsedPayload(Payload.EmptyArray, []),
                    // Validated as UTF-8 already.
                    var shape => new ParsedPayload(new Payload(Encoding.UTF8.GetString(body.Span), shape == JsonShape.Object), keys),
                };
            case MediaKind.TextCsv:
                return CsvToJson(body.Span, out var csvKeys) is { } csv
                    ? new ParsedPayload(new Payload(Encoding.UTF8.GetString(csv), false), csvKeys)
                    : new ParsedPayload(Payload.EmptyArray, []);
            case MediaKind.UrlEncoded:
                return FormObject(FormPairs(body.Span));
            default:
                throw NotAcceptable(contentType);
        }
    }

    /// <summary>
    /// getPayload for <c>POST /rpc</c>: an empty JSON body means <c>{}</c>; with <c>?columns=</c> the JSON is not
    /// inspected and the columns are the argument names; text/plain, text/xml and application/octet-stream bodies
    /// are the single unnamed argument.
    /// </summary>
    public static CallPayload ParseCall(MediaType contentType, ReadOnlyMemory<byte> body, ImmutableArray<string>? columns)
    {
        switch (contentType.Kind)
        {
            case MediaKind.ApplicationJson:
                if (columns is { } cols) return new RawJsonCallPayload(body, cols.ToImmutableSortedSet(KeyOrder));
                if (body.IsEmpty) return new JsonCallPayload(body, NoKeys);
                return JsonAttributes(body.Span, out var keys) == JsonShape.Empty
                    ? EmptyCallArray
                    : new JsonCallPayload(body, keys.ToImmutableSortedSet(KeyOrder));
            case MediaKind.TextCsv:
                return CsvToJson(body.Span, out var csvKeys) is { } csv
                    ? new JsonCallPayload(csv, csvKeys.ToImmutableSortedSet(KeyOrder))
                    : EmptyCallArray;
            case MediaKind.UrlEncoded:
                var pairs = FormPairs(body.Span);
                return new UrlEncodedCallPayload([.. pairs], pairs.Select(p => p.Key).ToImmutableSortedSet(KeyOrder));
            case MediaKind.TextPlain or MediaKind.TextXml or MediaKind.OctetStream:
                return new RawCallPayload(body);
            default:
                throw NotAcceptable(contentType);
        }
    }

    private static ApiError NotAcceptable(MediaType contentType) =>
        Pgrst.InvalidBody("Content-Type not acceptable: " + contentType.ToMime());

    /// <summary>What payloadAttributes makes of a JSON value: an object, an array of objects, or an empty array.</summary>
    private enum JsonShape { Object, Array, Empty }

    /// <summary>
    /// Validates a JSON body (aeson's decode: one value, surrounding whitespace only) and applies payloadAttributes:
    /// an object gives its keys; an array must hold only objects with the same key set; anything else is <c>[]</c>.
    /// Invalid JSON is reported before non-uniform keys, as in PostgREST where decoding comes first.
    /// </summary>
    private static JsonShape JsonAttributes(ReadOnlySpan<byte> body, out ImmutableArray<string> keys)
    {
        keys = [];
        // aeson rejects invalid UTF-8 anywhere in the text; the reader only checks what it decodes.
        if (!Utf8.IsValid(body)) throw Pgrst.InvalidBody(InvalidJson);

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
                    keys = SortedKeys(keyIndex);
                    return JsonShape.Object;

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
                    if (index == 0) return JsonShape.Empty;
                    if (!uniform) throw Pgrst.InvalidBody(KeysMustMatch);
                    keys = SortedKeys(keyIndex);
                    return JsonShape.Array;

                default:
                    // A scalar body is valid JSON that PostgREST truncates to an empty array.
                    reader.Skip();
                    Drain(ref reader);
                    return JsonShape.Empty;
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

    /// <summary>
    /// application/x-www-form-urlencoded: http-types' parseSimpleQuery (split on <c>&amp;</c> and <c>;</c>, <c>+</c>
    /// is a space, a key without <c>=</c> has an empty value), in body order with repeats.
    /// </summary>
    private static List<KeyValuePair<string, string>> FormPairs(ReadOnlySpan<byte> body)
    {
        var split = QueryParams.SplitQuery(Encoding.UTF8.GetString(body));
        var pairs = new List<KeyValuePair<string, string>>(split.Count);
        foreach (var (k, v) in split) pairs.Add(new(k, v ?? ""));
        return pairs;
    }

    /// <summary>A form body written to a relation: one object whose values are JSON strings; the last value of a repeated key wins (HM.fromList).</summary>
    private static ParsedPayload FormObject(List<KeyValuePair<string, string>> pairs)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in pairs) map[k] = v;
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            foreach (var (k, v) in map) w.WriteString(k, v);
            w.WriteEndObject();
        }
        return new ParsedPayload(new Payload(Encoding.UTF8.GetString(buffer.WrittenSpan), true), SortedDistinct(map.Keys));
    }

    /// <summary>
    /// text/csv: PostgREST's csvToJson over cassava's decodeByName, then payloadAttributes. A header row, then records;
    /// <c>\n</c>, <c>\r\n</c> or <c>\r</c> end lines, fields may be double-quoted with <c>""</c> escapes, blank lines
    /// are skipped. Each record is zipped with the header (toNamedRecord): extra fields are dropped and a short record
    /// has fewer keys, and every record must have the first one's keys ("All lines must have same number of fields"),
    /// so equally short records are accepted. A field whose text is <c>NULL</c> becomes a JSON null, every other one a
    /// string; each object's keys are in order (aeson encodes a Map). Null for no records (PostgREST's emptyPJArray).
    /// </summary>
    /// <param name="keys">The first record's keys, sorted.</param>
    private static byte[]? CsvToJson(ReadOnlySpan<byte> body, out ImmutableArray<string> keys)
    {
        keys = [];
        var rows = CsvRecords(Encoding.UTF8.GetString(body));
        if (rows.Count == 0) throw Pgrst.InvalidBody("parse error (not enough input) at \"\"");
        if (rows.Count == 1) return null;
        var header = rows[0];
        // A record's keys depend only on how many of the header's names it reaches: one layout per length.
        var layouts = new (string Name, int Index)[]?[header.Count + 1];
        (string Name, int Index)[] Layout(int length)
        {
            if (layouts[length] is { } known) return known;
            // HM.fromList over the zip: a repeated name keeps its last field.
            var last = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < length; i++) last[header[i]] = i;
            var layout = last.Select(kv => (kv.Key, kv.Value)).ToArray();
            Array.Sort(layout, (x, y) => KeyOrder.Compare(x.Key, y.Key));
            return layouts[length] = layout;
        }
        var first = Layout(Math.Min(header.Count, rows[1].Count));
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartArray();
            for (var r = 1; r < rows.Count; r++)
            {
                var row = rows[r];
                var layout = Layout(Math.Min(header.Count, row.Count));
                // Layouts are nested prefixes, so the same key count is the same key set.
                if (layout.Length != first.Length) throw Pgrst.InvalidBody(CsvFieldCount);
                w.WriteStartObject();
                foreach (var (name, index) in layout)
                {
                    if (row[index] == "NULL") w.WriteNull(name);
                    else w.WriteString(name, row[index]);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        keys = [.. first.Select(f => f.Name)];
        return buffer.WrittenSpan.ToArray();
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
