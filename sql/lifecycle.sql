-- The tenant lifecycle's SQL surface, with its exact output.
CREATE EXTENSION pg_tenancy;

SELECT tenancy.create_tenant('acme');
SELECT tenancy.create_tenant('Mixed-Case_1');
SELECT tenancy.create_tenant('with-dash');
SELECT * FROM tenancy.all_tenants();

-- The schema and its Ecto-layout schema_migrations table.
SELECT nspname FROM pg_namespace WHERE nspname IN ('acme', 'Mixed-Case_1', 'with-dash') ORDER BY 1;
SELECT attname, format_type(atttypid, atttypmod), attnotnull
FROM pg_attribute
WHERE attrelid = '"Mixed-Case_1".schema_migrations'::regclass AND attnum > 0
ORDER BY attnum;

-- Refused names: each with its SQLSTATE, nothing left behind.
\set VERBOSITY sqlstate
SELECT tenancy.create_tenant(NULL);
SELECT tenancy.create_tenant('');
SELECT tenancy.create_tenant(repeat('a', 64));
SELECT tenancy.create_tenant(repeat('a', 62) || 'é');
SELECT tenancy.create_tenant('has space');
SELECT tenancy.create_tenant('quo"te');
SELECT tenancy.create_tenant('public');
SELECT tenancy.create_tenant('pg_anything');
SELECT tenancy.create_tenant('acme');
\set VERBOSITY default
SELECT tenancy.create_tenant('pg_anything');
SELECT tenancy.create_tenant(repeat('a', 64));
SELECT count(*) AS tenants FROM tenancy.tenant_registry;

-- Rename, onto a free name and onto a taken one.
SELECT tenancy.rename_tenant('acme', 'acme_corp');
SELECT tenancy.rename_tenant('acme_corp', 'with-dash');
SELECT tenancy.rename_tenant('nobody', 'somebody');
SELECT * FROM tenancy.all_tenants();

-- set_tenant
SELECT tenancy.set_tenant('acme_corp');
SHOW search_path;
SELECT tenancy.set_tenant('nobody');
SHOW search_path;
BEGIN;
SELECT tenancy.set_tenant('Mixed-Case_1', is_local => true);
SHOW search_path;
COMMIT;
SHOW search_path;
RESET search_path;

-- The tenants view.
SELECT tenant, created_at <= now() AS created, version, pending, last_error
FROM tenancy.tenants ORDER BY tenant;

-- drop_tenant
CREATE TABLE acme_corp.invoices (id int PRIMARY KEY);
INSERT INTO acme_corp.invoices VALUES (1), (2);
SELECT tenancy.drop_tenant('acme_corp');
SELECT tenancy.drop_tenant('acme_corp');
SELECT tenancy.drop_tenant('public');
SELECT * FROM tenancy.all_tenants();

-- Schemas changed by hand: the registry follows.
ALTER SCHEMA "with-dash" RENAME TO "renamed-by-hand";
SELECT * FROM tenancy.all_tenants();
DROP SCHEMA "renamed-by-hand" CASCADE;
SELECT * FROM tenancy.all_tenants();

-- Adoption of an existing schema.
CREATE SCHEMA legacy;
CREATE TABLE legacy.things (id int);
SELECT tenancy.create_tenant('legacy', if_not_exists => true);
SELECT tenancy.create_tenant('legacy', if_not_exists => true);
SELECT * FROM tenancy.all_tenants();
SELECT count(*) FROM legacy.things;

-- DROP EXTENSION keeps the tenants.
DROP EXTENSION pg_tenancy;
SELECT nspname FROM pg_namespace WHERE nspname IN ('Mixed-Case_1', 'legacy') ORDER BY 1;
DROP SCHEMA "Mixed-Case_1", legacy CASCADE;
