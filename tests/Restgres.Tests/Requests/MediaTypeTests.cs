using Restgres.Requests;
using Xunit;

namespace Restgres.Tests.Requests;

/// <summary>
/// Media types (PostgREST's MediaType.hs doctests and tokenizer) and the Accept header as wai's parseHttpAccept orders
/// it. Expected Accept orders were produced by wai-extra's own parseHttpAccept.
/// </summary>
public sealed class MediaTypeTests
{
    private static string Show(MediaType m, int d) => m.Kind switch
    {
        MediaKind.ApplicationJson => "MTApplicationJSON",
        MediaKind.GeoJson => "MTGeoJSON",
        MediaKind.TextCsv => "MTTextCSV",
        MediaKind.TextPlain => "MTTextPlain",
        MediaKind.TextXml => "MTTextXML",
        MediaKind.OpenApi => "MTOpenAPI",
        MediaKind.UrlEncoded => "MTUrlEncoded",
        MediaKind.OctetStream => "MTOctetStream",
        MediaKind.Any => "MTAny",
        MediaKind.Other => Paren(d, "MTOther " + HsShow.Str(m.Other!)),
        MediaKind.ArrayJsonStrip => "MTVndArrayJSONStrip",
        MediaKind.SingularJson => Paren(d, "MTVndSingularJSON " + (m.StripNulls ? "True" : "False")),
        MediaKind.Plan => Paren(d, "MTVndPlan " + Show(m.PlanFor!, 11) + " " + (m.PlanJson ? "PlanJSON" : "PlanText") + " ["
            + string.Join(",", (m.PlanOptions ?? []).Select(o => o switch
            {
                "analyze" => "PlanAnalyze",
                "verbose" => "PlanVerbose",
                "settings" => "PlanSettings",
                "buffers" => "PlanBuffers",
                _ => "PlanWAL",
            })) + "]"),
        _ => throw new ArgumentOutOfRangeException(nameof(m)),
    };

    private static string Paren(int d, string s) => d >= 11 ? "(" + s + ")" : s;

