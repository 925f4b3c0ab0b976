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
internal sealed record OpenApiTxResult(string? TablesJson, string? RoutinesJson, string? SchemaDescription);

/// <summary>
/// The root endpoint's transaction (PostgREST's MainTx for an InspectPlan): the settings prelude and db-pre-request
/// as for any request, then, in the same round trip, the schema's comment and — for openapi-mode =
/// follow-privileges — the relations and functions of the schema that the request's role can access
/// (Query/SqlFragment.hs: accessibleTables, accessibleFuncs, schemaDescription; the functions with the schema cache's
/// own query, CatalogQueries.AccessibleRoutines). They run as that role and with the request's search_path, so
/// privileges apply and argument types print relative to the schema.
/// </summary>
internal static class OpenApiTx
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

    private const string SchemaDescription =
        "SELECT pg_catalog.obj_description(n.oid, 'pg_namespace') FROM pg_namespace n WHERE n.nspname = $1";

    public static async Task<OpenApiTxResult> RunAsync(NpgsqlDataSource ds, TxSettings tx, string schema, bool accessible, CancellationToken ct)
    {
        await using var conn = await MainTx.OpenAsync(ds, ct);
        // The document is read at PostgREST's default level whatever the role's default_transaction_isolation says.
        await using var batch = MainTx.Begin(conn, tx with { ReadOnly = true, IsolationLevel = "READ COMMITTED" });
        // One statement with a named column per answer, so the results are told apart from the prelude's.
        var sql = accessible
            ? $"SELECT ({AccessibleTables}) AS pgrst_openapi_tables, ({Catalog.CatalogQueries.AccessibleRoutines}) AS pgrst_openapi_funcs, ({SchemaDescription}) AS pgrst_openapi_description"
            : $"SELECT NULL::text AS pgrst_openapi_tables, NULL::text AS pgrst_openapi_funcs, ({SchemaDescription}) AS pgrst_openapi_description";
        var main = new NpgsqlBatchCommand(sql);
        main.Parameters.Add(new NpgsqlParameter { Value = schema, NpgsqlDbType = NpgsqlDbType.Text });
        batch.BatchCommands.Add(main);
        MainTx.End(batch, tx);
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
            await MainTx.RollbackQuietlyAsync(conn, e);
            throw PgErrorMapper.Map(e, !tx.Anonymous);
        }
    }
}
