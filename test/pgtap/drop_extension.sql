-- DROP EXTENSION leaves every tenant schema and its data in place.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION pg_tenancy;
SELECT plan(5);

SELECT tenancy.create_tenant('keeper');
CREATE TABLE keeper.notes (body text);
INSERT INTO keeper.notes VALUES ('kept');

SELECT lives_ok('DROP EXTENSION pg_tenancy', 'the extension drops');
SELECT hasnt_table('tenancy', 'tenant_registry', 'its registry is gone');
SELECT has_schema('keeper', 'the tenant schema stays');
SELECT has_table('keeper', 'schema_migrations', 'with its schema_migrations');
SELECT is((SELECT body FROM keeper.notes), 'kept', 'and its data');

SELECT * FROM finish();
ROLLBACK;
