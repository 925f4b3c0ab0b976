using Xunit;

namespace Restgres.Tests.Requests;

/// <summary>
/// Every doctest of PostgREST's ApiRequest/QueryParams.hs (<c>-- &gt;&gt;&gt;</c> lines), input and result copied verbatim.
/// Parse errors print as GHC shows a ParseError, with Parsec's line breaks folded to spaces as PostgREST does for the
/// PGRST100 <c>details</c>.
/// </summary>
public sealed class GrammarDoctestTests
{
    public static TheoryData<string, string, string> ParserDoctests => new()
    {
        // rule, input, PostgREST's doctest result
        { "pFieldForest", "id",
          "Right [Node {rootLabel = SelectField {selField = (\"id\",[]), selAggregateFunction = Nothing, selAggregateCast = Nothing, selCast = Nothing, selAlias = Nothing}, subForest = []}]" },
        { "pFieldForest", "client(id)",
          "Right [Node {rootLabel = SelectRelation {selRelation = \"client\", selAlias = Nothing, selHint = Nothing, selJoinType = Nothing}, subForest = [Node {rootLabel = SelectField {selField = (\"id\",[]), selAggregateFunction = Nothing, selAggregateCast = Nothing, selCast = Nothing, selAlias = Nothing}, subForest = []}]}]" },
        { "pFieldForest", "*,client(*,nested(*))",
          "Right [Node {rootLabel = SelectField {selField = (\"*\",[]), selAggregateFunction = Nothing, selAggregateCast = Nothing, selCast = Nothing, selAlias = Nothing}, subForest = []},Node {rootLabel = SelectRelation {selRelation = \"client\", selAlias = Nothing, selHint = Nothing, selJoinType = Nothing}, subForest = [Node {rootLabel = SelectField {selField = (\"*\",[]), selAggregateFunction = Nothing, selAggregateCast = Nothing, selCast = Nothing, selAlias = Nothing}, subForest = []},Node {rootLabel = SelectRelation {selRelation = \"nested\", selAlias = Nothing, selHint = Nothing, selJoinType = Nothing}, subForest = [Node {rootLabel = SelectField {selField = (\"*\",[]), selAggregateFunction = Nothing, selAggregateCast = Nothing, selCast = Nothing, selAlias = Nothing}, subForest = []}]}]}]" },
        { "pFieldForest", "*,...client(*),other(*)",
          "Right [Node {rootLabel = SelectField {selField = (\"*\",[]), selAggregateFunction = Nothing, selAggregateCast = Nothing, selCast = Nothing, selAlias = Nothing}, subForest = []},Node {rootLabel = SpreadRelation {selRelation = \"client\", selHint = Nothing, selJoinType = Nothing}, subForest = [Node {rootLabel = SelectField {selField = (\"*\",[]), selAggregateFunction = Nothing, selAggregateCast = Nothing, selCast = Nothing, selAlias = Nothing}, subForest = []}]},Node {rootLabel = SelectRelation {selRelation = \"other\", selAlias = Nothing, selHint = Nothing, selJoinType = Nothing}, subForest = [Node {rootLabel = SelectField {selField = (\"*\",[]), selAggregateFunction = Nothing, selAggregateCast = Nothing, selCast = Nothing, selAlias = Nothing}, subForest = []}]}]" },
        { "pFieldForest", "",
          "Right []" },
        { "pFieldForest", "id,clients(name[])",
          "Left (line 1, column 16): unexpected '[' expecting letter, digit, \"-\", \"->>\", \"->\", \"::\", \".\", \")\", \",\" or end of input" },
        { "pFieldForest", "data->>-78xy",
          "Left (line 1, column 11): unexpected 'x' expecting digit, \"->\", \"::\", \".\", \",\" or end of input" },
        { "pFieldName", "identifier",
          "Right \"identifier\"" },
        { "pFieldName", "identifier with spaces",
          "Right \"identifier with spaces\"" },
        { "pFieldName", "identifier-with-dashes",
          "Right \"identifier-with-dashes\"" },
        { "pFieldName", "123",
          "Right \"123\"" },
        { "pFieldName", "_",
          "Right \"_\"" },
        { "pFieldName", "$",
          "Right \"$\"" },
        { "pFieldName", ":",
          "Left (line 1, column 1): unexpected \":\" expecting field name (* or [a..z0..9_$])" },
        { "pFieldName", "\":\"",
          "Right \":\"" },
        { "pFieldName", " no leading or trailing spaces ",
          "Right \"no leading or trailing spaces\"" },
        { "pFieldName", "\" leading and trailing spaces \"",
          "Right \" leading and trailing spaces \"" },
        { "pJsonPath", "->text",
          "Right [JArrow {jOp = JKey {jVal = \"text\"}}]" },
        { "pJsonPath", "->!@#$%^&*_a",
          "Right [JArrow {jOp = JKey {jVal = \"!@#$%^&*_a\"}}]" },
        { "pJsonPath", "->1",
          "Right [JArrow {jOp = JIdx {jVal = \"+1\"}}]" },
        { "pJsonPath", "->>text",
          "Right [J2Arrow {jOp = JKey {jVal = \"text\"}}]" },
        { "pJsonPath", "->>!@#$%^&*_a",
          "Right [J2Arrow {jOp = JKey {jVal = \"!@#$%^&*_a\"}}]" },
        { "pJsonPath", "->>1",
          "Right [J2Arrow {jOp = JIdx {jVal = \"+1\"}}]" },
        { "pJsonPath", "->0,other",
          "Right [JArrow {jOp = JIdx {jVal = \"+0\"}}]" },
        { "pJsonPath", "->0.desc",
          "Right [JArrow {jOp = JIdx {jVal = \"+0\"}}]" },
        { "pJsonPath", "->>-78xy",
          "Left (line 1, column 7): unexpected 'x' expecting digit, \"->\", \"::\", \".\", \",\" or end of input" },
        { "pJsonPath", "->>--34",
          "Left (line 1, column 5): unexpected \"-\" expecting digit" },
        { "pJsonPath", "->>-xy-4",
          "Left (line 1, column 5): unexpected \"x\" expecting digit" },
        { "pRelationSelect", "rel(*)",
          "Right (SelectRelation {selRelation = \"rel\", selAlias = Nothing, selHint = Nothing, selJoinType = Nothing})" },
        { "pRelationSelect", "alias:rel(*)",
          "Right (SelectRelation {selRelation = \"rel\", selAlias = Just \"alias\", selHint = Nothing, selJoinType = Nothing})" },
        { "pRelationSelect", "rel!hint(*)",
          "Right (SelectRelation {selRelation = \"rel\", selAlias = Nothing, selHint = Just \"hint\", selJoinType = Nothing})" },
        { "pRelationSelect", "rel!inner(*)",
          "Right (SelectRelation {selRelation = \"rel\", selAlias = Nothing, selHint = Nothing, selJoinType = Just JTInner})" },
        { "pRelationSelect", "rel!hint!inner(*)",
          "Right (SelectRelation {selRelation = \"rel\", selAlias = Nothing, selHint = Just \"hint\", selJoinType = Just JTInner})" },
        { "pRelationSelect", "alias:rel!inner!hint(*)",
          "Right (SelectRelation {selRelation = \"rel\", selAlias = Just \"alias\", selHint = Just \"hint\", selJoinType = Just JTInner})" },
        { "pRelationSelect", "rel->jsonpath(*)",
          "Left (line 1, column 6): unexpected '>'" },
        { "pRelationSelect", "rel->jsonpath!hint(*)",
          "Left (line 1, column 6): unexpected '>'" },
        { "pFieldSelect", "name",
          "Right (SelectField {selField = (\"name\",[]), selAggregateFunction = Nothing, selAggregateCast = Nothing, selCast = Nothing, selAlias = Nothing})" },
        { "pFieldSelect", "name->jsonpath",
          "Right (SelectField {selField = (\"name\",[JArrow {jOp = JKey {jVal = \"jsonpath\"}}]), selAggregateFunction = Nothing, selAggregateCast = Nothing, selCast = Nothing, selAlias = Nothing})" },
        { "pFieldSelect", "name::cast",
          "Right (SelectField {selField = (\"name\",[]), selAggregateFunction = Nothing, selAggregateCast = Nothing, selCast = Just \"cast\", selAlias = Nothing})" },
        { "pFieldSelect", "alias:name",
          "Right (SelectField {selField = (\"name\",[]), selAggregateFunction = Nothing, selAggregateCast = Nothing, selCast = Nothing, selAlias = Just \"alias\"})" },
        { "pFieldSelect", "alias:name->jsonpath::cast",
          "Right (SelectField {selField = (\"name\",[JArrow {jOp = JKey {jVal = \"jsonpath\"}}]), selAggregateFunction = Nothing, selAggregateCast = Nothing, selCast = Just \"cast\", selAlias = Just \"alias\"})" },
        { "pFieldSelect", "alias:name->!@#$%^&*_a::cast",
          "Right (SelectField {selField = (\"name\",[JArrow {jOp = JKey {jVal = \"!@#$%^&*_a\"}}]), selAggregateFunction = Nothing, selAggregateCast = Nothing, selCast = Just \"cast\", selAlias = Just \"alias\"})" },
        { "pFieldSelect", "*",
          "Right (SelectField {selField = (\"*\",[]), selAggregateFunction = Nothing, selAggregateCast = Nothing, selCast = Nothing, selAlias = Nothing})" },
        { "pFieldSelect", "name!hint",
          "Left (line 1, column 5): unexpected '!' expecting letter, digit, \"-\", \"->>\", \"->\", \"::\", \".\", \")\", \",\" or end of input" },
        { "pFieldSelect", "*!hint",
          "Left (line 1, column 2): unexpected '!' expecting \")\", \",\" or end of input" },
        { "pFieldSelect", "name::",
          "Left (line 1, column 7): unexpected end of input expecting letter or digit" },
        { "pSpreadRelationSelect", "...rel(*)",
          "Right (SpreadRelation {selRelation = \"rel\", selHint = Nothing, selJoinType = Nothing})" },
        { "pSpreadRelationSelect", "...rel!hint!inner(*)",
          "Right (SpreadRelation {selRelation = \"rel\", selHint = Just \"hint\", selJoinType = Just JTInner})" },
        { "pSpreadRelationSelect", "rel(*)",
          "Left (line 1, column 1): unexpected \"r\" expecting \"...\"" },
        { "pSpreadRelationSelect", "alias:...rel(*)",
          "Left (line 1, column 1): unexpected \"a\" expecting \"...\"" },
        { "pSpreadRelationSelect", "...rel->jsonpath(*)",
          "Left (line 1, column 9): unexpected '>'" },
        { "pOpExpr pSingleVal", "fts().value",
          "Left (line 1, column 5): unexpected \")\" expecting operator (eq, gt, ...)" },
        { "pOpExpr pSingleVal", "eq(any).value",
          "Right (OpExpr False (OpQuant OpEqual (Just QuantAny) \"value\"))" },
        { "pOpExpr pSingleVal", "eq(all).value",
          "Right (OpExpr False (OpQuant OpEqual (Just QuantAll) \"value\"))" },
        { "pOpExpr pSingleVal", "not.eq(all).value",
          "Right (OpExpr True (OpQuant OpEqual (Just QuantAll) \"value\"))" },
        { "pOpExpr pSingleVal", "eq().value",
          "Left (line 1, column 4): unexpected \")\" expecting operator (eq, gt, ...)" },
        { "pOpExpr pSingleVal", "is().value",
          "Left (line 1, column 3): unexpected \"(\" expecting operator (eq, gt, ...)" },
        { "pOpExpr pSingleVal", "in().value",
          "Left (line 1, column 3): unexpected \"(\" expecting operator (eq, gt, ...)" },
        { "pOrder", "name.desc.nullsfirst",
          "Right [OrderTerm {otTerm = (\"name\",[]), otDirection = Just OrderDesc, otNullOrder = Just OrderNullsFirst}]" },
        { "pOrder", "json_col->key.asc.nullslast",
          "Right [OrderTerm {otTerm = (\"json_col\",[JArrow {jOp = JKey {jVal = \"key\"}}]), otDirection = Just OrderAsc, otNullOrder = Just OrderNullsLast}]" },
        { "pOrder", "json_col->!@#$%^&*_a.asc.nullslast",
          "Right [OrderTerm {otTerm = (\"json_col\",[JArrow {jOp = JKey {jVal = \"!@#$%^&*_a\"}}]), otDirection = Just OrderAsc, otNullOrder = Just OrderNullsLast}]" },
        { "pOrder", "clients(json_col->key).desc.nullsfirst",
          "Right [OrderRelationTerm {otRelation = \"clients\", otRelTerm = (\"json_col\",[JArrow {jOp = JKey {jVal = \"key\"}}]), otDirection = Just OrderDesc, otNullOrder = Just OrderNullsFirst}]" },
        { "pOrder", "clients(json_col->!@#$%^&*_a).desc.nullsfirst",
          "Right [OrderRelationTerm {otRelation = \"clients\", otRelTerm = (\"json_col\",[JArrow {jOp = JKey {jVal = \"!@#$%^&*_a\"}}]), otDirection = Just OrderDesc, otNullOrder = Just OrderNullsFirst}]" },
        { "pOrder", "clients(name,id)",
          "Left (line 1, column 8): unexpected '(' expecting letter, digit, \"-\", \"->>\", \"->\", delimiter (.), \",\" or end of input" },
        { "pOrder", "name,clients(name),id",
          "Right [OrderTerm {otTerm = (\"name\",[]), otDirection = Nothing, otNullOrder = Nothing},OrderRelationTerm {otRelation = \"clients\", otRelTerm = (\"name\",[]), otDirection = Nothing, otNullOrder = Nothing},OrderTerm {otTerm = (\"id\",[]), otDirection = Nothing, otNullOrder = Nothing}]" },
        { "pOrder", "id.ac",
          "Left (line 1, column 4): unexpected \"c\" expecting \"asc\", \"desc\", \"nullsfirst\" or \"nullslast\"" },
        { "pOrder", "id.descc",
          "Left (line 1, column 8): unexpected 'c' expecting delimiter (.), \",\" or end of input" },
        { "pOrder", "id.nulsfist",
          "Left (line 1, column 4): unexpected \"n\" expecting \"asc\", \"desc\", \"nullsfirst\" or \"nullslast\"" },
        { "pOrder", "id.nullslasttt",
          "Left (line 1, column 13): unexpected 't' expecting \",\" or end of input" },
        { "pOrder", "id.smth34",
          "Left (line 1, column 4): unexpected \"s\" expecting \"asc\", \"desc\", \"nullsfirst\" or \"nullslast\"" },
        { "pOrder", "id.asc.nlsfst",
          "Left (line 1, column 8): unexpected \"l\" expecting \"nullsfirst\" or \"nullslast\"" },
        { "pOrder", "id.asc.nullslasttt",
          "Left (line 1, column 17): unexpected 't' expecting \",\" or end of input" },
        { "pOrder", "id.asc.smth34",
          "Left (line 1, column 8): unexpected \"s\" expecting \"nullsfirst\" or \"nullslast\"" },
        { "pLogicTree", "or()",
          "Left (line 1, column 4): unexpected \")\" expecting field name (* or [a..z0..9_$]), negation operator (not) or logic operator (and, or)" },
        { "pLogicTree", "or(id.in.1,2,id.eq.3)",
          "Left (line 1, column 10): unexpected \"1\" expecting \"(\"" },
        { "pLogicTree", "or)(",
          "Left (line 1, column 3): unexpected \")\" expecting \"(\"" },
        { "pLogicTree", "and(ord(id.eq.1,id.eq.1),id.eq.2)",
          "Left (line 1, column 7): unexpected \"d\" expecting \"(\"" },
        { "pLogicTree", "or(id.eq.1,not.xor(id.eq.2,id.eq.3))",
          "Left (line 1, column 16): unexpected \"x\" expecting logic operator (and, or)" },
    };

