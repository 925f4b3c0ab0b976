namespace Restgres.Execution;

/// <summary>
/// Restgres's own schema, <c>restgres</c>, as one script printed by <c>restgres --schema-sql</c>: the tables and
/// SECURITY DEFINER functions of the features that keep state in PostgreSQL so every instance shares it (shared rate
/// limits, idempotency keys, durable jobs, the schedules' run log). Every part is idempotent (<c>if not exists</c>,
/// <c>create or replace</c>), so running the whole script again after an upgrade installs what is new. Restgres never
/// runs it on its own: the authenticator usually may not create schemas.
/// </summary>
internal static class RestgresSchema
{
    public static readonly string Sql = RateLimiting.RateLimitSchema.Sql + "\n\n" + IdempotencySchema.Sql + "\n\n" + Jobs.JobsSchema.Sql
        + "\n\n" + Schedules.ScheduleSchema.Sql;
}
