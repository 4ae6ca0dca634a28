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
// owns a newly created schema (otherwise the caller does) and must own an
// adopted one.
struct TenantMaker {
    Oid table;
    Oid owner;
    std::string qualified_name;  // the table's, quoted, for messages
};

// Migrations run as the schema's owner. Adopting an existing schema
// (if_not_exists) is refused with 42501 when a maker's owner does not own it,
// when another managed table made the tenant, or, without a maker, when the
// caller may not act as the schema's owner.
void create_or_adopt_tenant(const std::string& tenant, bool if_not_exists,
                            const std::optional<TenantMaker>& maker = std::nullopt);
void rename_registered_tenant(const std::string& tenant, const std::string& new_name);
// Refuses (2BP01) when objects outside the tenant's schema depend on it.
void drop_registered_tenant(const std::string& tenant);

}  // namespace tenancy::pg
