-- pg_tenancy install script (built into pg_tenancy--<version>.sql).
--
-- Every function pins its search_path or qualifies everything it names; the
-- ones that cannot have a SET clause (set_tenant, whose whole point is to set
-- search_path) say so where they are defined in src/pg.

\echo Use "CREATE EXTENSION pg_tenancy" to load this file. \quit

-- ---------------------------------------------------------------------------
-- The registry
-- ---------------------------------------------------------------------------

-- One row per tenant. The key is the schema name, compared byte for byte.
CREATE TABLE tenancy.tenant_registry (
    tenant     text COLLATE "C" PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_error text
);
COMMENT ON TABLE tenancy.tenant_registry IS 'pg_tenancy: one row per tenant schema';
SELECT pg_catalog.pg_extension_config_dump('tenancy.tenant_registry', '');

-- ---------------------------------------------------------------------------
-- Tenant lifecycle
-- ---------------------------------------------------------------------------

CREATE FUNCTION tenancy.create_tenant(tenant text, if_not_exists boolean DEFAULT false)
RETURNS text
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'tenancy_create_tenant';
COMMENT ON FUNCTION tenancy.create_tenant(text, boolean) IS
    'Creates (or, with if_not_exists, adopts) a tenant schema and applies every registered migration';

CREATE FUNCTION tenancy.rename_tenant(tenant text, new_name text)
RETURNS text
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'tenancy_rename_tenant';
COMMENT ON FUNCTION tenancy.rename_tenant(text, text) IS 'Renames a tenant schema; the registry follows';

CREATE FUNCTION tenancy.drop_tenant(tenant text)
RETURNS void
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'tenancy_drop_tenant';
COMMENT ON FUNCTION tenancy.drop_tenant(text) IS 'Drops a tenant schema with everything in it';

-- No SET clause: it would undo the search_path this function sets.
CREATE FUNCTION tenancy.set_tenant(tenant text, is_local boolean DEFAULT false)
RETURNS text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'tenancy_set_tenant';
COMMENT ON FUNCTION tenancy.set_tenant(text, boolean) IS
    'Sets search_path to "<tenant>", public for the session or, with is_local, the transaction';

CREATE FUNCTION tenancy.all_tenants()
RETURNS SETOF text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT tenant FROM tenancy.tenant_registry ORDER BY tenant $$;
COMMENT ON FUNCTION tenancy.all_tenants() IS 'Registered tenants, sorted by name';

CREATE VIEW tenancy.tenants AS
SELECT registered.tenant,
       registered.created_at,
       NULL::bigint AS version,
       0 AS pending,
       registered.last_error
FROM tenancy.tenant_registry AS registered;
COMMENT ON VIEW tenancy.tenants IS 'One row per tenant, with its migration state';

-- ---------------------------------------------------------------------------
-- Event triggers: keep the registry true when tenant schemas change by hand
-- ---------------------------------------------------------------------------

-- SECURITY DEFINER: any role that may drop or rename its own schema must be
-- able to keep the registry (which only the extension's owner writes) true.
CREATE FUNCTION tenancy._on_sql_drop()
RETURNS event_trigger
LANGUAGE C
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'tenancy_on_sql_drop';

CREATE FUNCTION tenancy._on_ddl_command_end()
RETURNS event_trigger
LANGUAGE C
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'tenancy_on_ddl_command_end';

CREATE EVENT TRIGGER tenancy_sql_drop ON sql_drop
    WHEN TAG IN ('DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION tenancy._on_sql_drop();

CREATE EVENT TRIGGER tenancy_ddl_command_end ON ddl_command_end
    WHEN TAG IN ('ALTER SCHEMA')
    EXECUTE FUNCTION tenancy._on_ddl_command_end();

-- ---------------------------------------------------------------------------
-- Privileges: only the read-only surface is PUBLIC's
-- ---------------------------------------------------------------------------

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tenancy FROM PUBLIC;
GRANT USAGE ON SCHEMA tenancy TO PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.all_tenants() TO PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.set_tenant(text, boolean) TO PUBLIC;
-- Tenant names are visible in pg_namespace to everyone already.
GRANT SELECT ON tenancy.tenant_registry TO PUBLIC;
GRANT SELECT ON tenancy.tenants TO PUBLIC;
