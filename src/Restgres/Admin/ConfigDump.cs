using System.Text;
using System.Text.RegularExpressions;
using Restgres.Config;

namespace Restgres.Admin;

/// <summary>
/// The running configuration as text, in the format of PostgREST's <c>--dump-config</c> (Config.hs toText: sorted
/// <c>key = value</c> lines, strings quoted, app settings included), served by the admin server's <c>/config</c>.
/// <c>--dump-config</c> prints it as it is; the admin server's <c>/config</c> goes over the network, so there secrets are
/// redacted: the JWT secret, the password in <c>db-uri</c>, and app settings whose name suggests a secret.
/// </summary>
internal static partial class ConfigDump
{
    public const string Redacted = "<redacted>";

    private static readonly AppConfig Unset = new();

    public static string ToText(AppConfig c, bool redact = true)
    {
        ArgumentNullException.ThrowIfNull(c);
        static string Q(string s) => "\"" + s.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        var lines = new List<string>();
        foreach (var option in ConfigOptions.All)
        {
            if (option.Internal) continue;
            var text = option == ConfigOptions.JwtRoleClaimKey ? c.JwtRoleClaimPath.DumpText : option.Format(c);
            // Restgres's own options only when set, so that the dump of a PostgREST config is PostgREST's, line for line.
            if (option.RestgresOnly && text == option.Format(Unset)) continue;
            if (redact && option == ConfigOptions.JwtSecret && text is not null) text = Redacted;
            else if (redact && (option == ConfigOptions.DbUri || option == ConfigOptions.DbListenerUri) && text is not null) text = RedactDbUri(text);
            // As PostgREST's toText: text quoted, numbers and booleans bare, an unset number as "".
            lines.Add(option.Name + " = " + (option.Kind == OptionKind.Text ? Q(text ?? "") : text ?? "\"\""));
        }
        foreach (var (k, v) in c.AppSettings)
            lines.Add(k + " = " + Q(redact && LooksSecret(k) ? Redacted : v));
        lines.Sort(StringComparer.Ordinal);
        var sb = new StringBuilder();
        foreach (var l in lines) sb.Append(l).Append('\n');
        return sb.ToString();
    }

    /// <summary>
    /// Hides every password of a <c>db-uri</c> (the URI's <c>user:password@</c>, <c>password=</c>,
    /// <c>sslpassword=</c>), found by the same reading that connects (Execution/DbUri.cs).
    /// </summary>
    public static string RedactDbUri(string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        try
        {
            return Execution.DbUri.Redact(uri, Redacted);
        }
        catch (ArgumentException)
        {
            // Not a connection string the server could read: nothing of it is shown.
            return Redacted;
        }
    }

    private static bool LooksSecret(string name) => SecretName().IsMatch(name);

    [GeneratedRegex("secret|passw|token|key|credential", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();
}
