-- The schema of the HTTP integration tests of the read path (tests/Restgres.Tests/Http/).
-- The roles (restgres_authenticator, web_anon) are created by ReadPathApi (PgClusterFixture.RolesSql).

create schema api;
create schema v2;
create schema private;

create table api.authors (
  id int primary key,
  name text not null,
  birth date,
  country text
);

create table api.books (
  id int primary key,
  title text not null,
  author_id int references api.authors (id),
  published int,
  price numeric(6, 2),
  available boolean,
  tags text[] not null default '{}',
  meta jsonb
);

create table api.categories (
  id int primary key,
  name text not null
);

-- A many-to-many junction: books ↔ categories.
create table api.book_categories (
  book_id int not null references api.books (id),
  category_id int not null references api.categories (id),
  primary key (book_id, category_id)
);

create table api.people (
  id int primary key,
  name text not null
);

-- Two foreign keys to the same table: embedding people from loans is ambiguous (PGRST201) without a hint.
create table api.loans (
  id int primary key,
  book_id int not null references api.books (id),
  borrower_id int not null references api.people (id),
  lender_id int not null references api.people (id)
);

create table api.reservations (
  id int primary key,
  room text not null,
  during int4range not null
);

-- No grant to web_anon: reading it is a permission error (401 for the anonymous role).
create table api.secrets (
  id int primary key,
  secret text
);

-- A view over books: embedding through it uses the key columns traced to api.books.
create view api.cheap_books as
  select id, title, author_id, price from api.books where price < 10;

-- Not auto-updatable (an aggregate): OPTIONS allows reads only.
create view api.author_stats as
  select author_id, count(*) as books from api.books group by author_id;

-- A computed field: a function taking the row type.
create function api.label(api.books) returns text
  language sql stable
  as $$ select $1.title || ' (' || coalesce($1.published::text, '?') || ')' $$;

-- Overloads by argument names, for the plan cache tests (one URL, several payload shapes).
create function api.add(a int, b int) returns int
  language sql stable
  as $$ select a + b $$;
create function api.add(a int, b int, c int) returns int
  language sql stable
  as $$ select a + b + c $$;

-- A variadic function: repeated form or query arguments are all collected (hostile-input tests send 200k).
create function api.count_args(variadic v text[]) returns int
  language sql immutable
  as $$ select cardinality(v) $$;

-- Fixed-length argument types: OpenAPI shows them as declared (PostgREST's ppType) in both openapi modes, while
-- calls pass them as character varying / bit varying (ppTypeMaxLength) so that any length up to the maximum fits.
create function api.pad(c char(3), b bit(2)) returns text
  language sql immutable
  as $$ select '[' || c::text || ']' || b::text $$;

-- A function that sets response.headers and response.status, used by a view.
create function private.set_response() returns boolean
  language plpgsql volatile
  as $$
begin
  perform set_config('response.headers', '[{"X-Shelf":"top"},{"Cache-Control":"max-age=60"}]', true);
  perform set_config('response.status', '203', true);
  return true;
end
$$;

create view api.shelf as
  select id, title from api.books where private.set_response() and id <= 2;

-- db-pre-request: refuses requests carrying "X-Block: yes", and tags every response.
create function private.pre_request() returns void
  language plpgsql
  as $$
begin
  if current_setting('request.headers', true)::json ->> 'x-block' = 'yes' then
    raise sqlstate 'PT403' using message = 'blocked by pre-request', detail = 'X-Block was set', hint = 'Drop the header';
  end if;
  perform set_config('response.headers', '[{"X-Pre-Request":"ran"}]', true);
end
$$;

-- For the pool tests: a slow view.
create function private.sleep_then(seconds float8) returns int
  language plpgsql volatile
  as $$ begin perform pg_sleep(seconds); return 1; end $$;

create view api.slow as select private.sleep_then(3) as done;

-- The second exposed schema, for Accept-Profile.
create table v2.books (
  id int primary key,
  title text not null
);

insert into api.authors values
  (1, 'Ursula K. Le Guin', '1929-10-21', 'US'),
  (2, 'Stanisław Lem', '1921-09-12', 'PL'),
  (3, 'Octavia E. Butler', '1947-06-22', 'US'),
  (4, 'Anonymous', null, null);

insert into api.books values
  (1, 'The Dispossessed', 1, 1974, 9.99, true, '{scifi,utopia}', '{"pages": 387, "awards": ["Hugo", "Nebula"], "publisher": {"name": "Harper"}}'),
  (2, 'The Left Hand of Darkness', 1, 1969, 12.50, false, '{scifi}', '{"pages": 304, "awards": ["Hugo", "Nebula"]}'),
  (3, 'Solaris', 2, 1961, 8.00, true, '{scifi,classic}', '{"pages": 204}'),
  (4, 'Kindred', 3, 1979, 15.00, null, '{fiction}', null),
  (5, 'Untitled draft', null, null, null, null, '{}', null);

insert into api.categories values (1, 'Science fiction'), (2, 'Classics'), (3, 'Poetry');

insert into api.book_categories values (1, 1), (2, 1), (3, 1), (3, 2), (4, 2);

insert into api.people values (1, 'Ada'), (2, 'Brian'), (3, 'Chidi');

insert into api.loans values (1, 1, 1, 2), (2, 3, 3, 2);

insert into api.reservations values
  (1, 'A', '[1,5)'),
  (2, 'A', '[5,10)'),
  (3, 'B', '[3,7)');

insert into api.secrets values (1, 'hunter2');

insert into v2.books values (1, 'Second edition');

grant usage on schema api, v2 to web_anon;
grant select on api.authors, api.books, api.categories, api.book_categories, api.people, api.loans, api.reservations,
  api.cheap_books, api.author_stats, api.shelf, api.slow to web_anon;
grant select on v2.books to web_anon;
-- Functions are executable by PUBLIC by default; the private schema needs USAGE for views' owner only, but
-- pre-request runs as the request role.
grant usage on schema private to web_anon;

analyze;
