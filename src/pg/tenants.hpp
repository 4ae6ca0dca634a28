// The tenant lifecycle, for the other parts of the extension (manage_tenant's
// triggers create, rename and drop tenants the same way the functions do).
// Callers are connected to SPI.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "postgres_headers.hpp"

namespace tenancy::pg {

// Raises the SPEC's SQLSTATE unless name is a valid new tenant name.
void check_tenant_name(std::optional<std::string_view> name);

// For tenants made by a managed table's rows: the table, and its owner, who
// owns a newly created schema (otherwise the caller does).
struct TenantMaker {
    Oid table;
    std::string owner;
};

// Migrations run as the schema's owner.
void create_or_adopt_tenant(const std::string& tenant, bool if_not_exists,
                            const std::optional<TenantMaker>& maker = std::nullopt);
void rename_registered_tenant(const std::string& tenant, const std::string& new_name);
void drop_registered_tenant(const std::string& tenant);

}  // namespace tenancy::pg
