// Migrating and rolling back one tenant. Callers are connected to SPI; the
// work runs in the caller's (sub)transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "migration_registry.hpp"

namespace tenancy::pg {

// Applies the tenant's pending migrations up to target, lowest first, under
// the tenant's lock. Returns how many ran.
int migrate_tenant(const std::string& tenant, const std::vector<Migration>& registered,
                   std::optional<std::int64_t> target);

// Runs the down_sql of the tenant's applied migrations above target, newest
// first, under the tenant's lock. Returns how many ran.
int rollback_tenant(const std::string& tenant, const std::vector<Migration>& registered,
                    std::int64_t target);

}  // namespace tenancy::pg
