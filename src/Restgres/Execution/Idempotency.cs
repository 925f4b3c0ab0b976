using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Restgres.Config;
using Restgres.Errors;
using Restgres.Requests;
using Restgres.Response;
using Restgres.Sql;

namespace Restgres.Execution;

/// <summary>
/// One request's <c>Idempotency-Key</c> (draft-ietf-httpapi-idempotency-key-header): the key, its scope (role and JWT
/// subject: two users never share a key), the request's fingerprint and how long the response is kept. Built only for
/// a POST or PATCH to a path named in <c>server-idempotency</c> that carries the header; MainTx runs
/// <see cref="Begin"/> first in the request's transaction and <see cref="Finish"/> last before COMMIT, so the stored
/// response and the write commit together.
/// </summary>
internal sealed record IdempotentRequest(string Scope, string Key, byte[] Fingerprint, TimeSpan Ttl)
{
    /// <summary>The error codes: Restgres's own, like the rate limiter's RGST429.</summary>
    public const string BadKeyCode = "RGST400";
    public const string InFlightCode = "RGST409";
    public const string MismatchCode = "RGST422";

    /// <summary>The field a replayed response carries (Stripe's name; the draft names none).</summary>
    public const string ReplayedHeader = "Idempotent-Replayed";

    private const int MaxKeyLength = 255;

    /// <summary>The request's key, or null when idempotency does not apply (another method, a path not named, no header).</summary>
    /// <exception cref="ApiError">RGST400: the header is sent twice, empty, too long or not a string.</exception>
    public static IdempotentRequest? For(AppConfig config, RawRequest raw, Auth.AuthResult auth)
    {
        if (config.ServerIdempotency is not { } rules || raw.Method is not ("POST" or "PATCH")) return null;
        var path = string.Join('/', raw.PathSegments);
        if (rules.For(path) is not { } ttl) return null;
        string? header = null;
        foreach (var value in raw.HeaderValues("Idempotency-Key"))
        {
            if (header is not null) throw BadKey("Idempotency-Key is sent more than once");
            header = value;
        }
        if (header is null) return null;
        var key = ParseKey(header);
        return new IdempotentRequest(ScopeOf(auth), key, FingerprintOf(raw, path), ttl);
    }

    /// <summary>
    /// The draft's syntax is an RFC 8941 String (<c>"8e03978e-40d5-43e8-bc93-6894a57f9324"</c>); a bare token, as many
    /// clients send, is taken as it is. Printable ASCII only, at most 255 characters.
    /// </summary>
    internal static string ParseKey(string header)
    {
        var s = header.Trim();
        if (s.StartsWith('"'))
        {
            if (s.Length < 2 || s[^1] != '"') throw BadKey("Idempotency-Key is not a valid string");
            var sb = new StringBuilder(s.Length);
            for (var i = 1; i < s.Length - 1; i++)
            {
                var c = s[i];
                if (c == '"') throw BadKey("Idempotency-Key is not a valid string");
                if (c == '\\')
                {
                    if (++i == s.Length - 1 || s[i] is not ('"' or '\\')) throw BadKey("Idempotency-Key is not a valid string");
                    c = s[i];
                }
                sb.Append(c);
            }
            s = sb.ToString();
        }
        if (s.Length == 0) throw BadKey("Idempotency-Key is empty");
        if (s.Length > MaxKeyLength) throw BadKey($"Idempotency-Key is longer than {MaxKeyLength} characters");
        foreach (var c in s)
            if (c is < ' ' or > '~') throw BadKey("Idempotency-Key must be printable ASCII");
        return s;
    }

    private static ApiError BadKey(string message) => new(400, BadKeyCode, message, null,
        ApiError.Str("Send one Idempotency-Key, a string of at most 255 printable characters, e.g. Idempotency-Key: \"5f1c...\""));

