using System.Collections.Immutable;
using Restgres.Catalog;
using Restgres.Config;
using Restgres.Errors;

namespace Restgres.Requests;

internal enum Mutation { Create, Update, SingleUpsert, Delete }

internal enum InvokeMethod { Inv, Read, ReadHead }

/// <summary>What the request asks for (PostgREST's Action).</summary>
internal abstract record ApiAction;
internal sealed record RelationRead(QualifiedIdentifier Target, bool HeadersOnly) : ApiAction;
internal sealed record RelationMut(QualifiedIdentifier Target, Mutation Mutation) : ApiAction;
internal sealed record RoutineCall(QualifiedIdentifier Target, InvokeMethod Method) : ApiAction;
internal sealed record SchemaRead(string Schema, bool HeadersOnly) : ApiAction;
internal sealed record RelationInfo(QualifiedIdentifier Target) : ApiAction;
internal sealed record RoutineInfo(QualifiedIdentifier Target) : ApiAction;
internal sealed record SchemaInfo : ApiAction;

/// <summary>The HTTP request reduced to what the pipeline needs; built by the HTTP layer, no ASP.NET types.</summary>
internal sealed record RawRequest(
    string Method,
    string RawPath,
    ImmutableArray<string> PathSegments,
    string RawQuery,
    ImmutableArray<KeyValuePair<string, string>> Headers,
    ReadOnlyMemory<byte> Body)
{
    public string? Header(string name)
    {
        foreach (var (k, v) in Headers)
            if (string.Equals(k, name, StringComparison.OrdinalIgnoreCase)) return v;
        return null;
    }

    public IEnumerable<string> HeaderValues(string name) =>
        Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value);
}

/// <summary>
/// The user's intent, parsed from the HTTP request (PostgREST's ApiRequest, built by userApiRequest): action, schema
/// (from Accept-Profile / Content-Profile), query parameters, ranges, preferences and media types. Pure.
/// </summary>
internal sealed record ApiRequest
{
    public required ApiAction Action { get; init; }
    public required NonnegRange TopLevelRange { get; init; }
    public required ImmutableDictionary<string, NonnegRange> Ranges { get; init; }
    public required Preferences Preferences { get; init; }
    public required QueryParams QueryParams { get; init; }
    /// <summary>Request headers with lower-cased names, without Cookie (for the request.headers GUC).</summary>
    public required ImmutableArray<KeyValuePair<string, string>> Headers { get; init; }
    public required ImmutableArray<KeyValuePair<string, string>> Cookies { get; init; }
    public required string Path { get; init; }
    public required string Method { get; init; }
    public required string Schema { get; init; }
    public required bool NegotiatedByProfile { get; init; }
    public required IReadOnlyList<MediaType> AcceptMediaTypes { get; init; }
    public required MediaType ContentMediaType { get; init; }
    public required ReadOnlyMemory<byte> Body { get; init; }
    /// <summary>The parsed body of a write to a relation (DELETE: no payload, but no body either).</summary>
    public ParsedPayload? MutationPayload { get; init; }
    /// <summary>The parsed body of a <c>POST /rpc</c> call; null for GET/HEAD calls, whose arguments are in the URL.</summary>
    public CallPayload? CallPayload { get; init; }

    /// <summary>
    /// PostgREST's userApiRequest: resource, schema, action, query parameters, ranges and then the body (getPayload), so
    /// a bad body (PGRST102) is reported after a bad query string and before anything about the schema cache.
    /// </summary>
    public static ApiRequest FromRaw(AppConfig config, RawRequest req, Preferences prefs)
    {
        var resource = GetResource(config, req.PathSegments);
        var (schema, negotiated) = GetSchema(config, req);
        var action = GetAction(resource, schema, req.Method, headBody: config.ServerEtag);
        var isRpcRead = action is RoutineCall { Method: InvokeMethod.Read or InvokeMethod.ReadHead };
        var qp = QueryParams.Parse(isRpcRead, req.RawQuery);
        var (top, ranges) = GetRanges(req, qp);
        var contentType = req.Header("Content-Type");
        var request = new ApiRequest
        {
            Action = action,
            TopLevelRange = top,
            Ranges = ranges,
            Preferences = prefs,
            QueryParams = qp,
            Headers = RequestHeaders(req),
            Cookies = RequestCookies(req),
            Path = req.RawPath,
            Method = req.Method,
            Schema = schema,
            NegotiatedByProfile = negotiated,
            AcceptMediaTypes = MediaType.ParseAccept(req.Header("Accept")),
            ContentMediaType = contentType is null ? MediaType.Json : MediaType.Decode(contentType),
            Body = req.Body,
        };
        return request.WithBody(req.Body);
    }

    /// <summary>This request with another body, parsed as its action reads bodies (getPayload).</summary>
    public ApiRequest WithBody(ReadOnlyMemory<byte> body) => Action switch
    {
        RelationMut mut => this with { Body = body, MutationPayload = PayloadParser.Parse(mut.Mutation, ContentMediaType, body, QueryParams.Columns) },
        RoutineCall { Method: InvokeMethod.Inv } => this with
        {
            Body = body, CallPayload = PayloadParser.ParseCall(ContentMediaType, body, QueryParams.Columns),
        },
        _ => this with { Body = body },
    };

    /// <summary>Request headers with lower-cased names, without Cookie (PostgREST's iHeaders).</summary>
    public static ImmutableArray<KeyValuePair<string, string>> RequestHeaders(RawRequest req) =>
        [.. req.Headers
            .Where(h => !string.Equals(h.Key, "cookie", StringComparison.OrdinalIgnoreCase))
            .Select(h => new KeyValuePair<string, string>(h.Key.ToLowerInvariant(), h.Value))];

