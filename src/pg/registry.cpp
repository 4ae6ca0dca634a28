#include "registry.hpp"

#include <fmt/format.h>

#include "../core/error.hpp"
#include "error_boundary.hpp"
#include "spi.hpp"

extern "C" {
#include "common/hashfn.h"
}

namespace tenancy::pg::registry {

namespace {
// The first key of every pg_tenancy advisory lock, so ours never collide
// with an application's own two-key advisory locks. ("tenancy" in hex-speak.)
constexpr int32 tenant_lock_space = 0x7e4a4c79;
}  // namespace

void lock_tenant(const std::string& tenant) {
    call_postgres([&] {
        uint32 key = hash_bytes(reinterpret_cast<const unsigned char*>(tenant.data()),
                                static_cast<int>(tenant.size()));
        DirectFunctionCall2(pg_advisory_xact_lock_int4, Int32GetDatum(tenant_lock_space),
                            Int32GetDatum(static_cast<int32>(key)));
        // Whoever held the lock may have just committed a schema of this
        // name; unlike a relation lock, an advisory lock does not make the
        // catalog caches catch up, so do it here.
        AcceptInvalidationMessages();
    });
}

bool is_registered(const std::string& tenant) {
    return spi::query_value(
               "SELECT 1 FROM tenancy.tenant_registry WHERE tenant OPERATOR(pg_catalog.=) $1",
               {tenant})
        .has_value();
}

void require_registered(const std::string& tenant) {
    if (!is_registered(tenant))
        throw core::Error(core::sqlstate::invalid_schema_name,
                          fmt::format("tenant \"{}\" does not exist", tenant),
                          "", "tenancy.all_tenants() lists the registered tenants.");
}

void add(const std::string& tenant, std::optional<Oid> managed_by) {
    spi::execute(
        "INSERT INTO tenancy.tenant_registry AS registered (tenant, managed_by) "
        "VALUES ($1, CAST(CAST($2 AS pg_catalog.oid) AS pg_catalog.regclass)) "
        "ON CONFLICT (tenant) DO UPDATE "
        "SET managed_by = COALESCE(EXCLUDED.managed_by, registered.managed_by)",
        {tenant, managed_by ? spi::Value(std::to_string(*managed_by)) : std::nullopt});
}

bool is_managed_by(const std::string& tenant, Oid table) {
    return spi::query_value(
               "SELECT 1 FROM tenancy.tenant_registry WHERE tenant OPERATOR(pg_catalog.=) $1 "
               "AND CAST(managed_by AS pg_catalog.oid) OPERATOR(pg_catalog.=) CAST($2 AS pg_catalog.oid)",
               {tenant, std::to_string(table)})
        .has_value();
}

void remove(const std::string& tenant) {
    spi::execute("DELETE FROM tenancy.tenant_registry WHERE tenant OPERATOR(pg_catalog.=) $1",
                 {tenant});
}

void rename(const std::string& tenant, const std::string& new_name) {
    spi::execute(
        "UPDATE tenancy.tenant_registry SET tenant = $2 WHERE tenant OPERATOR(pg_catalog.=) $1",
        {tenant, new_name});
}

std::vector<std::string> all_tenants() {
    std::vector<std::string> tenants;
    for (spi::Row& row : spi::query("SELECT tenant FROM tenancy.tenant_registry ORDER BY tenant COLLATE pg_catalog.\"C\""))
        tenants.push_back(std::move(*row[0]));
    return tenants;
}

bool schema_exists(const std::string& schema) {
    return call_postgres([&] { return OidIsValid(get_namespace_oid(schema.c_str(), true)); });
}

bool registry_exists() {
    return call_postgres([] {
        Oid tenancy_schema = get_namespace_oid("tenancy", true);
        return OidIsValid(tenancy_schema) &&
               OidIsValid(get_relname_relid("tenant_registry", tenancy_schema));
    });
}

}  // namespace tenancy::pg::registry
