using System.Collections.Immutable;
using Restgres.Auth;
using Restgres.Config;
using Restgres.Errors;
using Restgres.Requests;
using Restgres.Sql;

namespace Restgres.Execution;

/// <summary>
/// The settings prelude every transaction starts with (PostgREST's txVarQuery / preReqQuery): search_path, role,
/// request.jwt.claims, request.method/path/headers/cookies, Prefer timezone, function settings and app.settings.*,
/// all transaction-local via <c>set_config(..., true)</c>, plus the db-pre-request call.
/// </summary>
internal static class TxSettingsBuilder
{
    /// <param name="cache">For the role's own settings (role-level GUCs and isolation level), when available.</param>
    /// <param name="functionIsolation">A function's default_transaction_isolation, which wins over the role's.</param>
    public static TxSettings Build(AppConfig config, ApiRequest req, AuthResult auth, bool readOnly,
        IReadOnlyList<KeyValuePair<string, string>>? functionSettings = null, Catalog.SchemaCache? cache = null,
        string? functionIsolation = null)
    {
        var sb = new SqlBuilder();
        sb.Append("select set_config('search_path', ")
          .Param(string.Join(", ", new[] { req.Schema }.Concat(config.DbExtraSearchPath).Select(SqlText.QuoteIdent)))
          .Append(", true)");
        // Role settings come before the role switch so that GRANT SET ON PARAMETER to the authenticator works
        // (PostgREST issue #3045).
        Catalog.RoleSettings? roleSettings = null;
        if (cache is not null && cache.RoleSettings.TryGetValue(auth.Role, out var rs))
        {
            roleSettings = rs;
            foreach (var (k, v) in rs.Settings)
                sb.Append(", set_config(").Param(k).Append(", ").Param(v).Append(", true)");
        }
        sb.Append(", set_config('role', ").Param(auth.Role).Append(", true)");
        sb.Append(", set_config('request.jwt.claims', ").Param(auth.ClaimsJson).Append(", true)");
        sb.Append(", set_config('request.method', ").Param(req.Method).Append(", true)");
        sb.Append(", set_config('request.path', ").Param(req.Path).Append(", true)");
        sb.Append(", set_config('request.headers', ").Param(JsonText.Object(LastWins(req.Headers))).Append(", true)");
        sb.Append(", set_config('request.cookies', ").Param(JsonText.Object(LastWins(req.Cookies))).Append(", true)");
        if (req.Preferences.Timezone is { } tz) sb.Append(", set_config('timezone', ").Param(tz).Append(", true)");
        if (functionSettings is not null)
            foreach (var (k, v) in functionSettings)
                sb.Append(", set_config(").Param(k).Append(", ").Param(v).Append(", true)");
        foreach (var (k, v) in config.AppSettings)
            sb.Append(", set_config(").Param(k).Append(", ").Param(v).Append(", true)");
        var prelude = new Statement(sb.ToString(), sb.Params);
        Statement? pre = config.DbPreRequest is { } p
            ? new Statement("select " + SqlText.QuoteQualified(p.Schema, p.Name) + "()", [])
            : null;
        var iso = (functionIsolation ?? roleSettings?.IsolationLevel)?.ToUpperInvariant() ?? "READ COMMITTED";
        return new TxSettings(readOnly, auth.Role, prelude, pre, ShouldRollback(config, req.Preferences), auth.IsAnonymous, iso);
    }

    /// <summary>db-tx-end, overridable per request with Prefer: tx=commit|rollback when the config allows it.</summary>
    public static bool ShouldRollback(AppConfig config, Preferences prefs) => prefs.Transaction switch
    {
        PreferTransaction.Rollback => true,
        PreferTransaction.Commit => false,
        _ => config.TxRollbackAll,
    };

    /// <summary>aeson's HM.fromList keeps the last value of a repeated key.</summary>
    private static Dictionary<string, string> LastWins(ImmutableArray<KeyValuePair<string, string>> pairs)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in pairs) d[k] = v;
        return d;
    }
}