    public static ImmutableArray<KeyValuePair<string, string>> RequestCookies(RawRequest req) => ParseCookies(req.Header("Cookie"));

    private abstract record Resource;
    private sealed record ResRelation(string Name) : Resource;
    private sealed record ResRoutine(string Name) : Resource;
    private sealed record ResSchema : Resource;

    private static Resource GetResource(AppConfig config, ImmutableArray<string> segments) =>
        ResourceOf(config, segments)
        ?? throw (segments.IsEmpty ? Pgrst.OpenApiDisabled() : Pgrst.InvalidResourcePath());

    /// <summary>The resource a path names, or null when it names none (PGRST126 at the root, PGRST125 elsewhere).</summary>
    private static Resource? ResourceOf(AppConfig config, ImmutableArray<string> segments) => segments.Length switch
    {
        0 when config.OpenApiMode == OpenApiMode.Disabled => null,
        0 => config.DbRootSpec is { } root ? new ResRoutine(root.Name) : new ResSchema(),
        1 => new ResRelation(segments[0]),
        2 when segments[0] == "rpc" => new ResRoutine(segments[1]),
        _ => null,
    };

    /// <summary>Whether the path names a function (<c>/rpc/fn</c>, or <c>/</c> with db-root-spec).</summary>
    public static bool NamesRoutine(AppConfig config, ImmutableArray<string> segments) => ResourceOf(config, segments) is ResRoutine;

    /// <param name="headBody">HEAD runs the GET's statement, body included, so that its ETag is the GET's
    /// (server-etag); the body is not sent. Otherwise HEAD skips the body, as in PostgREST.</param>
    private static ApiAction GetAction(Resource resource, string schema, string method, bool headBody)
    {
        if (headBody && method == "HEAD") method = "GET";
        QualifiedIdentifier Qi(string n) => new(schema, n);
        return (resource, method) switch
        {
            (ResRoutine r, "HEAD") => new RoutineCall(Qi(r.Name), InvokeMethod.ReadHead),
            (ResRoutine r, "GET") => new RoutineCall(Qi(r.Name), InvokeMethod.Read),
            (ResRoutine r, "POST") => new RoutineCall(Qi(r.Name), InvokeMethod.Inv),
            (ResRoutine r, "OPTIONS") => new RoutineInfo(Qi(r.Name)),
            (ResRoutine, _) => throw Pgrst.InvalidRpcMethod(method),
            (ResRelation r, "HEAD") => new RelationRead(Qi(r.Name), true),
            (ResRelation r, "GET") => new RelationRead(Qi(r.Name), false),
            (ResRelation r, "POST") => new RelationMut(Qi(r.Name), Mutation.Create),
            (ResRelation r, "PUT") => new RelationMut(Qi(r.Name), Mutation.SingleUpsert),
            (ResRelation r, "PATCH") => new RelationMut(Qi(r.Name), Mutation.Update),
            (ResRelation r, "DELETE") => new RelationMut(Qi(r.Name), Mutation.Delete),
            (ResRelation r, "OPTIONS") => new RelationInfo(Qi(r.Name)),
            (ResSchema, "HEAD") => new SchemaRead(schema, true),
            (ResSchema, "GET") => new SchemaRead(schema, false),
            (ResSchema, "OPTIONS") => new SchemaInfo(),
            _ => throw Pgrst.UnsupportedMethod(method),
        };
    }

    /// <summary>Accept-Profile for reads, Content-Profile for writes (PostgREST docs: references/api/schemas.rst).</summary>
    private static (string Schema, bool Negotiated) GetSchema(AppConfig config, RawRequest req)
    {
        var profile = req.Method is "DELETE" or "PATCH" or "POST" or "PUT" ? req.Header("Content-Profile") : req.Header("Accept-Profile");
        if (profile is not null)
        {
            if (!config.DbSchemas.Contains(profile)) throw Pgrst.UnacceptableSchema(profile, config.DbSchemas);
            return (profile, true);
        }
        return (config.DbSchemas[0], config.DbSchemas.Length != 1);
    }

    private static (NonnegRange Top, ImmutableDictionary<string, NonnegRange> Ranges) GetRanges(RawRequest req, QueryParams qp)
    {
        // RFC 9110: the Range header is ignored for methods other than GET.
        var headerRange = req.Method == "GET" ? NonnegRange.ParseHeader(req.Header("Range")) : NonnegRange.All;
        var limitRange = qp.Ranges.TryGetValue("limit", out var l) ? l : NonnegRange.All;
        var headerAndLimit = headerRange.Intersect(limitRange);
        var ranges = qp.Ranges.SetItem("limit", NonnegRange.ConvertToLimitZero(limitRange, headerAndLimit));
        var top = ranges["limit"];
        if (top.IsEmpty && !limitRange.HasLimitZero)
            throw headerRange.IsEmpty ? Pgrst.InvalidRangeLowerGtUpper() : Pgrst.InvalidRangeNegativeLimit();
        if (req.Method == "PUT" && !top.IsAll) throw Pgrst.PutLimitNotAllowed();
        return (top, ranges);
    }

    /// <summary>Cookie header → name/value pairs (wai's parseCookies: split on ';', trim, split on first '=').</summary>
    private static ImmutableArray<KeyValuePair<string, string>> ParseCookies(string? header)
    {
        if (header is null) return [];
        var list = ImmutableArray.CreateBuilder<KeyValuePair<string, string>>();
        foreach (var part in header.Split(';'))
        {
            var p = part.Trim();
            if (p.Length == 0) continue;
            var eq = p.IndexOf('=', StringComparison.Ordinal);
            list.Add(eq < 0 ? new(p, "") : new(p[..eq], p[(eq + 1)..]));
        }
        return list.ToImmutable();
    }
}
