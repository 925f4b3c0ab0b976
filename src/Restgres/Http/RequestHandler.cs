using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Restgres.App;
using Restgres.Catalog;
using Restgres.Config;
using Restgres.Errors;
using Restgres.Execution;
using Restgres.Plan;
using Restgres.Requests;
using Restgres.Response;
using Restgres.Sql;

namespace Restgres.Http;

/// <summary>
/// The terminal request delegate: HTTP → ApiRequest → action plan (from the plan cache when planned before) →
/// <see cref="Pipeline"/> → response, with PostgREST's CORS, trace header, Server-Timing and error handling around it.
/// Client mistakes always end as PGRST-shaped 4xx errors.
/// </summary>
internal sealed class RequestHandler(AppState state)
{
    /// <param name="prefix">The server-path-prefixes entry the path starts with, or "" (ApiServer's routing).</param>
    public async Task HandleAsync(HttpContext ctx, string prefix)
    {
        var config = state.Config;
        PgrstResponse resp;
        ImmutableArray<string> path = default;
        var timing = config.ServerTimingEnabled ? new ServerTiming() : null;
        Routing.Route? route = null;
        try
        {
            if (config.ServerRoutes is { } routes && (route = routes.Match(ctx.Request.Method, FullPathSegments(ctx).AsSpan())) is not null)
                ctx.Features.Set(route);
            (resp, path) = await ProcessAsync(ctx, prefix, config, route, timing);
        }
        catch (ApiError e)
        {
            // A lost connection is how recovery starts when db-channel-enabled is off (PostgREST's addRetryHint path).
            if (e.AuthenticationFailed) state.Recovery.StopOnAuthenticationFailure(e);
            else if (e.ConnectionLost) state.Recovery.ReportConnectionLoss();
            if (e.Code == "PGRST003") state.Observer.PoolAcquisitionTimedOut();
            // A 5xx raised by the database is the operator's to see (PostgREST's QueryErrorCodeHighObs), logged
            // before the request's access line.
            else if ((e.FromDatabase || e.Code == "PGRST001") && e.Status >= 500 && config.LogLevel >= Config.LogLevel.Error)
                state.Log(e.ToJson(ErrorVerbosity.Verbose));
            resp = PgrstResponse.FromError(e, config.ClientErrorVerbosity);
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel refused the body while we read it: over the size limit (413), cut short, or sent too slowly (408).
            resp = PgrstResponse.FromError(e.StatusCode == 413
                ? BodyTooLarge(config.ServerMaxBodySize)
                : new ApiError(e.StatusCode, "PGRST102", "Could not read the request body", ApiError.Str(e.Message)), config.ClientErrorVerbosity);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            return;
        }
#pragma warning disable CA1031 // Last line of defence: an unexpected failure is logged and answered in PostgREST's shape, never a bare 500 or a stack trace.
        catch (Exception e)
        {
            state.Log($"Internal error on {ctx.Request.Method} {Observability.LogFormat.Printable(ctx.Request.Path.Value ?? "")}: {e}");
            resp = PgrstResponse.FromError(new ApiError(500, "PGRSTX00", "Internal server error", ApiError.Str(e.GetType().Name)), config.ClientErrorVerbosity);
        }
#pragma warning restore CA1031
        if (route is { Errors: Routing.ErrorShape.Fastapi } && resp.Status >= 400) ToFastapiError(resp, route.AuthDetail);
        await WriteAsync(ctx, config, resp, path, timing);
    }

