using System.Text;
using Npgsql;

namespace Restgres.Check;

/// <summary>
/// <c>restgres check --init</c>: an expectations file describing what the exposed schemas hold now (their grants,
/// every table and view with its columns, RLS, policies and grants, every function with its result, security and
/// grants), to commit and then trim to what the project relies on. Read back against the same database it checks
/// clean, which the tests prove.
/// </summary>
internal static class ExpectationsWriter
{
    public static async Task<string> WriteAsync(NpgsqlConnection conn, IReadOnlyList<string> schemas, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(conn);
        var text = new StringBuilder();
        text.Append("# Expectations written by `restgres check --init` for schemas ").Append(string.Join(", ", schemas))
            .Append(": keep what the project relies on (docs/check.md).\n");
        await using var tx = await conn.BeginTransactionAsync(ct);
        await using (var setup = new NpgsqlCommand("set transaction read only; set local search_path = pg_catalog", conn, tx))
            await setup.ExecuteNonQueryAsync(ct);
        // One row per output line, each with the block it belongs to and its order in it; blocks sort by kind and name.
        await using var cmd = new NpgsqlCommand("""
            with rels as (
              select c.oid, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.relowner, c.relacl,
                     quote_ident(n.nspname) || '.' || quote_ident(c.relname) as name
              from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = any(@schemas) and c.relkind in ('r', 'p', 'f', 'v', 'm')
                and not exists (select from pg_depend e where e.classid = 'pg_class'::regclass and e.objid = c.oid and e.deptype = 'e')
            ), funcs as (
              select p.oid, p.prorettype, p.proretset, p.prosecdef, p.proowner, p.proacl,
                     quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' || oidvectortypes(p.proargtypes) || ')' as name
              from pg_proc p join pg_namespace n on n.oid = p.pronamespace
              where n.nspname = any(@schemas) and p.prokind = 'f'
                and not exists (select from pg_depend e where e.classid = 'pg_proc'::regclass and e.objid = p.oid and e.deptype = 'e')
            )
            select 0, quote_ident(s), 0, 'schema ' || quote_ident(s) from unnest(@schemas) s where exists (select from pg_namespace where nspname = s)
            union all
            select 0, quote_ident(n.nspname), 1, '  grant ' || string_agg(lower(a.privilege_type), ', ' order by a.privilege_type) || ' to ' || case a.grantee when 0 then 'public' else a.grantee::regrole::text end
            from pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
            where n.nspname = any(@schemas) and a.grantee <> n.nspowner group by n.nspname, a.grantee
            union all
            select 1, r.name, 0, case when r.relkind in ('v', 'm') then 'view ' else 'table ' end || r.name from rels r
            union all
            select 1, r.name, 1 + a.attnum, '  column ' || quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
                   || case when r.relkind in ('v', 'm') then '' when a.attnotnull then ' not null' else ' null' end
            from rels r join pg_attribute a on a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
            union all
            select 1, r.name, 100000, '  rls ' || case when not r.relrowsecurity then 'off' when r.relforcerowsecurity then 'forced' else 'on' end
            from rels r where r.relkind in ('r', 'p', 'f')
            union all
            select 1, r.name, 100001, '  policy ' || quote_ident(p.polname) || ' for '
                   || case p.polcmd when 'r' then 'select' when 'a' then 'insert' when 'w' then 'update' when 'd' then 'delete' else 'all' end
                   || ' to ' || (select string_agg(case x when 0 then 'public' else x::regrole::text end, ', ' order by 1) from unnest(p.polroles) x)
            from rels r join pg_policy p on p.polrelid = r.oid
            union all
            select 1, r.name, 100002, '  grant ' || string_agg(lower(a.privilege_type), ', ' order by a.privilege_type) || ' to ' || case a.grantee when 0 then 'public' else a.grantee::regrole::text end
            from rels r, aclexplode(r.relacl) a where a.grantee <> r.relowner group by r.name, a.grantee
            union all
            select 2, f.name, 0, 'function ' || f.name from funcs f
            union all
            select 2, f.name, 1, '  returns ' || case when f.proretset then 'setof ' else '' end || format_type(f.prorettype, null) from funcs f
            union all
            select 2, f.name, 2, '  security ' || case when f.prosecdef then 'definer' else 'invoker' end from funcs f
            union all
            select 2, f.name, 3, '  grant execute to ' || string_agg(case a.grantee when 0 then 'public' else a.grantee::regrole::text end, ', ' order by 1)
            from funcs f, aclexplode(coalesce(f.proacl, acldefault('f', f.proowner))) a where a.grantee <> f.proowner group by f.name
            order by 1, 2, 3, 4
            """, conn, tx);
        cmd.Parameters.AddWithValue("schemas", schemas.ToArray());
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var line = reader.GetString(3);
            if (!line.StartsWith(' ')) text.Append('\n');
            text.Append(line).Append('\n');
        }
        return text.ToString();
    }
}
