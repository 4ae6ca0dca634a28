-- The calls the README makes by hand return what they did instead of void:
-- register_migration says added, changed or unchanged; manage_tenant says how
-- many tenants its backfill created or adopted.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION pg_tenancy;
SELECT plan(11);

SELECT is(tenancy.register_migration(1, 'create_projects', 'CREATE TABLE projects (id int)'), 'added',
          'register_migration of a new version returns added');
SELECT is(tenancy.register_migration(1, 'create_projects', 'CREATE TABLE projects (id int)'), 'unchanged',
          'the same text again returns unchanged');
SELECT is(tenancy.register_migration(1, 'create_projects', 'CREATE TABLE projects (id bigint)'), 'changed',
          'new text for a version no tenant applied returns changed');
SELECT is((SELECT up_sql FROM tenancy.migration_registry WHERE version = 1), 'CREATE TABLE projects (id bigint)',
          'and the change is registered');
SELECT tenancy.create_tenant('applied_it');
SELECT is(tenancy.register_migration(1, 'projects', 'CREATE TABLE projects (id bigint)', 'DROP TABLE projects'),
          'changed', 'a new name and down_sql for an applied version returns changed');
SELECT is(tenancy.register_migration(1, 'projects', 'CREATE TABLE projects (id bigint)', 'DROP TABLE projects'),
          'unchanged', 'and the same again returns unchanged');

CREATE TABLE organizations (id int PRIMARY KEY);
SELECT is(tenancy.manage_tenant('organizations', ARRAY['org_', ':id']), 0,
          'manage_tenant without backfill returns 0');
INSERT INTO organizations VALUES (1);
SELECT tenancy.unmanage_tenant('organizations');
INSERT INTO organizations VALUES (2), (3);
SELECT is(tenancy.manage_tenant('organizations', ARRAY['org_', ':id'], backfill => true), 3,
          'manage_tenant with backfill returns how many tenants it created or adopted');
SELECT is((SELECT array_agg(t ORDER BY t) FROM tenancy.all_tenants() t WHERE t LIKE 'org\_%'),
          ARRAY['org_1', 'org_2', 'org_3'], 'and those are the tenants of the rows');
SELECT is(tenancy.manage_tenant('organizations', ARRAY['org_', ':id'], backfill => true), 3,
          'backfill again adopts the same tenants');
SELECT is(pg_typeof(tenancy.manage_tenant('organizations', ARRAY['org_', ':id']))::text, 'integer',
          'manage_tenant returns an integer');

SELECT * FROM finish();
ROLLBACK;