    /// <returns>The response and the decoded segments of the API path it was planned for (after a route's rewrite:
    /// server-cache-control rules name API paths).</returns>
    private async Task<(PgrstResponse, ImmutableArray<string>)> ProcessAsync(HttpContext ctx, string prefix, AppConfig config, Routing.Route? route, ServerTiming? timing)
    {
        // PostgREST reads the first Authorization header only.
        var auth = state.Authenticator.Authenticate(ctx.Request.Headers.Authorization.Count > 0 ? ctx.Request.Headers.Authorization[0] : null);
        timing?.JwtDone();
        Observability.Observer.SetRole(ctx, auth.Role);
        // After authentication, as in PostgREST: the 503 of a server without a schema cache is logged with its role,
        // and the error itself goes to the log at log-level error (PostgREST's SchemaCacheEmptyObs).
        if (state.SchemaCache is not { } cache)
        {
            var empty = Pgrst.NoSchemaCache();
            if (config.LogLevel >= Config.LogLevel.Error) state.Log(empty.ToJson(ErrorVerbosity.Verbose));
            throw empty;
        }
        // Rate limits: the role is known, nothing has touched the database (nor read the body) yet.
        if (RateLimiting.RateLimiter.Configured(config, route)
            && await state.RateLimiter.CheckAsync(ctx, config, route, auth, cache, state.Observer.Metrics.Http) is { } limited)
            return (PgrstResponse.FromError(limited, config.ClientErrorVerbosity), default);
        if (route?.AdminTarget is { } admin) return (AdminResponse(admin, config), default);
        var (raw, rawTarget) = await ReadRawAsync(ctx, route is null ? prefix : "", config.ServerMaxBodySize);
        // A route rewrites the request before it is parsed: the parser and the plan cache see an ordinary request.
        if (route is not null)
        {
            (raw, rawTarget) = route.Rewrite(raw, raw.PathSegments.AsSpan());
            prefix = "";
        }
        timing?.Skip();

        var planCache = state.PlanCacheFor(cache, config);
        var key = PlanCache.Key(raw, prefix, rawTarget, ApiRequest.NamesRoutine(config, raw.PathSegments));

        // server-response-cache: a fresh stored response is the answer, with no parsing, planning or database work.
        ResponseCache? responses = null;
        string? responseKey = null;
        TimeSpan ttl = default;
        var mayStore = false;
        string? status = null;
        if (config.ServerResponseCache is { } cacheRules && key is not null && (raw.Method == "GET" || raw.Method == "HEAD")
            && cacheRules.For(string.Join('/', raw.PathSegments)) is { } configured
            && (responses = state.ResponseCacheFor(cache, config)) is not null)
        {
            ttl = configured;
            responseKey = ResponseCache.Key(key, auth);
            var metrics = state.Observer.Metrics.ResponseCache;
            (var mayUse, mayStore) = ResponseCache.ClientDirectives(ctx.Request.Headers.CacheControl);
            if (mayUse)
            {
                if (responses.TryGet(responseKey) is { } hit)
                {
                    metrics.Hit();
                    return (hit, raw.PathSegments);
                }
                metrics.Miss();
                status = ResponseCache.Name + "; fwd=miss";
            }
            else
            {
                metrics.Bypass();
                status = ResponseCache.Name + (responses.HasFresh(responseKey) ? "; fwd=request" : "; fwd=miss");
            }
        }

        if (key is null || !planCache.TryGet(key, raw, out var req, out var plan))
        {
            req = ApiRequest.FromRaw(config, raw, Preferences.Parse(raw.HeaderValues("Prefer"), config.TxAllowOverride));
            timing?.ParseDone();
            plan = ActionPlanner.Plan(config, cache, req);
            if (key is not null) planCache.Add(key, req, plan);
        }
        else timing?.ParseDone();
        timing?.PlanDone();
        if (config.UrlUseLegacyTargetNames && plan is DbActionPlan { Read: var read } && read.LegacyTargetNameMatches().ToList() is { Count: > 0 } legacy)
            LogLegacyTargetNames(state, ctx, legacy);

        // As PostgREST, a request whose client leaves runs to its end (a client that gave up waiting does not undo the
        // write it sent) unless server-cancel-on-disconnect asks to cancel it.
        var rc = new RequestContext(config, cache, req, auth, state.DataSource, config.ServerCancelOnDisconnect ? ctx.RequestAborted : CancellationToken.None)
        {
            Timing = timing,
            GroupCommit = state.GroupCommit,
            Replicas = state.Replicas,
            Idempotency = Execution.IdempotentRequest.For(config, raw, auth),
            Observation = ctx.Features.Get<Observability.RequestObservation>(),
        };
        if (responses is not null)
        {
            // The generations of what the plan reads, before its transaction: a write meanwhile makes the entry stale.
            var deps = responses.Capture(plan);
            var fresh = await Pipeline.RunAsync(rc, plan);
            if (mayStore && ResponseCache.Storable(fresh))
            {
                // The tag is computed once, when stored: hits find it among the headers (as one set by the database).
                if (config.ServerEtag && !fresh.Headers.Exists(h => string.Equals(h.Key, "ETag", StringComparison.OrdinalIgnoreCase)))
                    fresh.Headers.Add(new("ETag", HttpCaching.EntityTag(fresh.Body.Span, null)));
                if (responses.Store(responseKey!, fresh, ttl, deps))
                {
                    state.Observer.Metrics.ResponseCache.Stored();
                    status += "; stored";
                }
            }
            fresh.Headers.Add(new("Cache-Status", status!));
            return (fresh, raw.PathSegments);
        }
        if (plan is MutateActionPlan mutate && config.ServerResponseCache is not null)
        {
            try
            {
                return (await Pipeline.RunAsync(rc, plan), raw.PathSegments);
            }
            finally
            {
                // After the transaction (committed or not: dropping too much is harmless), for this instance's next
                // requests at once; other instances hear the pg_notify the transaction sent (App/Pipeline.cs).
                state.InvalidateResponses(ResponseCache.WrittenBy(cache, mutate.Plan.Target));
            }
        }
        return (await Pipeline.RunAsync(rc, plan), raw.PathSegments);
    }