    public static TheoryData<string, string> Decoded => new()
    {
        // media type text, decodeMediaType's result | toMime of it (from PostgREST's MediaType.hs)
        // The doctests of decodeMediaType.
        { "application/json",
          "MTApplicationJSON | application/json" },
        { "application/vnd.pgrst.plan;",
          "MTVndPlan MTApplicationJSON PlanText [] | application/vnd.pgrst.plan+text; for=\"application/json\"" },
        { "application/vnd.pgrst.plan;for=\"application/json\"",
          "MTVndPlan MTApplicationJSON PlanText [] | application/vnd.pgrst.plan+text; for=\"application/json\"" },
        { "application/vnd.pgrst.plan ; for=\"text/xml\" ; options=analyze",
          "MTVndPlan MTTextXML PlanText [PlanAnalyze] | application/vnd.pgrst.plan+text; for=\"text/xml\"; options=analyze" },
        { "application/vnd.pgrst.plan+json;for=\"text/csv\"",
          "MTVndPlan MTTextCSV PlanJSON [] | application/vnd.pgrst.plan+json; for=\"text/csv\"" },
        { "application/vnd.pgrst.array+json;nulls=stripped",
          "MTVndArrayJSONStrip | application/vnd.pgrst.array+json;nulls=stripped" },
        { "application/vnd.pgrst.array+json",
          "MTApplicationJSON | application/json" },
        { "application/vnd.pgrst.object+json;nulls=stripped",
          "MTVndSingularJSON True | application/vnd.pgrst.object+json;nulls=stripped" },
        { "application/vnd.pgrst.object+json",
          "MTVndSingularJSON False | application/vnd.pgrst.object+json" },
        { "ApplicatIon/vnd.PgRsT.object+json",
          "MTVndSingularJSON False | application/vnd.pgrst.object+json" },
        { "application/vnd.twkb",
          "MTOther \"application/vnd.twkb\" | application/vnd.twkb" },
        // The doctests of tokenizeMediaType, through decoding.
        { "application/vnd.pgrst.plan;wat=\"application/json;text/csv\"",
          "MTVndPlan MTApplicationJSON PlanText [] | application/vnd.pgrst.plan+text; for=\"application/json\"" },
        { "application/vnd.pgrst.plan+text; for=\"text/xml\"; options=analyze|verbose|settings|buffers|wal",
          "MTVndPlan MTTextXML PlanText [PlanAnalyze,PlanVerbose,PlanSettings,PlanBuffers,PlanWAL] | application/vnd.pgrst.plan+text; for=\"text/xml\"; options=analyze|verbose|settings|buffers|wal" },
        { "*/*",
          "MTAny | */*" },
        // Every known type, parameters, and what is not a media type.
        { "application/geo+json",
          "MTGeoJSON | application/geo+json" },
        { "text/csv",
          "MTTextCSV | text/csv" },
        { "TEXT/CSV; charset=utf-8",
          "MTTextCSV | text/csv" },
        { "text/plain",
          "MTTextPlain | text/plain" },
        { "text/xml",
          "MTTextXML | text/xml" },
        { "application/openapi+json",
          "MTOpenAPI | application/openapi+json" },
        { "application/x-www-form-urlencoded",
          "MTUrlEncoded | application/x-www-form-urlencoded" },
        { "application/octet-stream",
          "MTOctetStream | application/octet-stream" },
        { "application/vnd.pgrst.object",
          "MTVndSingularJSON False | application/vnd.pgrst.object+json" },
        { "application/vnd.pgrst.object;nulls=stripped",
          "MTVndSingularJSON True | application/vnd.pgrst.object+json;nulls=stripped" },
        { "application/vnd.pgrst.object+json; NULLS = stripped",
          "MTVndSingularJSON True | application/vnd.pgrst.object+json;nulls=stripped" },
        { "application/vnd.pgrst.object+json;nulls=STRIPPED",
          "MTVndSingularJSON False | application/vnd.pgrst.object+json" },
        { "application/vnd.pgrst.array;nulls=stripped",
          "MTVndArrayJSONStrip | application/vnd.pgrst.array+json;nulls=stripped" },
        // Data.Map.fromList: the last of repeated parameters wins.
        { "application/vnd.pgrst.object+json;nulls=stripped;nulls=false",
          "MTVndSingularJSON False | application/vnd.pgrst.object+json" },
        { "application/vnd.pgrst.plan;for=\"text/csv\";for=\"text/xml\"",
          "MTVndPlan MTTextXML PlanText [] | application/vnd.pgrst.plan+text; for=\"text/xml\"" },
        { "application/vnd.pgrst.plan+json; options=wal|analyze|bogus",
          "MTVndPlan MTApplicationJSON PlanJSON [PlanAnalyze,PlanWAL] | application/vnd.pgrst.plan+json; for=\"application/json\"; options=analyze|wal" },
        { "application/vnd.pgrst.plan; for=\"application/vnd.pgrst.object+json\"",
          "MTVndPlan (MTVndSingularJSON False) PlanText [] | application/vnd.pgrst.plan+text; for=\"application/vnd.pgrst.object+json\"" },
        { "application/vnd.pgrst.plan; for=text/csv",
          "MTVndPlan (MTOther \"text\") PlanText [] | application/vnd.pgrst.plan+text; for=\"text\"" },
        // Text after the tokens is ignored; an unparsable parameter ends the parameters.
        { "application/json garbage",
          "MTApplicationJSON | application/json" },
        { "application/vnd.pgrst.object+json;nulls=stripped garbage;x",
          "MTVndSingularJSON True | application/vnd.pgrst.object+json;nulls=stripped" },
        { "application/vnd.pgrst.object+json;bad key=1;nulls=stripped",
          "MTVndSingularJSON False | application/vnd.pgrst.object+json" },
        { "application/vnd.pgrst.object+json;nulls=\"stripped",
          "MTVndSingularJSON False | application/vnd.pgrst.object+json" },
        { "application",
          "MTOther \"application\" | application" },
        { "application/",
          "MTOther \"application/\" | application/" },
        { "/json",
          "MTOther \"/json\" | /json" },
        { "",
          "MTOther \"\" | " },
        { "*/json",
          "MTOther \"*/json\" | */json" },
        { "application/vnd.pgrst.plan; for=\"application/vnd.pgrst.object+json\"; options=buffers|settings",
          "MTVndPlan (MTVndSingularJSON False) PlanText [PlanSettings,PlanBuffers] | application/vnd.pgrst.plan+text; for=\"application/vnd.pgrst.object+json\"; options=settings|buffers" },
        { "application/vnd.pgrst.plan;for=\"application/vnd.twkb\"",
          "MTVndPlan (MTOther \"application/vnd.twkb\") PlanText [] | application/vnd.pgrst.plan+text; for=\"application/vnd.twkb\"" },
        { "application/vnd.pgrst.plan;for=\"*/*\"",
          "MTVndPlan MTAny PlanText [] | application/vnd.pgrst.plan+text; for=\"*/*\"" },
        { "text/csv ;",
          "MTTextCSV | text/csv" },
        { "application/json;;",
          "MTApplicationJSON | application/json" },
        { "a.b*/c+d-e.f*",
          "MTOther \"a.b*/c+d-e.f*\" | a.b*/c+d-e.f*" },
        { "application/vnd.pgrst.plan+json;for=\"application/vnd.pgrst.plan\"",
          "MTVndPlan (MTVndPlan MTApplicationJSON PlanText []) PlanJSON [] | application/vnd.pgrst.plan+json; for=\"application/vnd.pgrst.plan+text; for=\"application/json\"\"" },
        { "application/vnd.pgrst.plan+text;options=analyze|analyze",
          "MTVndPlan MTApplicationJSON PlanText [PlanAnalyze] | application/vnd.pgrst.plan+text; for=\"application/json\"; options=analyze" },
    };

