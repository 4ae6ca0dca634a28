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

-- Shipping: comments and return values
--
-- register_migration and manage_tenant now say what they did (text, integer):
-- a return type cannot change in place, so each is dropped and created again,
-- with the privileges and comment of a fresh install. all_tenants() is in C
-- now, so that using it loads the library and its settings.

-- Grants made on the two cannot be carried over: GRANTs run by an update
-- script become the extension's initial privileges, which pg_dump leaves out.
-- So the update names the statements to run again.
DO $$
DECLARE
    statements text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('GRANT EXECUTE ON FUNCTION %I.%I(%s) TO %s%s;',
               n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid),
               CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                    ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,
               CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END), E'\n')
    INTO statements
    FROM pg_catalog.pg_proc AS p
    JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace,
         pg_catalog.aclexplode(p.proacl) AS a
    WHERE p.oid OPERATOR(pg_catalog.=) ANY (ARRAY[
              'tenancy.register_migration(bigint, text, text, text)'::pg_catalog.regprocedure,
              'tenancy.manage_tenant(regclass, text[], boolean, boolean, text, boolean)'::pg_catalog.regprocedure])
      AND a.grantee OPERATOR(pg_catalog.<>) p.proowner;
    IF statements IS NOT NULL THEN
        RAISE WARNING 'register_migration and manage_tenant are created again, without the grants made on them'
            USING DETAIL = 'Their return types changed in 0.2.0, which takes a DROP FUNCTION and a CREATE FUNCTION.',
                  HINT = 'After the update, run again:' || E'\n' || statements;
    END IF;
END
$$;

DROP FUNCTION tenancy.register_migration(bigint, text, text, text);
CREATE FUNCTION tenancy.register_migration(version bigint, name text, up_sql text,
                                           down_sql text DEFAULT NULL)
