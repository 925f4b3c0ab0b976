using Restgres.Check;
using Restgres.Tests.Infrastructure;
using Xunit;

namespace Restgres.Tests.Check;

/// <summary>The expectations file against a real database: what holds passes, and each kind of difference is a
/// mismatch naming the file's line, the object and what was found.</summary>
[Collection("pg")]
public sealed class ExpectationCheckTests(PgClusterFixture pg) : IAsyncLifetime
{
    private const string Schema = LintTests.Roles + """
        create type api.mood as enum ('good', 'bad');
        create table api.readings (
          id bigint generated always as identity primary key,
          taken_at timestamptz not null,
          value numeric(6,1) not null,
          label varchar(20),
          mood api.mood,
          tags text[] not null default '{}'
        );
        alter table api.readings enable row level security;
        create policy own_rows on api.readings for select to chk_user using (true);
        grant select, insert on api.readings to chk_user;
        create view api.latest with (security_invoker = on) as select id, value from api.readings;
        grant select on api.latest to chk_user;
        create function api.add(a int, b int) returns int language sql immutable as 'select a + b';
        create function api.add(a numeric, b numeric) returns numeric language sql immutable as 'select a + b';
        create function api.readings_since(t timestamptz) returns setof api.readings language sql stable as 'select * from api.readings where taken_at >= t';
        revoke execute on function api.add(int, int) from public;
        grant execute on function api.add(int, int) to chk_user;
        """;

    private TestDatabase? _db;

    private TestDatabase Db => _db ?? throw new InvalidOperationException("not initialised");

    public async Task InitializeAsync() => _db = await pg.CreateDatabaseAsync(Schema);

    public async Task DisposeAsync()
    {
        if (_db is not null) await _db.DropAsync();
    }

    [Fact]
    public async Task Expectations_that_hold_give_no_mismatch_with_aliases_for_types()
    {
        var report = await CheckAsync("""
            schema api
              grant usage to chk_user, chk_anon
              no grant create to chk_user

            table api.readings
              column id int8 not null
              column taken_at timestamptz not null
              column value numeric(6,1) not null
              column label varchar(20) null
              column mood api.mood
              column tags text[] not null
              rls on
              policy own_rows for select to chk_user
              grant select, insert to chk_user
              no grant update, delete to chk_user
              no grant select to chk_anon, public

            view api.latest
              column id bigint
              column value numeric
              grant select to chk_user

            function api.add(int, int)
              returns integer
              security invoker
              grant execute to chk_user
              no grant execute to chk_anon, public

            function api.add(numeric, numeric)
              grant execute to public

            function api.readings_since(timestamp with time zone)
              returns setof api.readings
            """);

        Assert.Empty(report.Mismatches);
        Assert.Equal(33, report.Checked);
    }

    [Fact]
    public async Task Each_difference_is_a_mismatch_with_its_line_and_what_was_found()
    {
        var report = await CheckAsync("""
            table api.missing
            table api.latest
            view api.readings
            table api.readings
              column value double precision not null
              column label varchar(20) not null
              column taken_at timestamptz null
              column nope text
              column value numeric(8,2)
              column mood mood
              rls forced
              policy own_rows for all to chk_anon
              policy other_rows
              grant delete to chk_user
              no grant insert to chk_user
              grant select to ghost_role
            function api.add(text, text)
              grant execute to chk_user
            function api.nothing_here()
            function api.readings_since(timestamptz)
              returns api.readings
              security definer
            function api.add(int, int)
              no grant execute to chk_user
            schema nowhere
            """);

        Assert.Equal(
        [
            "1 api.missing: table api.missing does not exist",
            "2 api.latest: api.latest is a view, not a table",
            "3 api.readings: api.readings is a table, not a view",
            "5 api.readings.value: column value is numeric(6,1), expected double precision",
            "6 api.readings.label: column label is nullable, expected not null",
            "7 api.readings.taken_at: column taken_at is not null, expected null",
            "8 api.readings.nope: column nope does not exist (columns: id, taken_at, value, label, mood, tags)",
            "9 api.readings.value: column value is numeric(6,1), expected numeric(8,2)",
            "10 api.readings.mood: type mood does not exist (name types of your own with their schema, as in api.mood)",
            "11 api.readings: row level security is on, expected forced",
            "12 api.readings.own_rows: policy own_rows is for select, expected for all",
            "12 api.readings.own_rows: policy own_rows applies to chk_user, expected chk_anon",
            "13 api.readings.other_rows: policy other_rows does not exist on api.readings (policies: own_rows)",
            "14 api.readings: chk_user lacks delete on table api.readings",
            "15 api.readings: chk_user has insert on table api.readings, expected not",
            "16 api.readings: role ghost_role does not exist",
            "17 api.add(text, text): function api.add(text, text) does not exist; there is api.add(integer, integer), api.add(numeric, numeric)",
            "19 api.nothing_here(): function api.nothing_here() does not exist",
            "21 api.readings_since(timestamptz): returns setof api.readings, expected api.readings",
            "22 api.readings_since(timestamptz): is security invoker, expected security definer",
            "24 api.add(int, int): chk_user has execute on function api.add(int, int), expected not",
            "25 nowhere: schema nowhere does not exist",
        ], report.Mismatches.Select(m => $"{m.Line} {m.Object}: {m.Message}"));
    }

    [Fact]
    public async Task A_signature_PostgreSQL_cannot_read_is_a_mismatch_and_the_check_goes_on()
    {
        var report = await CheckAsync("""
            function api.add(int int, ,)
            table api.readings
              column value numeric(6
            table api.readings_gone
            """);

        Assert.Collection(report.Mismatches,
            m => Assert.Equal((1, true), (m.Line, m.Message.StartsWith("PostgreSQL cannot read the signature", StringComparison.Ordinal))),
            m => Assert.Equal((3, true), (m.Line, m.Message.StartsWith("column value is numeric(6,1), expected numeric(6", StringComparison.Ordinal))),
            m => Assert.Equal("table api.readings_gone does not exist", m.Message));
    }

    [Fact]
    public async Task The_file_init_writes_describes_the_database_and_checks_clean_against_it()
    {
        string written;
        await using (var conn = new Npgsql.NpgsqlConnection(Db.ConnectionString))
        {
            await conn.OpenAsync();
            written = await ExpectationsWriter.WriteAsync(conn, ["api"], CancellationToken.None);
        }

        Assert.Contains("""

            table api.readings
              column id bigint not null
              column taken_at timestamp with time zone not null
              column value numeric(6,1) not null
              column label character varying(20) null
              column mood api.mood null
              column tags text[] not null
              rls on
              policy own_rows for select to chk_user
              grant insert, select to chk_user

            """, written, StringComparison.Ordinal);
        Assert.Contains("\nfunction api.add(integer, integer)\n  returns integer\n  security invoker\n  grant execute to chk_user\n", written, StringComparison.Ordinal);
        Assert.Contains("\nfunction api.readings_since(timestamp with time zone)\n  returns setof api.readings\n", written, StringComparison.Ordinal);
        var report = await CheckAsync(written);
        Assert.Empty(report.Mismatches);
        Assert.True(report.Checked > 25, $"{report.Checked} facts checked");
    }

    private Task<CheckReport> CheckAsync(string expectations) =>
        LintTests.RunAsync(Db, ExpectationsParser.Parse(expectations), ["api"]);
}
