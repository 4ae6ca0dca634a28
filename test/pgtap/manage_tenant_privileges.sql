-- A role with only SELECT/INSERT/UPDATE/DELETE on a managed table creates,
-- renames and drops tenants through it, cannot call the lifecycle or
-- migration functions, and nothing it creates is ever run by the extension.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION pg_tenancy;
SELECT plan(26);

CREATE TABLE public.users (id int PRIMARY KEY);
SELECT tenancy.register_migration(1, 'create_projects',
    'CREATE TABLE projects (id int PRIMARY KEY, owner_id int REFERENCES users (id))');

CREATE ROLE tenancy_test_owner;   -- owns the managed table
CREATE ROLE tenancy_test_app;     -- may only write its rows
CREATE TABLE public.organizations (id int PRIMARY KEY, name text);
ALTER TABLE public.organizations OWNER TO tenancy_test_owner;
-- Migrations run as the tenant schema's owner, the table's owner.
GRANT REFERENCES ON public.users TO tenancy_test_owner;
SELECT tenancy.manage_tenant('public.organizations', ARRAY['org_', ':id'], on_delete => 'drop');
GRANT SELECT, INSERT, UPDATE, DELETE ON public.organizations TO tenancy_test_app;

-- Things the application role puts first on its search_path, each of which
-- would leave a trace if the extension ever called it.
CREATE TABLE public.hijack_log (called text);
GRANT INSERT, SELECT ON public.hijack_log TO PUBLIC;
CREATE SCHEMA evil AUTHORIZATION tenancy_test_app;
SET LOCAL ROLE tenancy_test_app;
CREATE FUNCTION evil.textcat(text, text) RETURNS text LANGUAGE sql
    AS $$ INSERT INTO public.hijack_log VALUES ('textcat'); SELECT $1 OPERATOR(pg_catalog.||) $2 $$;
CREATE FUNCTION evil.texteq(text, text) RETURNS boolean LANGUAGE sql
    AS $$ INSERT INTO public.hijack_log VALUES ('='); SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.texteq);
CREATE OPERATOR evil.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.textcat);
CREATE FUNCTION evil.unnest(text[]) RETURNS SETOF text LANGUAGE sql
    AS $$ INSERT INTO public.hijack_log VALUES ('unnest'); SELECT pg_catalog.unnest($1) $$;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE sql
    AS $$ INSERT INTO public.hijack_log VALUES ('now'); SELECT pg_catalog.now() $$;
CREATE FUNCTION evil.array_replace(text[], text, text) RETURNS text[] LANGUAGE sql
    AS $$ INSERT INTO public.hijack_log VALUES ('array_replace'); SELECT pg_catalog.array_replace($1, $2, $3) $$;
CREATE TABLE evil.tenant_registry (tenant text, created_at timestamptz, last_error text);
GRANT SELECT ON evil.tenant_registry TO PUBLIC;
SET LOCAL search_path = evil, public;

SELECT lives_ok($$INSERT INTO public.organizations VALUES (1, 'Acme'), (2, 'Globex')$$,
                'the application role inserts organizations');
SELECT results_eq($$SELECT * FROM tenancy.all_tenants()$$, ARRAY['org_1', 'org_2'],
                  'and their tenants are created');
SELECT lives_ok($$UPDATE public.organizations SET id = 10 WHERE id = 1$$, 'it updates one');
SELECT results_eq($$SELECT * FROM tenancy.all_tenants()$$, ARRAY['org_10', 'org_2'],
                  'and the tenant is renamed');
SELECT lives_ok($$DELETE FROM public.organizations WHERE id = 2$$, 'it deletes one');
SELECT results_eq($$SELECT * FROM tenancy.all_tenants()$$, ARRAY['org_10'],
                  'and the tenant is dropped (on_delete => ''drop'')');
SELECT is((SELECT count(*)::int FROM public.hijack_log), 0,
          'nothing the role created on its search_path was called');
SELECT is((SELECT count(*)::int FROM evil.tenant_registry), 0, 'nor its look-alike registry written');