RETURNS text
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'tenancy_register_migration';
REVOKE ALL ON FUNCTION tenancy.register_migration(bigint, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION tenancy.register_migration(bigint, text, text, text) IS
    'Registers a tenant migration; returns added, changed, or unchanged (identical text again: a no-op)';

DROP FUNCTION tenancy.manage_tenant(regclass, text[], boolean, boolean, text, boolean);
CREATE FUNCTION tenancy.manage_tenant(tbl regclass, template text[],
                                      "create" boolean DEFAULT true,
                                      "update" boolean DEFAULT true,
                                      on_delete text DEFAULT 'keep',
                                      backfill boolean DEFAULT false)
RETURNS integer
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC'
SET extra_float_digits = 1 SET bytea_output = 'hex' SET lc_monetary = 'C'
AS 'MODULE_PATHNAME', 'tenancy_manage_tenant';
REVOKE ALL ON FUNCTION tenancy.manage_tenant(regclass, text[], boolean, boolean, text, boolean) FROM PUBLIC;
COMMENT ON FUNCTION tenancy.manage_tenant(regclass, text[], boolean, boolean, text, boolean) IS
    'Makes the rows of a table create, rename and drop their tenants by a name template; returns how many tenants backfill created or adopted';

CREATE OR REPLACE FUNCTION tenancy.all_tenants()
RETURNS SETOF text
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'tenancy_all_tenants';

COMMENT ON COLUMN tenancy.tenant_registry.tenant IS 'The tenant''s schema name, exactly as created (never case-folded)';
COMMENT ON COLUMN tenancy.tenant_registry.created_at IS 'When the tenant was created or adopted';
COMMENT ON COLUMN tenancy.tenant_registry.last_error IS
    'SQLSTATE: message of the last failed migrate_all/rollback_all attempt on the tenant; NULL after a success';
COMMENT ON COLUMN tenancy.tenant_registry.managed_by IS
    'The managed table whose rows made (or whose backfill adopted) the tenant; NULL for other tenants';
COMMENT ON COLUMN tenancy.migration_registry.version IS 'The migration''s version (positive; Ecto-style timestamps are typical)';
COMMENT ON COLUMN tenancy.migration_registry.name IS 'The migration''s name';
COMMENT ON COLUMN tenancy.migration_registry.up_sql IS 'The SQL that applies the migration in a tenant (@tenant@ is the quoted tenant)';
COMMENT ON COLUMN tenancy.migration_registry.down_sql IS 'The SQL that undoes it (rollback); NULL when it cannot be rolled back';
COMMENT ON COLUMN tenancy.migration_registry.checksum IS 'SHA-256 of up_sql as registered, hex; a mismatch shows as changed';
COMMENT ON COLUMN tenancy.migration_registry.registered_at IS 'When the migration was registered or last changed';
COMMENT ON COLUMN tenancy.managed_tables.tbl IS 'The managed table (follows renames)';
COMMENT ON COLUMN tenancy.managed_tables.template IS
    'The tenant name template: literal text, and :column elements replaced by the row''s values';
COMMENT ON COLUMN tenancy.managed_tables.on_create IS 'Whether inserting a row creates its tenant';
COMMENT ON COLUMN tenancy.managed_tables.on_update IS 'Whether an update that changes the rendered name renames the tenant';
COMMENT ON COLUMN tenancy.managed_tables.on_delete IS 'keep or drop: what deleting a row does to its tenant';
COMMENT ON FUNCTION tenancy._checksum(text) IS
    'Internal to pg_tenancy: the SHA-256 (hex) of a migration''s up_sql';
COMMENT ON FUNCTION tenancy._applied_migrations(text) IS
    'Internal to pg_tenancy: the rows of a registered tenant''s schema_migrations, for the views';
COMMENT ON COLUMN tenancy.tenants.tenant IS 'The tenant''s schema name';
COMMENT ON COLUMN tenancy.tenants.created_at IS 'When the tenant was created or adopted';
COMMENT ON COLUMN tenancy.tenants.version IS 'The highest migration version applied to the tenant';
COMMENT ON COLUMN tenancy.tenants.pending IS 'How many registered migrations the tenant has not applied';
COMMENT ON COLUMN tenancy.tenants.last_error IS
    'SQLSTATE: message of the last failed migrate_all/rollback_all attempt; NULL after a success';
COMMENT ON COLUMN tenancy.migration_states.tenant IS 'The tenant''s schema name';
COMMENT ON COLUMN tenancy.migration_states.version IS 'The migration''s version';
COMMENT ON COLUMN tenancy.migration_states.name IS 'The registered migration''s name; NULL when unregistered';
COMMENT ON COLUMN tenancy.migration_states.state IS
    'applied, pending, changed (registered up_sql no longer matches its checksum) or unregistered';
COMMENT ON COLUMN tenancy.migration_states.applied_at IS
    'When the tenant applied it (UTC, from schema_migrations.inserted_at); NULL when pending';
COMMENT ON FUNCTION tenancy._managed_row_trigger() IS
    'Internal to pg_tenancy: the row trigger of managed tables, creating, renaming and dropping tenants';
COMMENT ON FUNCTION tenancy._on_sql_drop() IS
    'Internal to pg_tenancy: event trigger unregistering dropped tenant schemas and managed tables, refusing to drop a template column';
COMMENT ON FUNCTION tenancy._on_ddl_command_end() IS
    'Internal to pg_tenancy: event trigger following renamed tenant schemas and template columns';
COMMENT ON EVENT TRIGGER tenancy_sql_drop IS
    'pg_tenancy: keeps the registry true when tenant schemas or managed tables are dropped by hand';
COMMENT ON EVENT TRIGGER tenancy_ddl_command_end IS
    'pg_tenancy: keeps the registry true when tenant schemas or template columns are renamed by hand';

-- True. The views call it once per query (IMMUTABLE: at planning), so that
-- reading them loads the library and its tenancy.* settings even when no
-- tenant is registered and nothing else of the library runs.
CREATE FUNCTION tenancy._library_loaded()
RETURNS boolean
LANGUAGE C IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'tenancy_library_loaded';
COMMENT ON FUNCTION tenancy._library_loaded() IS
    'Internal to pg_tenancy: returns true; the views call it so that reading them loads the library and its settings';
-- As a fresh install's REVOKE ALL ON ALL ROUTINES leaves it, then granted.
REVOKE ALL ON FUNCTION tenancy._library_loaded() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._library_loaded() TO PUBLIC;

-- (tenant_usage is made here, once _library_loaded() exists.)
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
WHERE tenancy._library_loaded()
GROUP BY registered.tenant;
COMMENT ON VIEW tenancy.tenant_usage IS
    'Per tenant: bytes on disk, relations, live rows and activity since the statistics were last reset';

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

-- Comments on the status readers
COMMENT ON FUNCTION tenancy._tenant_states(boolean) IS
    'Internal to pg_tenancy: the rows of tenancy.tenants (only_pending: only tenants with migrations pending), one pass over the registry';
COMMENT ON FUNCTION tenancy._version_states(text) IS
    'Internal to pg_tenancy: the rows of tenancy.migration_states, for every tenant or one';

-- Pools of ready tenants (issue 12)
ALTER TABLE tenancy.tenant_registry ADD COLUMN spare boolean NOT NULL DEFAULT false;
ALTER TABLE tenancy.tenant_registry ADD COLUMN spare_checked_version bigint;
-- all_tenants() leaves spares out with the caller's rights.
GRANT SELECT (spare) ON tenancy.tenant_registry TO PUBLIC;

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
WHERE tenancy._library_loaded() AND NOT registered.spare
GROUP BY registered.tenant;

DROP FUNCTION tenancy.manage_tenant(regclass, text[], boolean, boolean, text, boolean);
CREATE FUNCTION tenancy.manage_tenant(tbl regclass, template text[],
                                      "create" boolean DEFAULT true,
                                      "update" boolean DEFAULT true,
                                      on_delete text DEFAULT 'keep',
                                      backfill boolean DEFAULT false,
                                      pool integer DEFAULT NULL)
RETURNS integer
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC'
SET extra_float_digits = 1 SET bytea_output = 'hex' SET lc_monetary = 'C'
AS 'MODULE_PATHNAME', 'tenancy_manage_tenant';
COMMENT ON FUNCTION tenancy.manage_tenant(regclass, text[], boolean, boolean, text, boolean, integer) IS
    'Makes the rows of a table create, rename and drop their tenants by a name template, keeping pool spares ready; returns how many tenants backfill created or adopted';

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
COMMENT ON COLUMN tenancy.tenant_registry.spare IS
    'True for a spare of a tenant pool: registered and migrated, not yet a tenant';
COMMENT ON COLUMN tenancy.tenant_registry.spare_checked_version IS
    'For a spare: the version at which it was last checked for holding its own name';
COMMENT ON FUNCTION tenancy._pool_unusable_reason(oid, oid) IS
    'Internal to pg_tenancy: why a pool''s spares cannot be taken now (NULL: they can)';
COMMENT ON COLUMN tenancy.tenant_pools.owner IS 'For create_tenant''s pool: the role whose calls it serves and who owns its spares';
COMMENT ON COLUMN tenancy.tenant_pools.managed_table IS 'For a managed table''s pool: the table whose rows take its spares';
COMMENT ON COLUMN tenancy.tenant_pools.target IS 'How many spares to keep ready';
COMMENT ON COLUMN tenancy.tenant_pools_status.owner IS 'The role that owns the pool''s spares';
COMMENT ON COLUMN tenancy.tenant_pools_status.managed_table IS 'The managed table of the pool; NULL for create_tenant''s pool';
COMMENT ON COLUMN tenancy.tenant_pools_status.target IS 'How many spares to keep ready';
COMMENT ON COLUMN tenancy.tenant_pools_status.ready IS 'Spares at the current version, ready to be taken';
COMMENT ON COLUMN tenancy.tenant_pools_status.behind IS 'Spares with registered migrations not applied yet';
COMMENT ON COLUMN tenancy.tenant_pools_status.usable IS 'Whether create_tenant and the row triggers take spares from this pool now';
COMMENT ON COLUMN tenancy.tenant_pools_status.reason IS 'Why the pool is not usable; NULL when it is';
REVOKE ALL ON FUNCTION tenancy.set_tenant_pool(integer) FROM PUBLIC;
REVOKE ALL ON PROCEDURE tenancy.refill_tenant_pool() FROM PUBLIC;
-- Revoked first, so that its ACL lists the owner before PUBLIC, as a fresh install's does.
REVOKE ALL ON FUNCTION tenancy._pool_unusable_reason(oid, oid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._pool_unusable_reason(oid, oid) TO PUBLIC;
GRANT SELECT ON tenancy.tenant_pools TO PUBLIC;
GRANT SELECT ON tenancy.tenant_pools_status TO PUBLIC;

-- ---------------------------------------------------------------------------
-- Migration engine: workers, subsets, the run log and the progress view
-- ---------------------------------------------------------------------------
-- The procedures gain arguments (workers, tenants, tenant_pattern,
-- max_tenants): dropped and created again, and their privileges with them.
DROP PROCEDURE tenancy.migrate_all(bigint, text);
DROP PROCEDURE tenancy.rollback_all(bigint, text);
CREATE PROCEDURE tenancy.migrate_all(target_version bigint DEFAULT NULL,
                                     on_error text DEFAULT 'stop',
                                     workers integer DEFAULT 1,
                                     tenants text[] DEFAULT NULL,
                                     tenant_pattern text DEFAULT NULL,
                                     max_tenants integer DEFAULT NULL)
LANGUAGE C
AS 'MODULE_PATHNAME', 'tenancy_migrate_all';
COMMENT ON PROCEDURE tenancy.migrate_all(bigint, text, integer, text[], text, integer) IS
    'Migrates every tenant (or those of tenants, tenant_pattern, max_tenants), in workers background workers, committing after each one when called outside a transaction block';

CREATE PROCEDURE tenancy.rollback_all(target_version bigint, on_error text DEFAULT 'stop',
                                      workers integer DEFAULT 1,
                                      tenants text[] DEFAULT NULL,
                                      tenant_pattern text DEFAULT NULL,
                                      max_tenants integer DEFAULT NULL)
LANGUAGE C
AS 'MODULE_PATHNAME', 'tenancy_rollback_all';
COMMENT ON PROCEDURE tenancy.rollback_all(bigint, text, integer, text[], text, integer) IS
    'Rolls every tenant (or those of tenants, tenant_pattern, max_tenants) back to target_version, in workers background workers, committing after each one outside a transaction block';

-- One row per migrate_all/rollback_all run, written by the calling backend
-- only (as the extension's owner): inserted before the first tenant, its
-- counters updated at most every second while it runs, finished at the end.
CREATE TABLE tenancy.migration_runs (
    run             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    procedure       text NOT NULL CHECK (procedure IN ('migrate_all', 'rollback_all')),
    started_by      name NOT NULL,
    started_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    finished_at     timestamptz,
    target_version  bigint,
    workers         integer NOT NULL,
    workers_started integer NOT NULL DEFAULT 0,
    tenants         integer NOT NULL,
    done            integer NOT NULL DEFAULT 0,
    migrated        integer NOT NULL DEFAULT 0,
    failed          integer NOT NULL DEFAULT 0,
    seconds         double precision,
    outcome         text CHECK (outcome IN ('completed', 'stopped', 'interrupted')),
    backend_pid     integer NOT NULL
);
COMMENT ON TABLE tenancy.migration_runs IS 'pg_tenancy: one row per migrate_all/rollback_all run';
COMMENT ON COLUMN tenancy.migration_runs.run IS 'The run''s number; its workers are named after it in pg_stat_activity';
COMMENT ON COLUMN tenancy.migration_runs.procedure IS 'migrate_all or rollback_all';
COMMENT ON COLUMN tenancy.migration_runs.started_by IS 'The role that called it (its workers connect as that role)';
COMMENT ON COLUMN tenancy.migration_runs.started_at IS 'When the run started';
COMMENT ON COLUMN tenancy.migration_runs.finished_at IS 'When it ended; NULL while running or when interrupted';
COMMENT ON COLUMN tenancy.migration_runs.target_version IS 'The target_version it was called with';
COMMENT ON COLUMN tenancy.migration_runs.workers IS 'The workers asked for';
COMMENT ON COLUMN tenancy.migration_runs.workers_started IS 'Background workers that started (0: the calling session ran every tenant)';
COMMENT ON COLUMN tenancy.migration_runs.tenants IS 'Tenants in the run (after tenants and tenant_pattern)';
COMMENT ON COLUMN tenancy.migration_runs.done IS 'Tenants done so far (updated at most every second while running)';
COMMENT ON COLUMN tenancy.migration_runs.migrated IS 'Tenants migrated (or rolled back)';
COMMENT ON COLUMN tenancy.migration_runs.failed IS 'Tenants that failed (see last_error in tenancy.tenants)';
COMMENT ON COLUMN tenancy.migration_runs.seconds IS 'How long the run took; NULL while running or when interrupted';
COMMENT ON COLUMN tenancy.migration_runs.outcome IS
    'completed, stopped (on_error => ''stop'' met a failure), interrupted (its backend ended without finishing it: cancelled, terminated); NULL while running';
COMMENT ON COLUMN tenancy.migration_runs.backend_pid IS 'The calling backend''s process id';

-- The runs going on now: their calling backend is alive (and not a later
-- one reusing the process id). Workers are in pg_stat_activity with the
-- application_name 'pg_tenancy run <run> worker <n>', their query naming the
-- tenant and version they are on (other roles' queries show only to members
-- of pg_read_all_stats, as in pg_stat_activity).
CREATE VIEW tenancy.migration_progress AS
SELECT r.run, r.procedure, r.started_by, r.started_at, r.target_version, r.workers,
       r.workers_started, r.tenants, r.done, r.migrated, r.failed,
       pg_catalog.round((r.done::numeric OPERATOR(pg_catalog./) GREATEST(
           EXTRACT(epoch FROM pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) r.started_at), 0.001)), 1)
           AS tenants_per_second,
       CASE WHEN r.done OPERATOR(pg_catalog.>) 0 THEN
           (pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) r.started_at)
           OPERATOR(pg_catalog.*) ((r.tenants OPERATOR(pg_catalog.-) r.done)::double precision
                                   OPERATOR(pg_catalog./) r.done)
       END AS eta,
       ARRAY(SELECT w.application_name OPERATOR(pg_catalog.||) ': ' OPERATOR(pg_catalog.||)
                    coalesce(w.query, '')
             FROM pg_catalog.pg_stat_activity w
             WHERE w.application_name OPERATOR(pg_catalog.~~)
                   ('pg_tenancy run ' OPERATOR(pg_catalog.||) r.run OPERATOR(pg_catalog.||) ' worker %')
               AND w.backend_type OPERATOR(pg_catalog.=) 'pg_tenancy migration worker'
             ORDER BY w.application_name COLLATE pg_catalog."C") AS working_on,
       r.backend_pid
FROM tenancy.migration_runs r
JOIN pg_catalog.pg_stat_activity a ON a.pid OPERATOR(pg_catalog.=) r.backend_pid
     AND a.backend_start OPERATOR(pg_catalog.<=) r.started_at
WHERE r.finished_at IS NULL AND r.outcome IS NULL;
COMMENT ON VIEW tenancy.migration_progress IS
    'The migrate_all/rollback_all runs going on now: counters, rate, ETA and what each worker is on';
COMMENT ON COLUMN tenancy.migration_progress.run IS 'The run (tenancy.migration_runs)';
COMMENT ON COLUMN tenancy.migration_progress.procedure IS 'migrate_all or rollback_all';
COMMENT ON COLUMN tenancy.migration_progress.started_by IS 'The role that called it';
COMMENT ON COLUMN tenancy.migration_progress.started_at IS 'When the run started';
COMMENT ON COLUMN tenancy.migration_progress.target_version IS 'The target_version it was called with';
COMMENT ON COLUMN tenancy.migration_progress.workers IS 'The workers asked for';
COMMENT ON COLUMN tenancy.migration_progress.workers_started IS 'Background workers that started';
COMMENT ON COLUMN tenancy.migration_progress.tenants IS 'Tenants in the run';
COMMENT ON COLUMN tenancy.migration_progress.done IS 'Tenants done (as of at most a second ago)';
COMMENT ON COLUMN tenancy.migration_progress.migrated IS 'Tenants migrated (or rolled back)';
COMMENT ON COLUMN tenancy.migration_progress.failed IS 'Tenants that failed';
COMMENT ON COLUMN tenancy.migration_progress.tenants_per_second IS 'Tenants done per second since the start';
COMMENT ON COLUMN tenancy.migration_progress.eta IS 'Time left at the rate so far; NULL until a tenant is done';
COMMENT ON COLUMN tenancy.migration_progress.working_on IS
    'One element per running worker: its application_name and the tenant and version it is on';
COMMENT ON COLUMN tenancy.migration_progress.backend_pid IS 'The calling backend''s process id';

REVOKE ALL ON PROCEDURE tenancy.migrate_all(bigint, text, integer, text[], text, integer) FROM PUBLIC;
REVOKE ALL ON PROCEDURE tenancy.rollback_all(bigint, text, integer, text[], text, integer) FROM PUBLIC;
GRANT SELECT ON tenancy.migration_runs TO PUBLIC;
GRANT SELECT ON tenancy.migration_progress TO PUBLIC;

-- Citus: a worker node refuses every function and view, the pool view
-- included (through _library_loaded(), even with no pool)
CREATE OR REPLACE VIEW tenancy.tenant_pools_status AS
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
WHERE tenancy._library_loaded()
GROUP BY p.owner, p.managed_table, p.target, t.relowner, o.oid, t.oid;

-- Citus: where tenants live, and moving them
-- The node each tenant lives on, for tenants of Citus distributed schemas
-- (README "Running on Citus"); NULL elsewhere, and without Citus.
CREATE FUNCTION tenancy._tenant_nodes()
RETURNS TABLE (tenant text, node_name text, node_port integer)
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'tenancy_tenant_nodes';
COMMENT ON FUNCTION tenancy._tenant_nodes() IS
    'Internal to pg_tenancy: the rows of tenancy.tenant_nodes';

CREATE VIEW tenancy.tenant_nodes AS
SELECT tenant, node_name, node_port FROM tenancy._tenant_nodes();
COMMENT ON VIEW tenancy.tenant_nodes IS 'One row per tenant: the Citus node its tables live on';
COMMENT ON COLUMN tenancy.tenant_nodes.tenant IS 'The tenant''s schema name';
COMMENT ON COLUMN tenancy.tenant_nodes.node_name IS
    'The Citus node holding the tenant''s tables; NULL unless its schema is a Citus distributed schema';
COMMENT ON COLUMN tenancy.tenant_nodes.node_port IS 'That node''s port';

-- Runs on a Citus worker node, called by the coordinator once per node
-- (through master_run_on_worker, as the calling role): the applied versions
-- of the named shards of tenants' schema_migrations, read as the status
-- views read a local table; nothing of a shard the caller may not SELECT.
CREATE FUNCTION tenancy._shard_applied_versions(schemas text[], tables text[])
RETURNS text
LANGUAGE C STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'tenancy_shard_applied_versions';
COMMENT ON FUNCTION tenancy._shard_applied_versions(text[], text[]) IS
    'Internal to pg_tenancy: on a Citus worker node, the applied versions of tenants'' shards';

CREATE FUNCTION tenancy.move_tenant(tenant text, node_name text, node_port integer,
                                    shard_transfer_mode text DEFAULT 'auto')
RETURNS void
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'tenancy_move_tenant';
COMMENT ON FUNCTION tenancy.move_tenant(text, text, integer, text) IS
    'Moves a tenant of a Citus distributed schema to another node (citus_schema_move), under the tenant''s lock';

REVOKE ALL ON FUNCTION tenancy._tenant_nodes() FROM PUBLIC;
REVOKE ALL ON FUNCTION tenancy._shard_applied_versions(text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._tenant_nodes() TO PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy._shard_applied_versions(text[], text[]) TO PUBLIC;
GRANT SELECT ON tenancy.tenant_nodes TO PUBLIC;
REVOKE ALL ON FUNCTION tenancy.move_tenant(text, text, integer, text) FROM PUBLIC;

-- Online migrations: non-transactional migrations (issue 10)
--
-- A migration registered with transactional => false (or loaded from a file
-- whose first line is "-- tenancy:no-transaction") runs statement by
-- statement in an existing tenant, each in a transaction of its own.
ALTER TABLE tenancy.migration_registry ADD COLUMN transactional boolean NOT NULL DEFAULT true;
COMMENT ON COLUMN tenancy.migration_registry.transactional IS
    'False for a non-transactional (online) migration: in an existing tenant each statement runs in a transaction of its own';
-- A new argument changes the signature: dropped and created again (grants
-- made on the 0.1.0 function are named by the WARNING above).
DROP FUNCTION tenancy.register_migration(bigint, text, text, text);
CREATE FUNCTION tenancy.register_migration(version bigint, name text, up_sql text,
                                           down_sql text DEFAULT NULL,
                                           transactional boolean DEFAULT true)
RETURNS text
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'tenancy_register_migration';
REVOKE ALL ON FUNCTION tenancy.register_migration(bigint, text, text, text, boolean) FROM PUBLIC;
COMMENT ON FUNCTION tenancy.register_migration(bigint, text, text, text, boolean) IS
    'Registers a tenant migration (transactional => false: an online one); returns added, changed, or unchanged (identical text again: a no-op)';
