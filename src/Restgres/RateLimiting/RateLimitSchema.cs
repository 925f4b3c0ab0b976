namespace Restgres.RateLimiting;

/// <summary>
/// The database side of <c>server-rate-limit-store = database</c>, printed by <c>restgres --rate-limit-sql</c>. Run it
/// once as a role that may create schemas (the authenticator usually may not, so Restgres never creates it on its own),
/// then grant the authenticator the right to call the function. Unlogged: the counts are minutes old at most and need
/// no WAL; a crash forgets them, which only refills everyone's buckets.
/// </summary>
internal static class RateLimitSchema
{
    public const string Sql = """
        -- Restgres shared rate limits (server-rate-limit-store = database); see docs/rate-limits.md.
        -- Run as a role that may create schemas, then:
        --   grant usage on schema restgres to <authenticator>;
        --   grant execute on function restgres.rate_limit_lease(text, text, integer, bigint, integer) to <authenticator>;
        create schema if not exists restgres;

        create unlogged table if not exists restgres.rate_limit_leases (
          policy text not null,
          key text not null,
          window_start bigint not null,
          window_end bigint not null,
          used integer not null,
          primary key (policy, key)
        );
        revoke all on restgres.rate_limit_leases from public;

        -- Grants up to p_want of the p_quota requests of the current window (fixed windows of p_window_ms, on the
        -- database's clock, the one clock every instance shares) to (p_policy, p_key). Returns what was granted, what
        -- is left in the window after that, and the milliseconds until the window ends. Now and then it deletes rows
        -- of windows long over, so the table holds only the keys of the last minutes.
        create or replace function restgres.rate_limit_lease(
          p_policy text, p_key text, p_quota integer, p_window_ms bigint, p_want integer,
          out granted integer, out remaining bigint, out reset_ms bigint)
        language plpgsql security definer set search_path = pg_catalog, pg_temp
        as $$
        declare
          now_ms bigint := (extract(epoch from clock_timestamp()) * 1000)::bigint;
          ws bigint := now_ms - now_ms % p_window_ms;
          old_used integer;
          old_start bigint;
        begin
          if p_quota < 1 or p_window_ms < 1 or p_want < 0 then
            raise exception 'restgres.rate_limit_lease: invalid arguments';
          end if;
          loop
            select l.used, l.window_start into old_used, old_start
              from restgres.rate_limit_leases l where l.policy = p_policy and l.key = p_key for update;
            if found then
              if old_start <> ws then old_used := 0; end if;
              granted := greatest(0, least(p_want, p_quota - old_used));
              update restgres.rate_limit_leases l
                 set used = old_used + granted, window_start = ws, window_end = ws + p_window_ms
               where l.policy = p_policy and l.key = p_key;
              exit;
            end if;
            granted := least(p_want, p_quota);
            insert into restgres.rate_limit_leases (policy, key, window_start, window_end, used)
              values (p_policy, p_key, ws, ws + p_window_ms, granted)
              on conflict do nothing;
            if found then old_used := 0; exit; end if;
            -- Another session inserted the row first: take the update path.
          end loop;
          remaining := p_quota - old_used - granted;
          reset_ms := ws + p_window_ms - now_ms;
          if random() < 0.001 then
            delete from restgres.rate_limit_leases l where l.window_end < now_ms - 60000;
          end if;
        end
        $$;
        revoke all on function restgres.rate_limit_lease(text, text, integer, bigint, integer) from public;
        """;
}
