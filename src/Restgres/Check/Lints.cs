using System.Collections.Frozen;
using System.Collections.Immutable;

namespace Restgres.Check;

internal enum LintLevel { Error, Warn, Info }

/// <summary>
/// One built-in lint, in the spirit of Supabase's splinter (lints/NNNN_*.sql there; ids are splinter's where one
/// exists): a catalog query returning <c>(object, message)</c> rows, and the fix docs/check.md spells out. The queries
/// take <c>@exposed</c> (db-schemas) and <c>@anon</c> (db-anon-role, or null).
/// </summary>
internal sealed record Lint(string Id, LintLevel Level, string Summary, string Fix, string Sql);

internal static class Lints
{
    /// <summary>Schemas no project's own objects live in.</summary>
    private const string UserSchema =
        "n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'";

    /// <summary>Objects an extension created belong to the extension, not to the project.</summary>
    private static string NotFromExtension(string catalog, string oid) =>
        $"not exists (select from pg_depend e where e.classid = '{catalog}'::regclass and e.objid = {oid} and e.deptype = 'e')";

    /// <summary>Relations <c>c</c> of schema <c>n</c> in an exposed schema that are reachable: <c>g.roles</c> lists the
    /// roles other than the owner holding any privilege on it ('public' for PUBLIC). A relation only its owner can
    /// touch is not served through the API, whatever schema it is in. Extensions' relations are left out.</summary>
    private static readonly string ExposedReachableRelations = $"""
        from pg_class c join pg_namespace n on n.oid = c.relnamespace,
             lateral (select string_agg(distinct case a.grantee when 0 then 'public' else a.grantee::regrole::text end, ', ') as roles
                      from aclexplode(c.relacl) a where a.grantee <> c.relowner) g
        where n.nspname = any(@exposed) and g.roles is not null and {NotFromExtension("pg_class", "c.oid")}
        """;

    private const string Rel = "n.nspname || '.' || c.relname";

    private const string Func = "n.nspname || '.' || p.proname || '(' || oidvectortypes(p.proargtypes) || ')'";

    private const string SecurityInvoker =
        "exists (select from unnest(c.reloptions) o where lower(o) in ('security_invoker=true', 'security_invoker=on', 'security_invoker=1', 'security_invoker=yes'))";

    private const string NoSearchPath = "not exists (select from unnest(p.proconfig) s where s like 'search_path=%')";

    /// <summary>Schemas whose contents must never be served: identity, secrets, scheduler, migration history, catalogs
    /// and Restgres's own.</summary>
    public static readonly ImmutableArray<string> SensitiveSchemas =
        ["auth", "storage", "vault", "pgsodium", "cron", "supabase_migrations", "realtime", "extensions", "graphql",
         "pg_catalog", "information_schema", "restgres"];

    private static readonly string SensitiveList = string.Join(", ", SensitiveSchemas.Select(s => $"'{s}'"));

