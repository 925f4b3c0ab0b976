using Restgres.Cli;
using Restgres.Tests.Infrastructure;
using Restgres.TypeGen;
using Xunit;

namespace Restgres.Tests.TypeGen;

/// <summary>A small schema with a column of every common type, enums, views over joins and functions of each shape.</summary>
public sealed class GenTypesSchema : IAsyncLifetime
{
    public const string Sql = """
        create schema gt;
        create type gt.mood as enum ('happy', 'sad', 'so-so');
        create domain gt.positive as integer check (value > 0);
        create table gt.owners (id bigint generated always as identity primary key, name text not null);
        create table gt.everything (
          id serial primary key,
          owner_id bigint references gt.owners (id),
          c_bool boolean not null default false,
          c_int2 smallint not null,
          c_int4 integer,
          c_int8 bigint not null,
          c_float4 real,
          c_float8 double precision,
          c_numeric numeric(10, 2),
          c_text text not null,
          c_varchar varchar(20),
          c_char char(3),
          c_uuid uuid not null default gen_random_uuid(),
          c_date date,
          c_time time,
          c_timetz timetz,
          c_timestamp timestamp,
          c_timestamptz timestamptz not null default now(),
          c_interval interval,
          c_json json,
          c_jsonb jsonb,
          c_bytea bytea,
          c_inet inet,
          c_tsvector tsvector,
          c_int4range int4range,
          c_text_array text[],
          c_int_array integer[] not null default '{}',
          c_mood gt.mood not null,
          c_mood_array gt.mood[],
          c_positive gt.positive,
          c_generated integer generated always as (c_int2 * 2) stored,
          "Weird Name" text
        );
        comment on column gt.everything.c_text is 'The text */ column';
        -- plain references, an expression, and the nullable side of a left join
        create view gt.everything_view as
          select e.id, e.c_text, e.c_int4, e.c_text || '!' as shout, o.name as owner_name, e.c_mood
          from gt.everything e left join gt.owners o on o.id = e.owner_id;
        -- a view over the view, through an inner join
        create view gt.owned as
          select v.id, v.c_text, o.name from gt.everything_view v join gt.owners o on true;
        create view gt.owner_names as select id, name from gt.owners;
        create view gt.counts as
          select e.c_mood, count(*) as n, count(e.c_int4) as n_int4, coalesce(sum(e.c_int4), 0) as total,
                 sum(e.c_int4) as maybe_total, 'x'::text as label, e.c_text::varchar as relabelled
          from gt.everything e group by e.c_mood, e.c_text;
        create view gt.moods as select c_mood from gt.everything union all select c_mood from gt.everything;
        create function gt.add(a integer, b integer default 1) returns integer language sql as 'select a + b';
        create function gt.add(a text) returns text language sql as 'select a';
        create function gt.now_utc() returns timestamptz language sql as 'select now()';
        create function gt.owners_named(pattern text) returns setof gt.owners language sql as
          'select * from gt.owners where name like pattern';
        create function gt.pairs(n integer) returns table (k integer, v text) language sql as
          'select i, i::text from generate_series(1, n) i';
        create function gt.set_mood(m gt.mood, tags text[]) returns gt.mood[] language sql as 'select array[m]';
        create function gt.nothing() returns void language sql as '';
        create type gt.level as enum ('low', 'high');
        create function gt.next_level(l gt.level) returns gt.level language sql as 'select l';
        """;

    private TestDatabase? _db;

    public TestDatabase Database => _db ?? throw new InvalidOperationException("not created");

    public string TypeScript { get; private set; } = "";

    public string CSharp { get; private set; } = "";

    internal async Task EnsureAsync(PgClusterFixture pg)
    {
        if (_db is not null) return;
        _db = await pg.CreateDatabaseAsync(Sql);
        TypeScript = await GenTypesTests.GenerateAsync(["types", "typescript", "--db-uri", _db.Uri(), "--schema", "gt"]);
        CSharp = await GenTypesTests.GenerateAsync(["types", "--lang", "csharp", "--db-uri", _db.Uri(), "--schema", "gt"]);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_db is not null) await _db.DropAsync();
    }
}

[Collection("pg")]
public sealed class GenTypesTests(PgClusterFixture pg, GenTypesSchema schema) : IClassFixture<GenTypesSchema>
{
    /// <summary>Runs <c>restgres gen ARGS</c> in-process; fails the test on a non-zero exit, with its stderr.</summary>
    internal static async Task<string> GenerateAsync(string[] args)
    {
        var (code, stdout, stderr) = await RunAsync(args);
        Assert.True(code == 0, $"restgres gen {string.Join(' ', args)} exited {code}: {stderr}");
        return stdout;
    }

