namespace Restgres.Schedules;

/// <summary>
/// The database side of schedules (docs/schedules.md), part of <see cref="Execution.RestgresSchema"/>: the run log and
/// the two functions that write it. <c>run_scheduled</c> runs a job's SQL as its caller (pg_cron's job owner, or the
/// server's authenticator) and never fails: an error is caught, so that the job's work is rolled back but its failure
/// is logged. Only <c>record_scheduled_run</c> is SECURITY DEFINER, so callers append to the log and read nothing.
/// </summary>
internal static class ScheduleSchema
{
    public const string Sql = """
        -- Restgres schedules (server-schedules-file); see docs/schedules.md.
        -- Run as a role that may create schemas, then:
        --   grant usage on schema restgres to <authenticator>;
        --   grant execute on function restgres.run_scheduled(text, text, text, timestamptz, text),
        --     restgres.record_scheduled_run(text, text, timestamptz, timestamptz, text, bigint, text) to <authenticator>;
        create schema if not exists restgres;

        create table if not exists restgres.schedule_runs (
          id bigint generated always as identity primary key,
          job text not null,
          runner text not null,
          scheduled_for timestamptz,
          started_at timestamptz not null,
          finished_at timestamptz not null,
          status text not null check (status in ('ok', 'failed')),
          rows bigint,
          error text
        );
        create index if not exists schedule_runs_job_started_at on restgres.schedule_runs (job, started_at desc);
        revoke all on restgres.schedule_runs from public;

        create or replace function restgres.record_scheduled_run(p_job text, p_runner text, p_scheduled_for timestamptz,
          p_started_at timestamptz, p_status text, p_rows bigint, p_error text)
        returns bigint
        language sql security definer set search_path = pg_catalog, pg_temp
        as $$
          insert into restgres.schedule_runs (job, runner, scheduled_for, started_at, finished_at, status, rows, error)
          values (p_job, p_runner, p_scheduled_for, p_started_at, clock_timestamp(), p_status, p_rows, left(p_error, 4000))
          returning id
        $$;
        revoke all on function restgres.record_scheduled_run(text, text, timestamptz, timestamptz, text, bigint, text) from public;

        -- One run of a SQL job: the statement (as p_role when given) in a subtransaction, then its log row. Returns
        -- the status, the statement's row count and the error.
        create or replace function restgres.run_scheduled(p_job text, p_sql text, p_role text default null,
          p_scheduled_for timestamptz default null, p_runner text default 'pg_cron',
          out status text, out rows bigint, out error text)
        language plpgsql
        as $$
        declare
          started timestamptz := clock_timestamp();
          caller text := current_user;
        begin
          begin
            if p_role is not null then
              execute format('set local role %I', p_role);
            end if;
            execute p_sql;
            get diagnostics rows = row_count;
            status := 'ok';
          exception when others then
            status := 'failed';
            rows := null;
            error := sqlerrm || ' (SQLSTATE ' || sqlstate || ')';
          end;
          -- The log is written as the caller (who may execute record_scheduled_run), not as the job's role.
          execute format('set local role %I', caller);
          perform restgres.record_scheduled_run(p_job, p_runner, p_scheduled_for, started, status, rows, error);
        end
        $$;
        revoke all on function restgres.run_scheduled(text, text, text, timestamptz, text) from public;
        """;
}