    [Theory]
    [MemberData(nameof(ParserDoctests))]
    public void Grammar_rule_gives_the_doctest_result(string rule, string input, string expected) =>
        Assert.Equal(expected, GrammarRunner.Run(rule, input));

    // The doctests of QueryParams.parse and pRequestFilter.

    [Fact]
    public void Canonical_query_string_is_sorted_by_key_and_gives_a_value_to_every_key() =>
        Assert.Equal("a=1&b=2&c=3&d=", Restgres.Requests.QueryParams.Parse(true, "a=1&c=3&b=2&d").Canonical);

    [Fact]
    public void Select_parameter_lists_the_fields() =>
        Assert.Equal(
            "[Node {rootLabel = SelectField {selField = (\"name\",[]), selAggregateFunction = Nothing, selAggregateCast = Nothing, selCast = Nothing, selAlias = Nothing}, subForest = []},Node {rootLabel = SelectField {selField = (\"location\",[]), selAggregateFunction = Nothing, selAggregateCast = Nothing, selCast = Nothing, selAlias = Nothing}, subForest = []}]",
            HsShow.Forest(Restgres.Requests.QueryParams.Parse(false, "select=name,location").Select));

    [Fact]
    public void Filter_on_an_embedded_resource_keeps_its_path() =>
        Assert.Equal(
            "[([\"a\"],Filter {field = (\"b\",[]), opExpr = OpExpr False (OpQuant OpEqual Nothing \"0\")})]",
            QueryParamsTests.ShowFilters(Restgres.Requests.QueryParams.Parse(false, "a.b=eq.0")));

