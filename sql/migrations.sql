-- Tenant migrations: the SQL surface with its exact output.
CREATE EXTENSION pg_tenancy;
CREATE TABLE public.users (id int PRIMARY KEY);

SELECT tenancy.register_migration(20240101000001, 'create_posts',
    $$CREATE TABLE posts (id int PRIMARY KEY, author_id int REFERENCES users (id))$$,
    $$DROP TABLE posts$$);
SELECT tenancy.register_migration(20240101000002, 'create_comments',
    $$CREATE TABLE comments (id int PRIMARY KEY, post_id int REFERENCES posts (id));
      COMMENT ON TABLE @tenant@.comments IS 'comments of the tenant'$$,
    $$DROP TABLE comments$$);

-- create_tenant applies every registered migration.
SELECT tenancy.create_tenant('org_1');
SELECT tenancy.create_tenant('org_2');
SELECT conrelid::regclass AS "table", confrelid::regclass AS "references"
FROM pg_constraint WHERE contype = 'f' ORDER BY conrelid::regclass::text;
SELECT obj_description('org_2.comments'::regclass);
SELECT tenant, version, pending, last_error FROM tenancy.tenants ORDER BY tenant;
SELECT tenant, version, name, state, applied_at IS NOT NULL AS has_applied_at
FROM tenancy.migration_status() ORDER BY tenant, version;

-- Identical text again: a no-op. Different text for an applied version: 55000.
SELECT tenancy.register_migration(20240101000001, 'create_posts',
    $$CREATE TABLE posts (id int PRIMARY KEY, author_id int REFERENCES users (id))$$,
    $$DROP TABLE posts$$);
SELECT tenancy.register_migration(20240101000001, 'create_posts', 'CREATE TABLE posts (id bigint)');

-- A new migration, applied by migrate() and migrate_all.
SELECT tenancy.register_migration(20240101000003, 'add_title', 'ALTER TABLE posts ADD title text',
                                  'ALTER TABLE posts DROP title');
SELECT tenancy.migrate('org_1');
SELECT tenancy.migrate('org_1');
BEGIN;
CALL tenancy.migrate_all();
COMMIT;
SELECT tenant, version, pending FROM tenancy.tenants ORDER BY tenant;

-- rollback
SELECT tenancy.rollback('org_1', 20240101000001);
SELECT tenant, version, name, state FROM tenancy.migration_status('org_1');
SELECT tenancy.migrate('org_1', target_version => 20240101000002);
SELECT tenancy.migrate('org_1');

-- Errors carry the migration in CONTEXT and leave the tenant as it was.
SELECT tenancy.register_migration(20240101000004, 'fails', $$CREATE TABLE doomed (id int); SELECT 1/0$$);
SELECT tenancy.migrate('org_1');
SELECT to_regclass('org_1.doomed') AS doomed, (SELECT version FROM tenancy.tenants WHERE tenant = 'org_1');
SELECT tenancy.register_migration(20240101000004, 'fixed', 'CREATE TABLE fixed (id int)');
SELECT tenancy.migrate('org_1');

-- Statements no migration may hold.
SELECT tenancy.register_migration(20240101000005, 'commits', 'CREATE TABLE t (id int); COMMIT');
SELECT tenancy.register_migration(20240101000005, 'concurrently', 'CREATE INDEX CONCURRENTLY ON posts (id)');
SELECT tenancy.register_migration(20240101000005, 'syntax', 'CREATE TABEL t (id int)');

-- Settings changed by a migration do not outlive it.
SELECT tenancy.register_migration(20240101000005, 'settings',
    $$SET work_mem = '77MB'; SET LOCAL statement_timeout = '5s';
      CREATE TABLE settings_seen AS
          SELECT current_setting('work_mem') AS work_mem, current_setting('search_path') AS search_path;
      RESET search_path$$);
SHOW work_mem;
SELECT tenancy.migrate('org_2');
SHOW work_mem;
SHOW statement_timeout;
SHOW search_path;
SELECT * FROM org_2.settings_seen;

-- Bad arguments.
SELECT tenancy.register_migration(NULL, 'x', 'SELECT 1');
SELECT tenancy.register_migration(0, 'x', 'SELECT 1');
SELECT tenancy.register_migration(7, '', 'SELECT 1');
SELECT tenancy.register_migration(7, 'x', '-- nothing but a comment');
SELECT tenancy.migrate('nobody');
SELECT tenancy.rollback('org_1', NULL);
SELECT tenancy.migration_status('nobody');
CALL tenancy.migrate_all(on_error => 'ignore');

-- Leave the database as the test found it.
SELECT count(*) AS dropped FROM tenancy.all_tenants() AS t, LATERAL tenancy.drop_tenant(t);
DROP EXTENSION pg_tenancy;
DROP TABLE users;
