using Restgres.Dev;
using Restgres.Tests.Http;
using Xunit;

namespace Restgres.Tests.Dev;

/// <summary>Where `restgres dev --app` (and the example tests) read an app's migrations: the Supabase CLI layout
/// when the app has it, else the examples' own migrations folder.</summary>
public sealed class ConfiguredAppMigrationsTests
{
    [Fact]
    public void An_app_with_supabase_migrations_is_read_from_there_and_the_others_from_migrations()
    {
        var floyo = ConfiguredApp.Find(Path.Combine(RepoPaths.Root, "examples", "floyo")) ?? throw new InvalidOperationException("floyo not found");
        Assert.Equal(Path.Combine(floyo.Directory, "supabase", "migrations"), floyo.MigrationsDirectory);
        Assert.Contains(Directory.GetFiles(floyo.MigrationsDirectory), f => f.EndsWith("_master.sql", StringComparison.Ordinal));
        var clicks = ConfiguredApp.Find(Path.Combine(RepoPaths.Root, "examples", "click-analytics")) ?? throw new InvalidOperationException("not found");
        Assert.Equal(Path.Combine(clicks.Directory, "migrations"), clicks.MigrationsDirectory);
    }
}
