// The tenant registry (tenancy.tenant_registry) and the locks that guard it.
// Callers are connected to SPI.
#pragma once

#include <string>
#include <vector>

namespace tenancy::pg::registry {

// Serializes everything done to one tenant name (create, rename, drop,
// migrate) with a transaction-scoped advisory lock keyed by the name.
void lock_tenant(const std::string& tenant);

bool is_registered(const std::string& tenant);
// Raises 3F000 unless the tenant is registered.
void require_registered(const std::string& tenant);

void add(const std::string& tenant);
void remove(const std::string& tenant);
void rename(const std::string& tenant, const std::string& new_name);

// Every registered tenant, in name (byte) order.
std::vector<std::string> all_tenants();

bool schema_exists(const std::string& schema);

// False while the extension is being dropped: event triggers then have nothing to keep.
bool registry_exists();

}  // namespace tenancy::pg::registry
