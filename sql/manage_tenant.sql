-- Tenants managed by a table: the SQL surface with its exact output.
CREATE EXTENSION pg_tenancy;
SET client_min_messages = warning;
CREATE TABLE public.users (id int PRIMARY KEY);
INSERT INTO public.users VALUES (1);
SELECT tenancy.register_migration(1, 'create_projects',
    'CREATE TABLE projects (id int PRIMARY KEY, owner_id int REFERENCES users (id))');
SELECT tenancy.register_migration(2, 'create_tasks',
    'CREATE TABLE tasks (id int PRIMARY KEY, project_id int REFERENCES projects (id))');
CREATE TABLE organizations (id int PRIMARY KEY, slug text, name text);
SELECT tenancy.manage_tenant('organizations', ARRAY['org_', ':id']);
SELECT tbl, template, on_create, on_update, on_delete FROM tenancy.managed_tables;

-- Single-row, multi-row, INSERT ... SELECT and COPY.
INSERT INTO organizations VALUES (1, 'acme', 'Acme');
INSERT INTO organizations VALUES (2, 'globex', 'Globex'), (3, 'initech', 'Initech');
INSERT INTO organizations SELECT i, 'org' || i, 'Org ' || i FROM generate_series(4, 5) AS i;
COPY organizations FROM stdin;
6	umbrella	Umbrella
7	hooli	Hooli
\.
SELECT tenant, version, pending FROM tenancy.tenants ORDER BY tenant COLLATE "C";
SELECT conrelid::regclass AS "table", confrelid::regclass AS "references"
FROM pg_constraint WHERE contype = 'f' AND connamespace = 'org_3'::regnamespace ORDER BY 1::text;

-- An upsert that updates never creates a second tenant.
INSERT INTO organizations VALUES (1, 'acme', 'Acme Corp')
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name;
INSERT INTO organizations VALUES (8, 'stark', 'Stark')
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name;
SELECT count(*) AS tenants FROM tenancy.all_tenants();

-- UPDATE renames only when the rendered name changes.
UPDATE organizations SET name = 'Acme Inc' WHERE id = 1;
UPDATE organizations SET id = 10 WHERE id = 1;
UPDATE organizations SET id = id + 100 WHERE id IN (2, 3);
SELECT * FROM tenancy.all_tenants();

-- Bad rendered names fail the statement with the name rules' SQLSTATEs.
\set VERBOSITY sqlstate
SELECT tenancy.manage_tenant('organizations', ARRAY[':slug']);
INSERT INTO organizations VALUES (20, NULL, 'no slug');
INSERT INTO organizations VALUES (21, 'has space', 'x');
INSERT INTO organizations VALUES (22, repeat('x', 64), 'x');
INSERT INTO organizations VALUES (23, 'pg_secret', 'x');
INSERT INTO organizations VALUES (24, 'public', 'x');
INSERT INTO organizations VALUES (25, 'org_10', 'taken');
UPDATE organizations SET slug = 'org_6' WHERE id = 7;
\set VERBOSITY default
INSERT INTO organizations VALUES (25, 'org_10', 'taken');
SELECT count(*) AS organizations, (SELECT count(*) FROM tenancy.all_tenants()) AS tenants FROM organizations;

-- A swap of two rows' names is refused: renames run row by row.
SELECT tenancy.manage_tenant('organizations', ARRAY['t_', ':slug'], backfill => true);
SELECT * FROM tenancy.all_tenants() AS t(tenant) WHERE tenant LIKE 't\_%';
UPDATE organizations SET slug = CASE slug WHEN 'umbrella' THEN 'hooli' ELSE 'umbrella' END
WHERE slug IN ('umbrella', 'hooli');
SELECT id, slug FROM organizations WHERE id IN (6, 7) ORDER BY id;

