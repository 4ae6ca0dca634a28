-- pg_tenancy 0.1.0 to 0.2.0 (ALTER EXTENSION pg_tenancy UPDATE TO '0.2.0').
--
-- Every change of pg_tenancy.sql between the two versions is here too, so
-- that an updated database ends with the same objects as a fresh 0.2.0 one
-- (test/psql/extension_upgrade.sh compares them). The registry tables are
-- altered in place: they hold users' data.

\echo Use "ALTER EXTENSION pg_tenancy UPDATE" to load this file. \quit

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

CREATE OR REPLACE VIEW tenancy.tenants AS
SELECT registered.tenant,
       registered.created_at,
       (SELECT max(v) FROM unnest(applied.versions) AS v) AS version,
       (SELECT count(*) FROM tenancy.migration_registry AS m
         WHERE m.version <> ALL (coalesce(applied.versions, '{}')))::integer AS pending,
       registered.last_error
FROM tenancy.tenant_registry AS registered
CROSS JOIN LATERAL (
    SELECT array_agg(a.version) AS versions
    FROM tenancy._applied_migrations(registered.tenant) AS a
) AS applied
WHERE tenancy._library_loaded();

CREATE OR REPLACE VIEW tenancy.migration_states AS
SELECT registered.tenant,
       coalesce(s.applied_version, s.registered_version) AS version,
       s.name,
       CASE WHEN s.applied_version IS NULL THEN 'pending'
            WHEN s.registered_version IS NULL THEN 'unregistered'
            WHEN s.checksum <> tenancy._checksum(s.up_sql) THEN 'changed'
            ELSE 'applied'
       END AS state,
       s.inserted_at AS applied_at
FROM tenancy.tenant_registry AS registered
CROSS JOIN LATERAL (
    SELECT a.version AS applied_version, a.inserted_at,
           m.version AS registered_version, m.name, m.checksum, m.up_sql
    FROM tenancy._applied_migrations(registered.tenant) AS a
    FULL JOIN tenancy.migration_registry AS m ON m.version = a.version
) AS s
WHERE tenancy._library_loaded();
