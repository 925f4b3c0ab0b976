using Restgres.Errors;
using Restgres.Requests;

namespace Restgres.Tests.Requests;

/// <summary>
/// Runs one grammar rule like PostgREST's doctests do (<c>P.parse rule "" input</c>) and prints the result as GHC would:
/// <c>Right value</c> or <c>Left (line 1, column N): unexpected ... expecting ...</c> (Parsec's newlines folded to spaces,
/// exactly as PostgREST folds them into the PGRST100 <c>details</c>).
/// </summary>
internal static class GrammarRunner
{
    public static string Run(string rule, string input) => rule switch
    {
        "pFieldForest" => Parse(Grammar.FieldForest, input, HsShow.Forest),
        "pFieldName" => Parse(Grammar.FieldName, input, HsShow.Str),
        "pJsonPath" => Parse(Grammar.JsonPath, input, p => HsShow.JsonPath(p)),
        "pRelationSelect" => Parse(Grammar.RelationSelect, input, r => "(" + HsShow.RelationLabel(r.Name, r.Alias, r.Hint, r.Join) + ")"),
        "pSpreadRelationSelect" => Parse(Grammar.SpreadRelationSelect, input, r => "(" + HsShow.SpreadLabel(r.Name, r.Hint, r.Join) + ")"),
        "pFieldSelect" => Parse(Grammar.FieldSelect, input, s => HsShow.Label(s, 11)),
        "pOpExpr pSingleVal" => Parse(Grammar.FilterExpr, input, e => HsShow.OpExpr(e, 11)),
        "pOrder" => Parse(Grammar.Order, input, HsShow.Order),
        "pLogicTree" => Parse(Grammar.LogicTree, input, t => HsShow.LogicTree(t, 11)),
        "pColumns" => Parse(Grammar.Columns, input, HsShow.StrList),
        "pTreePath" => Parse(Grammar.TreePath, input, t => "(" + HsShow.StrList(t.Path) + "," + HsShow.Field(t.Field) + ")"),
        "pLogicPath" => Parse(Grammar.LogicPath, input, t => "(" + HsShow.StrList(t.Path) + "," + HsShow.Str(t.Op) + ")"),
        _ => throw new ArgumentOutOfRangeException(nameof(rule), rule),
    };

    private static string Parse<T>(Parsec.P<T> parser, string input, Func<T, string> show) =>
        Parsec.Run(parser, input, "", out var value, out var err)
            ? "Right " + show(value)
            : "Left " + err.Message + ": " + err.Details;

    /// <summary><c>QueryParams.parse</c>'s error as <c>message | details</c>, or <c>OK</c>.</summary>
    public static string QueryError(bool isRpcRead, string rawQuery)
    {
        try
        {
            QueryParams.Parse(isRpcRead, rawQuery);
            return "OK";
        }
        catch (ApiError e)
        {
            return e.Message + " | " + System.Text.Json.JsonSerializer.Deserialize<string>(e.DetailsJson!);
        }
    }
}
