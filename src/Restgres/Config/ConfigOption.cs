using System.Collections.Immutable;

namespace Restgres.Config;

/// <summary>
/// One configuration option: all that Restgres knows about it apart from its use. <see cref="ConfigOptions.All"/>
/// lists them; the loader, the environment variables, the in-database settings, the reload rules, <c>--example</c>,
/// the admin server's <c>/config</c>, the "not implemented yet" warning and the table in docs/configuration.md (checked
/// by a test) all come from that list.
/// </summary>
internal abstract class ConfigOption
{
    /// <summary>What every option's environment variable starts with.</summary>
    public const string EnvPrefix = "PGRST_";

    private protected ConfigOption(string name, OptionKind kind)
    {
        Name = name;
        Kind = kind;
        EnvName = EnvNameOf(name);
    }

    /// <summary>The name in a config file, e.g. <c>db-schemas</c>.</summary>
    public string Name { get; }

    public OptionKind Kind { get; }

    /// <summary>The environment variable: <c>PGRST_</c>, upper case, '-' → '_'.</summary>
    public string EnvName { get; }

    /// <summary>Names PostgREST still accepts from before a rename, each with its own environment variable.</summary>
    public ImmutableArray<string> OldNames { get; init; } = [];

    /// <summary>When both names are set the new one wins, unless this is set (PostgREST reads <c>db-pool-timeout</c>
    /// before <c>db-pool-max-idletime</c>).</summary>
    public bool OldNamesFirst { get; init; }

    /// <summary>The default as written in a config file (a string without its quotes); null: unset by default.</summary>
    public string? Default { get; init; }

    /// <summary>What it does, one line of Markdown: the "Meaning" column of docs/configuration.md.</summary>
    public required string Doc { get; init; }

    /// <summary>A config reload (SIGUSR2, <c>NOTIFY</c>) changes it; the others keep their startup value (docs: the
    /// "Reloadable" column of PostgREST's references/configuration.rst, plus Restgres's own).</summary>
    public bool Reloadable { get; init; } = true;

    /// <summary>It can be set in the database as <c>pgrst.</c><see cref="DbSettingName"/> (PostgREST's
    /// Config/Database.hs dbSettingsNames).</summary>
    public bool InDatabase { get; init; }

    /// <summary>False for options that are read and validated but have no effect yet: setting one logs a warning.</summary>
    public bool Implemented { get; init; } = true;

    /// <summary>Not a PostgREST option.</summary>
    public bool RestgresOnly { get; init; }

    /// <summary>PostgREST's <c>internal-*</c> test hooks: accepted, but neither in <c>--example</c> nor in the dump.</summary>
    public bool Internal { get; init; }

    /// <summary>The name with '_' for '-', as in the database (<c>pgrst.db_schemas</c>).</summary>
    public string DbSettingName => Name.Replace('-', '_');

    /// <summary>The names the option is read under, in the order tried; the first one set wins.</summary>
    public ImmutableArray<string> Names => OldNamesFirst ? [.. OldNames, Name] : [Name, .. OldNames];

    /// <summary>For docs/configuration.md: the default in backquotes, or where the value comes from when unset.</summary>
    public abstract string DefaultDoc { get; }

    public static string EnvNameOf(string name) =>
        string.Create(EnvPrefix.Length + name.Length, name, static (span, n) =>
        {
            EnvPrefix.AsSpan().CopyTo(span);
            for (var i = 0; i < n.Length; i++)
                span[EnvPrefix.Length + i] = n[i] == '-' ? '_' : char.ToUpperInvariant(n[i]);
        });

    /// <summary>Reads the option into <paramref name="config"/>, which holds the options read before it.</summary>
    /// <exception cref="ConfigException">The value is invalid.</exception>
    internal abstract AppConfig Read(OptionReader reader, AppConfig config);

    /// <summary>The option's value in <paramref name="config"/> as config text (a string without its quotes); null
    /// when unset.</summary>
    public abstract string? Format(AppConfig config);

    /// <summary><paramref name="to"/> with this option's value taken from <paramref name="from"/>.</summary>
    public abstract AppConfig CopyValue(AppConfig from, AppConfig to);
}

/// <summary>An option whose value has type <typeparamref name="T"/>, held by one or more <see cref="AppConfig"/>
/// properties that <c>get</c> and <c>set</c> reach.</summary>
internal sealed class ConfigOption<T> : ConfigOption
{
    private readonly OptionType<T> _type;
    private readonly Func<AppConfig, T> _get;
    private readonly Func<AppConfig, T, AppConfig> _set;
    private readonly Lazy<T> _defaultValue;

    public ConfigOption(string name, OptionType<T> type, Func<AppConfig, T> get, Func<AppConfig, T, AppConfig> set)
        : base(name, type.Kind)
    {
        _type = type;
        _get = get;
        _set = set;
        // Lazy because the initialiser sets Default after the constructor has run.
        _defaultValue = new Lazy<T>(ParseDefault);
    }

    /// <summary>The value when unset and there is no <see cref="ConfigOption.Default"/>; null unless set here.</summary>
    public T UnsetValue { get; init; } = default!;

    /// <summary>When unset, the value of this option (read before) instead (PostgREST's <c>optWithAlias</c> of
    /// <c>admin-server-host</c> on <c>server-host</c>).</summary>
    public ConfigOption<T>? DefaultFrom { get; init; }

    /// <summary>A rule involving options read before this one, checked on a value that was set.</summary>
    public Action<T, AppConfig>? Check { get; init; }

    /// <summary>The value of the option when nothing sets it: <see cref="AppConfig"/>'s initial value.</summary>
    public T DefaultValue => _defaultValue.Value;

    public override string DefaultDoc =>
        Default is not null ? $"`{Default}`"
        : DefaultFrom is not null ? $"value of `{DefaultFrom.Name}`"
        : "unset";

    public T Get(AppConfig config) => _get(config);

    internal override AppConfig Read(OptionReader reader, AppConfig config)
    {
        foreach (var key in Names)
        {
            if (reader.TryGet(key, out var raw) && _type.TryRead(Name, key, raw, out var value))
            {
                Check?.Invoke(value, config);
                return _set(config, value);
            }
        }
        return _set(config, DefaultFrom is null ? DefaultValue : DefaultFrom.Get(config));
    }

    public override string? Format(AppConfig config) => _type.Format(_get(config));

    public override AppConfig CopyValue(AppConfig from, AppConfig to) => _set(to, _get(from));

    private T ParseDefault()
    {
        if (Default is null) return DefaultFrom is null ? UnsetValue : DefaultFrom.DefaultValue;
        return _type.TryRead(Name, Name, ConfigValue.Str(Default), out var value)
            ? value
            : throw new InvalidOperationException($"The default of {Name} reads as unset");
    }
}
