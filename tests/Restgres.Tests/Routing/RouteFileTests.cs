using System.Collections.Immutable;
using Restgres.Config;
using Restgres.Requests;
using Restgres.Routing;
using Xunit;

namespace Restgres.Tests.Routing;

/// <summary>The routes file's parser (every error names the file and line), matching and the request rewrite: a
/// capture is always one percent-encoded filter value.</summary>
public sealed class RouteFileTests
{
    private const string Example = """
        # comment
        GET /api/v1/users/{id}
          to /users?id=eq.{id}&select=id,name
          header Accept: application/vnd.pgrst.object+json
          errors fastapi

        GET /api/v1/users/me
          to /rpc/me

        POST /api/v1/auth/login
          to /rpc/login

        GET /api/v1/tags/{tag}
          to /items?tags=in.({tag})
        """;

    private static RouteTable Parse(string text) => RouteFile.Parse("routes.conf", text);

    [Fact]
    public void A_route_block_has_method_template_target_headers_and_error_shape()
    {
        var t = Parse(Example);
        Assert.Equal(4, t.Routes.Length);
        var r = t.Routes[0];
        Assert.Equal((2, "/api/v1/users/{id}", "/users", ErrorShape.Fastapi), (r.Line, r.Template, r.TargetPath, r.Errors));
        Assert.Equal<string>(["GET"], r.Methods);
        Assert.Equal(("Accept", "application/vnd.pgrst.object+json"), (Assert.Single(r.Headers).Key, r.Headers[0].Value));
        Assert.Equal(ErrorShape.Postgrest, t.Routes[1].Errors);
    }

    [Theory]
    [InlineData("auth-detail Invalid or expired token", "Invalid or expired token")]
    [InlineData("auth-detail \"Invalid or expired token\"", "Invalid or expired token")]
    public void Auth_detail_words_the_token_failures_of_a_fastapi_route(string line, string detail)
    {
        var t = Parse("POST /track\n  to /rpc/track\n  errors fastapi\n  " + line + "\n\nGET /a\n  to /x\n  errors fastapi");
        Assert.Equal(detail, t.Routes[0].AuthDetail);
        Assert.Null(t.Routes[1].AuthDetail);
    }

