-- What the status views and functions show, and to whom: last_error only to
-- the tenant owner's and the extension owner's roles, nothing of a table the
-- reader may not SELECT, one failing tenant's table never anyone else's
-- failure, applied_at as timestamp(0), the version table named by
-- tenancy.migration_table, and pending_tenants().
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION pg_tenancy;
SELECT plan(38);

CREATE ROLE tenancy_status_reader;
CREATE ROLE tenancy_status_owner;

-- tenancy.migration_table names the version table everywhere (Ecto's migration_source).
SET LOCAL tenancy.migration_table = 'ecto_migrations';
SELECT tenancy.create_tenant('ecto');
SELECT has_table('ecto', 'ecto_migrations', 'create_tenant makes the table tenancy.migration_table names');
SELECT hasnt_table('ecto', 'schema_migrations', 'and no schema_migrations');
INSERT INTO ecto.ecto_migrations VALUES (1, '2024-01-01 00:00:00');
RESET tenancy.migration_table;
SELECT throws_ok($$SET tenancy.migration_table = ''$$, '42602', NULL,
                 'tenancy.migration_table refuses an empty name');
SELECT throws_ok($$SET tenancy.migration_table = '$$ || repeat('x', 64) || $$'$$, '42622', NULL,
                 'tenancy.migration_table refuses a name longer than 63 bytes');

SELECT tenancy.register_migration(1, 'one', 'CREATE TABLE one (id int)');
SELECT tenancy.register_migration(2, 'two', 'CREATE TABLE two (id int)');
SELECT tenancy.create_tenant(t) FROM unnest(ARRAY['open', 'closed', 'mine']) AS t;
GRANT USAGE ON SCHEMA open TO tenancy_status_reader;
GRANT SELECT ON open.schema_migrations TO tenancy_status_reader;
ALTER SCHEMA mine OWNER TO tenancy_status_owner;
ALTER TABLE mine.schema_migrations OWNER TO tenancy_status_owner;
UPDATE tenancy.tenant_registry SET last_error = 'P0001: row (42, card 4111) refused'
WHERE tenant IN ('open', 'mine');

SELECT results_eq($$SELECT tenant, version, pending FROM tenancy.tenants ORDER BY tenant$$,
    $$VALUES ('closed', 2::bigint, 0), ('ecto', NULL, 2), ('mine', 2, 0), ('open', 2, 0)$$,
    'the tenants view: a tenant without its version table has everything pending');
SET LOCAL tenancy.migration_table = 'ecto_migrations';
SELECT results_eq($$SELECT version, pending FROM tenancy.tenants WHERE tenant = 'ecto'$$,
    $$VALUES (1::bigint, 1)$$, 'the views read the table tenancy.migration_table names');
SELECT results_eq($$SELECT version, state FROM tenancy.migration_status('ecto')$$,
    $$VALUES (1::bigint, 'applied'), (2, 'pending')$$, 'and so does migration_status()');
RESET tenancy.migration_table;

-- last_error may quote a tenant's data: PUBLIC never sees it.
SET LOCAL ROLE tenancy_status_reader;
SELECT throws_ok($$SELECT tenancy.set_tenant('open'); SET tenancy.migration_table = 'x'$$, '42501', NULL,
                 'PUBLIC cannot change tenancy.migration_table');
SELECT throws_ok($$SELECT last_error FROM tenancy.tenant_registry$$, '42501', NULL,
                 'PUBLIC cannot read last_error from the registry');
SELECT results_eq($$SELECT tenant FROM tenancy.tenant_registry ORDER BY tenant$$,
    $$VALUES ('closed'), ('ecto'), ('mine'), ('open')$$, 'but reads the tenant names');
SELECT is((SELECT count(*)::int FROM tenancy.tenants WHERE last_error IS NOT NULL), 0,
          'PUBLIC sees no last_error in the tenants view');
-- Nothing of a table the reader may not SELECT.
SELECT results_eq($$SELECT tenant, version, pending FROM tenancy.tenants ORDER BY tenant$$,
    $$VALUES ('closed', NULL::bigint, NULL::int), ('ecto', NULL, 2), ('mine', NULL, NULL), ('open', 2, 0)$$,
    'a reader sees version and pending only of the tables it may SELECT (a tenant without one: all pending)');
SELECT results_eq($$SELECT DISTINCT tenant FROM tenancy.migration_states ORDER BY tenant$$,
                  $$VALUES ('ecto'), ('open')$$,
                  'migration_states has rows only for the tables the reader may SELECT');
SELECT is((SELECT count(*)::int FROM tenancy.migration_status('closed')), 0,
          'migration_status() shows nothing of a table the reader may not SELECT');
SELECT results_eq($$SELECT * FROM tenancy.pending_tenants()$$, $$VALUES ('ecto', 2)$$,
                  'pending_tenants() lists no table the reader may not SELECT');
SELECT throws_ok($$SELECT * FROM tenancy._applied_migrations('closed')$$, '42501', NULL,
                 '_applied_migrations() refuses a table the caller may not SELECT');
RESET ROLE;

SET LOCAL ROLE tenancy_status_owner;
SELECT results_eq($$SELECT tenant, last_error FROM tenancy.tenants WHERE last_error IS NOT NULL$$,
    $$VALUES ('mine', 'P0001: row (42, card 4111) refused')$$,
    'the tenant owner''s role sees its own tenant''s last_error, no other');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM tenancy.tenants WHERE last_error IS NOT NULL), 2,
          'the extension''s owner sees every last_error');

