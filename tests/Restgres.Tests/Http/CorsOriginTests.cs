using Restgres.Http;
using Xunit;

namespace Restgres.Tests.Http;

/// <summary>server-cors-allowed-origins entries: exact origins, as PostgREST, and <c>scheme://*.domain</c> for every
/// subdomain of a domain (preview deployments).</summary>
public sealed class CorsOriginTests
{
    [Theory]
    [InlineData("http://localhost:5173", "http://localhost:5173", true)]
    [InlineData("http://localhost:5173", "http://localhost:5174", false)]
    [InlineData("https://*.vercel.app", "https://my-app.vercel.app", true)]
    [InlineData("https://*.vercel.app", "https://my-app-git-feature.team.vercel.app", true)]
    [InlineData("https://*.vercel.app", "https://vercel.app", false)]
    [InlineData("https://*.vercel.app", "https://.vercel.app", false)]
    [InlineData("https://*.vercel.app", "http://my-app.vercel.app", false)]
    [InlineData("https://*.vercel.app", "https://my-app.vercel.app.evil.example", false)]
    [InlineData("https://*.vercel.app", "https://evil.example/.vercel.app", false)]
    [InlineData("https://*.vercel.app", "https://evil.example:443@x.vercel.app", false)]
    [InlineData("https://*.example.com:8443", "https://a.example.com:8443", true)]
    [InlineData("https://*.example.com:8443", "https://a.example.com", false)]
    [InlineData("https://*.vercel.app", "https://*.vercel.app", true)]
    public void An_origin_matches_an_exact_entry_or_a_subdomain_wildcard(string allowed, string origin, bool matches) =>
        Assert.Equal(matches, Cors.Matches(allowed, origin));
}
