-- The C++/PostgreSQL error boundary, both directions (DESIGN.md):
--  * C++ exceptions never cross into PostgreSQL: each arrives as an ERROR;
--  * a PostgreSQL error raised under C++ frames arrives with its SQLSTATE,
--    message, detail and hint intact, and the C++ destructors still ran.
-- After each, the same backend goes on working. (server-tests.sh also checks
-- the server log for crashed backends after every suite.)
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION pg_tenancy;
SELECT plan(21);

-- The test-only module tenancy_boundary_test is installed by
-- scripts/with-cluster.sh for a build, never by the Debian package: against
-- an installed package, the tests that drive it are skipped.
CREATE FUNCTION pg_temp.boundary_module_available() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    CREATE FUNCTION pg_temp.cpp_throw(kind text) RETURNS void
        LANGUAGE C STRICT AS 'tenancy_boundary_test', 'tenancy_test_throw';
    CREATE FUNCTION pg_temp.run_sql_under_cpp(sql text) RETURNS void
        LANGUAGE C STRICT AS 'tenancy_boundary_test', 'tenancy_test_run_sql';
    CREATE FUNCTION pg_temp.live_cpp_guards() RETURNS integer
        LANGUAGE C STRICT AS 'tenancy_boundary_test', 'tenancy_test_live_guards';
    RETURN true;
EXCEPTION WHEN undefined_file THEN
    RETURN false;
END $$;
SELECT pg_temp.boundary_module_available() AS boundary_module \gset

-- The fields of the error sql raises: {sqlstate, message, detail, hint}.
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    state text; message text; detail text; hint text;
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN ARRAY[state, message, detail, hint];
END $$;

CREATE TEMP TABLE backend AS SELECT pg_backend_pid() AS pid;

\if :boundary_module
-- C++ exceptions thrown under an entry point.
SELECT is(pg_temp.error_of($$SELECT pg_temp.cpp_throw('bad_alloc')$$),
          ARRAY['53200', 'out of memory', 'A C++ allocation in pg_tenancy failed.', ''],
          'std::bad_alloc arrives as 53200 out of memory');
SELECT is(pg_temp.error_of($$SELECT pg_temp.cpp_throw('runtime_error')$$),
          ARRAY['XX000', 'something broke in C++', 'pg_tenancy raised an unexpected C++ exception.', ''],
          'std::runtime_error arrives as XX000 with its message');
SELECT is(pg_temp.error_of($$SELECT pg_temp.cpp_throw('core_error')$$),
          ARRAY['22023', 'core refused the value', 'A detail.', 'A hint.'],
          'a core error arrives with its SQLSTATE, message, detail and hint');
SELECT is((pg_temp.error_of($$SELECT pg_temp.cpp_throw('not_an_exception')$$))[1:2],
          ARRAY['XX000', 'unknown C++ exception in pg_tenancy'],
          'a thrown non-exception arrives as XX000');
SELECT throws_ok($$SELECT pg_temp.cpp_throw('bad_alloc')$$, '53200', 'out of memory',
                 'throws_ok sees the SQLSTATE of a C++ exception');
SELECT is(pg_temp.live_cpp_guards(), 0, 'every C++ object of the throwing frames was destroyed');
SELECT lives_ok($$SELECT pg_temp.cpp_throw('nothing')$$, 'a call that throws nothing returns');

-- PostgreSQL errors raised under C++ frames.
SELECT is(pg_temp.error_of($$SELECT pg_temp.run_sql_under_cpp('SELECT 1/0')$$),
          ARRAY['22012', 'division by zero', '', ''],
          'a failing SPI statement keeps its SQLSTATE and message');
SELECT is(pg_temp.error_of($$SELECT pg_temp.run_sql_under_cpp($q$
              DO $do$ BEGIN
                  RAISE EXCEPTION 'custom failure %', 42
                      USING ERRCODE = 'P0042', DETAIL = 'The detail.', HINT = 'The hint.';
              END $do$ $q$)$$),
          ARRAY['P0042', 'custom failure 42', 'The detail.', 'The hint.'],
          'a PostgreSQL error keeps SQLSTATE, message, detail and hint');
SELECT is(pg_temp.error_of($$SELECT pg_temp.run_sql_under_cpp('SELECT * FROM no_such_table')$$),
          ARRAY['42P01', 'relation "no_such_table" does not exist', '', ''],
          'a parse-time error under C++ frames arrives intact');
SELECT throws_ok($$SELECT pg_temp.run_sql_under_cpp('SELECT 1/0')$$, '22012', 'division by zero',
                 'throws_ok sees the SQLSTATE of a PostgreSQL error raised under C++');
SELECT is(pg_temp.live_cpp_guards(), 0,
          'every C++ object of the frames a PostgreSQL error passed was destroyed');
SELECT lives_ok($$SELECT pg_temp.run_sql_under_cpp('CREATE TEMP TABLE made_under_cpp (x int)')$$,
                'SPI statements that succeed run');
SELECT has_table('made_under_cpp', 'and their effects stay');
\else
SELECT skip('the test-only module tenancy_boundary_test is not installed (an installed package)', 14);
\endif

-- The same through the extension's own functions.
SELECT tenancy.create_tenant('t1');
CREATE TABLE t1.blocker (x int);
SELECT throws_ok($$SELECT tenancy.create_tenant('t1')$$, '42P06', NULL,
                 'a refused create_tenant raises its own SQLSTATE');
SELECT throws_ok($$SELECT tenancy.create_tenant('pg_x')$$, '42939', NULL,
                 'a core validation error raises its SQLSTATE');

-- PostgreSQL refuses a statement create_tenant makes: a role without CREATE.
CREATE ROLE tenancy_test_no_create;
GRANT USAGE ON SCHEMA tenancy TO tenancy_test_no_create;
GRANT EXECUTE ON FUNCTION tenancy.create_tenant(text, boolean) TO tenancy_test_no_create;
SET LOCAL ROLE tenancy_test_no_create;
SELECT is((pg_temp.error_of($$SELECT tenancy.create_tenant('t2')$$))[1:2],
          ARRAY['42501', format('permission denied for database %s', current_database())],
          'CREATE SCHEMA failing under create_tenant keeps its SQLSTATE and message');
RESET ROLE;
SELECT hasnt_schema('t2', 'and leaves no schema');
SELECT is((SELECT count(*) FROM tenancy.tenant_registry WHERE tenant = 't2'), 0::bigint,
          'and no registry row');

-- The backend lived through all of it.
SELECT is(pg_backend_pid(), (SELECT pid FROM backend), 'the same backend ran every test');
SELECT is((SELECT 1 + 1), 2, 'and still answers');
SELECT * FROM finish();
ROLLBACK;
