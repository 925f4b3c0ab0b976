using System.Collections.Immutable;
using System.Text;
using System.Text.Json;
using Restgres.ApiRequest;
using Restgres.Errors;
using Restgres.SchemaCache;

namespace Restgres.Plan;

/// <summary>
/// The body of a POST /rpc call once parsed (PostgREST's Payload for ActRoutine Inv, ApiRequest/Payload.hs).
/// <see cref="Keys"/> are the argument names the overload is chosen by (PostgREST's iColumns).
/// </summary>
public abstract record CallPayload(ImmutableSortedSet<string> Keys);

/// <summary>A JSON object or array of objects (or CSV converted to one); <see cref="Raw"/> is sent as one json parameter.</summary>
public sealed record JsonCallPayload(ReadOnlyMemory<byte> Raw, ImmutableSortedSet<string> Keys) : CallPayload(Keys);

/// <summary>A JSON body sent unchecked because <c>?columns=</c> names the arguments.</summary>
public sealed record RawJsonCallPayload(ReadOnlyMemory<byte> Raw, ImmutableSortedSet<string> Keys) : CallPayload(Keys);

/// <summary>An <c>application/x-www-form-urlencoded</c> body: ordered name/value pairs (repeats kept for VARIADIC).</summary>
public sealed record UrlEncodedCallPayload(ImmutableArray<KeyValuePair<string, string>> Params, ImmutableSortedSet<string> Keys) : CallPayload(Keys);

/// <summary>text/plain, text/xml or application/octet-stream: the whole body is the single unnamed argument.</summary>
public sealed record RawCallPayload(ReadOnlyMemory<byte> Raw) : CallPayload(ImmutableSortedSet<string>.Empty);

/// <summary>A query-string / form argument value: fixed, or the repeated values of a VARIADIC parameter (CallPlan.hs).</summary>
public abstract record RpcParamValue;
public sealed record FixedArg(string Value) : RpcParamValue;
public sealed record VariadicArg(ImmutableArray<string> Values) : RpcParamValue;

/// <summary>How the arguments reach the function (PostgREST's CallArgs).</summary>
public abstract record CallArgs;

/// <summary>Arguments from the query string or a form body, each bound as its own parameter.</summary>
public sealed record DirectArgs(ImmutableDictionary<string, RpcParamValue> Args) : CallArgs;

/// <summary>The request body, sent as one parameter (json for named arguments, or the single unnamed argument).</summary>
public sealed record BodyArgs(ReadOnlyMemory<byte>? Raw) : CallArgs;