-- Row-level security: the readers scan the table directly, past its
-- policies, so a table whose policies apply to the reader shows it nothing.
ALTER TABLE open.schema_migrations ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_the_first ON open.schema_migrations FOR SELECT USING (version = 1);
SET LOCAL ROLE tenancy_status_reader;
SELECT results_eq($$SELECT version, pending FROM tenancy.tenants WHERE tenant = 'open'$$,
    $$VALUES (NULL::bigint, NULL::int)$$,
    'a version table whose row-level security applies to the reader shows it nothing');
SELECT is((SELECT count(*)::int FROM tenancy.migration_status('open')), 0,
          'nor does migration_status()');
SELECT throws_ok($$SELECT * FROM tenancy._applied_migrations('open')$$, '42501', NULL,
                 '_applied_migrations() refuses it');
RESET ROLE;
SELECT results_eq($$SELECT version, pending FROM tenancy.tenants WHERE tenant = 'open'$$,
    $$VALUES (2::bigint, 0)$$, 'a superuser, whom row-level security does not apply to, sees it');
DROP POLICY only_the_first ON open.schema_migrations;
ALTER TABLE open.schema_migrations DISABLE ROW LEVEL SECURITY;

-- A version table a tenant owner replaced by something else is that
-- tenant's own failure: the views show it with NULLs, migrate() fails clearly.
CREATE FOREIGN DATA WRAPPER tenancy_status_fdw;
CREATE SERVER tenancy_status_server FOREIGN DATA WRAPPER tenancy_status_fdw;
SELECT tenancy.create_tenant(t)
FROM unnest(ARRAY['as_view', 'as_type', 'as_index', 'as_sequence', 'as_partitioned',
                  'as_foreign', 'int_version']) AS t;
DROP TABLE as_view.schema_migrations, as_type.schema_migrations, as_index.schema_migrations,
           as_sequence.schema_migrations, as_partitioned.schema_migrations,
           as_foreign.schema_migrations, int_version.schema_migrations;
CREATE VIEW as_view.schema_migrations AS SELECT 1::bigint AS version;
CREATE TYPE as_type.schema_migrations AS (version bigint);
CREATE TABLE as_index.versions (version bigint);
CREATE INDEX schema_migrations ON as_index.versions (version);
CREATE SEQUENCE as_sequence.schema_migrations;
CREATE TABLE as_partitioned.schema_migrations (version bigint) PARTITION BY RANGE (version);
CREATE FOREIGN TABLE as_foreign.schema_migrations (version bigint) SERVER tenancy_status_server;
CREATE TABLE int_version.schema_migrations (version integer, inserted_at timestamp(0));

