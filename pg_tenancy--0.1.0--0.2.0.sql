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

-- Pools of ready tenants (issue 12)
ALTER TABLE tenancy.tenant_registry ADD COLUMN spare boolean NOT NULL DEFAULT false;
ALTER TABLE tenancy.tenant_registry ADD COLUMN spare_checked_version bigint;

CREATE OR REPLACE FUNCTION tenancy.all_tenants()
RETURNS SETOF text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT tenant FROM tenancy.tenant_registry WHERE NOT spare ORDER BY tenant COLLATE pg_catalog."C" $$;

-- Spares are not tenants: the usage view leaves them out.
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
WHERE NOT registered.spare
GROUP BY registered.tenant;

DROP FUNCTION tenancy.manage_tenant(regclass, text[], boolean, boolean, text, boolean);
CREATE FUNCTION tenancy.manage_tenant(tbl regclass, template text[],
                                      "create" boolean DEFAULT true,
                                      "update" boolean DEFAULT true,
                                      on_delete text DEFAULT 'keep',
                                      backfill boolean DEFAULT false,
                                      pool integer DEFAULT NULL)
RETURNS void
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC'
SET extra_float_digits = 1 SET bytea_output = 'hex' SET lc_monetary = 'C'
AS 'MODULE_PATHNAME', 'tenancy_manage_tenant';
COMMENT ON FUNCTION tenancy.manage_tenant(regclass, text[], boolean, boolean, text, boolean, integer) IS
    'Makes the rows of a table create, rename and drop their tenants by a name template';

REVOKE ALL ON FUNCTION tenancy.manage_tenant(regclass, text[], boolean, boolean, text, boolean, integer) FROM PUBLIC;

-- One row per pool: how many spare tenants to keep ready. A pool of
-- create_tenant names its owner (by name, so pg_dump/pg_restore keeps it),
-- whose spares it owns; a pool of a managed table names the table, and its
-- spares belong to the table's owner. Spares are tenant_registry rows with
-- spare = true, named tenancy_spare_..., a prefix no tenant name may take.
CREATE TABLE tenancy.tenant_pools (
    owner         text UNIQUE,
    managed_table regclass UNIQUE,
    target        integer NOT NULL CHECK (target >= 0),
    CHECK ((owner IS NULL) <> (managed_table IS NULL))
);
COMMENT ON TABLE tenancy.tenant_pools IS
    'pg_tenancy: how many spare tenants to keep ready for create_tenant callers and managed tables';
SELECT pg_catalog.pg_extension_config_dump('tenancy.tenant_pools', '');

CREATE FUNCTION tenancy.set_tenant_pool(size integer)
RETURNS integer
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'tenancy_set_tenant_pool';
COMMENT ON FUNCTION tenancy.set_tenant_pool(integer) IS
    'Keeps size spare tenants, owned by the current role, ready for its create_tenant calls';

-- No SET clause: it would make every CALL atomic, and it commits after each
-- spare. Its internal SQL is fully schema-qualified.
CREATE PROCEDURE tenancy.refill_tenant_pool()
LANGUAGE C
AS 'MODULE_PATHNAME', 'tenancy_refill_tenant_pool';
COMMENT ON PROCEDURE tenancy.refill_tenant_pool() IS
    'Makes (or drops) spare tenants until every pool the caller may act for holds its target, one per transaction';

-- Why a pool's spares cannot be taken now (NULL: they can). C, so that
-- create_tenant and this view give the same reason.
CREATE FUNCTION tenancy._pool_unusable_reason(owner oid, managed_table oid)
RETURNS text
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'tenancy_pool_unusable_reason';

-- Per pool: its target, its ready spares (at the current version), its spares
-- behind on migrations, and whether create_tenant and the row triggers take
-- spares from it now (usable), or why not.
CREATE VIEW tenancy.tenant_pools_status AS
SELECT coalesce(p.owner, pg_catalog.pg_get_userbyid(t.relowner)::text) AS owner,
       p.managed_table,
       p.target,
       (pg_catalog.count(s.tenant) FILTER (WHERE s.pending OPERATOR(pg_catalog.=) 0))::integer AS ready,
       (pg_catalog.count(s.tenant) FILTER (WHERE s.pending OPERATOR(pg_catalog.>) 0))::integer AS behind,
       tenancy._pool_unusable_reason(o.oid, t.oid) IS NULL AS usable,
       tenancy._pool_unusable_reason(o.oid, t.oid) AS reason
FROM tenancy.tenant_pools AS p
LEFT JOIN pg_catalog.pg_class AS t ON t.oid OPERATOR(pg_catalog.=) p.managed_table
LEFT JOIN pg_catalog.pg_roles AS o
       ON o.rolname OPERATOR(pg_catalog.=) coalesce(p.owner, pg_catalog.pg_get_userbyid(t.relowner)::text)
LEFT JOIN LATERAL (
    SELECT r.tenant,
           (SELECT pg_catalog.count(*) FROM tenancy.migration_registry AS m
             WHERE m.version OPERATOR(pg_catalog.<>) ALL (
                 SELECT a.version FROM tenancy._applied_migrations(r.tenant) AS a)) AS pending
    FROM tenancy.tenant_registry AS r
    JOIN pg_catalog.pg_namespace AS n ON n.nspname OPERATOR(pg_catalog.=) r.tenant
    WHERE r.spare AND n.nspowner OPERATOR(pg_catalog.=) o.oid
      AND r.managed_by IS NOT DISTINCT FROM p.managed_table
) AS s ON true
GROUP BY p.owner, p.managed_table, p.target, t.relowner, o.oid, t.oid;
COMMENT ON VIEW tenancy.tenant_pools_status IS
    'Per tenant pool: target, ready spares, spares behind on migrations, and whether it is usable (and why not)';
REVOKE ALL ON FUNCTION tenancy.set_tenant_pool(integer) FROM PUBLIC;
REVOKE ALL ON PROCEDURE tenancy.refill_tenant_pool() FROM PUBLIC;
-- Revoked first, so that its ACL lists the owner before PUBLIC, as a fresh install's does.
REVOKE ALL ON FUNCTION tenancy._pool_unusable_reason(oid, oid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._pool_unusable_reason(oid, oid) TO PUBLIC;
GRANT SELECT ON tenancy.tenant_pools TO PUBLIC;
GRANT SELECT ON tenancy.tenant_pools_status TO PUBLIC;