    internal static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await GenTypesCommand.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Column → its line in the table's Row, Insert and in the C# row record.</summary>
    public static TheoryData<string, string, string, string> ColumnTypes => new()
    {
        { "c_bool", "c_bool: boolean", "c_bool?: boolean", "public required bool CBool" },
        { "c_int2", "c_int2: number", "c_int2: number", "public required short CInt2" },
        { "c_int4", "c_int4: number | null", "c_int4?: number | null", "public int? CInt4" },
        { "c_int8", "c_int8: number", "c_int8: number", "public required long CInt8" },
        { "c_float4", "c_float4: number | null", "c_float4?: number | null", "public float? CFloat4" },
        { "c_float8", "c_float8: number | null", "c_float8?: number | null", "public double? CFloat8" },
        { "c_numeric", "c_numeric: number | null", "c_numeric?: number | null", "public decimal? CNumeric" },
        { "c_text", "c_text: string", "c_text: string", "public required string CText" },
        { "c_varchar", "c_varchar: string | null", "c_varchar?: string | null", "public string? CVarchar" },
        { "c_char", "c_char: string | null", "c_char?: string | null", "public string? CChar" },
        { "c_uuid", "c_uuid: string", "c_uuid?: string", "public required Guid CUuid" },
        { "c_date", "c_date: string | null", "c_date?: string | null", "public DateOnly? CDate" },
        { "c_time", "c_time: string | null", "c_time?: string | null", "public TimeOnly? CTime" },
        { "c_timetz", "c_timetz: string | null", "c_timetz?: string | null", "public string? CTimetz" },
        { "c_timestamp", "c_timestamp: string | null", "c_timestamp?: string | null", "public DateTime? CTimestamp" },
        { "c_timestamptz", "c_timestamptz: string", "c_timestamptz?: string", "public required DateTimeOffset CTimestamptz" },
        { "c_interval", "c_interval: string | null", "c_interval?: string | null", "public string? CInterval" },
        { "c_json", "c_json: Json | null", "c_json?: Json | null", "public JsonElement? CJson" },
        { "c_jsonb", "c_jsonb: Json | null", "c_jsonb?: Json | null", "public JsonElement? CJsonb" },
        { "c_bytea", "c_bytea: string | null", "c_bytea?: string | null", "public string? CBytea" },
        { "c_inet", "c_inet: string | null", "c_inet?: string | null", "public string? CInet" },
        { "c_tsvector", "c_tsvector: string | null", "c_tsvector?: string | null", "public string? CTsvector" },
        { "c_int4range", "c_int4range: string | null", "c_int4range?: string | null", "public string? CInt4range" },
        { "c_text_array", "c_text_array: string[] | null", "c_text_array?: string[] | null", "public string[]? CTextArray" },
        { "c_int_array", "c_int_array: number[]", "c_int_array?: number[]", "public required int[] CIntArray" },
        { "c_mood", "c_mood: Database[\"gt\"][\"Enums\"][\"mood\"]", "c_mood: Database[\"gt\"][\"Enums\"][\"mood\"]", "public required Mood CMood" },
        { "c_mood_array", "c_mood_array: Database[\"gt\"][\"Enums\"][\"mood\"][] | null", "c_mood_array?: Database[\"gt\"][\"Enums\"][\"mood\"][] | null", "public Mood[]? CMoodArray" },
        { "c_positive", "c_positive: number | null", "c_positive?: number | null", "public int? CPositive" },
        { "c_generated", "c_generated: number | null", "c_generated?: never", "public int? CGenerated" },
        { "id", "id: number", "id?: number", "public required int Id" },
        { "Weird Name", "\"Weird Name\": string | null", "\"Weird Name\"?: string | null", "public string? WeirdName" },
    };

    [Theory]
    [MemberData(nameof(ColumnTypes))]
    public async Task Each_common_PostgreSQL_type_maps_to_its_TypeScript_and_CSharp_type(string column, string row, string insert, string csharp)
    {
        await schema.EnsureAsync(pg);
        var table = Block(schema.TypeScript, "everything: {");
        Assert.Contains("\n" + row + "\n", Lines(Block(table, "Row: {")), StringComparison.Ordinal);
        Assert.Contains("\n" + insert + "\n", Lines(Block(table, "Insert: {")), StringComparison.Ordinal);
        var record = Block(schema.CSharp, "public sealed record EverythingRow");
        Assert.Contains($"[JsonPropertyName(\"{column}\")] {csharp} {{ get; init; }}", record, StringComparison.Ordinal);
    }

