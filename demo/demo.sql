-- pg_tenancy demo: run by scripts/demo.sh against a throwaway cluster.
\pset footer off
\echo '== install'
CREATE EXTENSION pg_tenancy;

\echo '== create three tenants'
SELECT tenancy.create_tenant('org_1');
SELECT tenancy.create_tenant('org_2');
SELECT tenancy.create_tenant('Acme-Corp');

\echo '== all_tenants()'
SELECT * FROM tenancy.all_tenants();

\echo '== rename org_2 to org_2_archived'
SELECT tenancy.rename_tenant('org_2', 'org_2_archived');

\echo '== two refused names: a reserved one, and one PostgreSQL would truncate'
SELECT tenancy.create_tenant('pg_secret');
SELECT tenancy.create_tenant('organisation_with_a_name_far_too_long_to_fit_into_sixty_three_bytes');

\echo '== a tenant schema renamed by hand: the registry follows'
ALTER SCHEMA "Acme-Corp" RENAME TO "Acme-Inc";
SELECT tenant, created_at::date AS created, version, pending, last_error FROM tenancy.tenants;

\echo '== switch the session to a tenant'
SELECT tenancy.set_tenant('org_1');
