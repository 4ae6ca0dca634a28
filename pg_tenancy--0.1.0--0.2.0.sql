-- pg_tenancy 0.1.0 to 0.2.0 (ALTER EXTENSION pg_tenancy UPDATE TO '0.2.0').
--
-- Every change of pg_tenancy.sql between the two versions is here too, so
-- that an updated database ends with the same objects as a fresh 0.2.0 one
-- (test/psql/extension_upgrade.sh compares them). The registry tables are
-- altered in place: they hold users' data.

\echo Use "ALTER EXTENSION pg_tenancy UPDATE" to load this file. \quit

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
