using System.Collections.Immutable;
using System.Text;
using Restgres.Catalog;
using Restgres.Errors;
using Restgres.Requests;

namespace Restgres.Plan;

/// <summary>A query-string / form argument value: fixed, or the repeated values of a VARIADIC parameter (CallPlan.hs).</summary>
internal abstract record RpcParamValue;
internal sealed record FixedArg(string Value) : RpcParamValue;
internal sealed record VariadicArg(ImmutableArray<string> Values) : RpcParamValue;

/// <summary>How the arguments reach the function (PostgREST's CallArgs).</summary>
internal abstract record CallArgs;

/// <summary>Arguments from the query string or a form body, each bound as its own parameter.</summary>
internal sealed record DirectArgs(ImmutableDictionary<string, RpcParamValue> Args) : CallArgs;

/// <summary>The request body, sent as one parameter (json for named arguments, or the single unnamed argument).</summary>
internal sealed record BodyArgs(ReadOnlyMemory<byte>? Raw) : CallArgs;

/// <summary>Argument collection for function calls (the body is parsed by <see cref="PayloadParser.ParseCall"/>).</summary>
internal static class CallArgsParser
{
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
        foreach (var (k, v) in args.OrderBy(a => a.Key, PayloadParser.KeyOrder))
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
}