SELECT throws_ok($$SELECT tenancy.create_tenant('mine')$$, '42501', NULL, 'it cannot create_tenant');
SELECT throws_ok($$SELECT tenancy.rename_tenant('org_10', 'mine')$$, '42501', NULL, 'nor rename_tenant');
SELECT throws_ok($$SELECT tenancy.drop_tenant('org_10')$$, '42501', NULL, 'nor drop_tenant');
SELECT throws_ok($$SELECT tenancy.register_migration(9, 'x', 'SELECT 1')$$, '42501', NULL,
                 'nor register_migration');
SELECT throws_ok($$SELECT tenancy.migrate('org_10')$$, '42501', NULL, 'nor migrate');
SELECT throws_ok($$CALL tenancy.migrate_all()$$, '42501', NULL, 'nor migrate_all');
SELECT throws_ok($$SELECT tenancy.manage_tenant('public.organizations', ARRAY[':name'])$$, '42501', NULL,
                 'nor manage_tenant');
SELECT throws_ok($$SELECT tenancy.unmanage_tenant('public.organizations')$$, '42501', NULL,
                 'nor unmanage_tenant');
RESET ROLE;
RESET search_path;

SELECT is((SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'org_10'), 'tenancy_test_owner',
          'the tenant schema belongs to the table''s owner');
SELECT is((SELECT relowner::regrole::text FROM pg_class WHERE oid = 'org_10.projects'::regclass),
          'tenancy_test_owner', 'so do the tables its migrations created');
SELECT fk_ok('org_10', 'projects', 'owner_id', 'public', 'users', 'id',
             'and their foreign key to a shared table points at public');
SELECT is((SELECT relowner::regrole::text FROM pg_class WHERE oid = 'org_10.schema_migrations'::regclass),
          'tenancy_test_owner', 'schema_migrations too');

-- A row cannot rename or drop a tenant it did not make by taking its name.
SELECT tenancy.create_tenant('victim');
SELECT tenancy.manage_tenant('public.organizations', ARRAY['org_', ':id'], "create" => false,
                             on_delete => 'drop');
CREATE TABLE public.sneaky (name text);
ALTER TABLE public.sneaky OWNER TO tenancy_test_owner;
SELECT tenancy.manage_tenant('public.sneaky', ARRAY[':name'], "create" => false, on_delete => 'drop');
GRANT SELECT, INSERT, UPDATE, DELETE ON public.sneaky TO tenancy_test_app;
SET LOCAL ROLE tenancy_test_app;
INSERT INTO public.sneaky VALUES ('victim');
SELECT lives_ok($$UPDATE public.sneaky SET name = 'mine' WHERE name = 'victim'$$,
                'a row taking another tenant''s name and changing it');
DELETE FROM public.sneaky;
RESET ROLE;
SELECT ok(EXISTS (SELECT FROM tenancy.all_tenants() t WHERE t = 'victim'),
          'renamed nothing and dropped nothing of that tenant');
SELECT has_schema('victim', 'its schema is still there');

-- Migrating needs the right to act as the tenant schema's owner.
CREATE ROLE tenancy_test_admin;
GRANT USAGE ON SCHEMA tenancy TO tenancy_test_admin;
GRANT EXECUTE ON FUNCTION tenancy.migrate(text, bigint) TO tenancy_test_admin;
GRANT SELECT ON tenancy.migration_registry TO tenancy_test_admin;
SELECT tenancy.register_migration(2, 'second', 'CREATE TABLE second (id int)');
SET LOCAL ROLE tenancy_test_admin;
SELECT throws_ok($$SELECT tenancy.migrate('victim')$$, '42501', 'permission denied to migrate tenant "victim"',
                 'a role that cannot act as the owner cannot migrate the tenant');
RESET ROLE;
GRANT tenancy_test_owner TO tenancy_test_admin;
SET LOCAL ROLE tenancy_test_admin;
SELECT is(tenancy.migrate('org_10'), 1, 'a member of the owner''s role can');
RESET ROLE;
SELECT is((SELECT relowner::regrole::text FROM pg_class WHERE oid = 'org_10.second'::regclass),
          'tenancy_test_owner', 'and what it creates belongs to the owner');

SELECT * FROM finish();
ROLLBACK;