    [Theory]
    [MemberData(nameof(Decoded))]
    public void Media_type_decodes_like_PostgREST(string text, string expected)
    {
        var m = MediaType.Decode(text);
        Assert.Equal(expected, Show(m, 0) + " | " + m.ToMime());
    }

    [Fact]
    public void Content_type_has_a_charset_except_for_octet_stream_and_other_types()
    {
        Assert.Equal("application/json; charset=utf-8", MediaType.Json.ToContentType());
        Assert.Equal("text/csv; charset=utf-8", MediaType.Csv.ToContentType());
        Assert.Equal("application/octet-stream", MediaType.Decode("application/octet-stream").ToContentType());
        Assert.Equal("image/png", MediaType.Decode("image/png").ToContentType());
    }

    public static TheoryData<string?, string[]> Accepts => new()
    {
        // Accept header, the media types in preference order (parseHttpAccept, then decodeMediaType . toMime)
        { null, ["*/*"] },
        { "", [] },
        { " ", [""] },
        { ",", ["", ""] },
        { "application/json", ["application/json"] },
        { "text/csv, application/json", ["text/csv", "application/json"] },
        { "text/csv;q=0.5, application/json", ["application/json", "text/csv"] },
        // More parameters and fewer stars win at equal q; equal keys keep their order.
        { "text/*, text/plain, text/plain;format=flowed, */*", ["text/plain;format=flowed", "text/plain", "text/*", "*/*"] },
        { "a/b;q=0.5;x=y, c/d;x=y;q=0.5, e/f", ["e/f", "c/d;x=y", "a/b"] },
        { "a/b;q=0, c/d", ["c/d", "a/b"] },
        // Haskell's reads: ".5" is no number (q=1), "0.5abc" is 0.5, "1e-1" is 0.1, "5." is 5, "-1" is -1.
        { "text/csv;q=0.5, application/json;q=.5, */*;q=0.5abc,a/b;q=1e-1,c/d;q=-1,e/f;q=5.", ["e/f", "application/json", "text/csv", "*/*", "a/b", "c/d"] },
        { "a/b;q=(0.5), c/d;q=0.7", ["c/d", "a/b"] },
        // Spaces are removed everywhere before looking for ";q=".
        { "text/csv; q=0.2 , application/json ; q = 0.9", ["application/json", "text/csv"] },
        { "a/b;Q=0.1, c/d;q=0.2", ["a/b;Q=0.1", "c/d"] },
        { "a/b;q=1;q=0.1,c/d;q=0.5", ["a/b", "c/d"] },
        { "application/json;q=0x1,text/csv;q=0.99", ["application/json", "text/csv"] },
        { "a/b;q=- 1,c/d;q=0", ["c/d", "a/b"] },
    };

    [Theory]
    [MemberData(nameof(Accepts))]
    public void Accept_header_is_ordered_like_wai_parseHttpAccept(string? header, string[] expected) =>
        Assert.Equal(expected.Select(e => MediaType.Decode(e).ToMime()), MediaType.ParseAccept(header).Select(m => m.ToMime()));

    [Fact]
    public void Accept_header_media_types_are_decoded()
    {
        var types = MediaType.ParseAccept("application/vnd.pgrst.object+json;nulls=stripped;q=0.9, text/csv");
        Assert.Equal(["MTTextCSV", "MTVndSingularJSON True"], types.Select(t => Show(t, 0)));
    }
}
