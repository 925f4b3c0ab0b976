namespace Restgres.Catalog;

/// <summary>
/// The catalog queries behind the schema cache: one per kind of object (never one per table), each returning a
/// single JSON document so decoding is one parse. They run with an empty search_path so that every regtype/regclass
/// renders schema-qualified. Semantics follow PostgREST's SchemaCache.hs (which columns are nullable, how domain
/// types and identity defaults are reported, which relations are insertable, ...).
/// </summary>
internal static class CatalogQueries
{
    /// <summary>
    /// Resolves domains (possibly nested) to their base type. Only domains are walked: other types are their own
    /// base, which callers express with coalesce, so the recursion stays small on databases with thousands of tables.
    /// </summary>
    private const string BaseTypesCte = """
        base_types AS (
          WITH RECURSIVE rec(oid, cur) AS (
            SELECT oid, typbasetype FROM pg_type WHERE typtype = 'd'
            UNION ALL
            SELECT r.oid, t.typbasetype FROM rec r JOIN pg_type t ON t.oid = r.cur WHERE t.typtype = 'd'
          )
          SELECT r.oid, t.typnamespace AS base_namespace, t.oid AS base_type
          FROM rec r JOIN pg_type t ON t.oid = r.cur
          WHERE t.typtype <> 'd'
        )
        """;

    public const string Tables = "WITH " + BaseTypesCte + """
        ,
        cols AS (
          SELECT
            a.attrelid AS relid,
            json_agg(json_build_object(
              'name', a.attname,
              'description', d.description,
              'nullable', NOT (a.attnotnull OR (t.typtype = 'd' AND t.typnotnull)),
              'data_type', CASE
                  WHEN t.typtype = 'd' THEN
                    CASE WHEN bt.base_namespace = 'pg_catalog'::regnamespace THEN format_type(bt.base_type, NULL)
                         ELSE format_type(a.atttypid, a.atttypmod) END
                  ELSE
                    CASE WHEN t.typnamespace = 'pg_catalog'::regnamespace THEN format_type(a.atttypid, NULL)
                         ELSE format_type(a.atttypid, a.atttypmod) END
                END,
              'nominal_type', format_type(a.atttypid, a.atttypmod),
              'max_length', information_schema._pg_char_max_length(
                  information_schema._pg_truetypid(a.*, t.*), information_schema._pg_truetypmod(a.*, t.*)),
              'default', CASE
                  WHEN t.typbasetype <> 0 AND ad.adbin IS NULL THEN pg_get_expr(t.typdefaultbin, 0)
                  WHEN a.attidentity = 'd' THEN format('nextval(%L)', seq.objid::regclass)
                  WHEN a.attgenerated = 's' THEN NULL
                  ELSE pg_get_expr(ad.adbin, ad.adrelid)
                END,
              'enum', coalesce((SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = coalesce(bt.base_type, t.oid)), '[]'),
              'base_type', format_type(coalesce(bt.base_type, t.oid), NULL),
              'generated', a.attgenerated = 's' OR a.attidentity = 'a'
            ) ORDER BY a.attnum) AS columns
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
          JOIN pg_type t ON t.oid = a.atttypid
          LEFT JOIN base_types bt ON bt.oid = t.oid
          LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
          LEFT JOIN pg_description d ON d.objoid = a.attrelid AND d.objsubid = a.attnum AND d.classoid = 'pg_class'::regclass
          LEFT JOIN pg_depend seq ON seq.refobjid = a.attrelid AND seq.refobjsubid = a.attnum AND seq.deptype = 'i'
          WHERE a.attnum > 0 AND NOT a.attisdropped
            AND c.relkind IN ('r', 'v', 'f', 'm', 'p')
            AND c.relnamespace = ANY ($1::regnamespace[])
          GROUP BY a.attrelid
        ),
        pks AS (
          SELECT con.conrelid AS relid, json_agg(a.attname ORDER BY a.attname) AS pk
          FROM pg_constraint con
          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey)
          WHERE con.contype = 'p'
          GROUP BY con.conrelid
        )
        SELECT coalesce(json_agg(json_build_object(
          'schema', n.nspname,
          'name', c.relname,
          'description', d.description,
          'is_view', c.relkind IN ('v', 'm'),
          'insertable', c.relkind IN ('r', 'p') OR (c.relkind IN ('v', 'f') AND (pg_relation_is_updatable(c.oid::regclass, true) & 8) = 8),
          'updatable', c.relkind IN ('r', 'p') OR (c.relkind IN ('v', 'f') AND (pg_relation_is_updatable(c.oid::regclass, true) & 4) = 4),
          'deletable', c.relkind IN ('r', 'p') OR (c.relkind IN ('v', 'f') AND (pg_relation_is_updatable(c.oid::regclass, true) & 16) = 16),
          'pk', coalesce(pks.pk, '[]'),
          'columns', coalesce(cols.columns, '[]')
        )), '[]')::text
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_description d ON d.objoid = c.oid AND d.objsubid = 0 AND d.classoid = 'pg_class'::regclass
        LEFT JOIN pks ON pks.relid = c.oid
        LEFT JOIN cols ON cols.relid = c.oid
        WHERE c.relkind IN ('v', 'r', 'm', 'f', 'p')
          AND c.relnamespace = ANY ($1::regnamespace[])
          AND NOT c.relispartition
        """;

