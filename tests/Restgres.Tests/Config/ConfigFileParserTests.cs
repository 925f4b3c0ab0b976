using Restgres.Config;
using Xunit;

namespace Restgres.Tests.Config;

/// <summary>The configurator file format PostgREST config files are written in.</summary>
public sealed class ConfigFileParserTests
{
    private static readonly Dictionary<string, string> NoEnv = new(StringComparer.Ordinal);

    private static Dictionary<string, ConfigValue> Parse(string text, Dictionary<string, string>? env = null) =>
        ConfigFileParser.Parse(text, "test.conf", env ?? NoEnv);

    public static TheoryData<string, string, string> Values => new()
    {
        // file text, key, expected text
        { "db-uri = \"postgres://u@h/db\"", "db-uri", "postgres://u@h/db" },
        { "db-uri=\"x\"", "db-uri", "x" },
        { "  db-uri   =   \"x\"   # trailing comment", "db-uri", "x" },
        { "a = \"tab\\there\"", "a", "tab\there" },
        { "a = \"line\\nbreak\\r\"", "a", "line\nbreak\r" },
        { "a = \"quote \\\" and backslash \\\\\"", "a", "quote \" and backslash \\" },
        { "a = \"\\u00e9t\\u00E9\"", "a", "été" },
        { "a = \"\\ud83d\\ude00\"", "a", "😀" },
        { "a = \"# not a comment\"", "a", "# not a comment" },
        { "a = \"\"", "a", "" },
        { "a = \"multi\nline\"", "a", "multi\nline" },
        { "a = \"price: $$5\"", "a", "price: $5" },
        { "jwt-role-claim-key = \"$$.postgrest.roles[0]\"", "jwt-role-claim-key", "$.postgrest.roles[0]" },
        { "a = 3000", "a", "3000" },
        { "a = -5", "a", "-5" },
        { "a = +5", "a", "5" },
        { "a = 1.5", "a", "1.5" },
        { "a = 1e3", "a", "1e3" },
        { "a = true", "a", "true" },
        { "a = false", "a", "false" },
        { "a = on", "a", "true" },
        { "a = off", "a", "false" },
        { "app.settings.jwt_exp = \"3600\"", "app.settings.jwt_exp", "3600" },
        { "a =\n  \"value on the next line\"", "a", "value on the next line" },
        { "a = \"first\"\na = \"second wins\"", "a", "second wins" },
        { "app { settings { name = \"grouped\" } }", "app.settings.name", "grouped" },
        { "app {\n  settings {\n    name = \"grouped\"\n  }\n}", "app.settings.name", "grouped" },
        { "#; a = \"commented out\"\na = \"kept\"", "a", "kept" },
        { "importer = \"not an import\"", "importer", "not an import" },
        { "a = \"x\"\r\nb = \"y\"\r\n", "b", "y" },
    };

    [Theory]
    [MemberData(nameof(Values))]
    public void A_binding_is_read_with_its_unescaped_value(string text, string key, string expected)
    {
        var config = Parse(text);
        Assert.Equal(expected, config[key].Text);
    }

    [Theory]
    [InlineData("a = \"s\"", "String")]
    [InlineData("a = 1", "Number")]
    [InlineData("a = true", "Bool")]
    [InlineData("a = [1, \"two\"]", "List")]
    public void Each_value_keeps_its_kind(string text, string kind) => Assert.Equal(kind, Parse(text)["a"].Kind.ToString());

