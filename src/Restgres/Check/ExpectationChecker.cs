using System.Collections.Immutable;
using Npgsql;

namespace Restgres.Check;

/// <summary>
/// Compares one expected object with the catalog. Each fact is one question to PostgreSQL, which also parses the
/// type names and signatures as written (<c>to_regtype</c>, <c>to_regprocedure</c>), so aliases such as
/// <c>timestamptz</c> or <c>int</c> mean what they mean in SQL.
/// </summary>
internal sealed class ExpectationChecker(NpgsqlConnection conn, NpgsqlTransaction tx)
{
    private static readonly ImmutableDictionary<char, string> PolicyCommands = new Dictionary<char, string>
    {
        ['r'] = "select", ['a'] = "insert", ['w'] = "update", ['d'] = "delete", ['*'] = "all",
    }.ToImmutableDictionary();

    public List<Mismatch> Mismatches { get; } = [];

    /// <summary>How many facts were compared (each declaration, column, policy, grant, ...).</summary>
    public int Checked { get; private set; }

    public async Task CheckAsync(ExpectedObject obj, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(obj);
        switch (obj.Kind)
        {
            case ObjectKind.Schema:
                await CheckSchemaAsync(obj, ct);
                break;
            case ObjectKind.Function:
                await CheckFunctionAsync(obj, ct);
                break;
            default:
                await CheckRelationAsync(obj, ct);
                break;
        }
    }

    private async Task CheckSchemaAsync(ExpectedObject obj, CancellationToken ct)
    {
        Checked++;
        var oid = await ScalarAsync<uint?>("select oid from pg_namespace where nspname = @p0", ct, obj.Name);
        if (oid is not { } schemaOid)
        {
            Fail(obj.Line, obj.Name, $"schema {obj.Name} does not exist");
            return;
        }
        await CheckGrantsAsync(obj, "schema", schemaOid, ct);
    }