    /// <summary>The role and the JWT's <c>sub</c> (any JSON value), the role length-prefixed so no two pairs collide.</summary>
    private static string ScopeOf(Auth.AuthResult auth)
    {
        var sub = "";
        if (!auth.IsAnonymous && auth.ClaimsJson.Length > 2)
        {
            using var doc = JsonDocument.Parse(auth.ClaimsJson);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("sub", out var s))
                sub = s.ValueKind == JsonValueKind.String ? s.GetString() ?? "" : s.GetRawText();
        }
        return auth.Role.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + auth.Role + sub;
    }

    /// <summary>
    /// SHA-256 of what makes two requests the same one: method, API path, query string, Content-Type, Prefer and the
    /// body bytes, each length-prefixed so no two different requests hash the same input.
    /// </summary>
    private static byte[] FingerprintOf(RawRequest raw, string path)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Part(hash, Encoding.UTF8.GetBytes(raw.Method));
        Part(hash, Encoding.UTF8.GetBytes(path));
        Part(hash, Encoding.UTF8.GetBytes(raw.RawQuery));
        Part(hash, Encoding.UTF8.GetBytes(raw.Header("Content-Type") ?? ""));
        Part(hash, Encoding.UTF8.GetBytes(string.Join(",", raw.HeaderValues("Prefer"))));
        Part(hash, raw.Body.Span);
        return hash.GetHashAndReset();
    }

    private static void Part(IncrementalHash hash, ReadOnlySpan<byte> bytes)
    {
        Span<byte> len = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(len, bytes.Length);
        hash.AppendData(len);
        hash.AppendData(bytes);
    }

    /// <summary>The first statement of the transaction, run as the authenticator (before the settings prelude).</summary>
    public Statement Begin => new("SELECT restgres.idempotency_begin($1, $2, $3)",
        [new SqlParam(Scope, NpgsqlDbType.Text), new SqlParam(Key, NpgsqlDbType.Text), new SqlParam(Fingerprint, NpgsqlDbType.Bytea)]);

    /// <summary>The statement storing the response, run after <c>RESET ROLE</c> just before COMMIT.</summary>
    public Statement Finish(PgrstResponse resp)
    {
        using var headers = new MemoryStream();
        using (var w = new Utf8JsonWriter(headers))
        {
            w.WriteStartArray();
            foreach (var (name, value) in resp.Headers)
            {
                w.WriteStartArray();
                w.WriteStringValue(name);
                w.WriteStringValue(value);
                w.WriteEndArray();
            }
            w.WriteEndArray();
        }
        return new Statement("SELECT restgres.idempotency_finish($1, $2, $3, $4, $5, $6::jsonb, $7)",
        [
            new SqlParam(Scope, NpgsqlDbType.Text), new SqlParam(Key, NpgsqlDbType.Text), new SqlParam(Fingerprint, NpgsqlDbType.Bytea),
            new SqlParam((long)Ttl.TotalMilliseconds, NpgsqlDbType.Bigint), new SqlParam(resp.Status, NpgsqlDbType.Integer),
            new SqlParam(Encoding.UTF8.GetString(headers.ToArray()), NpgsqlDbType.Text), new SqlParam(resp.Body.ToArray(), NpgsqlDbType.Bytea),
        ]);
    }

    /// <summary>Whether a failure is <c>idempotency_begin</c>'s answer rather than an error of the request.</summary>
    public static bool IsOutcome(PostgresException e) =>
        e.SqlState is IdempotencySchema.InFlight or IdempotencySchema.Mismatch or IdempotencySchema.Replay;

    /// <summary>
    /// What the client gets when <c>idempotency_begin</c> did not let the request proceed (its transaction is rolled
    /// back already): 409, 422, or the stored response read on the same connection, marked as a replay.
    /// </summary>
    public async Task<Exception> OutcomeAsync(NpgsqlConnection conn, PostgresException e, CancellationToken ct)
    {
        if (e.SqlState == IdempotencySchema.Mismatch)
            return new ApiError(422, MismatchCode, "Idempotency-Key was already used for a different request",
                null, ApiError.Str("Use a new key for a new request: the method, path, query, Content-Type, Prefer and body must match"));
        if (e.SqlState == IdempotencySchema.Replay)
        {
            await using var cmd = new NpgsqlCommand("SELECT status, headers::text, body FROM restgres.idempotency_replay($1, $2)", conn);
            cmd.Parameters.Add(new NpgsqlParameter { Value = Scope, NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new NpgsqlParameter { Value = Key, NpgsqlDbType = NpgsqlDbType.Text });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            if (await reader.ReadAsync(ct))
            {
                var resp = new PgrstResponse { Status = reader.GetInt32(0) };
                using (var doc = JsonDocument.Parse(reader.GetString(1)))
                    foreach (var pair in doc.RootElement.EnumerateArray())
                        resp.Headers.Add(new(pair[0].GetString()!, pair[1].GetString()!));
                resp.Headers.Add(new(ReplayedHeader, "true"));
                resp.Body = reader.GetFieldValue<byte[]>(2);
                return new IdempotentReplay(resp);
            }
            // Expired between the two statements: as good as in flight, a retry proceeds.
        }
        return new ApiError(409, InFlightCode, "A request with this Idempotency-Key is still being processed",
            null, ApiError.Str("Retry later with the same key: the stored response is sent once the first request is done"),
            [new("Retry-After", "1")]);
    }
}

/// <summary>The stored response to a repeated <c>Idempotency-Key</c>: not an error, the answer (Pipeline returns it).</summary>
internal sealed class IdempotentReplay(PgrstResponse response) : Exception("idempotent replay")
{
    public PgrstResponse Response { get; } = response;
}
