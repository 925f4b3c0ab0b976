using Restgres.Tests.Http;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.TypeGen;

/// <summary>
/// Each example app's database built from its migrations on the test cluster, and its TypeScript types generated once
/// (the same <c>restgres gen types typescript</c> a developer runs).
/// </summary>
public sealed class ExampleAppTypes : IAsyncLifetime
{
    /// <summary>The apps and the schemas their API exposes (restgres.conf's db-schemas; the dashboard serves public).</summary>
    public static readonly IReadOnlyDictionary<string, string> Schemas = new Dictionary<string, string>
    {
        ["ab-dashboard"] = "public",
        ["click-analytics"] = "api",
        ["glucose-api"] = "api",
        ["floyo"] = "api",
        ["ai-generations"] = "api",
    };

    /// <summary>Apps whose migrations use Restgres's own schema (restgres --schema-sql), installed before them as
    /// `restgres dev` does.</summary>
    private static readonly HashSet<string> UsesRestgresSchema = new(StringComparer.Ordinal) { "ai-generations" };

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, string> _generated = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _uris = new(StringComparer.Ordinal);
    private readonly List<TestDatabase> _databases = [];

    public Task<string> TypeScriptAsync(PgClusterFixture pg, string app) => GenerateAsync(pg, app, "typescript");

    /// <summary>The app's C# types, in the namespace <c>Examples.AppName</c>.</summary>
    public Task<string> CSharpAsync(PgClusterFixture pg, string app) => GenerateAsync(pg, app, "csharp");

    private async Task<string> GenerateAsync(PgClusterFixture pg, string app, string lang)
    {
        ArgumentNullException.ThrowIfNull(pg);
        await _gate.WaitAsync();
        try
        {
            if (_generated.TryGetValue(app + " " + lang, out var text)) return text;
            if (!_uris.TryGetValue(app, out var uri))
            {
                var db = await ExampleAppServers.MigratedDatabaseAsync(pg, Path.Combine(RepoPaths.Root, "examples", app), UsesRestgresSchema.Contains(app), []);
                _databases.Add(db);
                _uris[app] = uri = db.Uri();
            }
            text = await GenTypesTests.GenerateAsync(lang == "csharp"
                ? ["types", "csharp", "--db-uri", uri, "--schema", Schemas[app], "--namespace", "Examples." + Restgres.TypeGen.CSharpGenerator.Pascal(app)]
                : ["types", "typescript", "--db-uri", uri, "--schema", Schemas[app]]);
            _generated[app + " " + lang] = text;
            return text;
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var db in _databases) await db.DropAsync();
        _gate.Dispose();
    }
}

/// <summary>
/// The committed types of each example app (examples/NAME/types/database.ts) are what its migrations generate, and
/// compile with <c>tsc</c> against npm's @supabase/postgrest-js in a small client (tests/typegen/clients/NAME.ts: a
/// table's Row, an Insert, a view and an rpc call); the same client with one deliberate type error
/// (clients/NAME.error.ts) must not compile, so the check is real.
/// </summary>
[Collection("pg")]
public sealed class ExampleAppTypesTests(PgClusterFixture pg, ExampleAppTypes apps) : IClassFixture<ExampleAppTypes>
{
    private static readonly string TypegenDir = Path.Combine(RepoPaths.Root, "tests", "typegen");

    public static TheoryData<string> Apps => [.. ExampleAppTypes.Schemas.Keys];

    [Theory]
    [MemberData(nameof(Apps))]
    public async Task The_committed_types_are_what_the_migrations_generate(string app)
    {
        var generated = await apps.TypeScriptAsync(pg, app);
        var path = Path.Combine(RepoPaths.Root, "examples", app, "types", "database.ts");
        // RESTGRES_UPDATE_TYPES=1 rewrites the committed file (after a migration), as the docs say.
        if (Environment.GetEnvironmentVariable("RESTGRES_UPDATE_TYPES") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, generated);
        }
        Assert.True(File.Exists(path), $"{path} is missing: run the type tests with RESTGRES_UPDATE_TYPES=1 (docs/gen-types.md)");
        var committed = (await File.ReadAllTextAsync(path)).ReplaceLineEndings("\n");
        Assert.True(committed == generated,
            $"examples/{app}/types/database.ts is out of date with its migrations: regenerate it "
            + "(RESTGRES_UPDATE_TYPES=1 dotnet test --filter ExampleAppTypesTests, or restgres gen types typescript) and commit it.");
    }

    [Theory]
    [MemberData(nameof(Apps))]
    public async Task A_postgrest_js_client_type_checks_against_the_types_and_a_type_error_fails(string app)
    {
        var generated = await apps.TypeScriptAsync(pg, app);
        var tsc = Path.Combine(TypegenDir, "node_modules", ".bin", "tsc");
        Assert.True(File.Exists(tsc), $"{tsc} is missing: scripts/ensure-deps.sh installs it (npm ci in tests/typegen)");
        // Inside tests/typegen so that the client's imports resolve to its node_modules.
        var work = Directory.CreateDirectory(Path.Combine(TypegenDir, "work", app + "-" + Guid.NewGuid().ToString("N")[..8]));
        try
        {
            await File.WriteAllTextAsync(Path.Combine(work.FullName, "database.ts"), generated);
            File.Copy(Path.Combine(TypegenDir, "clients", app + ".ts"), Path.Combine(work.FullName, "client.ts"));
            File.Copy(Path.Combine(TypegenDir, "clients", app + ".error.ts"), Path.Combine(work.FullName, "error.ts"));
            string[] options = ["--noEmit", "--strict", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext", "--skipLibCheck", "false"];

            var (code, output) = await GenTypesTests.RunProcessAsync(tsc, [.. options, "client.ts"], work.FullName);
            Assert.True(code == 0, $"tsc rejected tests/typegen/clients/{app}.ts against the generated types:\n{output}");

            (code, output) = await GenTypesTests.RunProcessAsync(tsc, [.. options, "error.ts"], work.FullName);
            Assert.True(code != 0, $"tsc accepted tests/typegen/clients/{app}.error.ts, which has a deliberate type error");
            Assert.Contains("error.ts(", output, StringComparison.Ordinal);
            Assert.DoesNotContain("database.ts(", output, StringComparison.Ordinal);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task The_example_apps_CSharp_types_compile_with_dotnet_build()
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var app in ExampleAppTypes.Schemas.Keys) files[app + ".cs"] = await apps.CSharpAsync(pg, app);
        var (code, output) = await GenTypesTests.BuildCSharpAsync(files, run: false);
        Assert.True(code == 0, output);
    }
}