    private async Task CheckRelationAsync(ExpectedObject obj, CancellationToken ct)
    {
        Checked++;
        var (schema, name) = ExpectationsParser.SplitQualified(obj.Name);
        var kindWord = obj.Kind == ObjectKind.Table ? "table" : "view";
        await using (var cmd = Command("""
            select c.oid, c.relkind::text, c.relrowsecurity, c.relforcerowsecurity
            from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = @p0 and c.relname = @p1
            """, schema, name))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            if (!await reader.ReadAsync(ct))
            {
                Fail(obj.Line, obj.Name, $"{kindWord} {obj.Name} does not exist");
                return;
            }
            var oid = reader.GetFieldValue<uint>(0);
            var relkind = reader.GetString(1);
            var (rls, forced) = (reader.GetBoolean(2), reader.GetBoolean(3));
            await reader.CloseAsync();
            var isKind = obj.Kind == ObjectKind.Table ? relkind is "r" or "p" or "f" : relkind is "v" or "m";
            if (!isKind)
            {
                Fail(obj.Line, obj.Name, $"{obj.Name} is a {RelkindWord(relkind)}, not a {kindWord}");
                return;
            }
            if (obj.Rls is { } expectedRls)
            {
                Checked++;
                var actual = !rls ? "off" : forced ? "forced" : "on";
                if (actual != expectedRls.Value) Fail(expectedRls.Line, obj.Name, $"row level security is {actual}, expected {expectedRls.Value}");
            }
            await CheckColumnsAsync(obj, oid, ct);
            await CheckPoliciesAsync(obj, oid, ct);
            await CheckGrantsAsync(obj, kindWord, oid, ct);
        }
    }

    private async Task CheckColumnsAsync(ExpectedObject obj, uint oid, CancellationToken ct)
    {
        if (obj.Columns.IsEmpty) return;
        var columns = new Dictionary<string, (uint TypeOid, string Type, bool NotNull)>(StringComparer.Ordinal);
        await using (var cmd = Command("""
            select attname::text, atttypid, format_type(atttypid, atttypmod), attnotnull
            from pg_attribute where attrelid = @p0 and attnum > 0 and not attisdropped
            """, oid))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
                columns[reader.GetString(0)] = (reader.GetFieldValue<uint>(1), reader.GetString(2), reader.GetBoolean(3));
        }
        foreach (var column in obj.Columns)
        {
            Checked++;
            var where = $"{obj.Name}.{column.Name}";
            if (!columns.TryGetValue(column.Name, out var actual))
            {
                Fail(column.Line, where, $"column {column.Name} does not exist (columns: {string.Join(", ", columns.Keys)})");
                continue;
            }
            if (!await SameTypeAsync(column.Type, actual.TypeOid, actual.Type, column.Line, where, ct))
                Fail(column.Line, where, $"column {column.Name} is {actual.Type}, expected {column.Type}");
            if (obj.Kind == ObjectKind.Table && column.NotNull is { } notNull && notNull != actual.NotNull)
                Fail(column.Line, where, $"column {column.Name} is {(actual.NotNull ? "not null" : "nullable")}, expected {(notNull ? "not null" : "null")}");
        }
    }

    private async Task CheckPoliciesAsync(ExpectedObject obj, uint oid, CancellationToken ct)
    {
        if (obj.Policies.IsEmpty) return;
        var policies = new Dictionary<string, (char Command, string[] Roles)>(StringComparer.Ordinal);
        await using (var cmd = Command("""
            select polname::text, polcmd,
                   array(select case r when 0 then 'public' else r::regrole::text end from unnest(polroles) r order by 1)
            from pg_policy where polrelid = @p0
            """, oid))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
                policies[reader.GetString(0)] = (reader.GetChar(1), reader.GetFieldValue<string[]>(2));
        }
        foreach (var policy in obj.Policies)
        {
            Checked++;
            var where = $"{obj.Name}.{policy.Name}";
            if (!policies.TryGetValue(policy.Name, out var actual))
            {
                Fail(policy.Line, where, $"policy {policy.Name} does not exist on {obj.Name} (policies: {(policies.Count == 0 ? "none" : string.Join(", ", policies.Keys.Order(StringComparer.Ordinal)))})");
                continue;
            }
            var command = PolicyCommands[actual.Command];
            if (policy.Command is { } expected && expected != command)
                Fail(policy.Line, where, $"policy {policy.Name} is for {command}, expected for {expected}");
            if (!policy.Roles.IsEmpty && !policy.Roles.Order(StringComparer.Ordinal).SequenceEqual(actual.Roles.Order(StringComparer.Ordinal)))
                Fail(policy.Line, where, $"policy {policy.Name} applies to {string.Join(", ", actual.Roles)}, expected {string.Join(", ", policy.Roles)}");
        }
    }

    private async Task CheckFunctionAsync(ExpectedObject obj, CancellationToken ct)
    {
        Checked++;
        uint? oid;
        try
        {
            oid = await GuardedScalarAsync<uint?>("select to_regprocedure(@p0)::oid", ct, obj.Name);
        }
        catch (PostgresException e)
        {
            Fail(obj.Line, obj.Name, $"PostgreSQL cannot read the signature: {e.MessageText}");
            return;
        }
        if (oid is not { } funcOid)
        {
            var name = obj.Name[..obj.Name.IndexOf('(', StringComparison.Ordinal)];
            var (schema, proname) = ExpectationsParser.SplitQualified(ExpectationsParser.Qualified(name, m => new ExpectationsException(m)));
            var overloads = await ListAsync("""
                select n.nspname || '.' || p.proname || '(' || oidvectortypes(p.proargtypes) || ')'
                from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = @p0 and p.proname = @p1 order by 1
                """, ct, schema, proname);
            Fail(obj.Line, obj.Name, overloads.Count == 0
                ? $"function {obj.Name} does not exist"
                : $"function {obj.Name} does not exist; there is {string.Join(", ", overloads)}");
            return;
        }
        await using (var cmd = Command("select prorettype, proretset, prosecdef, format_type(prorettype, null) from pg_proc where oid = @p0", funcOid))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            var (retOid, retSet, definer, retType) = (reader.GetFieldValue<uint>(0), reader.GetBoolean(1), reader.GetBoolean(2), reader.GetString(3));
            await reader.CloseAsync();
            if (obj.Returns is { } returns)
            {
                Checked++;
                var actual = (retSet ? "setof " : "") + retType;
                if (retSet != obj.ReturnsSet || !await SameTypeAsync(returns.Value, retOid, retType, returns.Line, obj.Name, ct))
                    Fail(returns.Line, obj.Name, $"returns {actual}, expected {(obj.ReturnsSet ? "setof " : "")}{returns.Value}");
            }
            if (obj.Security is { } security)
            {
                Checked++;
                var actual = definer ? "definer" : "invoker";
                if (actual != security.Value) Fail(security.Line, obj.Name, $"is security {actual}, expected security {security.Value}");
            }
        }
        await CheckGrantsAsync(obj, "function", funcOid, ct);
    }

    /// <summary>
    /// Whether <paramref name="expected"/> names the type <paramref name="actualOid"/> (formatted
    /// <paramref name="actualText"/>). With modifiers (<c>numeric(10,2)</c>, <c>varchar(20)</c>) they must match too.
    /// </summary>
    private async Task<bool> SameTypeAsync(string expected, uint actualOid, string actualText, int line, string where, CancellationToken ct)
    {
        var paren = expected.IndexOf('(', StringComparison.Ordinal);
        var baseName = paren < 0 ? expected : expected[..paren].TrimEnd();
        string? canonical;
        try
        {
            canonical = await GuardedScalarAsync<string?>("select format_type(to_regtype(@p0), null)", ct, baseName);
        }
        catch (PostgresException e)
        {
            Fail(line, where, $"PostgreSQL cannot read the type '{expected}': {e.MessageText}");
            return true;
        }
        if (canonical is null)
        {
            Fail(line, where, $"type {expected} does not exist (name types of your own with their schema, as in api.mood)");
            return true;
        }
        var oid = await ScalarAsync<uint>("select to_regtype(@p0)::oid", ct, baseName);
        if (oid != actualOid) return false;
        return paren < 0 || Squash(canonical + expected[paren..]) == Squash(actualText) || Squash(expected) == Squash(actualText);

        static string Squash(string s) => string.Concat(s.Where(c => !char.IsWhiteSpace(c))).ToLowerInvariant();
    }

    private async Task CheckGrantsAsync(ExpectedObject obj, string kind, uint oid, CancellationToken ct)
    {
        var (privilegeFunction, aclQuery) = kind switch
        {
            "schema" => ("has_schema_privilege", "select coalesce(nspacl, acldefault('n', nspowner)) from pg_namespace where oid = @p0"),
            "function" => ("has_function_privilege", "select coalesce(proacl, acldefault('f', proowner)) from pg_proc where oid = @p0"),
            _ => ("has_table_privilege", "select coalesce(relacl, acldefault('r', relowner)) from pg_class where oid = @p0"),
        };
        foreach (var grant in obj.Grants)
        {
            foreach (var role in grant.Roles)
            {
                foreach (var privilege in grant.Privileges)
                {
                    Checked++;
                    bool has;
                    if (role == "public")
                    {
                        has = await ScalarAsync<bool>(
                            $"select exists (select from aclexplode(({aclQuery})) a where a.grantee = 0 and a.privilege_type = upper(@p1))",
                            ct, oid, privilege);
                    }
                    else
                    {
                        if (!await ScalarAsync<bool>("select exists (select from pg_roles where rolname = @p0)", ct, role))
                        {
                            Fail(grant.Line, obj.Name, $"role {role} does not exist");
                            continue;
                        }
                        has = await ScalarAsync<bool>($"select {privilegeFunction}(@p0, @p1, @p2)", ct, role, oid, privilege);
                    }
                    if (has != grant.Granted)
                        Fail(grant.Line, obj.Name, grant.Granted
                            ? $"{role} lacks {privilege} on {kind} {obj.Name}"
                            : $"{role} has {privilege} on {kind} {obj.Name}, expected not");
                }
            }
        }
    }

    private void Fail(int line, string obj, string message) => Mismatches.Add(new Mismatch(line, obj, message));

    private static string RelkindWord(string relkind) => relkind switch
    {
        "r" or "p" => "table",
        "v" => "view",
        "m" => "materialized view",
        "f" => "foreign table",
        "S" => "sequence",
        "i" or "I" => "index",
        "c" => "composite type",
        _ => "relation of kind " + relkind,
    };

    private NpgsqlCommand Command(string sql, params object[] args)
    {
        var cmd = new NpgsqlCommand(sql, conn, tx);
        for (var i = 0; i < args.Length; i++)
            cmd.Parameters.Add(args[i] is uint u
                ? new NpgsqlParameter("p" + i, NpgsqlTypes.NpgsqlDbType.Oid) { Value = u }
                : new NpgsqlParameter("p" + i, args[i]));
        return cmd;
    }

    private async Task<T> ScalarAsync<T>(string sql, CancellationToken ct, params object[] args)
    {
        await using var cmd = Command(sql, args);
        var value = await cmd.ExecuteScalarAsync(ct);
        return value is null or DBNull ? default! : (T)value;
    }

    /// <summary><see cref="ScalarAsync{T}"/> for a question PostgreSQL may answer with a syntax error (a type or
    /// signature as the file wrote it): inside a savepoint, so the transaction goes on.</summary>
    private async Task<T> GuardedScalarAsync<T>(string sql, CancellationToken ct, params object[] args)
    {
        await tx.SaveAsync("guard", ct);
        try
        {
            var value = await ScalarAsync<T>(sql, ct, args);
            await tx.ReleaseAsync("guard", ct);
            return value;
        }
        catch (PostgresException)
        {
            await tx.RollbackAsync("guard", ct);
            throw;
        }
    }

    private async Task<List<string>> ListAsync(string sql, CancellationToken ct, params object[] args)
    {
        await using var cmd = Command(sql, args);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<string>();
        while (await reader.ReadAsync(ct)) list.Add(reader.GetString(0));
        return list;
    }
}