    /// <summary>
    /// Many-to-one relationships from foreign keys, flagged one-to-one when the FK columns are also a primary or
    /// unique key. Covers every schema (embedding may reach tables in other schemas through exposed ones).
    /// </summary>
    public const string ForeignKeys = """
        WITH pks_uniques AS (
          SELECT conrelid, array_agg(k ORDER BY k) AS cols
          FROM pg_constraint, unnest(conkey) k
          WHERE contype IN ('p', 'u')
          GROUP BY oid, conrelid
        )
        SELECT coalesce(json_agg(json_build_object(
          'schema', ns1.nspname, 'table', tab.relname, 'table_is_view', false,
          'fschema', ns2.nspname, 'ftable', other.relname,
          'constraint', con.conname,
          'columns', (SELECT json_agg(json_build_array(a1.attname, a2.attname) ORDER BY k.ord)
                      FROM unnest(con.conkey, con.confkey) WITH ORDINALITY k(col, fcol, ord)
                      JOIN pg_attribute a1 ON a1.attrelid = con.conrelid AND a1.attnum = k.col
                      JOIN pg_attribute a2 ON a2.attrelid = con.confrelid AND a2.attnum = k.fcol),
          'one_to_one', EXISTS (SELECT 1 FROM pks_uniques pu
                                WHERE pu.conrelid = con.conrelid
                                  AND pu.cols = (SELECT array_agg(x ORDER BY x) FROM unnest(con.conkey) x))
        )), '[]')::text
        FROM pg_constraint con
        JOIN pg_class tab ON tab.oid = con.conrelid
        JOIN pg_namespace ns1 ON ns1.oid = tab.relnamespace
        JOIN pg_class other ON other.oid = con.confrelid
        JOIN pg_namespace ns2 ON ns2.oid = other.relnamespace
        WHERE con.contype = 'f' AND con.conparentid = 0
        """;

    /// <summary>
    /// Functions in the exposed schemas ($1: regnamespace[] of quoted names) that the API can call (PostgREST's
    /// funcsSqlQuery). The schema cache loads them with an empty search_path, so user types print schema-qualified.
    /// </summary>
    public const string Routines = RoutinesWhere + " p.pronamespace = ANY ($1::regnamespace[])" + RoutinesFrom;

    /// <summary>
    /// The functions of one schema ($1: its name) that the current role may execute, for the OpenAPI document with
    /// openapi-mode = follow-privileges (PostgREST's accessibleFuncs: the same query plus the privilege check). It runs
    /// as the request's role with the request's search_path, so privileges apply and types print as the schema sees them.
    /// </summary>
    public const string AccessibleRoutines =
        RoutinesWhere + " p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1) AND has_function_privilege(p.oid, 'execute')" + RoutinesFrom;