-- Atomicity: a statement rolled back leaves no schema and no registry row.
BEGIN;
INSERT INTO organizations VALUES (30, 'rolled_back', 'x');
SELECT count(*) FROM tenancy.all_tenants() AS t(tenant) WHERE tenant = 't_rolled_back';
ROLLBACK;
SELECT count(*) AS schemas FROM pg_namespace WHERE nspname = 't_rolled_back';
SELECT count(*) AS registered FROM tenancy.tenant_registry WHERE tenant = 't_rolled_back';
INSERT INTO organizations VALUES (31, 'ok_1', 'x'), (32, 'bad name', 'x');
SELECT count(*) AS schemas FROM pg_namespace WHERE nspname IN ('t_ok_1', 't_bad name');

-- A failing migration fails the insert, with its error and context.
SELECT tenancy.register_migration(3, 'fails', 'SELECT 1/0');
INSERT INTO organizations VALUES (33, 'doomed', 'x');
SELECT count(*) AS schemas FROM pg_namespace WHERE nspname = 't_doomed';
DELETE FROM tenancy.migration_registry WHERE version = 3;

-- on_delete: 'keep' (default) and 'drop'.
DELETE FROM organizations WHERE slug = 'stark';
SELECT count(*) AS kept FROM tenancy.all_tenants() AS t(tenant) WHERE tenant = 't_stark';
SELECT tenancy.manage_tenant('organizations', ARRAY['t_', ':slug'], on_delete => 'drop');
DELETE FROM organizations WHERE slug = 'hooli';
SELECT count(*) AS dropped FROM tenancy.all_tenants() AS t(tenant) WHERE tenant = 't_hooli';
SELECT tenancy.manage_tenant('organizations', ARRAY['t_', ':slug'], on_delete => 'sometimes');

-- TRUNCATE fires no row trigger: the tenants stay.
CREATE TABLE teams (id int PRIMARY KEY);
SELECT tenancy.manage_tenant('teams', ARRAY['team_', ':id']);
INSERT INTO teams VALUES (1), (2);
TRUNCATE teams;
SELECT * FROM tenancy.all_tenants() AS t(tenant) WHERE tenant LIKE 'team\_%';

-- Table changes: renaming the table or a template column keeps working;
-- dropping a template column is refused; DROP TABLE removes the settings.
ALTER TABLE teams RENAME TO squads;
ALTER TABLE squads RENAME COLUMN id TO squad_id;
SELECT tbl, template FROM tenancy.managed_tables ORDER BY tbl::text;
INSERT INTO squads VALUES (3);
ALTER TABLE squads DROP COLUMN squad_id;
DROP TABLE squads;
SELECT tbl FROM tenancy.managed_tables;
SELECT * FROM tenancy.all_tenants() AS t(tenant) WHERE tenant LIKE 'team\_%';

-- Bad templates and arguments.
SELECT tenancy.manage_tenant('organizations', ARRAY['org_', ':nope']);
SELECT tenancy.manage_tenant('organizations', ARRAY['org_']);
SELECT tenancy.manage_tenant('organizations', ARRAY['org_', ':']);
SELECT tenancy.manage_tenant('organizations', ARRAY[]::text[]);
SELECT tenancy.manage_tenant('organizations', ARRAY['org_', NULL]);
SELECT tenancy.manage_tenant('organizations', NULL);
SELECT tenancy.manage_tenant(NULL, ARRAY[':id']);
SELECT tenancy.manage_tenant('organizations', ARRAY['org_', ':ctid']);
CREATE VIEW organization_names AS SELECT id FROM organizations;
SELECT tenancy.manage_tenant('organization_names', ARRAY['v_', ':id']);

-- unmanage_tenant removes the triggers and settings; tenants stay.
SELECT tenancy.unmanage_tenant('organizations');
SELECT tenancy.unmanage_tenant('organizations');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'organizations'::regclass;
INSERT INTO organizations VALUES (40, 'unmanaged', 'x');
SELECT count(*) FROM tenancy.all_tenants() AS t(tenant) WHERE tenant = 't_unmanaged';
SELECT count(*) > 0 AS tenants_stay FROM tenancy.all_tenants();

-- Leave the database as the test found it.
SELECT count(*) AS dropped FROM tenancy.all_tenants() AS t, LATERAL tenancy.drop_tenant(t);
DROP EXTENSION pg_tenancy CASCADE;
DROP VIEW organization_names;
DROP TABLE organizations, users;