    [Theory]
    [InlineData(false, "a.b=noop.0", "\"failed to parse filter (noop.0)\" (line 1, column 1) | unexpected \"o\" expecting \"not\" or operator (eq, gt, ...)")]
    [InlineData(false, "id=val", "\"failed to parse filter (val)\" (line 1, column 1) | unexpected \"v\" expecting \"not\" or operator (eq, gt, ...)")]
    public void Unknown_operator_is_a_PGRST100_error(bool isRpcRead, string query, string expected) =>
        Assert.Equal(expected, GrammarRunner.QueryError(isRpcRead, query));

    [Fact]
    public void Filter_with_an_operator_parses_to_an_OpExpr() =>
        Assert.Equal(
            "[([],Filter {field = (\"id\",[]), opExpr = OpExpr False (OpQuant OpEqual Nothing \"1\")})]",
            QueryParamsTests.ShowFilters(Restgres.Requests.QueryParams.Parse(false, "id=eq.1")));

    [Fact]
    public void Rpc_read_argument_without_an_operator_is_a_NoOpExpr()
    {
        var qp = Restgres.Requests.QueryParams.Parse(true, "id=val");
        Assert.Empty(qp.Filters);
        Assert.Equal(new[] { new KeyValuePair<string, string>("id", "val") }, qp.RpcParams.ToArray());
    }
}
