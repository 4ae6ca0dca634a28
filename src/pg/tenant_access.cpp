// CALL tenancy.grant_tenant_access(role, privileges) and
// CALL tenancy.revoke_tenant_access(role): a declaration kept in
// tenancy.tenant_access and applied to every tenant, committing every
// tenants_per_commit tenants when CALLed outside a transaction block; and its
// application to each new tenant (grant_declared_access).
//
// Lock protocol: tenant creation reads tenancy.tenant_access under ACCESS
// SHARE until its transaction ends; a declaration takes ACCESS EXCLUSIVE on it
// while it records itself and lists the tenants. So a tenant is either listed
// (its creation committed first) or sees the declaration when it is created.
#include "tenant_access.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "../core/error.hpp"
#include "../core/identifier.hpp"
#include "../core/table_privileges.hpp"
#include "arguments.hpp"
#include "citus.hpp"
#include "error_boundary.hpp"
#include "registry.hpp"
#include "spi.hpp"

namespace tenancy::pg {

namespace {

constexpr std::size_t tenants_per_commit = 100;

std::string schema_owner_name(const std::string& tenant) {
    spi::Value owner = spi::query_value(
        "SELECT CAST(pg_catalog.pg_get_userbyid(nspowner) AS pg_catalog.text) "
        "FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) $1",
        {tenant});
    if (!owner)
        throw core::Error(core::sqlstate::invalid_schema_name,
                          fmt::format("schema of tenant \"{}\" does not exist", tenant));
    return *owner;
}

void grant_in_tenant(const std::string& tenant, const std::string& role, const std::string& privileges) {
    std::string schema = core::quote_identifier(tenant);
    std::string grantee = core::quote_identifier(role);
    std::string owner = core::quote_identifier(schema_owner_name(tenant));
    spi::execute(fmt::format("GRANT USAGE ON SCHEMA {} TO {}", schema, grantee));
    spi::execute(fmt::format("GRANT {} ON ALL TABLES IN SCHEMA {} TO {}", privileges, schema, grantee));
    spi::execute(fmt::format("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}", schema, grantee));
    // Migrations run as the schema's owner: what they create later gets these.
    spi::execute(fmt::format("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT {} ON TABLES TO {}",
                             owner, schema, privileges, grantee));
    spi::execute(fmt::format(
        "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT USAGE, SELECT ON SEQUENCES TO {}", owner,
        schema, grantee));
}

void revoke_in_tenant(const std::string& tenant, const std::string& role) {
    std::string schema = core::quote_identifier(tenant);
    std::string grantee = core::quote_identifier(role);
    std::string owner = core::quote_identifier(schema_owner_name(tenant));
    spi::execute(fmt::format("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} REVOKE ALL ON TABLES FROM {}",
                             owner, schema, grantee));
    spi::execute(fmt::format(
        "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} REVOKE ALL ON SEQUENCES FROM {}", owner, schema,
        grantee));
    spi::execute(fmt::format("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}", schema, grantee));
    spi::execute(fmt::format("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}", schema, grantee));
    spi::execute(fmt::format("REVOKE USAGE ON SCHEMA {} FROM {}", schema, grantee));
}

// Records (or forgets) the declaration and lists the tenants, with no tenant
// creation in flight (see the lock protocol above).
std::vector<std::string> declare(const std::string& role, const std::optional<std::string>& privileges) {
    registry::AsRegistryOwner as_owner;  // what is recorded is what this function checked
    spi::execute("LOCK TABLE tenancy.tenant_access IN ACCESS EXCLUSIVE MODE");
    if (privileges)
        spi::execute(
            "INSERT INTO tenancy.tenant_access AS declared (role_name, privileges) "
            "VALUES ($1, pg_catalog.string_to_array($2, ', ')) ON CONFLICT (role_name) DO UPDATE "
            "SET privileges = EXCLUDED.privileges, declared_at = pg_catalog.now()",
            {role, *privileges});
    else
        spi::execute("DELETE FROM tenancy.tenant_access WHERE role_name OPERATOR(pg_catalog.=) $1", {role});
    return registry::all_tenants();
}

// Applies to each tenant whose schema still exists, committing every so
// often; then once more to the tenants renamed meanwhile (under their new
// names, which the first list did not have).
template <typename Apply>
void apply_to_tenants(std::vector<std::string> tenants, bool commit_in_batches, Apply apply) {
    if (commit_in_batches) call_postgres([] { SPI_commit(); });
    std::size_t since_commit = 0;
    auto apply_all = [&](const std::vector<std::string>& names) {
        for (const std::string& tenant : names) {
            if (!registry::schema_exists(tenant)) continue;  // dropped or renamed since listed
            apply(tenant);
            if (commit_in_batches && ++since_commit == tenants_per_commit) {
                call_postgres([] { SPI_commit(); });
                since_commit = 0;
            }
        }
    };
    apply_all(tenants);
    std::sort(tenants.begin(), tenants.end());
    std::vector<std::string> renamed;
    for (std::string& tenant : registry::all_tenants())
        if (!std::binary_search(tenants.begin(), tenants.end(), tenant)) renamed.push_back(std::move(tenant));
    apply_all(renamed);
}

}  // namespace

void grant_declared_access(const std::string& tenant) {
    // A database still at 0.1.0 (the library updated, ALTER EXTENSION not yet
    // run) has no declarations to apply.
    bool declarations_exist = call_postgres([] {
        Oid schema = get_namespace_oid("tenancy", true);
        return OidIsValid(schema) && OidIsValid(get_relname_relid("tenant_access", schema));
    });
    if (!declarations_exist) return;
    std::vector<spi::Row> declared;
    {
        registry::AsRegistryOwner as_owner;  // creators need no access to the declarations
        declared = spi::query(
            "SELECT declared.role_name, pg_catalog.array_to_string(declared.privileges, ', ') "
            "FROM tenancy.tenant_access AS declared "
            "WHERE pg_catalog.to_regrole(pg_catalog.quote_ident(declared.role_name)) IS NOT NULL "
            "ORDER BY declared.role_name COLLATE pg_catalog.\"C\"");
    }
    for (const spi::Row& row : declared) grant_in_tenant(tenant, *row[0], *row[1]);
}

}  // namespace tenancy::pg

