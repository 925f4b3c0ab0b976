using System.Globalization;
using System.IO.Hashing;

namespace Restgres.Http;

/// <summary>
/// Validators and conditional GET (RFC 9110 §8.8.3, §13.1.2): <c>server-etag</c>'s strong entity-tags and the
/// <c>If-None-Match</c> check that turns a 200 into a 304.
/// </summary>
internal static class HttpCaching
{
    /// <summary>
    /// The strong entity-tag of <paramref name="identityBody"/> sent with <paramref name="coding"/> (null: identity).
    /// A gzip or br body is another representation with other bytes, so it gets another tag (RFC 9110 §8.8.3.3's
    /// example does the same): the hash of the identity body with the coding appended. Hashing the identity body rather
    /// than the compressed one lets a 304 be answered without compressing anything; our compressors are deterministic
    /// for a given runtime, so equal tags still mean equal bytes.
    /// </summary>
    public static string EntityTag(ReadOnlySpan<byte> identityBody, string? coding)
    {
        var hash = XxHash128.HashToUInt128(identityBody);
        var tag = "\"" + hash.ToString("x32", CultureInfo.InvariantCulture) + "\"";
        return coding is null ? tag : WithCoding(tag, coding);
    }

    /// <summary>The tag of the <paramref name="coding"/>-encoded representation whose identity body has tag
    /// <paramref name="etag"/> (one set by the database or the docs page, maybe): the coding appended inside the
    /// quotes, as Apache's mod_deflate does. A malformed tag is left as it is.</summary>
    public static string WithCoding(string etag, string coding) =>
        etag.Length >= 2 && etag[^1] == '"' ? etag[..^1] + "-" + coding + "\"" : etag;

    /// <summary>
    /// Whether an <c>If-None-Match</c> field value matches <paramref name="etag"/>: <c>*</c>, or any listed tag by
    /// weak comparison (RFC 9110 §13.1.2: GET and HEAD compare weakly, so <c>W/</c> is ignored on both sides). A
    /// malformed element ends the list (what was read before it still counts). One linear pass.
    /// </summary>
    public static bool IfNoneMatchMatches(ReadOnlySpan<char> header, string etag)
    {
        var ours = Opaque(etag);
        var i = 0;
        while (i < header.Length)
        {
            var c = header[i];
            if (c is ' ' or '\t' or ',') { i++; continue; }
            if (c == '*') return true;
            if (c == 'W' && i + 1 < header.Length && header[i + 1] == '/') i += 2;
            if (i >= header.Length || header[i] != '"') return false;
            var close = header[(i + 1)..].IndexOf('"');
            if (close < 0) return false;
            if (header.Slice(i, close + 2).SequenceEqual(ours)) return true;
            i += close + 2;
        }
        return false;
    }

    /// <summary>The quoted opaque-tag of an entity-tag, without a <c>W/</c> prefix.</summary>
    private static ReadOnlySpan<char> Opaque(string etag) =>
        etag.StartsWith("W/", StringComparison.Ordinal) ? etag.AsSpan(2) : etag.AsSpan();

    /// <summary>The headers a 304 keeps from the 200 it replaces (RFC 9110 §15.4.5): the validator and what caches
    /// need to update their stored response; Content-Type and the other content metadata are not sent.</summary>
    public static bool KeptOnNotModified(string name) =>
        name.Equals("ETag", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Cache-Control", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Vary", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Content-Location", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Expires", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Date", StringComparison.OrdinalIgnoreCase)
        // server-response-cache: where the 304 came from (RFC 9111 §5.1, RFC 9211).
        || name.Equals("Age", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Cache-Status", StringComparison.OrdinalIgnoreCase);
}