SELECT results_eq(
    $$SELECT tenant, version, pending FROM tenancy.tenants WHERE tenant ~ '^(as_|int_)' ORDER BY tenant$$,
    $$SELECT t, NULL::bigint, NULL::int FROM unnest(ARRAY['as_foreign', 'as_index', 'as_partitioned',
        'as_sequence', 'as_type', 'as_view', 'int_version']) AS t ORDER BY t$$,
    'the tenants view shows a version table that is not a table, or not Ecto''s, with NULLs');
SELECT is((SELECT count(*)::int FROM tenancy.tenants), 11, 'and every other tenant as before');
SELECT is((SELECT count(*)::int FROM tenancy.migration_states WHERE tenant ~ '^(as_|int_)'), 0,
          'migration_states shows no rows for them');
SELECT is((SELECT count(*)::int FROM tenancy.migration_states WHERE tenant = 'open'), 2,
          'and the other tenants'' rows');
SELECT throws_ok($$SELECT tenancy.migrate('as_view')$$, '55000',
                 '"as_view"."schema_migrations" is a view, not a table',
                 'migrate() of a tenant whose version table is a view: 55000');
SELECT throws_ok($$SELECT tenancy.migrate('as_type')$$, '55000',
                 '"as_type"."schema_migrations" is a composite type, not a table',
                 'a composite type: 55000');
SELECT throws_ok($$SELECT tenancy.migrate('as_index')$$, '55000', NULL, 'an index: 55000');
SELECT throws_ok($$SELECT tenancy.migrate('as_sequence')$$, '55000', NULL, 'a sequence: 55000');
SELECT throws_ok($$SELECT tenancy.migrate('as_partitioned')$$, '55000', NULL, 'a partitioned table: 55000');
SELECT throws_ok($$SELECT tenancy.migrate('as_foreign')$$, '55000', NULL, 'a foreign table: 55000');
SELECT throws_ok($$SELECT tenancy.migrate('int_version')$$, '55000',
                 '"int_version"."schema_migrations" is not a table with a bigint column "version"',
                 'an integer version column: 55000');

-- applied_at is timestamp(0), as Ecto's inserted_at.
SELECT is((SELECT format_type(atttypid, atttypmod) FROM pg_attribute
           WHERE attrelid = 'tenancy.migration_states'::regclass AND attname = 'applied_at'),
          'timestamp(0) without time zone', 'migration_states.applied_at is timestamp(0)');
SELECT ok((SELECT proretset AND prorettype = 'tenancy.migration_states'::regtype FROM pg_proc
           WHERE oid = 'tenancy.migration_status(text)'::regprocedure),
          'migration_status() returns migration_states rows, so its applied_at is timestamp(0) too');
SELECT tenancy.create_tenant('fractional');
ALTER TABLE fractional.schema_migrations ALTER COLUMN inserted_at TYPE timestamp;
UPDATE fractional.schema_migrations SET inserted_at = '2024-01-01 00:00:00.7' WHERE version = 1;
SELECT is((SELECT applied_at FROM tenancy.migration_status('fractional') WHERE version = 1),
          '2024-01-01 00:00:01'::timestamp, 'an applied_at with fractions of a second is rounded');

-- pending_tenants(): is anything pending anywhere, and where.
SELECT tenancy.register_migration(3, 'three', 'CREATE TABLE three (id int)');
DELETE FROM closed.schema_migrations WHERE version = 2;
DROP TABLE closed.two;
SELECT results_eq($$SELECT * FROM tenancy.pending_tenants() WHERE tenant !~ '^(as_|int_)'$$,
    $$VALUES ('closed', 2), ('ecto', 3), ('fractional', 1), ('mine', 1), ('open', 1)$$,
    'pending_tenants() lists each tenant with pending migrations and how many, by name');
SELECT tenancy.migrate(t) FROM unnest(ARRAY['closed', 'ecto', 'fractional', 'mine', 'open']) AS t;
SELECT is((SELECT count(*)::int FROM tenancy.pending_tenants()), 0,
          'and nothing once they are migrated (a table it cannot read is not listed)');

SELECT * FROM finish();
ROLLBACK;