    [Fact]
    public void Comments_blank_lines_and_indentation_are_ignored()
    {
        var config = Parse("""
            # a comment

               # an indented comment
            db-uri = "postgres://"   # after a value
            server-port = 3000
            """);
        Assert.Equal(["db-uri", "server-port"], config.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Interpolation_reads_earlier_settings_then_the_environment()
    {
        var env = new Dictionary<string, string> { ["MY_SECRET"] = "from-env" };
        var config = Parse("""
            host = "db.example.com"
            port = 5432
            db-uri = "postgres://$(host):$(port)/app"
            app.settings.secret = "$(MY_SECRET)"
            """, env);
        Assert.Equal("postgres://db.example.com:5432/app", config["db-uri"].Text);
        Assert.Equal("from-env", config["app.settings.secret"].Text);
    }

    [Fact]
    public void Interpolation_inside_a_group_looks_in_the_group_first()
    {
        var config = Parse("""
            name = "outer"
            g {
              name = "inner"
              v = "$(name)"
            }
            """);
        Assert.Equal("inner", config["g.v"].Text);
    }

    [Fact]
    public void An_import_is_read_relative_to_the_importing_file_and_inside_its_group()
    {
        var dir = Directory.CreateTempSubdirectory("restgres-config-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "secrets.conf"), "jwt_secret = \"imported\"\n");
            var main = Path.Combine(dir.FullName, "main.conf");
            File.WriteAllText(main, "app {\n  settings {\n    import \"secrets.conf\"\n  }\n}\n");
            var config = ConfigFileParser.Load(main, NoEnv);
            Assert.Equal("imported", config["app.settings.jwt_secret"].Text);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void An_import_cycle_is_reported_instead_of_looping()
    {
        var dir = Directory.CreateTempSubdirectory("restgres-config-");
        try
        {
            var main = Path.Combine(dir.FullName, "main.conf");
            File.WriteAllText(main, "import \"main.conf\"\n");
            var e = Assert.Throws<ConfigException>(() => ConfigFileParser.Load(main, NoEnv));
            Assert.Contains("import cycle", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_missing_file_is_a_config_error()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigFileParser.Load("/nonexistent/restgres.conf", NoEnv));
        Assert.StartsWith("Error in config file '/nonexistent/restgres.conf': cannot read it", e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> Malformed => new()
    {
        // file text, expected message (after the "Error in config file 'test.conf' " prefix)
        { "db-uri \"x\"", "line 1, column 8: expected '=' after 'db-uri', found '\"'" },
        { "a = \"x\"\nb = postgres://", "line 2, column 5: expected a value (a \"quoted string\", a number, true/false or a [list]), found 'p'" },
        { "a = \"unterminated", "line 1, column 5: unterminated string (missing closing '\"')" },
        { "a = \"x\" b = \"y\"", "line 1, column 9: unexpected 'b' after the value; each setting goes on its own line" },
        { "a = 'single'", "line 1, column 5: expected a value (a \"quoted string\", a number, true/false or a [list]), found '''" },
        { "a = \"bad \\q escape\"", "line 1, column 10: invalid escape '\\q' in string (allowed: \\n \\t \\r \\\" \\\\ \\uXXXX)" },
        { "a = \"\\u12\"", "line 1, column 6: expected 4 hexadecimal digits after \\u" },
        { "a = \"\\udc00\"", "line 1, column 6: invalid UTF-16 surrogates in \\u escape" },
        { "a = \"cost $5\"", "line 1, column 5: a '$' in a string must be written '$$' (or start a '$(name)' interpolation)" },
        { "a = \"$(NOPE_NOT_SET)\"", "line 1, column 5: no such variable: 'NOPE_NOT_SET' (neither a setting above nor an environment variable)" },
        { "a = \"$(unclosed\"", "line 1, column 5: unfinished '$(name)' interpolation in string; write '$$' for a literal '$'" },
        { "b = true\na = \"$(b)\"", "line 2, column 5: variable 'b' is not a string or number" },
        { "a. = \"x\"", "line 1, column 1: setting name 'a.' must not end with a dot" },
        { "1abc = \"x\"", "line 1, column 1: expected a setting name, found '1'" },
        { "import = \"x\"", "line 1, column 1: 'import' is a reserved word and cannot be a setting name" },
        { "g {\n  a = \"x\"\n", "line 3, column 1: missing '}' to close a group" },
        { "}", "line 1, column 1: unexpected '}' without an opening group" },
        { "a = [1, 2", "line 1, column 10: missing ']' to close a list" },
        { "a =", "line 1, column 4: expected a value" },
        { "a = truely", "line 1, column 9: unexpected 'l' after the value; each setting goes on its own line" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void A_malformed_file_is_reported_with_its_line_and_column(string text, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => Parse(text));
        Assert.Equal("Error in config file 'test.conf' " + expected, e.Message);
    }
}
