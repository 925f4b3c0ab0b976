namespace Restgres.Jobs;

/// <summary>
/// The database side of durable jobs (docs/jobs.md), part of <see cref="Execution.RestgresSchema"/>. Jobs live in
/// PostgreSQL next to the data: <c>restgres.enqueue</c> inserts one in the caller's transaction, so a job commits or
/// rolls back with the row that needs it. The worker functions (<c>job_claim</c>, <c>job_finish</c>, ...) are not
/// SECURITY DEFINER: they run as the worker's connection role, as do the handler and the attempt function they call,
/// with the session's search_path.
/// </summary>
internal static class JobsSchema
{
    /// <summary>The LISTEN/NOTIFY channel <c>enqueue</c> notifies (payload: the queue name).</summary>
    public const string Channel = "restgres_jobs";

    public const string Sql = """
        -- Restgres durable jobs; see docs/jobs.md.
        -- Run as a role that may create schemas, then, for the role the workers connect as (the authenticator):
        --   grant usage on schema restgres to <authenticator>;
        --   grant select, insert, update, delete on restgres.job_queues, restgres.jobs, restgres.job_attempts to <authenticator>;
        --   grant usage on all sequences in schema restgres to <authenticator>;
        -- and, for the roles whose functions enqueue:
        --   grant usage on schema restgres to <role>;
        --   grant execute on function restgres.enqueue(text, jsonb, timestamptz, integer, integer, text) to <role>;
        create schema if not exists restgres;

        create table if not exists restgres.job_queues (
          name text primary key,
          handler text not null check (handler in ('sql', 'http')),
          target text not null,
          options jsonb not null default '{}',
          concurrency integer not null default 1 check (concurrency > 0),
          timeout_ms integer not null default 30000 check (timeout_ms > 0),
          max_attempts integer not null default 5 check (max_attempts > 0),
          backoff_ms integer not null default 1000 check (backoff_ms >= 0),
          max_backoff_ms integer not null default 600000 check (max_backoff_ms >= 0),
          attempt_function text,
          retention interval not null default '7 days',
          created_at timestamptz not null default clock_timestamp(),
          updated_at timestamptz not null default clock_timestamp()
        );
        revoke all on restgres.job_queues from public;

        create table if not exists restgres.jobs (
          id bigint generated always as identity primary key,
          queue text not null references restgres.job_queues (name) on update cascade,
          payload jsonb not null,
          state text not null default 'available'
            check (state in ('available', 'running', 'completed', 'discarded', 'cancelled')),
          priority integer not null default 0,
          run_at timestamptz not null,
          attempts integer not null default 0,
          max_attempts integer not null check (max_attempts > 0),
          unique_key text,
          lease_until timestamptz,
          worker text,
          last_error text,
          created_at timestamptz not null default clock_timestamp(),
          started_at timestamptz,
          finished_at timestamptz,
          updated_at timestamptz not null default clock_timestamp()
        );
        -- The claim's scan: available jobs of a queue, highest priority first, then oldest.
        create index if not exists jobs_claim on restgres.jobs (queue, priority desc, run_at, id) where state = 'available';
        -- The reaper's scan: leases that ran out.
        create index if not exists jobs_lease on restgres.jobs (lease_until) where state = 'running';
        -- One live job per (queue, unique_key): enforced by the index, so two concurrent enqueues cannot both insert.
        create unique index if not exists jobs_unique_key on restgres.jobs (queue, unique_key)
          where unique_key is not null and state in ('available', 'running');
        -- Pruning after the queue's retention.
        create index if not exists jobs_finished on restgres.jobs (queue, finished_at) where state = 'completed';
        revoke all on restgres.jobs from public;

        create table if not exists restgres.job_attempts (
          id bigint generated always as identity primary key,
          job_id bigint not null references restgres.jobs (id) on delete cascade,
          attempt integer not null,
          state text not null check (state in ('completed', 'retrying', 'discarded')),
          status integer,
          started_at timestamptz,
          finished_at timestamptz not null default clock_timestamp(),
          latency_ms integer,
          excerpt text,
          error text,
          worker text
        );
        create index if not exists job_attempts_job on restgres.job_attempts (job_id, attempt);
        revoke all on restgres.job_attempts from public;

        -- A function's qualified, quoted name from a name as a user writes it ('app.f', 'f', '"My F"'), resolved with
        -- the caller's search_path and checked to take the given argument types; null when there is no such function.
        create or replace function restgres.job_function_name(p_name text, p_args text)
        returns text
        language sql stable
        as $$
          select quote_ident(n.nspname) || '.' || quote_ident(p.proname)
            from pg_proc p join pg_namespace n on n.oid = p.pronamespace
           where p.oid = to_regprocedure(p_name || '(' || p_args || ')');
        $$;

        -- Creates or updates a queue. handler 'sql': target is a function f(payload jsonb) run in the transaction that
        -- completes the job; handler 'http': target is the URL the payload is POSTed to. See docs/jobs.md for options.
        create or replace function restgres.define_queue(name text, handler text, target text, options jsonb default '{}')
        returns void
        language plpgsql
        as $$
        #variable_conflict use_column
        declare
          known constant text[] := array['concurrency', 'timeout_ms', 'max_attempts', 'backoff_ms', 'max_backoff_ms',
            'headers', 'secret_env', 'body_key', 'attempt_function', 'retention', 'batch_size'];
          k text;
          fn text;
          attempt_fn text;
          o jsonb := coalesce(options, '{}');
        begin
          if name is null or name = '' then
            raise exception using errcode = '22023', message = 'restgres.define_queue: the queue name is empty';
          end if;
          if jsonb_typeof(o) <> 'object' then
            raise exception using errcode = '22023', message = 'restgres.define_queue: options must be a JSON object';
          end if;
          for k in select jsonb_object_keys(o) loop
            if not k = any(known) then
              raise exception using errcode = '22023',
                message = format('restgres.define_queue: unknown option "%s" for queue "%s"', k, name),
                hint = 'known options: ' || array_to_string(known, ', ');
            end if;
          end loop;
          if handler = 'sql' then
            fn := restgres.job_function_name(target, 'jsonb');
            if fn is null then
              raise exception using errcode = '42883',
                message = format('restgres.define_queue: queue "%s": no function %s(jsonb)', name, target),
                hint = 'an sql queue''s target is a function taking the payload as one jsonb argument';
            end if;
          elsif handler = 'http' then
            if target !~* '^https?://' then
              raise exception using errcode = '22023',
                message = format('restgres.define_queue: queue "%s": target "%s" is not an http(s) URL', name, target);
            end if;
            fn := target;
          else
            raise exception using errcode = '22023',
              message = format('restgres.define_queue: queue "%s": unknown handler "%s"', name, handler),
              hint = 'handler is ''sql'' (target: a function f(jsonb)) or ''http'' (target: a URL)';
          end if;
          if o ? 'attempt_function' then
            attempt_fn := restgres.job_function_name(o->>'attempt_function', 'jsonb, jsonb');
            if attempt_fn is null then
              raise exception using errcode = '42883',
                message = format('restgres.define_queue: queue "%s": no function %s(jsonb, jsonb)', name, o->>'attempt_function'),
                hint = 'attempt_function is f(job jsonb, outcome jsonb)';
            end if;
          end if;
          if coalesce((o->>'batch_size')::integer, 1) not between 1 and 1000 then
            raise exception using errcode = '22023',
              message = format('restgres.define_queue: queue "%s": batch_size must be from 1 to 1000', name);
          end if;
          if o ? 'headers' and jsonb_typeof(o->'headers') <> 'object' then
            raise exception using errcode = '22023',
              message = format('restgres.define_queue: queue "%s": headers must be a JSON object of strings', name);
          end if;
          insert into restgres.job_queues as q (name, handler, target, options, concurrency, timeout_ms, max_attempts,
                                                backoff_ms, max_backoff_ms, attempt_function, retention)
          values (define_queue.name, define_queue.handler, fn, o,
                  coalesce((o->>'concurrency')::integer, 1),
                  coalesce((o->>'timeout_ms')::integer, 30000),
                  coalesce((o->>'max_attempts')::integer, 5),
                  coalesce((o->>'backoff_ms')::integer, 1000),
                  coalesce((o->>'max_backoff_ms')::integer, 600000),
                  attempt_fn,
                  coalesce((o->>'retention')::interval, interval '7 days'))
          on conflict (name) do update set
            handler = excluded.handler, target = excluded.target, options = excluded.options,
            concurrency = excluded.concurrency, timeout_ms = excluded.timeout_ms, max_attempts = excluded.max_attempts,
            backoff_ms = excluded.backoff_ms, max_backoff_ms = excluded.max_backoff_ms,
            attempt_function = excluded.attempt_function, retention = excluded.retention,
            updated_at = clock_timestamp();
          -- Running workers re-read their queues.
          perform pg_notify('restgres_jobs', '');
        end
        $$;
        revoke all on function restgres.define_queue(text, text, text, jsonb) from public;

        -- Adds a job in the caller's transaction and returns its id. With a unique_key, while a job of the queue with
        -- that key is live (available or running) no second one is added: the live job's id is returned instead.
        create or replace function restgres.enqueue(queue text, payload jsonb, run_at timestamptz default now(),
          priority integer default 0, max_attempts integer default null, unique_key text default null)
        returns bigint
        language plpgsql security definer set search_path = pg_catalog, pg_temp
        as $$
        #variable_conflict use_column
        declare
          queue_max integer;
          new_id bigint;
        begin
          select q.max_attempts into queue_max from restgres.job_queues q where q.name = enqueue.queue;
          if not found then
            raise exception using errcode = '22023',
              message = format('unknown job queue "%s"', enqueue.queue),
              hint = 'define it first with restgres.define_queue(name, handler, target, options)';
          end if;
          if max_attempts is not null and max_attempts < 1 then
            raise exception using errcode = '22023', message = 'max_attempts must be at least 1';
          end if;
          -- The loop covers a race: the live duplicate may finish between the conflict and the look-up.
          for i in 1..10 loop
            insert into restgres.jobs as j (queue, payload, run_at, priority, max_attempts, unique_key)
            values (enqueue.queue, coalesce(enqueue.payload, 'null'), coalesce(enqueue.run_at, now()),
                    coalesce(enqueue.priority, 0), coalesce(enqueue.max_attempts, queue_max), enqueue.unique_key)
            on conflict (queue, unique_key) where unique_key is not null and state in ('available', 'running') do nothing
            returning j.id into new_id;
            if new_id is not null then
              perform pg_notify('restgres_jobs', enqueue.queue);
              return new_id;
            end if;
            select j.id into new_id from restgres.jobs j
             where j.queue = enqueue.queue and j.unique_key = enqueue.unique_key and j.state in ('available', 'running');
            if new_id is not null then return new_id; end if;
          end loop;
          raise exception using errcode = '40001', message = 'restgres.enqueue: unique_key kept conflicting';
        end
        $$;
        revoke all on function restgres.enqueue(text, jsonb, timestamptz, integer, integer, text) from public;

        -- The job as an attempt function sees it.
        create or replace function restgres.job_json(j restgres.jobs)
        returns jsonb
        language sql immutable set search_path = pg_catalog, pg_temp
        as $$
          select jsonb_build_object('id', j.id, 'queue', j.queue, 'payload', j.payload, 'attempt', j.attempts,
                                    'max_attempts', j.max_attempts);
        $$;

        -- Calls the queue's attempt function, if it has one, with the job and an outcome.
        create or replace function restgres.job_notify_attempt(p_function text, j restgres.jobs, p_outcome jsonb)
        returns void
        language plpgsql
        as $$
        begin
          if p_function is not null then
            execute format('select %s($1, $2)', p_function) using restgres.job_json(j), p_outcome;
          end if;
        end
        $$;

        -- Claims up to p_limit due jobs of a queue for p_worker with a lease of p_lease_ms (renewed by
        -- job_heartbeat); each claimed job's attempt function is told 'running' in this transaction.
        create or replace function restgres.job_claim(p_queue text, p_limit integer, p_lease_ms integer, p_worker text)
        returns table (id bigint, payload jsonb, attempt integer, max_attempts integer)
        language plpgsql
        as $$
        declare
          j restgres.jobs;
          fn text;
        begin
          select q.attempt_function into fn from restgres.job_queues q where q.name = p_queue;
          for j in
            update restgres.jobs u
               set state = 'running', attempts = u.attempts + 1, worker = p_worker,
                   lease_until = clock_timestamp() + p_lease_ms * interval '1 millisecond',
                   started_at = clock_timestamp(), updated_at = clock_timestamp()
              from (select c.id from restgres.jobs c
                     where c.queue = p_queue and c.state = 'available' and c.run_at <= clock_timestamp()
                     order by c.priority desc, c.run_at, c.id
                     limit p_limit
                     for update skip locked) c
             where u.id = c.id
            returning u.*
          loop
            if fn is not null then
              perform restgres.job_notify_attempt(fn, j, jsonb_build_object('state', 'running', 'status', null,
                'body', null, 'latency_ms', null, 'error', null));
            end if;
            id := j.id; payload := j.payload; attempt := j.attempts; max_attempts := j.max_attempts;
            return next;
          end loop;
        end
        $$;

        -- Records the end of attempt p_attempt of job p_id: p_result 'completed', 'retry' (retried after a backoff
        -- unless it was the last attempt) or 'discard'. Returns the job's new state, or null when the job is no
        -- longer this attempt's (its lease ran out and it was taken over, or it was cancelled): the attempt is still
        -- recorded but the job is left alone, and for an sql handler the caller rolls back.
        create or replace function restgres.job_finish(p_id bigint, p_attempt integer, p_result text,
          p_status integer default null, p_body jsonb default null, p_latency_ms integer default null,
          p_error text default null, p_retry_after_ms integer default null)
        returns text
        language plpgsql
        as $$
        declare
          j restgres.jobs;
          q restgres.job_queues;
          next_state text;
          delay_ms double precision;
          excerpt text;
        begin
          excerpt := case when p_body is null then null
                          when jsonb_typeof(p_body) = 'string' then left(p_body #>> '{}', 2000)
                          else left(p_body::text, 2000) end;
          select * into j from restgres.jobs where id = p_id and state = 'running' and attempts = p_attempt for update;
          if not found then
            insert into restgres.job_attempts (job_id, attempt, state, status, latency_ms, excerpt, error, started_at)
            select p_id, p_attempt, case when p_result = 'completed' then 'completed' else 'discarded' end, p_status,
                   p_latency_ms, excerpt, coalesce(p_error || '; ', '') || 'job was no longer held by this attempt',
                   clock_timestamp() - coalesce(p_latency_ms, 0) * interval '1 millisecond'
             where exists (select from restgres.jobs where id = p_id);
            return null;
          end if;
          select * into q from restgres.job_queues where name = j.queue;
          next_state := case when p_result = 'completed' then 'completed'
                             when p_result = 'retry' and j.attempts < j.max_attempts then 'retrying'
                             else 'discarded' end;
          insert into restgres.job_attempts (job_id, attempt, state, status, latency_ms, excerpt, error, worker, started_at)
          values (j.id, j.attempts, next_state, p_status, p_latency_ms, excerpt, p_error, j.worker, j.started_at);
          if next_state = 'retrying' then
            -- Exponential backoff with jitter: a random delay between half and all of backoff * 2^(attempt-1), capped;
            -- a server's Retry-After, when longer, wins.
            delay_ms := least(q.max_backoff_ms::double precision, q.backoff_ms * power(2, j.attempts - 1)) * (0.5 + random() / 2);
            delay_ms := greatest(delay_ms, coalesce(p_retry_after_ms, 0));
            update restgres.jobs set state = 'available', run_at = clock_timestamp() + delay_ms * interval '1 millisecond',
                   lease_until = null, worker = null, last_error = p_error, updated_at = clock_timestamp()
             where id = j.id returning * into j;
          else
            update restgres.jobs set state = next_state, lease_until = null, last_error = p_error,
                   finished_at = clock_timestamp(), updated_at = clock_timestamp()
             where id = j.id returning * into j;
          end if;
          if q.attempt_function is not null then
            perform restgres.job_notify_attempt(q.attempt_function, j, jsonb_build_object('state', next_state,
              'status', p_status, 'body', p_body, 'latency_ms', p_latency_ms, 'error', p_error));
          end if;
          return next_state;
        end
        $$;

        -- An sql queue's step, in the caller's transaction: claims a due job, calls the handler on it inside a
        -- subtransaction and records the outcome, up to p_limit jobs (the queue's batch_size) one after the other. The
        -- handlers' effects and the jobs' completions commit together (exactly once); an exception in a handler (a
        -- statement_timeout included) rolls back to its subtransaction and is recorded as a failed attempt: retried,
        -- or discarded when its SQLSTATE is of class 22 (data exception: the payload is bad, trying again cannot
        -- help) or RGJ01 (the handler rejects the job). After a timeout no further job is claimed: the caller's
        -- statement_timeout covers the whole step.
        drop function if exists restgres.job_run_sql(text, text, integer);
        create or replace function restgres.job_run_sql(p_queue text, p_worker text, p_lease_ms integer, p_limit integer default 1)
        returns table (id bigint, attempt integer, state text, latency_ms integer, error text)
        language plpgsql
        as $$
        declare
          c record;
          fn text;
          t0 timestamptz;
          code text;
          msg text;
        begin
          select q.target into fn from restgres.job_queues q where q.name = p_queue and q.handler = 'sql';
          if fn is null then return; end if;
          for i in 1..p_limit loop
            select * into c from restgres.job_claim(p_queue, 1, p_lease_ms, p_worker);
            exit when not found;
            t0 := clock_timestamp();
            code := null;
            begin
              execute format('select %s($1)', fn) using c.payload;
            exception when others or query_canceled then
              get stacked diagnostics code = returned_sqlstate, msg = message_text;
            end;
            latency_ms := (extract(epoch from clock_timestamp() - t0) * 1000)::integer;
            error := case when code is null then null
                          when code = '57014' then 'canceled (statement_timeout): ' || msg
                          else msg || ' (SQLSTATE ' || code || ')' end;
            state := restgres.job_finish(c.id, c.attempt,
              case when code is null then 'completed' when code like '22%' or code = 'RGJ01' then 'discard' else 'retry' end,
              null, null, latency_ms, error);
            id := c.id;
            attempt := c.attempt;
            return next;
            exit when code = '57014';
          end loop;
        end
        $$;

        -- Renews the leases of the jobs p_worker still runs; returns the ids it no longer holds.
        create or replace function restgres.job_heartbeat(p_worker text, p_ids bigint[], p_lease_ms integer)
        returns bigint[]
        language sql
        as $$
          with renewed as (
            update restgres.jobs set lease_until = clock_timestamp() + p_lease_ms * interval '1 millisecond'
             where id = any(p_ids) and state = 'running' and worker = p_worker
            returning id)
          select coalesce(array_agg(i), '{}') from unnest(p_ids) i where i not in (select id from renewed);
        $$;

        -- Jobs whose lease ran out (their worker died or lost the database): each such attempt is recorded as
        -- failed and the job made available again at once, or discarded after its last attempt. Also prunes
        -- completed jobs older than their queue's retention. Returns the number of jobs taken back.
        create or replace function restgres.job_reap(p_limit integer default 100)
        returns integer
        language plpgsql
        as $$
        declare
          j restgres.jobs;
          n integer := 0;
        begin
          for j in select * from restgres.jobs
                    where state = 'running' and lease_until < clock_timestamp()
                    order by lease_until limit p_limit for update skip locked loop
            perform restgres.job_finish(j.id, j.attempts, 'retry', null, null, null,
              format('lease expired (worker %s stopped renewing it)', j.worker), 0);
            update restgres.jobs set run_at = clock_timestamp() where id = j.id and state = 'available';
            n := n + 1;
          end loop;
          delete from restgres.jobs d where d.id in (
            select c.id from restgres.jobs c join restgres.job_queues q on q.name = c.queue
             where c.state = 'completed' and c.finished_at < clock_timestamp() - q.retention
             limit 1000 for update skip locked);
          return n;
        end
        $$;

        -- Admin: makes a discarded, cancelled or completed job available again now, with a fresh round of attempts.
        create or replace function restgres.job_retry(p_id bigint)
        returns restgres.jobs
        language sql
        as $$
          update restgres.jobs j set state = 'available', run_at = clock_timestamp(), finished_at = null,
                 max_attempts = j.attempts + q.max_attempts, updated_at = clock_timestamp()
            from restgres.job_queues q
           where j.id = p_id and q.name = j.queue and j.state in ('discarded', 'cancelled', 'completed')
          returning j.*;
        $$;

        -- Admin: cancels an available or running job (a running job's attempt still ends, but it is not retried).
        create or replace function restgres.job_cancel(p_id bigint)
        returns restgres.jobs
        language sql
        as $$
          update restgres.jobs set state = 'cancelled', lease_until = null, finished_at = clock_timestamp(),
                 updated_at = clock_timestamp()
           where id = p_id and state in ('available', 'running')
          returning *;
        $$;
        """;
}