    [Fact]
    public async Task View_columns_are_not_null_only_where_PostgreSQL_proves_it()
    {
        await schema.EnsureAsync(pg);
        var view = Lines(Block(Block(schema.TypeScript, "everything_view: {"), "Row: {"));
        // Plain references to NOT NULL columns of the left join's preserved side.
        Assert.Contains("\nid: number\n", view, StringComparison.Ordinal);
        Assert.Contains("\nc_text: string\n", view, StringComparison.Ordinal);
        Assert.Contains("\nc_mood: Database[\"gt\"][\"Enums\"][\"mood\"]\n", view, StringComparison.Ordinal);
        // A nullable column, an expression, and a NOT NULL column on the nullable side of the left join.
        Assert.Contains("\nc_int4: number | null\n", view, StringComparison.Ordinal);
        Assert.Contains("\nshout: string | null\n", view, StringComparison.Ordinal);
        Assert.Contains("\nowner_name: string | null\n", view, StringComparison.Ordinal);
        // Through a view over the view, and an inner join.
        var owned = Lines(Block(Block(schema.TypeScript, "owned: {"), "Row: {"));
        Assert.Contains("\nid: number\n", owned, StringComparison.Ordinal);
        Assert.Contains("\nc_text: string\n", owned, StringComparison.Ordinal);
        Assert.Contains("\nname: string\n", owned, StringComparison.Ordinal);
        // Expressions never null by themselves: count(), coalesce with a constant, a constant; sum() can be null.
        var counts = Lines(Block(Block(schema.TypeScript, "counts: {"), "Row: {"));
        foreach (var line in new[] { "n: number", "n_int4: number", "total: number", "label: string", "maybe_total: number | null", "relabelled: string" })
            Assert.Contains("\n" + line + "\n", counts, StringComparison.Ordinal);
        // A set operation proves nothing.
        Assert.Contains("\nc_mood: Database[\"gt\"][\"Enums\"][\"mood\"] | null\n", Lines(Block(schema.TypeScript, "moods: {")), StringComparison.Ordinal);
        // C# the same way.
        Assert.Contains("public required string CText", Block(schema.CSharp, "public sealed record EverythingViewRow"), StringComparison.Ordinal);
        Assert.Contains("public string? OwnerName", Block(schema.CSharp, "public sealed record EverythingViewRow"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Functions_enums_and_relationships_take_Supabase_shapes()
    {
        await schema.EnsureAsync(pg);
        var ts = schema.TypeScript;
        var functions = Lines(Block(ts, "Functions: {"));
        Assert.Contains("\nadd:\n| {\nArgs: {\na: number\nb?: number\n}\nReturns: number\n}\n| {\nArgs: {\na: string\n}\nReturns: string\n}\n", functions, StringComparison.Ordinal);
        Assert.Contains("\nnow_utc: {\nArgs: never\nReturns: string\n}\n", functions, StringComparison.Ordinal);
        Assert.Contains("\nowners_named: {\nArgs: {\npattern: string\n}\nReturns: Database[\"gt\"][\"Tables\"][\"owners\"][\"Row\"][]\n}\n", functions, StringComparison.Ordinal);
        Assert.Contains("\npairs: {\nArgs: {\nn: number\n}\nReturns: {\nk: number | null\nv: string | null\n}[]\n}\n", functions, StringComparison.Ordinal);
        Assert.Contains("\nset_mood: {\nArgs: {\nm: Database[\"gt\"][\"Enums\"][\"mood\"]\ntags: string[]\n}\nReturns: Database[\"gt\"][\"Enums\"][\"mood\"][]\n}\n", functions, StringComparison.Ordinal);
        Assert.Contains("\nnothing: {\nArgs: never\nReturns: undefined\n}\n", functions, StringComparison.Ordinal);
        Assert.Contains("\nmood: \"happy\" | \"sad\" | \"so-so\"\n", Lines(Block(ts, "Enums: {")), StringComparison.Ordinal);
        // An enum that only a function uses.
        Assert.Contains("\nlevel: \"low\" | \"high\"\n", Lines(Block(ts, "Enums: {")), StringComparison.Ordinal);
        Assert.Contains("\nnext_level: {\nArgs: {\nl: Database[\"gt\"][\"Enums\"][\"level\"]\n}\nReturns: Database[\"gt\"][\"Enums\"][\"level\"]\n}\n", functions, StringComparison.Ordinal);
        Assert.Contains("mood: [\"happy\", \"sad\", \"so-so\"],", ts, StringComparison.Ordinal);
        Assert.Contains("""
            foreignKeyName: "everything_owner_id_fkey"
            columns: ["owner_id"]
            isOneToOne: false
            referencedRelation: "owners"
            referencedColumns: ["id"]
            """.ReplaceLineEndings("\n"), Lines(Block(ts, "everything: {")).TrimStart('\n'), StringComparison.Ordinal);
        // The identity column is optional on insert; a comment becomes a doc comment, its "*/" defused.
        Assert.Contains("\nid?: never\n", Lines(Block(Block(ts, "owners: {"), "Insert: {")), StringComparison.Ordinal);
        Assert.Contains("/** The text *\\/ column */", ts, StringComparison.Ordinal);
        // Views that cannot take writes have no Insert/Update (postgrest-js's GenericNonUpdatableView).
        Assert.DoesNotContain("Insert", Block(ts, "moods: {"), StringComparison.Ordinal);
        Assert.DoesNotContain("Insert", Block(ts, "everything_view: {"), StringComparison.Ordinal);
        Assert.Contains("\nInsert: {\nid?: number | null\nname?: string | null\n}\n", Lines(Block(ts, "owner_names: {")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CSharp_has_inserts_with_optional_members_function_arguments_and_string_enums()
    {
        await schema.EnsureAsync(pg);
        var cs = schema.CSharp;
        var insert = Block(cs, "public sealed record EverythingInsert");
        Assert.Contains("[JsonPropertyName(\"c_text\")] public required string CText { get; init; }", insert, StringComparison.Ordinal);
        Assert.Contains("[JsonPropertyName(\"c_uuid\"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public Guid? CUuid { get; init; }", insert, StringComparison.Ordinal);
        Assert.DoesNotContain("CGenerated", insert, StringComparison.Ordinal);
        var args = Block(cs, "public sealed record AddArgs\n");
        Assert.Contains("[JsonPropertyName(\"a\")] public required int A { get; init; }", args, StringComparison.Ordinal);
        Assert.Contains("[JsonPropertyName(\"b\"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? B { get; init; }", args, StringComparison.Ordinal);
        Assert.Contains("public sealed record AddArgs2", cs, StringComparison.Ordinal);
        Assert.Contains("[JsonStringEnumMemberName(\"so-so\")] SoSo,", cs, StringComparison.Ordinal);
        Assert.Contains("namespace Restgres.Generated;", cs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_generated_CSharp_compiles_and_round_trips_a_row_served_by_the_API()
    {
        await schema.EnsureAsync(pg);
        // Reads a row as PostgREST renders it and writes an insert and arguments, through the generated records.
        var (code, output) = await BuildCSharpAsync(new Dictionary<string, string>
        {
            ["Database.cs"] = schema.CSharp,
            ["Program.cs"] = """
                using System.Text.Json;
                using Restgres.Generated;

                var row = JsonSerializer.Deserialize<Gt.OwnersRow>("{\"id\": 1, \"name\": \"ann\"}")!;
                var insert = new Gt.EverythingInsert { CInt2 = 1, CInt8 = 2, CText = "x", CMood = Gt.Mood.SoSo };
                var call = new Gt.AddArgs { A = 1 };
                Console.WriteLine(row.Name + " " + JsonSerializer.Serialize(insert) + " " + JsonSerializer.Serialize(call));
                """,
        }, run: true);
        Assert.True(code == 0, output);
        Assert.Contains("ann {\"c_int2\":1,\"c_int8\":2,\"c_text\":\"x\",\"c_mood\":\"so-so\"} {\"a\":1}", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Builds (or with <paramref name="run"/>, builds and runs) C# files in a temporary project as strict as ours:
    /// nullable, documentation required, warnings as errors. Exit code and the compiler's or program's output.
    /// </summary>
    internal static async Task<(int Code, string Output)> BuildCSharpAsync(IReadOnlyDictionary<string, string> files, bool run)
    {
        var dir = Directory.CreateTempSubdirectory("restgres-gentypes-cs-");
        try
        {
            foreach (var (name, text) in files) await File.WriteAllTextAsync(Path.Combine(dir.FullName, name), text);
            await File.WriteAllTextAsync(Path.Combine(dir.FullName, "Check.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <TargetFramework>net10.0</TargetFramework>
                    <OutputType>{(run ? "Exe" : "Library")}</OutputType>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                    <GenerateDocumentationFile>{(run ? "false" : "true")}</GenerateDocumentationFile>
                    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
                  </PropertyGroup>
                </Project>
                """);
            return await RunProcessAsync("dotnet", run ? ["run", "-c", "Release", "--nologo", "-v", "quiet"] : ["build", "-c", "Release", "--nologo", "-v", "quiet"], dir.FullName);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData(new[] { "types" }, "which language")]
    [InlineData(new[] { "types", "python" }, "which language")]
    [InlineData(new[] { "types", "--lang", "python" }, "unknown language 'python'")]
    [InlineData(new[] { "schema" }, "unknown 'gen' command 'schema'")]
    [InlineData(new[] { "types", "typescript", "a.conf", "b.conf" }, "unexpected argument 'b.conf'")]
    [InlineData(new[] { "types", "csharp", "--namespace", "1bad" }, "is not a C# namespace")]
    public async Task Bad_arguments_exit_2_with_a_message(string[] args, string message)
    {
        var (code, stdout, stderr) = await RunAsync(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_is_printed_and_an_unreachable_database_is_a_clear_error()
    {
        var (code, stdout, _) = await RunAsync(["types", "--help"]);
        Assert.Equal(0, code);
        Assert.Contains("restgres gen types typescript|csharp", stdout, StringComparison.Ordinal);
        Assert.Contains("\n  --db-uri URI", stdout, StringComparison.Ordinal);
        (code, stdout, var stderr) = await RunAsync(["types", "typescript", "--db-uri", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"]);
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Contains("cannot connect to the database at 127.0.0.1:1/none as nobody", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_database_and_schemas_come_from_the_config_file_and_output_goes_to_a_file()
    {
        await schema.EnsureAsync(pg);
        var dir = Directory.CreateTempSubdirectory("restgres-gentypes-conf-");
        try
        {
            // The file names the database and the schemas, as the server reads it; --db-uri would override the URI.
            var conf = Path.Combine(dir.FullName, "restgres.conf");
            await File.WriteAllTextAsync(conf, $"db-uri = \"{schema.Database.Uri()}\"\ndb-schemas = \"gt\"\n");
            var output = Path.Combine(dir.FullName, "database.ts");
            var (code, stdout, stderr) = await RunAsync(["types", "typescript", "--output", output, conf]);
            Assert.True(code == 0, stderr);
            Assert.Equal("", stdout);
            Assert.Equal(schema.TypeScript, await File.ReadAllTextAsync(output));
            (code, _, stderr) = await RunAsync(["types", "ts", "--db-uri", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", conf]);
            Assert.Equal(1, code);
            Assert.Contains("cannot connect to the database at 127.0.0.1:1/none as nobody", stderr, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("integer", "integer", 0)]
    [InlineData("character varying(20)", "character varying", 0)]
    [InlineData("timestamp(3) with time zone", "timestamp with time zone", 0)]
    [InlineData("numeric(10,2)[]", "numeric", 1)]
    [InlineData("pg_catalog.int4", "int4", 0)]
    [InlineData("_int4", "int4", 1)]
    [InlineData("public._mood", "public.mood", 1)]
    [InlineData("text[][]", "text", 2)]
    public void Type_names_parse_into_element_and_array_depth(string type, string element, int depth) =>
        Assert.Equal((element, depth), PgTypeMap.Parse(type));

    /// <summary>The text of the first brace block opened by the line containing <paramref name="opener"/>.</summary>
    internal static string Block(string text, string opener)
    {
        var start = text.IndexOf(opener, StringComparison.Ordinal);
        Assert.True(start >= 0, $"'{opener}' not found");
        var brace = text.IndexOf('{', start);
        var depth = 0;
        for (var i = brace; i < text.Length; i++)
        {
            if (text[i] == '{') depth++;
            else if (text[i] == '}' && --depth == 0) return text[start..(i + 1)];
        }
        return text[start..];
    }

    /// <summary>Lines trimmed of indentation, joined with "\n" and framed by "\n", to match without indentation.</summary>
    internal static string Lines(string text) => "\n" + string.Join('\n', text.Split('\n').Select(l => l.Trim())) + "\n";

    internal static async Task<(int Code, string Output)> RunProcessAsync(string file, string[] args, string workingDirectory)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}