    [Theory]
    [InlineData("  to /x", 1, "no route line")]
    [InlineData("GET /a\n  to /x\n  colour red", 3, "unknown option 'colour'")]
    [InlineData("GET /a\n  to /x\n  errors django", 3, "unknown value 'django' for 'errors' (expected postgrest or fastapi)")]
    [InlineData("GET /a\n  to /x\n  errors fastapi\n  errors postgrest", 4, "a second 'errors'")]
    [InlineData("GET /a\n  to /x\n  to /y", 3, "a second 'to'")]
    [InlineData("GET /a\n  header Accept: x", 1, "has no 'to' line")]
    [InlineData("FETCH /a\n  to /x", 1, "unknown method 'FETCH'")]
    [InlineData("GET a\n  to /x", 1, "must start with '/'")]
    [InlineData("GET /a?b=1\n  to /x", 1, "must be a plain path")]
    [InlineData("GET /a/{id}\n  to /x", 1, "the capture '{id}' of /a/{id} is never used")]
    [InlineData("GET /a/{id}/{id}\n  to /x?id=eq.{id}", 1, "appears twice")]
    [InlineData("GET /a/x{id}\n  to /x?id=eq.{id}", 1, "a capture is a whole segment")]
    [InlineData("GET /a/{id}\n  to /x?id=eq.{di}", 2, "'{di}' is not a capture of /a/{id}")]
    [InlineData("GET /a/{id}\n  to /{id}", 2, "not in the path")]
    [InlineData("GET /a/{id}\n  to /x?{id}=eq.1", 2, "not a parameter name")]
    [InlineData("GET /a/{id}\n  to /x?id={id}", 2, "must follow an operator")]
    [InlineData("GET /a/{id}\n  to /x?id=not.{id}", 2, "must follow an operator")]
    [InlineData("GET /a/{id}\n  to /x?select={id}", 2, "not part of 'select'")]
    [InlineData("GET /a/{id}\n  to /x?or=(id.eq.{id})", 2, "not part of 'or'")]
    [InlineData("GET /a/{id}\n  to /x?id=in.(a{id})", 2, "a whole element")]
    [InlineData("GET /a/{id}\n  to /x?id=eq.{id}\n\nGET /a/{other}\n  to /y?id=eq.{other}", 4, "also the route on line 1")]
    [InlineData("GET,POST /a\n  to /x\nPOST /a\n  to /y", 3, "POST /a is also the route on line 1")]
    [InlineData("GET /a\n  to /x\n  header Acc ept: x", 3, "is not 'header Name: value'")]
    [InlineData("GET /a\n  to admin:/config", 2, "the admin targets a route may serve are admin:/metrics, admin:/response_cache")]
    [InlineData("POST /a\n  to admin:/metrics", 1, "answers GET only")]
    [InlineData("GET /a/{x}\n  to admin:/metrics", 1, "cannot use captures")]
    [InlineData("GET /a\n  to /x\n  param limit row_limit", 3, "is not 'param old_name as new_name'")]
    [InlineData("GET /a\n  to /x\n  param li&mit as row_limit", 3, "is not 'param old_name as new_name'")]
    [InlineData("GET /a\n  to /x\n  param limit as a\n  param limit as b", 4, "the parameter 'limit' is renamed twice")]
    [InlineData("GET /a\n  to /x\n  auth-detail Bad token", 3, "add 'errors fastapi' to the route")]
    [InlineData("GET /a\n  to /x\n  errors fastapi\n  auth-detail", 4, "'auth-detail' needs the text")]
    [InlineData("GET /a\n  to /x\n  errors fastapi\n  auth-detail a\n  auth-detail b", 5, "a second 'auth-detail'")]
    public void Errors_name_the_file_and_the_line(string text, int line, string message)
    {
        var e = Assert.Throws<ConfigException>(() => Parse(text));
        Assert.StartsWith($"Error in routes file 'routes.conf' line {line} (server-routes-file): ", e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Equal("server-routes-file", e.Option);
    }

    [Fact]
    public void The_worked_example_expresses_the_seven_nginx_locations()
    {
        var t = RouteFile.Load(Path.Combine(Http.RepoPaths.Root, "docs", "glucose-routes.conf"));
        Assert.Equal(7, t.Routes.Length);
        Assert.Equal("/rpc/login", t.Match("POST", ["api", "v1", "auth", "login"])?.TargetPath);
        Assert.Equal("/", t.Match("GET", ["api", "v1", "metadata", "health"])?.TargetPath);
        var docs = t.Match("GET", ["docs"]);
        Assert.Equal(("/", "Accept", "application/openapi+json"), (docs?.TargetPath, docs?.Headers[0].Key, docs?.Headers[0].Value));
    }

    [Fact]
    public void A_literal_segment_wins_over_a_capture_and_GET_answers_HEAD()
    {
        var t = Parse(Example);
        Assert.Equal("/api/v1/users/me", t.Match("GET", ["api", "v1", "users", "me"])?.Template);
        Assert.Equal("/api/v1/users/{id}", t.Match("HEAD", ["api", "v1", "users", "7"])?.Template);
        Assert.Null(t.Match("DELETE", ["api", "v1", "users", "7"]));
        Assert.Null(t.Match("GET", ["api", "v1", "users"]));
        Assert.Equal("/api/v1/auth/login", t.Match("POST", ["api", "v1", "auth", "login"])?.Template);

        var both = Parse("GET /a\n  to /get\nHEAD /a\n  to /head\n");
        Assert.Equal("/head", both.Match("HEAD", ["a"])?.TargetPath);
        Assert.Equal("/get", both.Match("GET", ["a"])?.TargetPath);
    }

    private static RawRequest Request(string method, string query, params (string, string)[] headers) =>
        new(method, "/ignored", [], query, [.. headers.Select(h => new KeyValuePair<string, string>(h.Item1, h.Item2))], new byte[] { 1, 2 });

    [Fact]
    public void The_rewrite_sets_path_query_and_headers_and_appends_the_client_query()
    {
        var r = Parse(Example).Routes[0];
        var (raw, target) = r.Rewrite(Request("GET", "name=like.A*", ("accept", "text/csv"), ("Prefer", "count=exact")), ["api", "v1", "users", "42"]);
        Assert.Equal("/users?id=eq.42&select=id,name&name=like.A*", target);
        Assert.Equal(("/users", "id=eq.42&select=id,name&name=like.A*"), (raw.RawPath, raw.RawQuery));
        Assert.Equal<string>(["users"], raw.PathSegments);
        Assert.Equal("application/vnd.pgrst.object+json", raw.Header("Accept"));
        Assert.Single(raw.HeaderValues("Accept"));
        Assert.Equal("count=exact", raw.Header("Prefer"));
        Assert.Equal(new byte[] { 1, 2 }, raw.Body.ToArray());
        Assert.Equal("GET", raw.Method);
    }

    [Fact]
    public void A_renamed_parameter_reaches_the_API_under_its_new_name()
    {
        // An old API's ?limit= (reserved by PostgREST for paging) passed as a function argument.
        var r = Parse("GET /api/v1/readings\n  to /rpc/readings\n  param limit as row_limit\n").Routes[0];
        var (raw, target) = r.Rewrite(Request("GET", "start_date=2024-01-01&limit=5&limitless=1&limit"), ["api", "v1", "readings"]);
        Assert.Equal("start_date=2024-01-01&row_limit=5&limitless=1&row_limit", raw.RawQuery);
        Assert.Equal("/rpc/readings?start_date=2024-01-01&row_limit=5&limitless=1&row_limit", target);
    }

    /// <summary>Whatever the capture holds, the rewritten query has the route's one filter, with the capture as its
    /// whole value: it adds no parameter, operator or filter.</summary>
    [Theory]
    [InlineData("a&id=gt.0")]
    [InlineData("a,b")]
    [InlineData("a)")]
    [InlineData("gt.0")]
    [InlineData("a.b")]
    [InlineData("100%")]
    [InlineData("%41")]
    [InlineData("a/b")]
    [InlineData("it's")]
    [InlineData("say \"hi\"")]
    [InlineData("a+b c;d=e#f")]
    [InlineData("Stanisław")]
    public void A_capture_is_one_encoded_filter_value(string capture)
    {
        var table = Parse(Example);
        var (raw, _) = table.Routes[0].Rewrite(Request("GET", ""), ["api", "v1", "users", capture]);
        var qp = QueryParams.Parse(false, raw.RawQuery);
        var (_, filter) = Assert.Single(qp.Filters);
        Assert.Equal("id", filter.Field.Name);
        var op = Assert.IsType<QuantOp>(filter.Expr.Operation);
        Assert.Equal((QuantOperator.Equal, null, capture), (op.Operator, op.Quantifier, op.Value));
        Assert.False(filter.Expr.Not);

        var (list, _) = table.Routes[3].Rewrite(Request("GET", ""), ["api", "v1", "tags", capture]);
        var (_, inFilter) = Assert.Single(QueryParams.Parse(false, list.RawQuery).Filters);
        Assert.Equal<string>([capture], Assert.IsType<InOp>(inFilter.Expr.Operation).Values);
    }
}
