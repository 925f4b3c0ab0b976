using Npgsql;
using Restgres.Check;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Check;

/// <summary>
/// Each lint against a real database: the bad case makes it fire on the object named, the documented fix makes it
/// stop. Schema api is the exposed one (db-schemas), chk_anon the anonymous role, chk_user a role the API switches to.
/// </summary>
[Collection("pg")]
public sealed class LintTests(PgClusterFixture pg)
{
    public const string Roles = """
        do $$
        begin
          if not exists (select from pg_roles where rolname = 'chk_anon') then create role chk_anon nologin; end if;
          if not exists (select from pg_roles where rolname = 'chk_user') then create role chk_user nologin; end if;
        end
        $$;
        create schema api;
        grant usage on schema api to chk_anon, chk_user;

        """;

    public static TheoryData<string, string, string, string> Cases => new()
    {
        {
            "rls_disabled_in_exposed", "api.notes",
            "create table api.notes (id int primary key, body text); grant select, insert on api.notes to chk_user;",
            "alter table api.notes enable row level security; create policy own on api.notes for select to chk_user using (body <> '');"
        },
        {
            "policy_exists_rls_disabled", "api.notes",
            "create table api.notes (id int primary key); create policy own on api.notes using (id > 0);",
            "alter table api.notes enable row level security;"
        },
        {
            "rls_enabled_no_policy", "api.notes",
            "create table api.notes (id int primary key); alter table api.notes enable row level security; grant select on api.notes to chk_user;",
            "create policy readers on api.notes for select to chk_user using (id > 0);"
        },
        {
            "security_definer_view", "api.v_notes",
            """
            create table api.notes (id int primary key); alter table api.notes enable row level security;
            create policy readers on api.notes for select to chk_user using (id > 0);
            create view api.v_notes as select id from api.notes; grant select on api.v_notes to chk_user;
            """,
            "alter view api.v_notes set (security_invoker = on);"
        },
        {
            "materialized_view_in_api", "api.mv_totals",
            "create materialized view api.mv_totals as select 1 as total; grant select on api.mv_totals to chk_anon;",
            "revoke select on api.mv_totals from chk_anon;"
        },
        {
            "sensitive_relation_exposed", "api.emails",
            """
            create schema auth; create table auth.users (id int primary key, email text);
            create view api.emails as select email from auth.users; grant select on api.emails to chk_user;
            """,
            "alter view api.emails set (security_invoker = on);"
        },
        {
            "security_definer_search_path", "api.whoami()",
            "create function api.whoami() returns text language sql security definer as 'select current_user::text';",
            "alter function api.whoami() set search_path = '';"
        },
        {
            "function_search_path_mutable", "private.bump(integer)",
            "create schema private; create function private.bump(n int) returns int language sql security definer as 'select n + 1';",
            "alter function private.bump(int) set search_path = pg_catalog, pg_temp;"
        },
        {
            "anon_security_definer_function_executable", "api.secret_count()",
            "create function api.secret_count() returns int language sql security definer set search_path = '' as 'select 42';",
            "revoke execute on function api.secret_count() from public; grant execute on function api.secret_count() to chk_user;"
        },
        {
            "rls_references_user_metadata", "api.docs.admins",
            """
            create table api.docs (id int primary key); alter table api.docs enable row level security;
            create policy admins on api.docs using ((current_setting('request.jwt.claims', true)::json -> 'user_metadata' ->> 'role') = 'admin');
            """,
            """
            drop policy admins on api.docs;
            create policy admins on api.docs using ((current_setting('request.jwt.claims', true)::json -> 'app_metadata' ->> 'role') = 'admin');
            """
        },
        {
            "rls_policy_always_true", "api.docs.anyone_writes",
            """
            create table api.docs (id int primary key, owner name not null default current_user);
            alter table api.docs enable row level security;
            create policy anyone_writes on api.docs for insert to chk_user with check (true);
            """,
            "drop policy anyone_writes on api.docs; create policy anyone_writes on api.docs for insert to chk_user with check (owner = current_user);"
        },
        {
            "unindexed_foreign_keys", "api.items.items_list_id_fkey",
            "create table api.lists (id int primary key); create table api.items (id int primary key, list_id int references api.lists);",
            "create index on api.items (list_id, id);"
        },
        {
            "unindexed_foreign_keys", "api.b.b_x_y_fkey",
            "create table api.a (x int, y int, primary key (x, y)); create table api.b (id int primary key, x int, y int, foreign key (x, y) references api.a); create index on api.b (x);",
            "create index on api.b (y, x);"
        },
        {
            "no_primary_key", "api.log",
            "create table api.log (message text);",
            "alter table api.log add column id bigint generated always as identity primary key;"
        },
        {
            "duplicate_index", "api.t:api.t_x_a,api.t_x_b",
            "create table api.t (id int primary key, x int); create index t_x_a on api.t (x); create index t_x_b on api.t (x);",
            "drop index api.t_x_b;"
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_lint_fires_on_the_bad_case_and_not_once_fixed(string lintId, string obj, string bad, string fix)
    {
        await WithDatabaseAsync(bad, async db =>
        {
            Assert.Contains((lintId, obj), await FindingsAsync(db, ["api"]));
            await db.ExecuteSqlAsync(fix);
            Assert.DoesNotContain((lintId, obj), await FindingsAsync(db, ["api"]));
        });
    }

    [Fact]
    public async Task Exposing_an_auth_like_schema_is_a_finding_and_removing_it_from_db_schemas_fixes_it()
    {
        await WithDatabaseAsync("create schema auth;", async db =>
        {
            Assert.Contains(("sensitive_schema_exposed", "auth"), await FindingsAsync(db, ["api", "auth"]));
            Assert.DoesNotContain(await FindingsAsync(db, ["api"]), f => f.Lint == "sensitive_schema_exposed");
        });
    }

    [Fact]
    public async Task Objects_of_extensions_and_of_unexposed_schemas_are_left_alone()
    {
        // pgTAP's own functions, and a table only its owner can reach in an exposed schema.
        await WithDatabaseAsync("""
            create extension if not exists pgtap schema api;
            create table api.owner_only (id int primary key, note text);
            create schema internal; create table internal.t (id int primary key, note text); grant select on internal.t to chk_user;
            """, async db => Assert.Empty(await FindingsAsync(db, ["api"])));
    }

    [Fact]
    public async Task An_ignored_finding_is_reported_as_ignored_and_an_ignore_that_matches_nothing_is_a_mismatch()
    {
        await WithDatabaseAsync("create table api.log (message text);", async db =>
        {
            var expectations = ExpectationsParser.Parse("""
                ignore no_primary_key api.log: an append-only log nobody addresses by row
                ignore no_primary_key api.gone: a table that was dropped since
                """);
            var report = await RunAsync(db, expectations, ["api"]);

            var finding = Assert.Single(report.Findings);
            Assert.Equal(("no_primary_key", "api.log", "an append-only log nobody addresses by row"), (finding.Lint.Id, finding.Object, finding.IgnoredBecause));
            var stale = Assert.Single(report.Mismatches);
            Assert.Equal((2, "ignore no_primary_key api.gone matches no finding; remove it (or fix the object name)"), (stale.Line, stale.Message));
            Assert.False(report.Clean);
        });
    }

    /// <summary>A fresh database with the roles, schema api and <paramref name="sql"/>, dropped after <paramref name="body"/>.</summary>
    private async Task WithDatabaseAsync(string sql, Func<TestDatabase, Task> body)
    {
        var db = await pg.CreateDatabaseAsync(Roles + sql);
        try
        {
            await body(db);
        }
        finally
        {
            await db.DropAsync();
        }
    }

    private async Task<List<(string Lint, string Object)>> FindingsAsync(TestDatabase db, string[] exposed) =>
        [.. (await RunAsync(db, Expectations.Empty, exposed)).Findings.Select(f => (f.Lint.Id, f.Object))];

    internal static async Task<CheckReport> RunAsync(TestDatabase db, Expectations expectations, string[] exposed)
    {
        await using var conn = new NpgsqlConnection(db.ConnectionString);
        await conn.OpenAsync();
        return await CheckRunner.RunAsync(conn, expectations, exposed, "chk_anon", CancellationToken.None);
    }
}
