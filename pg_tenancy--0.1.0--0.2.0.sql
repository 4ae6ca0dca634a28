-- pg_tenancy 0.1.0 to 0.2.0 (ALTER EXTENSION pg_tenancy UPDATE TO '0.2.0').
--
-- Every change of pg_tenancy.sql between the two versions is here too, so
-- that an updated database ends with the same objects as a fresh 0.2.0 one
-- (test/psql/extension_upgrade.sh compares them). The registry tables are
-- altered in place: they hold users' data.

\echo Use "ALTER EXTENSION pg_tenancy UPDATE" to load this file. \quit

-- Trust: tenant lifecycle, registry and managed tables
-- DROP TYPE, DROP DOMAIN and DROP FUNCTION ... CASCADE can drop a managed
-- table (a typed table, CREATE TABLE ... OF) or a template column.
DROP EVENT TRIGGER tenancy_sql_drop;
CREATE EVENT TRIGGER tenancy_sql_drop ON sql_drop
    WHEN TAG IN ('DROP SCHEMA', 'DROP OWNED', 'DROP TABLE', 'ALTER TABLE', 'DROP TYPE',
                 'DROP DOMAIN', 'DROP FUNCTION')
    EXECUTE FUNCTION tenancy._on_sql_drop();
