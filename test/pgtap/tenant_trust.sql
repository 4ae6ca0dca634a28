-- Who may do what to which schema: a delegated administrator holding the
-- grants the README lists, a role that may create schemas, the owners of
-- managed tables, and the row trigger, which runs as the extension's owner.
-- None of them can drop, rename or take over a schema it does not own, and
-- a forged registry row cannot steer the trigger.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION pg_tenancy;
SELECT plan(44);

-- The DETAIL of the error a statement raises (NULL when it raises none).
CREATE FUNCTION pg_temp.error_detail(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    detail text;
BEGIN
    EXECUTE statement;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RETURN detail;
END
$$;

CREATE ROLE tenancy_trust_admin;     -- administers tenants with the README's grants
CREATE ROLE tenancy_trust_owner;     -- owns managed tables
CREATE ROLE tenancy_trust_other;     -- owns another managed table
CREATE ROLE tenancy_trust_squatter;  -- may create schemas, nothing more
CREATE ROLE tenancy_trust_app;       -- writes managed tables' rows
DO $$ BEGIN
    EXECUTE format('GRANT CREATE ON DATABASE %I TO tenancy_trust_admin, tenancy_trust_squatter, tenancy_trust_owner',
                   current_database());
END $$;
-- The delegated-administration grants of the README's "Privileges and security".
GRANT USAGE ON SCHEMA tenancy TO tenancy_trust_admin, tenancy_trust_owner, tenancy_trust_other;
GRANT EXECUTE ON FUNCTION tenancy.create_tenant(text, boolean), tenancy.rename_tenant(text, text),
    tenancy.drop_tenant(text), tenancy.migrate(text, bigint),
    tenancy.manage_tenant(regclass, text[], boolean, boolean, text, boolean, integer),
    tenancy.unmanage_tenant(regclass), tenancy._managed_row_trigger()
    TO tenancy_trust_admin, tenancy_trust_owner, tenancy_trust_other;
GRANT EXECUTE ON PROCEDURE tenancy.drop_tenant_in_batches(text, integer) TO tenancy_trust_admin;
GRANT SELECT ON tenancy.migration_registry TO tenancy_trust_admin, tenancy_trust_owner, tenancy_trust_other;

-- ---------------------------------------------------------------------------
-- The delegated administrator
-- ---------------------------------------------------------------------------
SELECT tenancy.create_tenant('dba_tenant');   -- the superuser's
SET LOCAL ROLE tenancy_trust_admin;
SELECT lives_ok($$SELECT tenancy.create_tenant('admin_tenant')$$,
                'a delegated administrator creates tenants without any grant on the registry');
SELECT lives_ok($$SELECT tenancy.rename_tenant('admin_tenant', 'admin_renamed')$$, 'renames its own');
SELECT throws_ok($$INSERT INTO tenancy.tenant_registry (tenant) VALUES ('public')$$, '42501', NULL,
                 'but cannot write the registry: no forged tenant rows');
SELECT throws_ok($$UPDATE tenancy.tenant_registry SET tenant = 'public'$$, '42501', NULL,
                 'nor rewrite registered names');
SELECT throws_ok($$INSERT INTO tenancy.managed_tables VALUES ('tenancy.tenant_registry', '{x}', true, true, 'drop')$$,
                 '42501', NULL, 'nor the managed tables'' settings');
SELECT throws_ok($$SELECT tenancy.drop_tenant('dba_tenant')$$, '42501', NULL,
                 'it cannot drop a tenant it does not own');
SELECT throws_ok($$CALL tenancy.drop_tenant_in_batches('dba_tenant')$$, '42501',
                 'must be owner of schema dba_tenant', 'nor drop it in batches');
SELECT throws_ok($$SELECT tenancy.rename_tenant('dba_tenant', 'mine')$$, '42501', NULL,
                 'nor rename it');
SELECT lives_ok($$SELECT tenancy.drop_tenant('admin_renamed')$$, 'it drops its own');
RESET ROLE;
SELECT has_schema('dba_tenant', 'the other tenant is untouched');

-- ---------------------------------------------------------------------------
-- Adoption: squatted schemas
-- ---------------------------------------------------------------------------
SET LOCAL ROLE tenancy_trust_squatter;
CREATE SCHEMA org_5;
CREATE TABLE org_5.spy (note text);
RESET ROLE;
SET LOCAL ROLE tenancy_trust_admin;
SELECT throws_ok($$SELECT tenancy.create_tenant('org_5', if_not_exists => true)$$, '42501',
                 'permission denied to adopt schema "org_5"',
                 'create_tenant does not adopt a schema whose owner the caller cannot act as');
RESET ROLE;
SELECT ok(NOT EXISTS (SELECT FROM tenancy.tenant_registry WHERE tenant = 'org_5'), 'and registers nothing');
-- Acting as the owner is CREATE SCHEMA ... AUTHORIZATION's rule: from
-- PostgreSQL 16 on, membership without the SET option is not enough.
SET LOCAL ROLE tenancy_trust_squatter;
CREATE SCHEMA squat_2;
RESET ROLE;
DO $$ BEGIN
    IF current_setting('server_version_num')::int >= 160000 THEN
        EXECUTE 'GRANT tenancy_trust_squatter TO tenancy_trust_admin WITH INHERIT TRUE, SET FALSE';
    END IF;
END $$;
SET LOCAL ROLE tenancy_trust_admin;
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000
    THEN throws_ok($$SELECT tenancy.create_tenant('squat_2', if_not_exists => true)$$, '42501',
                   'permission denied to adopt schema "squat_2"',
                   'a member of the owner''s role without SET cannot adopt its schema')
    ELSE skip('membership without SET exists from PostgreSQL 16 on', 1) END;
RESET ROLE;
DO $$ BEGIN
    IF current_setting('server_version_num')::int >= 160000 THEN
        EXECUTE 'REVOKE tenancy_trust_squatter FROM tenancy_trust_admin';
    END IF;
END $$;
GRANT tenancy_trust_squatter TO tenancy_trust_admin;
SET LOCAL ROLE tenancy_trust_admin;
SELECT lives_ok($$SELECT tenancy.create_tenant('squat_2', if_not_exists => true)$$,
                'a role that may act as the schema''s owner adopts it');
RESET ROLE;
REVOKE tenancy_trust_squatter FROM tenancy_trust_admin;

CREATE TABLE public.orgs (id int PRIMARY KEY, name text);
ALTER TABLE public.orgs OWNER TO tenancy_trust_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.orgs TO tenancy_trust_app;
INSERT INTO public.orgs VALUES (1, 'Acme'), (5, 'Initech');
SELECT throws_ok($$SELECT tenancy.manage_tenant('public.orgs', ARRAY['org_', ':id'], backfill => true)$$,
                 '42501',
                 'schema "org_5" is owned by role "tenancy_trust_squatter", not by "tenancy_trust_owner", the owner of table "public"."orgs"',
                 'backfill refuses a schema another role made first, even for a superuser');
SELECT ok(NOT EXISTS (SELECT FROM tenancy.tenant_registry WHERE tenant IN ('org_1', 'org_5')),
          'and adopts nothing');
DROP SCHEMA org_5 CASCADE;
SET LOCAL ROLE tenancy_trust_owner;
SELECT lives_ok($$SELECT tenancy.manage_tenant('public.orgs', ARRAY['org_', ':id'], on_delete => 'drop',
                                               backfill => true)$$,
                'the table''s owner manages its table, with backfill');
RESET ROLE;
SELECT is((SELECT array_agg(nspowner::regrole::text ORDER BY nspname) FROM pg_namespace
           WHERE nspname IN ('org_1', 'org_5')),
          ARRAY['tenancy_trust_owner', 'tenancy_trust_owner'], 'its tenants belong to the table''s owner');

-- ---------------------------------------------------------------------------
-- Adoption: another table's tenants
-- ---------------------------------------------------------------------------
CREATE TABLE public.same_owner_orgs (id int);
ALTER TABLE public.same_owner_orgs OWNER TO tenancy_trust_owner;
INSERT INTO public.same_owner_orgs VALUES (1);
CREATE TABLE public.other_orgs (id int);
ALTER TABLE public.other_orgs OWNER TO tenancy_trust_other;
INSERT INTO public.other_orgs VALUES (1);
SET LOCAL ROLE tenancy_trust_owner;
SELECT throws_ok($$SELECT tenancy.manage_tenant('public.same_owner_orgs', ARRAY['org_', ':id'], backfill => true)$$,
                 '42501', 'tenant "org_1" is managed by table "orgs"',
                 'backfill does not take over a tenant another managed table made');
RESET ROLE;
SET LOCAL ROLE tenancy_trust_other;
SELECT throws_ok($$SELECT tenancy.manage_tenant('public.other_orgs', ARRAY['org_', ':id'], backfill => true)$$,
                 '42501', NULL, 'nor one that another role owns');
RESET ROLE;
SELECT is((SELECT managed_by::text FROM tenancy.tenant_registry WHERE tenant = 'org_1'), 'orgs',
          'the tenant stays the first table''s');

-- ---------------------------------------------------------------------------
-- The row trigger does not follow forged registry rows
-- ---------------------------------------------------------------------------
CREATE TABLE public.names (name text);
ALTER TABLE public.names OWNER TO tenancy_trust_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.names TO tenancy_trust_app;
CREATE SCHEMA victim AUTHORIZATION tenancy_trust_other;
CREATE SCHEMA owners_own AUTHORIZATION tenancy_trust_owner;
SELECT tenancy.manage_tenant('public.names', ARRAY[':name'], "create" => false, on_delete => 'drop');
INSERT INTO public.names VALUES ('public'), ('victim'), ('owners_own');
-- Rows only the extension's owner could write now; a role once granted
-- write access to the registry could have written them.
INSERT INTO tenancy.tenant_registry (tenant, managed_by)
    VALUES ('public', 'public.names'), ('victim', 'public.names');
SET LOCAL ROLE tenancy_trust_app;
SELECT lives_ok($$DELETE FROM public.names WHERE name = 'public'$$,
                'deleting a row whose name a forged registry row claims');
SELECT lives_ok($$UPDATE public.names SET name = 'renamed' WHERE name = 'victim'$$,
                'renaming another');
SELECT lives_ok($$DELETE FROM public.names WHERE name IN ('renamed', 'owners_own')$$, 'deleting the rest');
RESET ROLE;
SELECT throws_ok($$SELECT tenancy.drop_tenant('public')$$, '3F000', NULL,
                  'drop_tenant does not take a registry row naming public for a tenant');
SELECT throws_ok($$SELECT tenancy.rename_tenant('public', 'renamed_public')$$, '3F000', NULL,
                  'nor does rename_tenant');
SELECT has_schema('public', 'leaves public in place');
SELECT has_schema('victim', 'leaves a schema of another role in place, under its name');
SELECT has_schema('owners_own', 'and a schema of the table''s owner that the table did not make');
-- A tenant the table made, given to another role, is no longer the table's.
SET LOCAL ROLE tenancy_trust_app;
INSERT INTO public.orgs VALUES (7, 'Hooli');
RESET ROLE;
ALTER SCHEMA org_7 OWNER TO tenancy_trust_other;
SET LOCAL ROLE tenancy_trust_app;
DELETE FROM public.orgs WHERE id = 7;
RESET ROLE;
SELECT has_schema('org_7', 'a tenant whose schema now belongs to another role is not dropped by the table');
-- A row's delete does not drop objects outside its tenant either.
CREATE VIEW public.org_1_versions AS SELECT version FROM org_1.schema_migrations;
SET LOCAL ROLE tenancy_trust_app;
SELECT throws_ok($$DELETE FROM public.orgs WHERE id = 1$$, '2BP01',
                 'cannot drop tenant "org_1" because objects outside it depend on it',
                 'a delete whose tenant objects outside depend on fails (on_delete => ''drop'')');
RESET ROLE;
SELECT has_view('public', 'org_1_versions', 'and the outside view stays');

-- ---------------------------------------------------------------------------
-- manage_tenant and unmanage_tenant check ownership first
-- ---------------------------------------------------------------------------
SET LOCAL ROLE tenancy_trust_other;
SELECT throws_ok($$SELECT tenancy.manage_tenant('public.orgs', ARRAY['x_', ':id'])$$, '42501',
                 'must be owner of table orgs', 'manage_tenant needs the table''s ownership');
SELECT throws_ok($$SELECT tenancy.unmanage_tenant('public.orgs')$$, '42501',
                 'must be owner of table orgs', 'so does unmanage_tenant');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- drop_tenant drops nothing outside the tenant
-- ---------------------------------------------------------------------------
SELECT tenancy.create_tenant('dep');
CREATE TABLE dep.t (id int PRIMARY KEY, n serial);
CREATE FUNCTION dep.f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
-- Inside: a view, an index, a trigger, a sequence: all go with the tenant.
CREATE VIEW dep.v AS SELECT id FROM dep.t;
CREATE INDEX ON dep.t (n);
CREATE TRIGGER inside BEFORE INSERT ON dep.t FOR EACH ROW EXECUTE FUNCTION dep.f();
-- Outside: a view, a foreign key and a trigger of public tables.
CREATE VIEW public.dep_view AS SELECT id FROM dep.t;
CREATE TABLE public.dep_ref (t_id int REFERENCES dep.t);
CREATE TABLE public.dep_fired (id int);
CREATE TRIGGER outside BEFORE INSERT ON public.dep_fired FOR EACH ROW EXECUTE FUNCTION dep.f();
SELECT throws_ok($$SELECT tenancy.drop_tenant('dep')$$, '2BP01',
                 'cannot drop tenant "dep" because objects outside it depend on it',
                 'drop_tenant refuses to drop objects outside the tenant that depend on it');
SELECT is(pg_temp.error_detail($$SELECT tenancy.drop_tenant('dep')$$),
          E'constraint dep_ref_t_id_fkey on table public.dep_ref depends on column id of table dep.t\n'
          'trigger outside on table public.dep_fired depends on function dep.f()\n'
          'view public.dep_view depends on column id of table dep.t',
          'its detail names each of them');
SELECT throws_ok($$CALL tenancy.drop_tenant_in_batches('dep')$$, '2BP01', NULL,
                 'so does drop_tenant_in_batches');
SELECT has_view('public', 'dep_view', 'the outside view is still there');
SELECT has_table('dep', 't', 'and so is the tenant');
DROP VIEW public.dep_view;
DROP TABLE public.dep_ref;
DROP TRIGGER outside ON public.dep_fired;
SELECT lives_ok($$SELECT tenancy.drop_tenant('dep')$$, 'without them the tenant drops, its own objects with it');
SELECT hasnt_schema('dep', 'and is gone');

-- ---------------------------------------------------------------------------
-- Template columns and typed tables
-- ---------------------------------------------------------------------------
CREATE FUNCTION pg_temp.virtual_column_refused() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'CREATE TABLE public.virtual_orgs (id int, slug text GENERATED ALWAYS AS (''o'' || id) VIRTUAL)';
    PERFORM tenancy.manage_tenant('public.virtual_orgs', ARRAY[':slug']);
    RETURN 'accepted';
EXCEPTION WHEN feature_not_supported THEN
    RETURN SQLERRM;
END
$$;
SELECT CASE WHEN current_setting('server_version_num')::int >= 180000
    THEN is(pg_temp.virtual_column_refused(), 'template column "slug" is a virtual generated column',
            'a virtual generated column is refused as a template column (0A000)')
    ELSE skip('virtual generated columns exist from PostgreSQL 18 on', 1) END;

CREATE TYPE public.org_row AS (id int, name text);
CREATE TABLE public.typed_orgs OF public.org_row;
SELECT tenancy.manage_tenant('public.typed_orgs', ARRAY['typed_', ':id']);
SELECT is((SELECT count(*)::int FROM tenancy.managed_tables WHERE tbl = 'public.typed_orgs'::regclass), 1,
          'a typed table can be managed');
DROP TYPE public.org_row CASCADE;
SELECT is((SELECT count(*)::int FROM tenancy.managed_tables
           WHERE tbl::oid NOT IN (SELECT oid FROM pg_class)), 0,
          'DROP TYPE ... CASCADE of its type leaves no dangling settings');

SELECT * FROM finish();
ROLLBACK;
