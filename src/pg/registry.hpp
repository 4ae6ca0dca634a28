// The tenant registry (tenancy.tenant_registry) and the locks that guard it.
// Callers are connected to SPI.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "postgres_headers.hpp"

namespace tenancy::pg::registry {

// Serializes everything done to one tenant name (create, rename, drop,
// migrate) with a transaction-scoped advisory lock keyed by the name.
void lock_tenant(const std::string& tenant);

bool is_registered(const std::string& tenant);
// Raises 3F000 unless the tenant is registered.
void require_registered(const std::string& tenant);

// Registers the tenant; managed_by names the managed table whose row made
// (or adopted) it. An existing registration keeps its managed_by unless a
// new one is given.
void add(const std::string& tenant, std::optional<Oid> managed_by = std::nullopt);

// Whether the tenant is registered as made by the managed table's rows: only
// those tenants do the table's UPDATE and DELETE triggers rename and drop.
bool is_managed_by(const std::string& tenant, Oid table);
void remove(const std::string& tenant);
void rename(const std::string& tenant, const std::string& new_name);

// Every registered tenant, in name (byte) order.
std::vector<std::string> all_tenants();

bool schema_exists(const std::string& schema);

// False while the extension is being dropped: event triggers then have nothing to keep.
bool registry_exists();

}  // namespace tenancy::pg::registry
