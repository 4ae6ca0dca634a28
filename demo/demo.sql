-- pg_tenancy demo: run by scripts/demo.sh against a throwaway cluster.
-- The story of AshPostgres' `manage_tenant do template ["org_", :id] end`,
-- enforced inside the database.
\pset footer off
\set ON_ERROR_STOP 0
SET client_min_messages = warning;

\echo '== install the extension'
CREATE EXTENSION pg_tenancy;

\echo '== a shared table in public, and two tenant migrations'
CREATE TABLE public.users (id int PRIMARY KEY, email text NOT NULL);
INSERT INTO public.users VALUES (1, 'ada@example.com');
SELECT tenancy.register_migration(20240101000001, 'create_projects',
    $$CREATE TABLE projects (id int PRIMARY KEY, name text NOT NULL,
                             owner_id int NOT NULL REFERENCES users (id))$$);   -- a shared table: public.users
SELECT tenancy.register_migration(20240101000002, 'create_tasks',
    $$CREATE TABLE tasks (id int PRIMARY KEY, title text NOT NULL,
                          project_id int NOT NULL REFERENCES projects (id))$$);  -- a tenant table: its own projects

\echo '== organizations drive their tenants: template ARRAY[''org_'', '':id'']'
CREATE TABLE public.organizations (id int PRIMARY KEY, name text NOT NULL);
SELECT tenancy.manage_tenant('public.organizations', ARRAY['org_', ':id']);

\echo '== three inserts'
INSERT INTO organizations VALUES (1, 'Acme');
INSERT INTO organizations VALUES (2, 'Globex');
INSERT INTO organizations VALUES (3, 'Initech');

\echo '== the tenants, migrated'
SELECT tenant, version, pending, last_error FROM tenancy.tenants ORDER BY tenant;

\echo '== their tables'
SELECT table_schema AS tenant, string_agg(table_name, ', ' ORDER BY table_name) AS tables
FROM information_schema.tables WHERE table_schema LIKE 'org\_%'
GROUP BY table_schema ORDER BY table_schema;

\echo '== their foreign keys: to their own tables, and to public.users'
SELECT c.conrelid::regclass AS "table", a.attname AS "column", c.confrelid::regclass AS "references"
FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
WHERE c.contype = 'f' AND c.connamespace::regnamespace::text LIKE 'org\_%'
ORDER BY 1::text, 2;

\echo '== an UPDATE of the template column renames the tenant'
UPDATE organizations SET id = 10 WHERE id = 1;
SELECT * FROM tenancy.all_tenants();

\echo '== names are checked in bytes: refused names leave nothing behind'
SELECT tenancy.create_tenant('pg_secret');
SELECT tenancy.create_tenant('organisation_with_a_name_far_too_long_to_fit_into_sixty_three_bytes');

\echo '== a new migration, applied to every tenant with one commit per tenant'
\echo '   (register_migration says added, changed or unchanged; migrate_all reports its progress in NOTICEs)'
SELECT tenancy.register_migration(20240101000003, 'add_due_date', 'ALTER TABLE tasks ADD due_date date');
SET client_min_messages = notice;
CALL tenancy.migrate_all();
SET client_min_messages = warning;
SELECT tenant, version, name, state FROM tenancy.migration_status('org_2');

\echo '== all_tenants(), what an AshPostgres repo''s all_tenants/0 returns'
SELECT * FROM tenancy.all_tenants();

\echo '== the settings, loaded with the extension''s library'
SHOW tenancy.tenant_name_pattern;