    /// <summary>
    /// The routines query up to its filter on pg_proc. The schema's functions are picked first (materialized), so that
    /// argument lists and domain resolution cost what the exposed schemas have, not what the whole database has.
    /// </summary>
    private const string RoutinesWhere = """
        WITH RECURSIVE fns AS MATERIALIZED (
          SELECT p.oid, p.pronamespace, p.proname, p.prorettype, p.proretset, p.provolatile, p.provariadic, p.pronargs,
                 p.pronargdefaults, p.proargnames, p.proargtypes, p.proallargtypes, p.proargmodes, p.proconfig
          FROM pg_proc p
          WHERE p.prokind = 'f' AND
        """;

    /// <summary>
    /// The rest of the routines query: no trigger functions, at most one unnamed argument and only of a type a raw
    /// body can fill. Arguments are [name, type, type for the call, required, variadic]: bit(n) and char(n) arguments
    /// are called as their varying types so any value up to the maximum size is accepted (PostgREST does the same).
    /// </summary>
    private const string RoutinesFrom = """

        ),
        ret_domains(oid, cur) AS (
          SELECT t.oid, t.typbasetype FROM pg_type t WHERE t.typtype = 'd' AND t.oid IN (SELECT prorettype FROM fns)
          UNION ALL
          SELECT r.oid, t.typbasetype FROM ret_domains r JOIN pg_type t ON t.oid = r.cur WHERE t.typtype = 'd'
        ),
        base_types AS (
          SELECT r.oid, r.cur AS base_type FROM ret_domains r JOIN pg_type t ON t.oid = r.cur WHERE t.typtype <> 'd'
        ),
        args AS (
          SELECT
            p.oid,
            json_agg(json_build_array(
              coalesce(x.name, ''),
              x.type::regtype::text,
              CASE x.type
                WHEN 'bit'::regtype THEN 'bit varying'
                WHEN 'bit[]'::regtype THEN 'bit varying[]'
                WHEN 'character'::regtype THEN 'character varying'
                WHEN 'character[]'::regtype THEN 'character varying[]'
                ELSE x.type::regtype::text
              END,
              x.idx <= (p.pronargs - p.pronargdefaults),
              coalesce(x.mode = 'v', false)
            ) ORDER BY x.idx) AS args,
            CASE count(*) - count(x.name)
              WHEN 0 THEN true
              WHEN 1 THEN (array_agg(x.type))[1] IN ('bytea'::regtype, 'json'::regtype, 'jsonb'::regtype, 'text'::regtype, 'xml'::regtype)
              ELSE false
            END AS callable
          FROM fns p,
               unnest(p.proargnames, p.proargtypes, p.proargmodes) WITH ORDINALITY AS x (name, type, mode, idx)
          WHERE x.type IS NOT NULL
          GROUP BY p.oid, p.pronargs, p.pronargdefaults
        )
        SELECT coalesce(json_agg(json_build_object(
          'schema', pn.nspname,
          'name', p.proname,
          'description', d.description,
          'args', coalesce(a.args, '[]'),
          'ret_schema', tn.nspname,
          'ret_name', coalesce(comp.relname, t.typname),
          'setof', p.proretset,
          'composite', t.typtype = 'c' OR coalesce(p.proargmodes::text[] && '{t,b,o}', false),
          'composite_alias', bt.oid IS NOT NULL,
          'volatility', p.provolatile,
          'variadic', p.provariadic > 0,
          'settings', (SELECT json_agg(json_build_array(substr(s, 1, strpos(s, '=') - 1), substr(s, strpos(s, '=') + 1)))
                       FROM unnest(p.proconfig) s),
          'out', (SELECT json_agg(json_build_array(coalesce(o.name, ''), o.type::regtype::text) ORDER BY o.idx)
                  FROM unnest(p.proargnames, p.proallargtypes, p.proargmodes) WITH ORDINALITY AS o (name, type, mode, idx)
                  WHERE o.mode IN ('o', 'b', 't')),
          'enums', (SELECT json_agg(json_build_array(et.oid::regtype::text,
                      (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = et.oid)))
                    FROM pg_type et
                    WHERE et.typtype = 'e' AND et.oid IN (
                      SELECT coalesce(nullif(ut.typelem, 0), ut.oid) FROM pg_type ut
                      WHERE ut.oid = ANY (coalesce(p.proallargtypes, p.proargtypes::oid[]) || p.prorettype)))
        )), '[]')::text
        FROM fns p
        LEFT JOIN args a ON a.oid = p.oid
        JOIN pg_namespace pn ON pn.oid = p.pronamespace
        LEFT JOIN base_types bt ON bt.oid = p.prorettype
        JOIN pg_type t ON t.oid = coalesce(bt.base_type, p.prorettype)
        JOIN pg_namespace tn ON tn.oid = t.typnamespace
        LEFT JOIN pg_class comp ON comp.oid = t.typrelid
        LEFT JOIN pg_description d ON d.objoid = p.oid AND d.classoid = 'pg_proc'::regclass
        WHERE t.oid <> 'trigger'::regtype AND coalesce(a.callable, true)
        """;