    public static readonly ImmutableArray<Lint> All =
    [
        new("rls_disabled_in_exposed", LintLevel.Error,
            "A table in an exposed schema has row level security off, so every role granted on it reads and writes every row.",
            "`alter table S.T enable row level security;` and add policies for the roles that use it; or revoke the grants, or move the table to a schema that is not in db-schemas.",
            $"""
            select {Rel}, format('table %s.%s is in an exposed schema with row level security off; %s can reach every row', n.nspname, c.relname, g.roles)
            {ExposedReachableRelations}
              and c.relkind in ('r', 'p') and not c.relrowsecurity
            """),
        new("policy_exists_rls_disabled", LintLevel.Error,
            "A table has policies but row level security is off, so the policies do nothing.",
            "`alter table S.T enable row level security;` (or drop the policies if they are not meant to apply).",
            $"""
            select {Rel}, format('table %s.%s has policies (%s) but row level security is off, so they are not applied', n.nspname, c.relname,
                   (select string_agg(pol.polname, ', ' order by pol.polname) from pg_policy pol where pol.polrelid = c.oid))
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind in ('r', 'p') and {UserSchema} and not c.relrowsecurity
              and exists (select from pg_policy pol where pol.polrelid = c.oid)
            """),
        new("rls_enabled_no_policy", LintLevel.Info,
            "A table in an exposed schema has row level security on but no policy, so the roles granted on it see no rows and can write none.",
            "Add the policies the granted roles need, or revoke the grants if only the owner (e.g. SECURITY DEFINER functions) should use it.",
            $"""
            select {Rel}, format('table %s.%s has row level security on but no policy; %s is granted on it and gets no rows', n.nspname, c.relname, g.roles)
            {ExposedReachableRelations}
              and c.relkind in ('r', 'p') and c.relrowsecurity and not exists (select from pg_policy pol where pol.polrelid = c.oid)
            """),
        new("security_definer_view", LintLevel.Error,
            "A view in an exposed schema runs with its owner's rights (not security_invoker), so it bypasses the row level security of the tables it reads for every caller.",
            "`alter view S.V set (security_invoker = on);` (PostgreSQL 15+) and grant the callers what the view reads; or move the view out of the exposed schemas.",
            $"""
            select {Rel}, format('view %s.%s is not security_invoker, so %s read it with the rights of its owner %s, bypassing row level security', n.nspname, c.relname, g.roles, c.relowner::regrole)
            {ExposedReachableRelations}
              and c.relkind = 'v' and not {SecurityInvoker}
            """),
        new("materialized_view_in_api", LintLevel.Warn,
            "A materialized view in an exposed schema cannot have row level security, so everyone granted on it reads all of it.",
            "Revoke the grants and serve it through a function or a security_invoker view that filters, or move it out of the exposed schemas.",
            $"""
            select {Rel}, format('materialized view %s.%s is in an exposed schema and %s can read all of it (materialized views have no row level security)', n.nspname, c.relname, g.roles)
            {ExposedReachableRelations}
              and c.relkind = 'm'
            """),
        new("sensitive_relation_exposed", LintLevel.Error,
            "A view in an exposed schema reads a table of a sensitive schema (auth, vault, ...) with its owner's rights.",
            "Make the view `security_invoker`, or select only the safe columns in a SECURITY DEFINER function that filters by the caller, or move the view out of the exposed schemas.",
            $"""
            select obj, format('view %s exposes %s to %s with the rights of its owner', obj, tables, roles) from (
              select {Rel} as obj, g.roles,
                     (select string_agg(distinct tn.nspname || '.' || t.relname, ', ')
                      from pg_rewrite r
                      join pg_depend d on d.classid = 'pg_rewrite'::regclass and d.objid = r.oid and d.refclassid = 'pg_class'::regclass
                      join pg_class t on t.oid = d.refobjid and t.oid <> c.oid
                      join pg_namespace tn on tn.oid = t.relnamespace
                      where r.ev_class = c.oid and tn.nspname in ({SensitiveList})) as tables
              {ExposedReachableRelations}
                and c.relkind in ('v', 'm') and not {SecurityInvoker}) v
            where tables is not null
            """),
        new("sensitive_schema_exposed", LintLevel.Error,
            "db-schemas names a schema that holds identity, secrets, schedules, migration history or catalogs.",
            "Remove it from db-schemas; expose what the API needs through views or functions in an API schema.",
            $"""
            select s, format('db-schemas exposes %s, which is for %s, not for clients', s,
                   case when s in ('auth', 'vault', 'pgsodium') then 'credentials and secrets' when s in ('pg_catalog', 'information_schema') then 'the system catalogs' else 'internal state' end)
            from unnest(@exposed) s where s in ({SensitiveList})
            """),
        new("security_definer_search_path", LintLevel.Error,
            "A SECURITY DEFINER function in an exposed schema has no fixed search_path, so a caller who can create objects in a schema on the path can make it run their code with the owner's rights.",
            "Add `set search_path = ''` (and schema-qualify the names in the body), or `set search_path = S, pg_temp`, to the function.",
            $"""
            select {Func}, format('function %s is SECURITY DEFINER in an exposed schema without a fixed search_path', {Func})
            from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where p.prosecdef and n.nspname = any(@exposed) and {NoSearchPath} and {NotFromExtension("pg_proc", "p.oid")}
            """),
        new("function_search_path_mutable", LintLevel.Warn,
            "A SECURITY DEFINER function outside the exposed schemas (reached through them) has no fixed search_path.",
            "Add `set search_path = ''` (schema-qualifying the names in the body) or `set search_path = S, pg_temp`. Not reported for SECURITY INVOKER functions: a SET clause stops PostgreSQL from inlining a SQL function (the RLS helpers like auth.uid() rely on it), and they run with the caller's own rights.",
            $"""
            select {Func}, format('function %s is SECURITY DEFINER without a fixed search_path', {Func})
            from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where p.prosecdef and {UserSchema} and not n.nspname = any(@exposed) and {NoSearchPath}
              and {NotFromExtension("pg_proc", "p.oid")}
            """),
        new("anon_security_definer_function_executable", LintLevel.Warn,
            "The anonymous role (db-anon-role) can call a SECURITY DEFINER function of an exposed schema: anyone on the internet runs it with its owner's rights.",
            "`revoke execute on function S.F(...) from public, ANON;` and grant it to the roles that need it; when it must be public (sign-up, login), ignore the lint with that reason.",
            $"""
            select {Func}, format('function %s is SECURITY DEFINER and the anonymous role %s can execute it', {Func}, @anon)
            from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where @anon is not null and exists (select from pg_roles where rolname = @anon)
              and p.prosecdef and n.nspname = any(@exposed) and has_function_privilege(@anon, p.oid, 'execute')
              and {NotFromExtension("pg_proc", "p.oid")}
            """),
        new("rls_references_user_metadata", LintLevel.Error,
            "A policy reads user_metadata (raw_user_meta_data) from the JWT or the users table: users edit it themselves, so it must not decide access.",
            "Base the policy on `auth.uid()`, a role claim the server signs, or `app_metadata` (which only the server can write), or on a table the user cannot write.",
            $"""
            select {Rel} || '.' || pol.polname, format('policy %s on %s.%s trusts user_metadata, which users can edit themselves', pol.polname, n.nspname, c.relname)
            from pg_policy pol join pg_class c on c.oid = pol.polrelid join pg_namespace n on n.oid = c.relnamespace
            where coalesce(pg_get_expr(pol.polqual, pol.polrelid), '') || ' ' || coalesce(pg_get_expr(pol.polwithcheck, pol.polrelid), '')
                  ~* '(raw_)?user_?meta_?data'
            """),
        new("rls_policy_always_true", LintLevel.Warn,
            "A permissive policy lets its roles insert, update or delete any row (`using (true)` / `with check (true)`), which row level security was meant to stop.",
            "Write the condition (e.g. `with check (user_id = auth.uid())`); when the table really is open to those roles, ignore the lint with that reason.",
            $"""
            select {Rel} || '.' || pol.polname, format('policy %s on %s.%s lets %s %s any row', pol.polname, n.nspname, c.relname,
                   coalesce((select string_agg(case r when 0 then 'public' else r::regrole::text end, ', ') from unnest(pol.polroles) r), 'public'),
                   case pol.polcmd when 'a' then 'insert' when 'w' then 'update' when 'd' then 'delete' else 'insert, update and delete' end)
            from pg_policy pol join pg_class c on c.oid = pol.polrelid join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = any(@exposed) and pol.polpermissive and pol.polcmd in ('a', 'w', 'd', '*')
              and (pg_get_expr(pol.polqual, pol.polrelid) = 'true' or pg_get_expr(pol.polwithcheck, pol.polrelid) = 'true'
                   or (pol.polcmd = 'a' and pol.polwithcheck is null))
            """),
        new("unindexed_foreign_keys", LintLevel.Info,
            "A foreign key has no index starting with its columns: deleting or updating a referenced row scans the whole table, and joins along it cannot use an index.",
            "`create index on S.T (COLUMNS);` (the foreign key's columns first).",
            $"""
            select {Rel} || '.' || k.conname, format('foreign key %s on %s.%s (%s) has no index starting with its columns', k.conname, n.nspname, c.relname,
                   (select string_agg(a.attname, ', ' order by x.i) from unnest(k.conkey) with ordinality x(num, i) join pg_attribute a on a.attrelid = c.oid and a.attnum = x.num))
            from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
            where k.contype = 'f' and {UserSchema} and {NotFromExtension("pg_class", "c.oid")}
              and not exists (
                select from pg_index i, lateral (select (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(k.conkey)] as lead) l
                where i.indrelid = k.conrelid and i.indisvalid and l.lead @> k.conkey and l.lead <@ k.conkey)
            """),
        new("no_primary_key", LintLevel.Info,
            "A table has no primary key: rows cannot be addressed one by one (PATCH/DELETE of one row, embedding, replication).",
            "`alter table S.T add primary key (COLUMNS);` (add an identity column if nothing is unique).",
            $"""
            select {Rel}, format('table %s.%s has no primary key', n.nspname, c.relname)
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind in ('r', 'p') and not c.relispartition and {UserSchema} and {NotFromExtension("pg_class", "c.oid")}
              and not exists (select from pg_constraint k where k.conrelid = c.oid and k.contype = 'p')
            """),
        new("duplicate_index", LintLevel.Warn,
            "Two or more indexes of a table are identical: every write maintains all of them for nothing.",
            "Drop all but one (`drop index S.I;`).",
            $"""
            select {Rel} || ':' || string_agg(i.indexrelid::regclass::text, ',' order by i.indexrelid::regclass::text),
                   format('table %s.%s has identical indexes %s', n.nspname, c.relname, string_agg(i.indexrelid::regclass::text, ', ' order by i.indexrelid::regclass::text))
            from pg_index i join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
            where {UserSchema} and {NotFromExtension("pg_class", "c.oid")}
            group by n.nspname, c.relname, i.indrelid, i.indkey::text, i.indclass::text, i.indcollation::text,
                     pg_get_expr(i.indexprs, i.indrelid), pg_get_expr(i.indpred, i.indrelid)
            having count(*) > 1
            """),
    ];

    public static readonly FrozenDictionary<string, Lint> ById = All.ToFrozenDictionary(l => l.Id, StringComparer.Ordinal);
}