using namespace tenancy::pg;

extern "C" {

PG_FUNCTION_INFO_V1(tenancy_grant_tenant_access);
PG_FUNCTION_INFO_V1(tenancy_revoke_tenant_access);

// CALL tenancy.grant_tenant_access(role regrole, privileges text[] DEFAULT
//     ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'])
Datum tenancy_grant_tenant_access(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        if (PG_ARGISNULL(0))
            throw tenancy::core::Error(tenancy::core::sqlstate::null_value_not_allowed,
                                       "role must not be null");
        if (PG_ARGISNULL(1))
            throw tenancy::core::Error(tenancy::core::sqlstate::null_value_not_allowed,
                                       "privileges must not be null");
        std::string role = registry::role_name(PG_GETARG_OID(0));
        std::string privileges = tenancy::core::privilege_list(
            tenancy::core::parse_table_privileges(text_array_argument(fcinfo, 1, "privileges")));
        bool nonatomic = called_nonatomically(fcinfo);

        spi::connect(nonatomic);
        std::vector<std::string> tenants = declare(role, privileges);
        apply_to_tenants(tenants, nonatomic, [&](const std::string& tenant) {
            grant_in_tenant(tenant, role, privileges);
        });
        spi::finish();
        return Datum(0);
    });
}

// CALL tenancy.revoke_tenant_access(role regrole)
Datum tenancy_revoke_tenant_access(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        if (PG_ARGISNULL(0))
            throw tenancy::core::Error(tenancy::core::sqlstate::null_value_not_allowed,
                                       "role must not be null");
        std::string role = registry::role_name(PG_GETARG_OID(0));
        bool nonatomic = called_nonatomically(fcinfo);

        spi::connect(nonatomic);
        std::vector<std::string> tenants = declare(role, std::nullopt);
        apply_to_tenants(tenants, nonatomic, [&](const std::string& tenant) { revoke_in_tenant(tenant, role); });
        spi::finish();
        return Datum(0);
    });
}

}  // extern "C"
