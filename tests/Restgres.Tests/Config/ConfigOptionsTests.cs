using System.Reflection;
using System.Text.RegularExpressions;
using Restgres.Admin;
using Restgres.Cli;
using Restgres.Config;
using Restgres.Tests.Http;
using Xunit;

namespace Restgres.Tests.Config;

/// <summary>The option table itself, and what is derived from it: the docs table, <c>--example</c>, the dump.</summary>
public sealed partial class ConfigOptionsTests
{
    public static TheoryData<string> Options => [.. ConfigOptions.All.Select(o => o.Name)];

    private static ConfigOption Option(string name) => ConfigOptions.All.Single(o => o.Name == name);

    [Fact]
    public void The_table_lists_every_option_declared_in_it_in_declaration_order()
    {
        var declared = typeof(ConfigOptions).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => typeof(ConfigOption).IsAssignableFrom(f.FieldType))
            .OrderBy(f => f.MetadataToken)
            .Select(f => (ConfigOption)f.GetValue(null)!);
        Assert.Equal(declared, ConfigOptions.All);
    }

    [Fact]
    public void Names_and_old_names_are_unique_lower_case_words_joined_by_dashes()
    {
        var names = ConfigOptions.All.SelectMany(o => o.Names).ToList();
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        Assert.All(names, n => Assert.Matches("^[a-z0-9]+(-[a-z0-9]+)*$", n));
    }

    [Theory]
    [MemberData(nameof(Options))]
    public void Every_name_has_an_environment_variable_PGRST_and_the_name_in_upper_snake_case(string name)
    {
        var option = Option(name);
        Assert.Equal("PGRST_" + name.ToUpperInvariant().Replace('-', '_'), option.EnvName);
        foreach (var old in option.OldNames)
            Assert.Equal("PGRST_" + old.ToUpperInvariant().Replace('-', '_'), ConfigOption.EnvNameOf(old));
    }

    [Theory]
    [MemberData(nameof(Options))]
    public void Every_option_is_read_from_its_environment_variable_and_its_default_means_unset(string name)
    {
        var option = Option(name);
        var unset = ConfigLoader.LoadText("", new Dictionary<string, string>(), _ => { });
        Assert.Equal(option.Format(new AppConfig()), option.Format(unset));
        if (option.Default is null) return;
        var atDefault = ConfigLoader.LoadText("", new Dictionary<string, string> { [option.EnvName] = option.Default }, _ => { });
        Assert.Equal(option.Format(unset), option.Format(atDefault));
    }

    [Theory]
    [MemberData(nameof(Options))]
    public void A_reload_keeps_the_startup_value_of_the_options_that_are_not_reloadable(string name)
    {
        var option = Option(name);
        var startup = ConfigLoader.LoadText(ConfigLoaderTests.EveryOptionSet, new Dictionary<string, string>(), _ => { });
        var reloaded = ConfigLoader.LoadText("", new Dictionary<string, string>(), _ => { });
        Assert.NotEqual(option.Format(reloaded), option.Format(startup));
        var kept = ConfigReloader.KeepStartupOptions(startup, reloaded);
        Assert.Equal(option.Format(option.Reloadable ? reloaded : startup), option.Format(kept));
    }

    [Fact]
    public void The_in_database_settings_are_the_options_marked_so()
    {
        Assert.Equal(ConfigOptions.All.Where(o => o.InDatabase).Select(o => o.DbSettingName), InDbConfig.SettingNames);
        Assert.Contains("db_schemas", InDbConfig.SettingNames);
        Assert.DoesNotContain("db_uri", InDbConfig.SettingNames);
    }

    [Fact]
    public void A_line_the_example_comments_out_shows_a_sample_value_when_there_is_no_default()
    {
        foreach (var entry in ConfigExample.Sections.SelectMany(s => s.Blocks).SelectMany(b => b.Entries))
        {
            if (entry.IsCommentedOut && entry.Option.Default is null)
                Assert.True(entry.Sample is not null, $"{entry.Option.Name} is commented out in --example without a sample value");
        }
    }

    [Fact]
    public void The_example_places_every_option_but_the_internal_ones_once()
    {
        var placed = ConfigExample.Sections.SelectMany(s => s.Blocks).SelectMany(b => b.Entries).Select(e => e.Option).ToList();
        Assert.Equal(placed.Count, placed.Distinct().Count());
        Assert.Equal(ConfigOptions.All.Where(o => !o.Internal).OrderBy(o => o.Name, StringComparer.Ordinal),
            placed.OrderBy(o => o.Name, StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Options))]
    public void The_example_sets_every_implemented_option_with_a_default_to_it(string name)
    {
        var option = Option(name);
        var lines = ConfigExample.Text.Split('\n');
        if (option.Internal) Assert.DoesNotContain(lines, l => l.Contains(name + " = ", StringComparison.Ordinal));
        else if (option.Implemented && option.Default is not null) Assert.Contains(lines, l => l.StartsWith(name + " = ", StringComparison.Ordinal));
        else Assert.Contains(lines, l => l.Contains(name + " = ", StringComparison.Ordinal));
    }

    [Fact]
    public void The_example_says_which_options_are_not_implemented_yet()
    {
        foreach (var block in ConfigExample.Sections.SelectMany(s => s.Blocks))
        {
            var said = ConfigExample.Text.Contains(block.Comment.Split('\n')[^1] + " (Not implemented yet in Restgres.)", StringComparison.Ordinal);
            Assert.Equal(block.Entries.Any(e => !e.Option.Implemented), said);
        }
    }

    [Fact]
    public void The_dump_has_one_line_per_option_but_the_internal_ones_and_Restgres_s_own_left_at_their_default()
    {
        var keys = ConfigDump.ToText(new AppConfig()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l[..l.IndexOf(" = ", StringComparison.Ordinal)]);
        Assert.Equal(ConfigOptions.All.Where(o => !o.Internal && !o.RestgresOnly).Select(o => o.Name).Order(StringComparer.Ordinal), keys);
    }

    /// <summary>The row docs/configuration.md must have for an option.</summary>
    private static string DocsRow(ConfigOption o)
    {
        static string YesNo(bool b) => b ? "yes" : "no";
        var old = o.OldNames.IsEmpty ? "" : " (old: " + string.Join(", ", o.OldNames.Select(n => $"`{n}`")) + ")";
        return $"| `{o.Name}`{old} | `{o.EnvName}` | {o.DefaultDoc} | {o.Doc} | {YesNo(o.Reloadable)} | {YesNo(o.InDatabase)} | "
            + (o.Implemented ? "yes" : "**not yet**") + " |";
    }

    [Fact]
    public void The_option_tables_in_docs_configuration_md_match_the_option_table()
    {
        var doc = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "configuration.md"));
        var options = doc[doc.IndexOf("\n## Options\n", StringComparison.Ordinal)..doc.IndexOf("\n## Errors\n", StringComparison.Ordinal)];
        var beyond = options.IndexOf("\n### Options beyond PostgREST\n", StringComparison.Ordinal);
        var rows = options.Split('\n').Where(l => OptionRow().IsMatch(l) && !l.StartsWith("| `app.settings.*`", StringComparison.Ordinal)).ToList();
        var expected = ConfigOptions.All.Select(DocsRow).ToList();
        Assert.True(expected.Order(StringComparer.Ordinal).SequenceEqual(rows.Order(StringComparer.Ordinal)),
            "docs/configuration.md should have these option rows (PostgREST's options, then Restgres's):\n"
            + string.Join('\n', ConfigOptions.All.OrderBy(o => o.RestgresOnly).ThenBy(o => o.Internal)
                .ThenBy(o => o.Name, StringComparer.Ordinal).Select(DocsRow))
            + "\nmissing: " + string.Join('\n', expected.Except(rows)) + "\nextra: " + string.Join('\n', rows.Except(expected)));
        foreach (var o in ConfigOptions.All)
            Assert.True(o.RestgresOnly == options.IndexOf(DocsRow(o), StringComparison.Ordinal) > beyond,
                $"{o.Name} belongs in the {(o.RestgresOnly ? "second" : "first")} table");
    }

    [GeneratedRegex("^\\| `[a-z]")]
    private static partial Regex OptionRow();
}
