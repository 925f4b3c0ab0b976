namespace Restgres.Execution;

/// <summary>
/// The database side of <c>server-idempotency</c> (docs/idempotency.md), part of <see cref="RestgresSchema"/>. The
/// functions run as the authenticator (before the request's role is set, and after <c>RESET ROLE</c>), so only the
/// authenticator needs EXECUTE and request roles never see the stored responses.
/// </summary>
internal static class IdempotencySchema
{
    /// <summary>Raised by <c>idempotency_begin</c>: a transaction holding the same key has not ended.</summary>
    public const string InFlight = "RG409";
    /// <summary>Raised by <c>idempotency_begin</c>: the key was used for a request with another fingerprint.</summary>
    public const string Mismatch = "RG422";
    /// <summary>Raised by <c>idempotency_begin</c>: a stored response is the answer (read by <c>idempotency_replay</c>).</summary>
    public const string Replay = "RG200";

    public const string Sql = """
        -- Restgres idempotency keys (server-idempotency); see docs/idempotency.md.
        -- Run as a role that may create schemas, then:
        --   grant usage on schema restgres to <authenticator>;
        --   grant execute on function restgres.idempotency_begin(text, text, bytea),
        --     restgres.idempotency_finish(text, text, bytea, bigint, integer, jsonb, bytea),
        --     restgres.idempotency_replay(text, text) to <authenticator>;
        create schema if not exists restgres;

        create table if not exists restgres.idempotency_keys (
          scope text not null,
          key text not null,
          fingerprint bytea not null,
          status integer not null,
          headers jsonb not null,
          body bytea not null,
          created_at timestamptz not null,
          expires_at timestamptz not null,
          primary key (scope, key)
        );
        create index if not exists idempotency_keys_expires_at on restgres.idempotency_keys (expires_at);
        revoke all on restgres.idempotency_keys from public;

        -- First statement of an idempotent request's transaction. A transaction-scoped advisory lock on the key marks
        -- the request in flight until its transaction ends: a second request with the key meanwhile fails at once
        -- (RG409) instead of waiting. Otherwise a live stored response is either another request's (RG422) or the
        -- answer (RG200); an expired one is deleted and the request proceeds. Now and then expired rows are pruned.
        create or replace function restgres.idempotency_begin(p_scope text, p_key text, p_fingerprint bytea)
        returns void
        language plpgsql security definer set search_path = pg_catalog, pg_temp
        as $$
        declare
          stored bytea;
          expires timestamptz;
        begin
          if not pg_try_advisory_xact_lock(hashtextextended('restgres.idempotency' || chr(10) || p_scope || chr(10) || p_key, 0)) then
            raise sqlstate 'RG409' using message = 'idempotency key in flight';
          end if;
          select k.fingerprint, k.expires_at into stored, expires
            from restgres.idempotency_keys k where k.scope = p_scope and k.key = p_key;
          if found then
            if expires <= clock_timestamp() then
              delete from restgres.idempotency_keys k where k.scope = p_scope and k.key = p_key;
            elsif stored <> p_fingerprint then
              raise sqlstate 'RG422' using message = 'idempotency key reused';
            else
              raise sqlstate 'RG200' using message = 'idempotency key replayed';
            end if;
          end if;
          if random() < 0.01 then
            delete from restgres.idempotency_keys k where k.ctid in (
              select e.ctid from restgres.idempotency_keys e where e.expires_at < clock_timestamp() limit 100);
          end if;
        end
        $$;
        revoke all on function restgres.idempotency_begin(text, text, bytea) from public;

        -- Last statement before COMMIT: the response the client gets, kept p_ttl_ms milliseconds. A plain insert: should
        -- a row appear meanwhile (not possible under the advisory lock, but cheap to guard), the write fails instead of
        -- happening twice.
        create or replace function restgres.idempotency_finish(p_scope text, p_key text, p_fingerprint bytea,
          p_ttl_ms bigint, p_status integer, p_headers jsonb, p_body bytea)
        returns void
        language sql security definer set search_path = pg_catalog, pg_temp
        as $$
          insert into restgres.idempotency_keys (scope, key, fingerprint, status, headers, body, created_at, expires_at)
          values (p_scope, p_key, p_fingerprint, p_status, p_headers, p_body, clock_timestamp(),
                  clock_timestamp() + p_ttl_ms * interval '1 millisecond');
        $$;
        revoke all on function restgres.idempotency_finish(text, text, bytea, bigint, integer, jsonb, bytea) from public;

        -- The stored response of a live key (after idempotency_begin raised RG200).
        create or replace function restgres.idempotency_replay(p_scope text, p_key text)
        returns table (status integer, headers jsonb, body bytea)
        language sql stable security definer set search_path = pg_catalog, pg_temp
        as $$
          select k.status, k.headers, k.body from restgres.idempotency_keys k
           where k.scope = p_scope and k.key = p_key and k.expires_at > clock_timestamp();
        $$;
        revoke all on function restgres.idempotency_replay(text, text) from public;
        """;
}
