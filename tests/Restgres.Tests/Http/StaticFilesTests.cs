using Restgres.Http;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Http;

/// <summary>
/// server-static-dir never serves what a deploy folder may hold by accident: dot-directories (.git, .vite) and files
/// reached through symbolic links that leave the folder. Links inside the folder work.
/// </summary>
[Collection("pg")]
public sealed class StaticFilesTests(PgClusterFixture pg, ReadPathApi api) : IClassFixture<ReadPathApi>
{
    [Fact]
    public async Task Dot_directories_and_links_out_of_the_folder_are_404_and_links_inside_are_served()
    {
        await api.DefaultAsync(pg);
        var outside = Directory.CreateTempSubdirectory("restgres-outside-").FullName;
        var dir = Directory.CreateTempSubdirectory("restgres-static-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(outside, "secret.txt"), "outside");
            await File.WriteAllTextAsync(Path.Combine(dir, "page.txt"), "page");
            Directory.CreateDirectory(Path.Combine(dir, ".git"));
            await File.WriteAllTextAsync(Path.Combine(dir, ".git", "config"), "[remote]");
            Directory.CreateDirectory(Path.Combine(dir, "assets", ".vite"));
            await File.WriteAllTextAsync(Path.Combine(dir, "assets", ".vite", "manifest.json"), "{}");
            File.CreateSymbolicLink(Path.Combine(dir, "leak.txt"), Path.Combine(outside, "secret.txt"));
            Directory.CreateSymbolicLink(Path.Combine(dir, "out"), outside);
            File.CreateSymbolicLink(Path.Combine(dir, "alias.txt"), "page.txt");
            Directory.CreateSymbolicLink(Path.Combine(dir, "same"), dir);

            await using var s = await TestServer.StartAsync(api.BaseConfig with { ServerStaticDir = dir });
            var page = await s.GetAsync("/page.txt");
            Assert.Equal((200, "page"), (page.Status, page.Body));
            foreach (var path in new[] { "/.git/config", "/assets/.vite/manifest.json", "/%2Egit/config", "/leak.txt", "/out/secret.txt" })
            {
                var r = await s.GetAsync(path);
                Assert.True(r.Status == 404 && !r.Body.Contains("outside", StringComparison.Ordinal) && !r.Body.Contains("[remote]", StringComparison.Ordinal),
                    $"{path}: {r}");
            }
            Assert.Equal((200, "page"), ((await s.GetAsync("/alias.txt")).Status, (await s.GetAsync("/same/page.txt")).Body));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void Real_paths_resolve_links_in_every_component()
    {
        var root = Directory.CreateTempSubdirectory("restgres-real-").FullName;
        try
        {
            var real = StaticFiles.RealPath(root);
            Directory.CreateDirectory(Path.Combine(root, "a", "b"));
            Directory.CreateSymbolicLink(Path.Combine(root, "l"), Path.Combine(root, "a"));
            Directory.CreateSymbolicLink(Path.Combine(root, "a", "up"), "..");
            Assert.Equal(Path.Combine(real, "a", "b"), StaticFiles.RealPath(Path.Combine(root, "l", "b")));
            Assert.Equal(real, StaticFiles.RealPath(Path.Combine(root, "l", "up")));
            File.CreateSymbolicLink(Path.Combine(root, "loop"), Path.Combine(root, "loop"));
            Assert.Throws<IOException>(() => StaticFiles.RealPath(Path.Combine(root, "loop")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
