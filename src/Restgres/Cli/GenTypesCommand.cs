using Npgsql;
using Restgres.Catalog;
using Restgres.Config;
using Restgres.Execution;
using Restgres.TypeGen;

namespace Restgres.Cli;

/// <summary>
/// <c>restgres gen types typescript|csharp</c>: the types of what the API serves, read from the same schema cache the
/// server builds (so they describe exactly the exposed schemas, relations, columns and functions), printed to stdout
/// or written to <c>--output FILE</c>.
/// </summary>
internal static class GenTypesCommand
{
    public const string Usage = """
        Usage: restgres gen types typescript|csharp [OPTIONS] [CONFIG_FILE]
               restgres gen types --lang typescript|csharp [OPTIONS] [CONFIG_FILE]

        Prints the types of the API Restgres serves from the database: for TypeScript the `Database` type of
        `supabase gen types typescript` (for createClient<Database>() and postgrest-js), for C# records for rows,
        inserts and function arguments (System.Text.Json). See docs/gen-types.md.

        Options:
          --lang LANG        typescript (or ts) or csharp (or cs); the same as the word after 'types'
          --schema S         The schemas to describe (repeat or comma-separate); default: db-schemas
          --namespace NS     The C# namespace (default: Restgres.Generated)
          --output FILE      Write to FILE instead of stdout
        """ + "\n" + CommandDatabase.OptionsHelp;

    /// <summary>Long enough for a database that answers; a CI step would rather fail than hang.</summary>
    private static readonly TimeSpan DatabaseTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs <c>gen ARGS</c>; exit code 0 on success, 1 for a database failure, 2 for bad arguments.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        string? lang = null, output = null, ns = null;
        var schemas = new List<string>();
        var database = new CommandDatabase.Arguments();
        var reader = new Dev.ArgReader(args);
        try
        {
            if (!reader.Next() || reader.IsHelp) return await HelpAsync(stdout, args.Length == 0 ? 2 : 0, stderr);
            if (reader.Arg != "types") throw new ArgumentException($"unknown 'gen' command '{reader.Arg}' (known: types)");
            while (reader.Next())
            {
                if (reader.IsHelp) return await HelpAsync(stdout, 0, stderr);
                switch (reader.Name)
                {
                    case "--lang": lang = reader.Value(); continue;
                    case "--schema":
                        schemas.AddRange(reader.Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                        continue;
                    case "--namespace": ns = reader.Value(); continue;
                    case "--output" or "-o": output = reader.Value(); continue;
                    case "typescript" or "ts" or "csharp" or "cs" when lang is null: lang = reader.Arg; continue;
                }
                if (!database.TryRead(reader)) throw reader.Unexpected();
            }
            lang = lang switch
            {
                "typescript" or "ts" => "typescript",
                "csharp" or "cs" or "c#" => "csharp",
                null => throw new ArgumentException("which language? 'typescript' or 'csharp' (restgres gen types typescript)"),
                _ => throw new ArgumentException($"unknown language '{lang}' (known: typescript, csharp)"),
            };
            if (ns is not null && !System.Text.RegularExpressions.Regex.IsMatch(ns, @"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"))
                throw new ArgumentException($"--namespace '{ns}' is not a C# namespace");
        }
        catch (ArgumentException e)
        {
            await stderr.WriteLineAsync($"restgres gen: {e.Message}. See 'restgres gen types --help'.");
            return 2;
        }

        AppConfig config;
        try
        {
            config = database.Load(line => stderr.WriteLine(line));
        }
        catch (ConfigException e)
        {
            await stderr.WriteLineAsync(e.Message);
            return 2;
        }
        IReadOnlyList<string> exposed = schemas.Count > 0 ? schemas : config.DbSchemas;
        SchemaCache cache;
        using var cts = new CancellationTokenSource(DatabaseTimeout);
        try
        {
            await using var conn = await CommandDatabase.OpenAsync(config, "gen types", cts.Token);
            cache = await SchemaCacheLoader.LoadAsync(conn, exposed, config.DbExtraSearchPath, cts.Token, viewNullability: true);
        }
        catch (CommandDatabaseException e)
        {
            await stderr.WriteLineAsync($"restgres gen: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException or InvalidOperationException or ArgumentException)
        {
            await stderr.WriteLineAsync($"restgres gen: could not read the schema of the database: {e.Message}");
            return 1;
        }
        var api = new ApiTypes(cache, exposed);
        var text = lang == "typescript" ? TypeScriptGenerator.Generate(api) : CSharpGenerator.Generate(api, ns ?? CSharpGenerator.DefaultNamespace);
        if (output is null) await stdout.WriteAsync(text);
        else
        {
            try
            {
                await File.WriteAllTextAsync(output, text);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await stderr.WriteLineAsync($"restgres gen: cannot write {output}: {e.Message}");
                return 1;
            }
        }
        return 0;
    }

    private static async Task<int> HelpAsync(TextWriter stdout, int code, TextWriter stderr)
    {
        await (code == 0 ? stdout : stderr).WriteLineAsync(Usage);
        return code;
    }
}