    private static ApiError BodyTooLarge(long limit) => new(413, "PGRST102", "Request body too large",
        ApiError.Str($"The request body is larger than {limit.ToString(CultureInfo.InvariantCulture)} bytes (server-max-body-size)."));

    /// <summary>The decoded segments of the whole path (before any server-path-prefixes entry is taken off), which is
    /// what routes match.</summary>
    private static ImmutableArray<string> FullPathSegments(HttpContext ctx) => Segments(SplitTarget(ctx).Path);

    /// <summary>PostgREST's LegacyTargetNameWarningObs: two lines naming the replacements and the request as sent.</summary>
    private static void LogLegacyTargetNames(AppState state, HttpContext ctx, List<(string RelName, string Alias)> matches)
    {
        state.Log("WARNING: Embedded resource was referenced by relation name even though it has an alias. "
            + "This is deprecated and will stop working in a future release.");
        state.Log("Update filters, orders or limits that use " + string.Join(", ", matches.Distinct().Select(m => $"`{m.RelName}` to `{m.Alias}`"))
            + $" in `{ctx.Request.Method} {SplitTarget(ctx).Target}`");
    }

    /// <summary>The raw request target (still percent-encoded) and its path and query parts.</summary>
    private static (string Target, string Path, string Query) SplitTarget(HttpContext ctx)
    {
        var http = ctx.Request;
        var target = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget ?? (http.PathBase + http.Path + http.QueryString).ToString();
        var q = target.IndexOf('?', StringComparison.Ordinal);
        return (target, q >= 0 ? target[..q] : target, q >= 0 ? target[(q + 1)..] : "");
    }

    /// <summary>wai's pathInfo: decoded segments, a trailing empty one dropped, inner ones kept; "/" alone is the root.</summary>
    private static ImmutableArray<string> Segments(string rawPath) =>
        rawPath.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(QueryParams.Decode).ToImmutableArray();

    /// <summary>
    /// FastAPI's error body, <c>{"detail": message}</c> with the same status and headers, for routes with
    /// <c>errors fastapi</c>: clients migrated from FastAPI read <c>detail</c>. A body without a message (or not JSON)
    /// keeps its text as the detail.
    /// </summary>
    /// <summary>An admin endpoint a route serves on the API's port (<c>to admin:/metrics</c>; docs/routes.md).</summary>
    private PgrstResponse AdminResponse(string target, AppConfig config)
    {
        var resp = new PgrstResponse { Status = 200 };
        if (target == "/metrics")
        {
            resp.Body = Encoding.UTF8.GetBytes(state.Observer.Metrics.Render(state));
            resp.Headers.Add(new("Content-Type", Observability.PrometheusText.ContentType));
        }
        else
        {
            resp.Body = state.Observer.Metrics.ResponseCache.ToJson(state.CurrentResponseCache, config.ServerResponseCacheSize);
            resp.Headers.Add(new("Content-Type", "application/json; charset=utf-8"));
        }
        return resp;
    }

