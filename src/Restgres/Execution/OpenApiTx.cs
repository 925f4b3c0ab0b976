using System.Data;
using Npgsql;
using NpgsqlTypes;
using Restgres.Errors;
using Restgres.Sql;

namespace Restgres.Execution;

/// <summary>What the root endpoint reads from the database as the request's role (PostgREST's MaybeDbResult).</summary>
/// <param name="TablesJson">JSON array of [schema, name] for the relations the role can access; null when not asked.</param>
/// <param name="RoutinesJson">JSON array of the functions the role may execute; null when not asked.</param>
/// <param name="SchemaDescription">The schema's comment.</param>
public sealed record OpenApiTxResult(string? TablesJson, string? RoutinesJson, string? SchemaDescription);

/// <summary>
/// The root endpoint's transaction (PostgREST's MainTx for an InspectPlan): the settings prelude and db-pre-request
/// as for any request, then, in the same round trip, the schema's comment and — for openapi-mode =
/// follow-privileges — the relations and functions of the schema that the request's role can access
/// (Query/SqlFragment.hs: accessibleTables, accessibleFuncs, schemaDescription). They run as that role and with the
/// request's search_path, so privileges apply and argument types print relative to the schema.
/// </summary>
public static class OpenApiTx
{
    /// <summary>$1 = the schema name. Relations the role owns or holds any privilege on, partitions excluded.</summary>
    private const string AccessibleTables = """
        WITH rels AS MATERIALIZED (
          SELECT c.oid, c.relname, c.relowner
          FROM pg_class c
          WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
            AND c.relkind IN ('v', 'r', 'm', 'f', 'p')
            AND NOT c.relispartition
        )
        SELECT coalesce(json_agg(json_build_array($1::text, r.relname)), '[]')::text
        FROM rels r
        WHERE pg_has_role(r.relowner, 'USAGE')
           OR has_table_privilege(r.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
           OR has_any_column_privilege(r.oid, 'SELECT, INSERT, UPDATE, REFERENCES')
        """;

    /// <summary>
    /// $1 = the schema name. Callable functions (same rules as the schema cache: no procedures, no trigger functions,
    /// at most one unnamed argument of a raw type) that the role may execute. Arguments: [name, type, required, variadic].
    /// Unlike PostgREST's query, the schema's functions are picked first (materialized), so that argument lists,
    /// privilege checks and domain resolution cost what the schema has, not what the whole database has.
    /// </summary>
    private const string AccessibleFuncs = """
        WITH RECURSIVE fns AS MATERIALIZED (
          SELECT p.oid, p.proname, p.prorettype, p.proretset, p.provolatile, p.pronargs, p.pronargdefaults,
                 p.proargnames, p.proargtypes, p.proargmodes
          FROM pg_proc p
          WHERE p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
            AND p.prokind = 'f'
        ),
        rec AS (
          SELECT t.oid AS start, t.oid, t.typbasetype FROM pg_type t WHERE t.oid IN (SELECT prorettype FROM fns)
          UNION ALL
          SELECT r.start, b.oid, b.typbasetype FROM rec r JOIN pg_type b ON b.oid = r.typbasetype
        ),
        base_types AS (SELECT start AS oid, oid AS base_type FROM rec WHERE typbasetype = 0),
        args AS (
          SELECT
            p.oid,
            json_agg(json_build_array(
              coalesce(x.name, ''), x.type::regtype::text, x.idx <= (p.pronargs - p.pronargdefaults), coalesce(x.mode = 'v', false)
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
          'schema', $1::text,
          'name', p.proname,
          'description', d.description,
          'args', coalesce(a.args, '[]'),
          'ret_schema', tn.nspname,
          'ret_name', coalesce(comp.relname, t.typname),
          'setof', p.proretset,
          'composite', t.typtype = 'c' OR coalesce(p.proargmodes::text[] && '{t,b,o}', false),
          'volatility', p.provolatile
        )), '[]')::text
        FROM fns p
        LEFT JOIN args a ON a.oid = p.oid
        JOIN base_types bt ON bt.oid = p.prorettype
        JOIN pg_type t ON t.oid = bt.base_type
        JOIN pg_namespace tn ON tn.oid = t.typnamespace
        LEFT JOIN pg_class comp ON comp.oid = t.typrelid
        LEFT JOIN pg_description d ON d.objoid = p.oid AND d.classoid = 'pg_proc'::regclass
        WHERE t.oid <> 'trigger'::regtype AND coalesce(a.callable, true)
          AND has_function_privilege(p.oid, 'execute')
        """;

    private const string SchemaDescription =
        "SELECT pg_catalog.obj_description(n.oid, 'pg_namespace') FROM pg_namespace n WHERE n.nspname = $1";

    public static async Task<OpenApiTxResult> RunAsync(NpgsqlDataSource ds, TxSettings tx, string schema, bool accessible, CancellationToken ct)
    {
        await using var conn = await MainTx.OpenAsync(ds, ct);
        await using var batch = new NpgsqlBatch(conn);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY"));
        MainTx.Add(batch, tx.Prelude);
        if (tx.PreRequest is { } pre) MainTx.Add(batch, pre);
        // One statement with a named column per answer, so the results are told apart from the prelude's.
        var sql = accessible
            ? $"SELECT ({AccessibleTables}) AS pgrst_openapi_tables, ({AccessibleFuncs}) AS pgrst_openapi_funcs, ({SchemaDescription}) AS pgrst_openapi_description"
            : $"SELECT NULL::text AS pgrst_openapi_tables, NULL::text AS pgrst_openapi_funcs, ({SchemaDescription}) AS pgrst_openapi_description";
        var main = new NpgsqlBatchCommand(sql);
        main.Parameters.Add(new NpgsqlParameter { Value = schema, NpgsqlDbType = NpgsqlDbType.Text });
        batch.BatchCommands.Add(main);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(tx.Rollback ? "ROLLBACK" : "COMMIT"));
        try
        {
            await using var reader = await batch.ExecuteReaderAsync(ct);
            OpenApiTxResult? result = null;
            do
            {
                if (reader.FieldCount != 3 || reader.GetName(0) != "pgrst_openapi_tables") continue;
                if (await reader.ReadAsync(ct))
                    result = new OpenApiTxResult(
                        reader.IsDBNull(0) ? null : reader.GetString(0),
                        reader.IsDBNull(1) ? null : reader.GetString(1),
                        reader.IsDBNull(2) ? null : reader.GetString(2));
            }
            while (await reader.NextResultAsync(ct));
            return result ?? throw new InvalidOperationException("the OpenAPI statement returned no row");
        }
        catch (PostgresException e)
        {
            await MainTx.RollbackQuietlyAsync(conn);
            throw PgErrorMapper.Map(e, !tx.Anonymous);
        }
    }
}