    /// <summary>Data representations: implicit-free casts between a domain and json/text backed by a SQL function.</summary>
    public const string DataRepresentations = """
        SELECT coalesce(json_agg(json_build_array(
          c.castsource::regtype::text, c.casttarget::regtype::text, c.castfunc::regproc::text)), '[]')::text
        FROM pg_catalog.pg_cast c
        JOIN pg_catalog.pg_type src_t ON c.castsource::oid = src_t.oid
        JOIN pg_catalog.pg_type dst_t ON c.casttarget::oid = dst_t.oid
        WHERE c.castcontext = 'i' AND c.castmethod = 'f'
          AND has_function_privilege(c.castfunc, 'execute')
          AND ((src_t.typtype = 'd' AND c.casttarget IN ('json'::regtype::oid, 'text'::regtype::oid))
            OR (dst_t.typtype = 'd' AND c.castsource IN ('json'::regtype::oid, 'text'::regtype::oid)))
        """;

    /// <summary>
    /// Views (in the exposed schemas and the extra search path) with their rewrite rule as pg_node_tree text, parsed in
    /// C# by <see cref="ViewKeyDependencies"/> to trace view columns to base-table columns, and the NOT NULL columns
    /// the rule reads (pg_depend keeps one row per column a view uses), from which <see cref="ViewColumnNullability"/>
    /// proves view columns not null. $1 = exposed, $2 = extra.
    /// </summary>
    public const string Views = """
        SELECT coalesce(json_agg(json_build_object(
          'oid', c.oid::bigint,
          'schema', n.nspname,
          'name', c.relname,
          'exposed', c.relnamespace = ANY ($1::regnamespace[]),
          'def', r.ev_action::text,
          'cols', (SELECT json_object_agg(a.attnum, a.attname) FROM pg_attribute a
                   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
          'notnull', (SELECT json_agg(json_build_array(d.refobjid::bigint, d.refobjsubid)) FROM pg_depend d
                      JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                      WHERE d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
                        AND a.attnotnull)
        )), '[]')::text
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_rewrite r ON r.ev_class = c.oid AND r.rulename = '_RETURN'
        WHERE c.relkind IN ('v', 'm')
          AND c.relnamespace = ANY ($1::regnamespace[] || $2::regnamespace[])
        """;

    /// <summary>
    /// What each view and materialized view of the exposed schemas ($1) reads, through views of any schema: the
    /// relations its <c>_RETURN</c> rule depends on in pg_depend, followed recursively through the rules of the views
    /// it reads. The response cache drops a view's entries when a write touches one of them (functions a view calls
    /// are not followed).
    /// </summary>
    public const string ViewSources = """
        WITH RECURSIVE reads(view, rel) AS (
          SELECT r.ev_class, d.refobjid
          FROM pg_rewrite r
          JOIN pg_class v ON v.oid = r.ev_class
          JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
            AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class
          WHERE r.rulename = '_RETURN' AND v.relkind IN ('v', 'm') AND v.relnamespace = ANY ($1::regnamespace[])
          UNION
          SELECT reads.view, d.refobjid
          FROM reads
          JOIN pg_rewrite r ON r.ev_class = reads.rel AND r.rulename = '_RETURN'
          JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
            AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class
        )
        SELECT coalesce(json_agg(json_build_object('schema', vn.nspname, 'name', v.relname, 'reads', x.reads)), '[]')::text
        FROM (
          SELECT r.view, json_agg(json_build_array(n.nspname, c.relname)) AS reads
          FROM (SELECT DISTINCT view, rel FROM reads) r
          JOIN pg_class c ON c.oid = r.rel
          JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND r.rel <> r.view
          GROUP BY r.view
        ) x
        JOIN pg_class v ON v.oid = x.view
        JOIN pg_namespace vn ON vn.oid = v.relnamespace
        """;

