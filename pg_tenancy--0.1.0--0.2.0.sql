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

CREATE OR REPLACE VIEW tenancy.tenant_usage AS
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
WHERE tenancy._library_loaded()
GROUP BY registered.tenant;

COMMENT ON COLUMN tenancy.tenant_access.role_name IS 'The role given access, by name';
COMMENT ON COLUMN tenancy.tenant_access.privileges IS 'The table privileges it has in every tenant';
COMMENT ON COLUMN tenancy.tenant_access.declared_at IS 'When grant_tenant_access() declared it';
COMMENT ON COLUMN tenancy.tenant_usage.tenant IS 'The tenant''s schema name';
COMMENT ON COLUMN tenancy.tenant_usage.bytes IS 'Bytes on disk of its tables, indexes, sequences and TOAST';
COMMENT ON COLUMN tenancy.tenant_usage.relations IS 'How many relations its schema holds';
COMMENT ON COLUMN tenancy.tenant_usage.live_rows IS 'Live rows of its tables, as the statistics estimate them';
COMMENT ON COLUMN tenancy.tenant_usage.seq_scans IS 'Sequential scans of its tables';
COMMENT ON COLUMN tenancy.tenant_usage.index_scans IS 'Index scans of its indexes';
COMMENT ON COLUMN tenancy.tenant_usage.rows_inserted IS 'Rows inserted into its tables';
COMMENT ON COLUMN tenancy.tenant_usage.rows_updated IS 'Rows updated in its tables';
COMMENT ON COLUMN tenancy.tenant_usage.rows_deleted IS 'Rows deleted from its tables';
COMMENT ON COLUMN tenancy.tenant_usage.last_vacuum IS 'The latest vacuum (manual or auto) of any of its tables';
COMMENT ON COLUMN tenancy.tenant_usage.last_analyze IS 'The latest analyze (manual or auto) of any of its tables';
