using System.Collections.Immutable;
using System.Text;
using Restgres.Config;
using Restgres.Errors;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Http;

/// <summary>Where the repository's files are, found from the test assembly's directory.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Fixture(string name) => Path.Combine(Root, "tests", "Restgres.Tests", "Fixtures", name);

    private static string FindRoot([System.Runtime.CompilerServices.CallerFilePath] string source = "")
    {
        // The test assembly normally runs from tests/Restgres.Tests/bin/...; the source path is the fallback.
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(source) ?? "" })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Restgres.slnx")))
                    return dir.FullName;
            }
        }
        throw new InvalidOperationException("Restgres.slnx not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>
/// One _database made from Fixtures/read_path.sql and the _servers started on it, shared by the tests of one class
/// (xunit class fixture) and dropped after them. Servers are started on first use, one per configuration name.
/// </summary>
public sealed class ReadPathApi : ServersOnOneDatabase
{

    /// <summary>The configuration every server starts from: schemas api and v2, anonymous role web_anon.</summary>
    internal override AppConfig BaseConfig => new()
    {
        DbUri = Database.Uri("restgres_authenticator"),
        DbSchemas = ["api", "v2"],
        DbAnonRole = "web_anon",
        DbChannelEnabled = false,
    };

    /// <summary>The server with the base configuration.</summary>
    public Task<TestServer> DefaultAsync(PgClusterFixture pg) => ServerAsync(pg, "default", c => c);

    /// <summary>
    /// The server with the optional features on: db-pre-request, Server-Timing, a trace header, db-max-rows = 2
    /// and one allowed CORS origin.
    /// </summary>
    public Task<TestServer> ExtrasAsync(PgClusterFixture pg) => ServerAsync(pg, "extras", c => c with
    {
        DbPreRequest = QualifiedName.Parse("private.pre_request"),
        ServerTimingEnabled = true,
        ServerTraceHeader = "X-Request-Id",
        DbMaxRows = 2,
        ServerCorsAllowedOrigins = ["https://allowed.example"],
    });

    protected override Task<string> SqlAsync() => ReadFixtureAsync();

    private static async Task<string> ReadFixtureAsync() =>
        PgClusterFixture.RolesSql("restgres_authenticator", "web_anon") + await File.ReadAllTextAsync(RepoPaths.Fixture("read_path.sql"));
}

/// <summary>Exact expectations in PostgREST's shapes.</summary>
public static class Expect
{
    /// <summary>A JSON array as PostgreSQL's json_agg prints it (elements separated by ", \n ").</summary>
    public static string Rows(params string[] rows) => rows.Length == 0 ? "[]" : "[" + string.Join(", \n ", rows) + "]";

    /// <summary>The error body PostgREST sends: code, details, hint, message (null details/hint as JSON null).</summary>
    public static string ErrorBody(string code, string message, string? details = null, string? hint = null) =>
        new ApiError(0, code, message, ApiError.Str(details), ApiError.Str(hint)).ToJson(ErrorVerbosity.Verbose);

    public static void Json(Reply reply, int status, string body)
    {
        Assert.True(status == reply.Status && body == reply.Body, $"expected {status} {body}\nbut got {reply}");
        Assert.StartsWith("application/json", reply.Header("Content-Type"), StringComparison.Ordinal);
    }

    public static void Ok(Reply reply, string body) => Json(reply, 200, body);

    public static void Error(Reply reply, int status, string code, string message, string? details = null, string? hint = null)
    {
        Json(reply, status, ErrorBody(code, message, details, hint));
        Assert.Equal("PostgREST; error=" + code, reply.Header("Proxy-Status"));
    }

    /// <summary>A client error in PostgREST's shape: a 4xx JSON object with code, details, hint and message.</summary>
    public static void PgrstShaped4xx(Reply reply)
    {
        Assert.True(reply.Status is >= 400 and < 500, $"expected a 4xx but got {reply}");
        Assert.StartsWith("application/json", reply.Header("Content-Type") ?? "", StringComparison.Ordinal);
        using var doc = System.Text.Json.JsonDocument.Parse(reply.Body);
        var keys = doc.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["code", "details", "hint", "message"], keys);
        Assert.DoesNotContain(" at Restgres.", reply.Body, StringComparison.Ordinal);
    }

    public static string Utf8(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    public static ImmutableArray<string> Lines(string text) => [.. text.Split('\n')];
}