/// <summary>Body parsing and argument collection for function calls.</summary>
public static class CallArgsParser
{
    /// <summary>Ordinal order, as Haskell's <c>Data.Set Text</c> sorts (error messages list the keys this way).</summary>
    public static readonly StringComparer KeyOrder = StringComparer.Ordinal;

    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 4096 };

    /// <summary>
    /// getPayload for <c>POST /rpc</c>: the body by Content-Type. An empty JSON body means <c>{}</c>; with
    /// <c>?columns=</c> the JSON is not inspected and the columns are the argument names. Errors are PGRST102.
    /// </summary>
    public static CallPayload ParsePayload(MediaType contentType, ReadOnlyMemory<byte> body, ImmutableArray<string>? columns)
    {
        switch (contentType.Kind)
        {
            case MediaKind.ApplicationJson:
                if (columns is { } cols) return new RawJsonCallPayload(body, cols.ToImmutableSortedSet(KeyOrder));
                if (body.IsEmpty) return new JsonCallPayload(body, ImmutableSortedSet<string>.Empty.WithComparer(KeyOrder));
                return JsonAttributes(body);
            case MediaKind.TextCsv:
                return CsvAttributes(body);
            case MediaKind.UrlEncoded:
                var pairs = ParseUrlEncoded(body);
                return new UrlEncodedCallPayload(pairs, pairs.Select(p => p.Key).ToImmutableSortedSet(KeyOrder));
            case MediaKind.TextPlain or MediaKind.TextXml or MediaKind.OctetStream:
                return new RawCallPayload(body);
            default:
                throw Pgrst.InvalidBody("Content-Type not acceptable: " + contentType.ToMime());
        }
    }

    /// <summary>
    /// payloadAttributes: an object gives its keys; an array needs objects that all have the first one's keys; any
    /// other value (or an empty array) becomes <c>[]</c> without keys. PostgREST drops the parser's message
    /// (issue #2344), so every syntax error reads "Empty or invalid json".
    /// </summary>
    private static JsonCallPayload JsonAttributes(ReadOnlyMemory<byte> body)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body, JsonOptions);
        }
        catch (JsonException)
        {
            throw Pgrst.InvalidBody("Empty or invalid json");
        }
        using (doc)
        {
            var root = doc.RootElement;
            switch (root.ValueKind)
            {
                case JsonValueKind.Object:
                    return new JsonCallPayload(body, ObjectKeys(root));
                case JsonValueKind.Array:
                    if (root.GetArrayLength() == 0) return EmptyArray;
                    var first = root[0];
                    if (first.ValueKind != JsonValueKind.Object) throw Pgrst.InvalidBody("All object keys must match");
                    var keys = ObjectKeys(first);
                    foreach (var el in root.EnumerateArray())
                        if (el.ValueKind != JsonValueKind.Object || !ObjectKeys(el).SetEquals(keys))
                            throw Pgrst.InvalidBody("All object keys must match");
                    return new JsonCallPayload(body, keys);
                default:
                    return EmptyArray;
            }
        }
    }

    private static readonly JsonCallPayload EmptyArray = new("[]"u8.ToArray(), ImmutableSortedSet<string>.Empty.WithComparer(KeyOrder));

    private static ImmutableSortedSet<string> ObjectKeys(JsonElement obj)
    {
        var b = ImmutableSortedSet.CreateBuilder<string>(KeyOrder);
        foreach (var p in obj.EnumerateObject()) b.Add(p.Name);
        return b.ToImmutable();
    }

    /// <summary>
    /// text/csv: a header line and records, converted to a JSON array of objects with string values, <c>NULL</c>
    /// meaning null (PostgREST's csvToJson over cassava's decodeByName).
    /// </summary>
    private static JsonCallPayload CsvAttributes(ReadOnlyMemory<byte> body)
    {
        var rows = Csv.Parse(Encoding.UTF8.GetString(body.Span));
        if (rows.Count == 0) throw Pgrst.InvalidBody("parse error (not enough input) at \"\"");
        var header = rows[0];
        var records = rows.Skip(1).ToList();
        foreach (var r in records)
            if (r.Count != header.Count) throw Pgrst.InvalidBody("All lines must have same number of fields");
        if (records.Count == 0) return EmptyArray;
        // Data.Map orders the keys of each object; a repeated header name keeps the last field.
        var order = header.Select((h, i) => (h, i)).GroupBy(x => x.h).Select(g => (Name: g.Key, Index: g.Last().i))
            .OrderBy(x => x.Name, KeyOrder).ToList();
        var sb = new StringBuilder("[");
        for (var r = 0; r < records.Count; r++)
        {
            if (r > 0) sb.Append(',');
            sb.Append('{');
            for (var k = 0; k < order.Count; k++)
            {
                if (k > 0) sb.Append(',');
                JsonText.WriteString(sb, order[k].Name);
                sb.Append(':');
                var v = records[r][order[k].Index];
                if (v == "NULL") sb.Append("null");
                else JsonText.WriteString(sb, v);
            }
            sb.Append('}');
        }
        sb.Append(']');
        return new JsonCallPayload(Encoding.UTF8.GetBytes(sb.ToString()), order.Select(o => o.Name).ToImmutableSortedSet(KeyOrder));
    }

    /// <summary>http-types' parseSimpleQuery over the body: <c>&amp;</c>/<c>;</c> separated, <c>+</c> and percent-decoding.</summary>
    public static ImmutableArray<KeyValuePair<string, string>> ParseUrlEncoded(ReadOnlyMemory<byte> body)
    {
        if (body.IsEmpty) return [];
        var text = Encoding.UTF8.GetString(body.Span);
        return [.. QueryParams.SplitQuery(text).Select(p => new KeyValuePair<string, string>(p.Key, p.Value ?? ""))];
    }

    /// <summary>
    /// toRpcParams: name/value pairs to arguments. A repeated name keeps its last value, except for a VARIADIC
    /// parameter whose values are all collected in order (<c>?v=1&amp;v=2</c>).
    /// </summary>
    public static ImmutableDictionary<string, RpcParamValue> ToRpcParams(Routine routine, IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var variadic = routine.HasVariadic
            ? routine.Params.Where(p => p.Variadic).Select(p => p.Name).ToHashSet(StringComparer.Ordinal)
            : null;
        var result = ImmutableDictionary.CreateBuilder<string, RpcParamValue>(StringComparer.Ordinal);
        // Variadic values are collected in builders and frozen once: appending to an ImmutableArray per value copied
        // it each time, quadratic in a form body that repeats the name.
        Dictionary<string, ImmutableArray<string>.Builder>? collected = null;
        foreach (var (k, v) in pairs)
        {
            if (variadic is not null && variadic.Contains(k))
            {
                collected ??= new(StringComparer.Ordinal);
                if (!collected.TryGetValue(k, out var values)) collected[k] = values = ImmutableArray.CreateBuilder<string>();
                values.Add(v);
            }
            else result[k] = new FixedArg(v);
        }
        if (collected is not null)
            foreach (var (k, values) in collected)
                result[k] = new VariadicArg(values.ToImmutable());
        return result.ToImmutable();
    }

    /// <summary>The JSON object PostgREST encodes direct arguments to when they feed a single unnamed parameter.</summary>
    public static string ToJsonObject(ImmutableDictionary<string, RpcParamValue> args)
    {
        var sb = new StringBuilder("{");
        var first = true;
        foreach (var (k, v) in args.OrderBy(a => a.Key, KeyOrder))
        {
            if (!first) sb.Append(',');
            first = false;
            JsonText.WriteString(sb, k);
            sb.Append(':');
            switch (v)
            {
                case FixedArg f:
                    JsonText.WriteString(sb, f.Value);
                    break;
                case VariadicArg va:
                    sb.Append('[');
                    for (var i = 0; i < va.Values.Length; i++)
                    {
                        if (i > 0) sb.Append(',');
                        JsonText.WriteString(sb, va.Values[i]);
                    }
                    sb.Append(']');
                    break;
            }
        }
        return sb.Append('}').ToString();
    }

    /// <summary>A small RFC 4180 reader: quoted fields with doubled quotes, CRLF or LF line ends, no trailing empty line.</summary>
    internal static class Csv
    {
        public static List<List<string>> Parse(string text)
        {
            var rows = new List<List<string>>();
            var row = new List<string>();
            var field = new StringBuilder();
            var i = 0;
            var inQuotes = false;
            var fieldStarted = false;
            while (i < text.Length)
            {
                var c = text[i];
                if (inQuotes)
                {
                    if (c == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i += 2; continue; }
                        inQuotes = false;
                        i++;
                        continue;
                    }
                    field.Append(c);
                    i++;
                    continue;
                }
                switch (c)
                {
                    case '"' when !fieldStarted:
                        inQuotes = true;
                        fieldStarted = true;
                        i++;
                        break;
                    case ',':
                        row.Add(field.ToString());
                        field.Clear();
                        fieldStarted = false;
                        i++;
                        break;
                    case '\r' or '\n':
                        row.Add(field.ToString());
                        field.Clear();
                        fieldStarted = false;
                        rows.Add(row);
                        row = [];
                        i += c == '\r' && i + 1 < text.Length && text[i + 1] == '\n' ? 2 : 1;
                        break;
                    default:
                        field.Append(c);
                        fieldStarted = true;
                        i++;
                        break;
                }
            }
            if (fieldStarted || field.Length > 0 || row.Count > 0)
            {
                row.Add(field.ToString());
                rows.Add(row);
            }
            return rows;
        }
    }
}
