-- pg_tenancy 0.1.0 to 0.2.0 (ALTER EXTENSION pg_tenancy UPDATE TO '0.2.0').
--
-- Every change of pg_tenancy.sql between the two versions is here too, so
-- that an updated database ends with the same objects as a fresh 0.2.0 one
-- (test/psql/extension_upgrade.sh compares them). The registry tables are
-- altered in place: they hold users' data.

\echo Use "ALTER EXTENSION pg_tenancy UPDATE" to load this file. \quit

-- Application access (issue: tenants an application can use)
-- One row per role declared with grant_tenant_access(). By name, not OID, so
-- that pg_dump/pg_restore keeps it (a renamed role must be declared again).
CREATE TABLE tenancy.tenant_access (
    role_name   text PRIMARY KEY,
    privileges  text[] NOT NULL,
    declared_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE tenancy.tenant_access IS
    'pg_tenancy: roles granted access to every tenant by grant_tenant_access()';
SELECT pg_catalog.pg_extension_config_dump('tenancy.tenant_access', '');

-- No SET clause on the procedures: it would make every CALL atomic, and they
-- commit every 100 tenants. Their internal SQL is fully schema-qualified.
CREATE PROCEDURE tenancy.grant_tenant_access(role regrole,
    privileges text[] DEFAULT ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'])
LANGUAGE C
AS 'MODULE_PATHNAME', 'tenancy_grant_tenant_access';
COMMENT ON PROCEDURE tenancy.grant_tenant_access(regrole, text[]) IS
    'Gives a role USAGE on every tenant schema, privileges on its tables and sequences, now and for every later tenant and table';

CREATE PROCEDURE tenancy.revoke_tenant_access(role regrole)
LANGUAGE C
AS 'MODULE_PATHNAME', 'tenancy_revoke_tenant_access';
COMMENT ON PROCEDURE tenancy.revoke_tenant_access(regrole) IS
    'Takes back what grant_tenant_access() gave a role in every tenant';

REVOKE ALL ON PROCEDURE tenancy.grant_tenant_access(regrole, text[]) FROM PUBLIC;
REVOKE ALL ON PROCEDURE tenancy.revoke_tenant_access(regrole) FROM PUBLIC;

CREATE FUNCTION tenancy._relation_bytes(relfilenode oid, reltablespace oid, relpersistence "char")
RETURNS bigint
LANGUAGE C STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'tenancy_relation_bytes';
COMMENT ON FUNCTION tenancy._relation_bytes(oid, oid, "char") IS
    'Internal to pg_tenancy: a relation''s bytes on disk from its pg_class columns, without opening it';

-- Per tenant: its size on disk (tables, indexes, sequences, TOAST), its
-- relations, and its activity since the statistics were last reset, summed
-- over its relations. Sizes come from the files, not from opening each
-- relation, so reading it leaves no relation cache behind.
CREATE VIEW tenancy.tenant_usage AS
SELECT registered.tenant,
       coalesce(pg_catalog.sum(
           coalesce(tenancy._relation_bytes(c.relfilenode, c.reltablespace, c.relpersistence), 0)
           OPERATOR(pg_catalog.+) coalesce(tenancy._relation_bytes(toast.relfilenode, toast.reltablespace, toast.relpersistence), 0)
           OPERATOR(pg_catalog.+) coalesce(tenancy._relation_bytes(toast_index.relfilenode, toast_index.reltablespace, toast_index.relpersistence), 0)
       ), 0) AS bytes,
       pg_catalog.count(c.oid)::integer AS relations,
       pg_catalog.sum(pg_catalog.pg_stat_get_live_tuples(c.oid))
           FILTER (WHERE c.relkind OPERATOR(pg_catalog.=) ANY ('{r,m}')) AS live_rows,
       pg_catalog.sum(pg_catalog.pg_stat_get_numscans(c.oid))
           FILTER (WHERE c.relkind OPERATOR(pg_catalog.=) ANY ('{r,m}')) AS seq_scans,
       pg_catalog.sum(pg_catalog.pg_stat_get_numscans(c.oid))
           FILTER (WHERE c.relkind OPERATOR(pg_catalog.=) 'i') AS index_scans,
       pg_catalog.sum(pg_catalog.pg_stat_get_tuples_inserted(c.oid)) AS rows_inserted,
       pg_catalog.sum(pg_catalog.pg_stat_get_tuples_updated(c.oid)) AS rows_updated,
       pg_catalog.sum(pg_catalog.pg_stat_get_tuples_deleted(c.oid)) AS rows_deleted,
       pg_catalog.max(GREATEST(pg_catalog.pg_stat_get_last_vacuum_time(c.oid),
                               pg_catalog.pg_stat_get_last_autovacuum_time(c.oid))) AS last_vacuum,
       pg_catalog.max(GREATEST(pg_catalog.pg_stat_get_last_analyze_time(c.oid),
                               pg_catalog.pg_stat_get_last_autoanalyze_time(c.oid))) AS last_analyze
FROM tenancy.tenant_registry AS registered
LEFT JOIN pg_catalog.pg_namespace AS n ON n.nspname OPERATOR(pg_catalog.=) registered.tenant
LEFT JOIN pg_catalog.pg_class AS c ON c.relnamespace OPERATOR(pg_catalog.=) n.oid
LEFT JOIN pg_catalog.pg_class AS toast ON toast.oid OPERATOR(pg_catalog.=) c.reltoastrelid
LEFT JOIN pg_catalog.pg_index AS toast_key ON toast_key.indrelid OPERATOR(pg_catalog.=) toast.oid
LEFT JOIN pg_catalog.pg_class AS toast_index ON toast_index.oid OPERATOR(pg_catalog.=) toast_key.indexrelid
GROUP BY registered.tenant;
COMMENT ON VIEW tenancy.tenant_usage IS
    'Per tenant: bytes on disk, relations, live rows and activity since the statistics were last reset';
REVOKE ALL ON FUNCTION tenancy._relation_bytes(oid, oid, "char") FROM PUBLIC;

-- Trust: tenant lifecycle, registry and managed tables
-- DROP TYPE, DROP DOMAIN and DROP FUNCTION ... CASCADE can drop a managed
-- table (a typed table, CREATE TABLE ... OF) or a template column.
DROP EVENT TRIGGER tenancy_sql_drop;
CREATE EVENT TRIGGER tenancy_sql_drop ON sql_drop
    WHEN TAG IN ('DROP SCHEMA', 'DROP OWNED', 'DROP TABLE', 'ALTER TABLE', 'DROP TYPE',
                 'DROP DOMAIN', 'DROP FUNCTION')
    EXECUTE FUNCTION tenancy._on_sql_drop();

-- Status readers: what the status views show to whom, one pass over the
-- registry, timestamp(0) applied_at, pending_tenants()

CREATE FUNCTION tenancy._tenant_states(only_pending boolean DEFAULT false)
RETURNS TABLE (tenant text, created_at timestamptz, version bigint, pending integer,
               last_error text)
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'tenancy_tenant_states';

CREATE FUNCTION tenancy._version_states(tenant_name text DEFAULT NULL)
RETURNS TABLE (tenant text, version bigint, name text, state text,
               applied_at timestamp without time zone)
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'tenancy_version_states';

CREATE OR REPLACE VIEW tenancy.tenants AS
SELECT tenant, created_at, version, pending, last_error
FROM tenancy._tenant_states();

-- applied_at becomes timestamp(0): a view column's type cannot change in
-- place, and migration_status() now returns the view's row type.
DROP FUNCTION tenancy.migration_status(text);
DROP VIEW tenancy.migration_states;

-- (_version_states() rounds applied_at already: the casts only type the column.)
CREATE VIEW tenancy.migration_states AS
SELECT tenant, version, name, state,
       applied_at::timestamp(0) without time zone AS applied_at
FROM tenancy._version_states();
COMMENT ON VIEW tenancy.migration_states IS
    'One row per tenant and migration version: applied, pending, changed or unregistered';

-- SETOF the view's row type, so that applied_at keeps its timestamp(0).
-- Ordered by tenant and version: the reader walks the registry in its
-- primary key's order and sorts each tenant's versions. An unknown
-- tenant_name: 3F000.
CREATE FUNCTION tenancy.migration_status(tenant_name text DEFAULT NULL)
RETURNS SETOF tenancy.migration_states
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'tenancy_migration_status';
COMMENT ON FUNCTION tenancy.migration_status(text) IS
    'Each tenant''s migrations: applied, pending, changed or unregistered';

CREATE FUNCTION tenancy.pending_tenants()
RETURNS TABLE (tenant text, pending integer)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT t.tenant, t.pending FROM tenancy._tenant_states(true) AS t
ORDER BY t.tenant COLLATE pg_catalog."C"
$$;
COMMENT ON FUNCTION tenancy.pending_tenants() IS
    'Tenants with registered migrations not applied yet, and how many';

REVOKE ALL ON FUNCTION tenancy._tenant_states(boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION tenancy._version_states(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION tenancy.migration_status(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION tenancy.pending_tenants() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.migration_status(text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.pending_tenants() TO PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._tenant_states(boolean) TO PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._version_states(text) TO PUBLIC;
GRANT SELECT ON tenancy.migration_states TO PUBLIC;
REVOKE SELECT ON tenancy.tenant_registry FROM PUBLIC;
GRANT SELECT (tenant, created_at, managed_by) ON tenancy.tenant_registry TO PUBLIC;