    internal static void ToFastapiError(PgrstResponse resp, string? authDetail = null)
    {
        string detail;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(resp.Body);
            var root = doc.RootElement;
            var isObject = root.ValueKind == System.Text.Json.JsonValueKind.Object;
            // A body the database wrote in this shape already (a function answering {"detail": ...}) stays as it is.
            if (isObject && root.TryGetProperty("detail", out _) && !root.TryGetProperty("code", out _)) return;
            var code = isObject && root.TryGetProperty("code", out var c) && c.ValueKind == System.Text.Json.JsonValueKind.String
                ? c.GetString()
                : null;
            detail = resp.Status == 401 && IsAuthenticationFailure(code)
                ? authDetail ?? FastapiCredentialsDetail
                : isObject && root.TryGetProperty("message", out var m) && m.ValueKind == System.Text.Json.JsonValueKind.String
                    ? m.GetString() ?? ""
                    : Encoding.UTF8.GetString(resp.Body.Span);
        }
        catch (System.Text.Json.JsonException)
        {
            detail = Encoding.UTF8.GetString(resp.Body.Span);
        }
        // The old body may sit in a pooled buffer; WriteAsync still returns it (Owner), whatever Body now points to.
        resp.Body = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["detail"] = detail });
        resp.Headers.RemoveAll(h => string.Equals(h.Key, "Content-Type", StringComparison.OrdinalIgnoreCase));
        resp.Headers.Add(new("Content-Type", "application/json"));
    }

    /// <summary>What FastAPI services answer (fastapi.security's convention) when a token is missing or invalid.</summary>
    internal const string FastapiCredentialsDetail = "Could not validate credentials";

    /// <summary>A 401 for the token, not for the request's content: a JWT error (PGRST30x) or an anonymous request
    /// refused by a privilege (42501, which PostgREST answers with 401 for the anonymous role).</summary>
    private static bool IsAuthenticationFailure(string? code) =>
        code is "42501" or "PGRST300" or "PGRST301" or "PGRST302" or "PGRST303";

    /// <summary>The request as the parser sees it, and its raw target (path and query, still percent-encoded).</summary>
    private static async Task<(RawRequest Raw, string Target)> ReadRawAsync(HttpContext ctx, string prefix, long maxBodySize)
    {
        var http = ctx.Request;
        var (target, rawPath, rawQuery) = SplitTarget(ctx);
        if (prefix.Length > 0 && rawPath.StartsWith(prefix, StringComparison.Ordinal)) rawPath = rawPath[prefix.Length..];
        var segments = Segments(rawPath);
        var headers = ImmutableArray.CreateBuilder<KeyValuePair<string, string>>();
        foreach (var h in http.Headers)
            foreach (var v in h.Value)
                headers.Add(new(h.Key, v ?? ""));

        var body = HasPayload(http.Method) ? await ReadBodyAsync(ctx, maxBodySize) : ReadOnlyMemory<byte>.Empty;
        return (new RawRequest(http.Method, rawPath, segments, rawQuery, headers.ToImmutable(), body), target);
    }

    /// <summary>
    /// Only POST, PATCH and PUT carry a payload PostgREST reads (ApiRequest.hs parses none for GET, HEAD, DELETE or
    /// OPTIONS); any other body is left unread, and Kestrel discards it.
    /// </summary>
    private static bool HasPayload(string method) =>
        HttpMethods.IsPost(method) || HttpMethods.IsPatch(method) || HttpMethods.IsPut(method);

    /// <summary>
    /// The whole body, at most <paramref name="limit"/> bytes: a declared length is checked before anything is read
    /// and read into one array of exactly that size; a chunked body grows up to the limit and no further.
    /// </summary>
    private static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpContext ctx, long limit)
    {
        var http = ctx.Request;
        // Kestrel's own per-request limit follows the (reloadable) option, so a chunked body over it stops there too.
        if (ctx.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
            sizeFeature.MaxRequestBodySize = limit;
        if (http.ContentLength is { } declared)
        {
            if (declared > limit) throw BodyTooLarge(limit);
            if (declared == 0) return ReadOnlyMemory<byte>.Empty;
            var buffer = new byte[declared];
            // A body shorter than its Content-Length ends in Kestrel's BadHttpRequestException (400), handled above.
            await http.Body.ReadExactlyAsync(buffer, ctx.RequestAborted);
            return buffer;
        }
        if (http.Headers.TransferEncoding.Count == 0) return ReadOnlyMemory<byte>.Empty;
        using var ms = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await http.Body.ReadAsync(chunk, ctx.RequestAborted)) > 0)
        {
            if (ms.Length + n > limit) throw BodyTooLarge(limit);
            ms.Write(chunk, 0, n);
        }
        return ms.ToArray();
    }

    /// <summary>
    /// Sends <paramref name="resp"/>: its headers, then what wraps every response (Vary, server-cache-control,
    /// server-etag and If-None-Match, server-compression, Server-Timing, the trace header, CORS) and the body.
    /// </summary>
    private static async Task WriteAsync(HttpContext ctx, AppConfig config, PgrstResponse resp, ImmutableArray<string> path, ServerTiming? timing)
    {
        var http = ctx.Response;
        byte[]? encoded = null;
        try
        {
            var isGetOrHead = HttpMethods.IsGet(ctx.Request.Method) || HttpMethods.IsHead(ctx.Request.Method);
            string? cacheControl = null;
            // An error before planning has no path (default): no rule applies to it (error statuses get none anyway).
            if (isGetOrHead && resp.Status is >= 200 and < 300 && !path.IsDefault && config.ServerCacheControl is { } rules
                && resp.Headers.FindIndex(h => string.Equals(h.Key, "Cache-Control", StringComparison.OrdinalIgnoreCase)) < 0)
                cacheControl = rules.For(string.Join('/', path));
            var compressible = !config.ServerCompression.IsEmpty && Compression.Eligible(resp.Headers);
            var coding = compressible && !HttpMethods.IsHead(ctx.Request.Method) && !resp.SuppressContentLength
                && resp.Status is not (204 or 304) && resp.Body.Length >= config.ServerCompressionMinSize
                ? Compression.Negotiate(config.ServerCompression, ctx.Request.Headers.AcceptEncoding.ToString())
                : null;

            var notModified = false;
            var etagAt = resp.Headers.FindIndex(h => string.Equals(h.Key, "ETag", StringComparison.OrdinalIgnoreCase));
            var etag = etagAt < 0 ? null : resp.Headers[etagAt].Value;
            // An ETag the database (or the docs page) set describes the identity body: the encoded one gets its own.
            if (etag is not null && coding is not null)
                resp.Headers[etagAt] = new("ETag", etag = HttpCaching.WithCoding(etag, coding));
            if (config.ServerEtag && isGetOrHead && resp.Status == 200)
            {
                if (etag is null)
                {
                    etag = HttpCaching.EntityTag(resp.Body.Span, coding);
                    resp.Headers.Add(new("ETag", etag));
                }
                var ifNoneMatch = ctx.Request.Headers.IfNoneMatch;
                notModified = ifNoneMatch.Count > 0 && HttpCaching.IfNoneMatchMatches(ifNoneMatch.ToString(), etag);
            }

            http.StatusCode = notModified ? 304 : resp.Status;
            var vary = "Accept, Prefer, Range";
            foreach (var (k, v) in resp.Headers)
            {
                if (notModified && !HttpCaching.KeptOnNotModified(k)) continue;
                if (string.Equals(k, "Vary", StringComparison.OrdinalIgnoreCase)) vary = null;
                http.Headers.Append(k, v);
            }
            if (vary is not null) http.Headers.Vary = vary;
            if (cacheControl is not null)
            {
                http.Headers.CacheControl = cacheControl;
                // The body depends on the role the Authorization header names: a shared cache must not give one user's
                // response to another (only needed when "public" lets such caches store it, harmless otherwise).
                http.Headers.Append("Vary", "Authorization");
            }
            if (compressible) http.Headers.Append("Vary", "Accept-Encoding");
            if (timing is not null) http.Headers["Server-Timing"] = timing.Render();
            if (config.ServerTraceHeader is { } trace)
                http.Headers[trace] = ctx.Request.Headers[trace].ToString();
            Cors.Apply(ctx, config);
            if (notModified) return;

            var body = resp.Body;
            if (coding is not null)
            {
                (encoded, var length) = Compression.Encode(body.Span, coding);
                body = encoded.AsMemory(0, length);
                http.Headers.ContentEncoding = coding;
            }
            if (!resp.SuppressContentLength) http.ContentLength = body.Length;
            if (body.Length > 0 && !HttpMethods.IsHead(ctx.Request.Method))
                await http.Body.WriteAsync(body, ctx.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            // The client went away.
        }
        finally
        {
            if (encoded is not null) System.Buffers.ArrayPool<byte>.Shared.Return(encoded);
            if (resp.Owner is { } owner) MainTx.Release(owner);
        }
    }
}