    /// <summary>Primary and foreign keys with column names, for view key dependencies.</summary>
    public const string KeyConstraints = """
        SELECT coalesce(json_agg(json_build_object(
          'rel', con.conrelid::bigint,
          'schema', n.nspname,
          'table', c.relname,
          'name', con.conname,
          'type', con.contype,
          'cols', (SELECT json_agg(json_build_array(k.col, a.attname) ORDER BY k.ord)
                   FROM unnest(con.conkey) WITH ORDINALITY k(col, ord)
                   JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.col),
          'frel', con.confrelid::bigint,
          'fschema', fn.nspname,
          'ftable', fc.relname,
          'fcols', (SELECT json_agg(json_build_array(k.col, a.attname) ORDER BY k.ord)
                    FROM unnest(con.confkey) WITH ORDINALITY k(col, ord)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.col)
        )), '[]')::text
        FROM pg_constraint con
        JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_class fc ON fc.oid = con.confrelid
        LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
        WHERE con.contype IN ('p', 'f')
        """;

    /// <summary>Computed relationships: <c>f(parent_row) returns [setof] child_row</c>; to-one unless setof with rows &lt;&gt; 1.</summary>
    public const string ComputedRelationships = """
        WITH rels AS (SELECT reltype FROM pg_class WHERE relkind IN ('v', 'r', 'm', 'f', 'p'))
        SELECT coalesce(json_agg(json_build_object(
          'fschema', pn.nspname, 'fname', p.proname,
          'schema', an.nspname, 'table', at.typname,
          'tschema', rn.nspname, 'ttable', rt.typname,
          'to_one', NOT p.proretset OR p.prorows = 1
        )), '[]')::text
        FROM pg_proc p
        JOIN pg_namespace pn ON pn.oid = p.pronamespace
        JOIN pg_type at ON at.oid = p.proargtypes[0]
        JOIN pg_namespace an ON an.oid = at.typnamespace
        JOIN pg_type rt ON rt.oid = p.prorettype
        JOIN pg_namespace rn ON rn.oid = rt.typnamespace
        WHERE p.pronargs = 1
          AND p.proargtypes[0] IN (SELECT reltype FROM rels)
          AND p.prorettype IN (SELECT reltype FROM rels)
        """;

    /// <summary>
    /// Per-role settings of the roles the connecting user is a member of (PostgREST's queryRoleSettings): only
    /// parameters a user may set (context 'user', or granted with SET privilege); default_transaction_isolation
    /// becomes the transaction's isolation level instead of a setting.
    /// </summary>
    public const string RoleSettings = """
        WITH settings AS (
          SELECT r.rolname, substr(c, 1, strpos(c, '=') - 1) AS key, substr(c, strpos(c, '=') + 1) AS value
          FROM pg_auth_members m
          JOIN pg_roles r ON r.oid = m.roleid
          CROSS JOIN LATERAL unnest(r.rolconfig) c
          WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = current_user)
        ),
        usable AS (
          SELECT s.* FROM settings s
          JOIN pg_settings ps ON ps.name = s.key
            AND (ps.context = 'user' OR has_parameter_privilege(current_user, ps.name, 'set'))
        )
        SELECT coalesce(json_agg(json_build_object(
          'role', u.rolname,
          'iso', (SELECT i.value FROM usable i WHERE i.rolname = u.rolname AND i.key = 'default_transaction_isolation'),
          'settings', (SELECT coalesce(json_agg(json_build_array(k.key, k.value)), '[]') FROM usable k
                       WHERE k.rolname = u.rolname AND k.key <> 'default_transaction_isolation'))), '[]')::text
        FROM (SELECT DISTINCT rolname FROM usable) u
        """;
}
