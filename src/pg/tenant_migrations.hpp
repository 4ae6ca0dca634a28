// Migrating and rolling back one tenant. Callers are connected to SPI; the
// work runs in the caller's (sub)transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "migration_registry.hpp"

namespace tenancy::pg {

// What migrate_tenant() does on reaching a pending non-transactional
// migration, which it can only run inside the caller's transaction.
enum class OnlineMigrations {
    // 25001, with a hint to CALL migrate_all: an existing tenant, in a
    // transaction (migrate(), migrate_all inside a transaction block).
    refuse,
    // Run it inside, its CONCURRENTLY forms as the plain ones: a new tenant,
    // whose tables are new and empty (create_tenant, the row trigger, a spare).
    in_transaction,
    // Stop before it and name it in *stopped_at: the caller runs it between
    // transactions (online_migration.hpp), then the rest.
    stop_before,
};

// Applies the tenant's pending migrations up to target, lowest first, under
// the tenant's lock. Returns how many ran.
int migrate_tenant(const std::string& tenant, const std::vector<Migration>& registered,
                   std::optional<std::int64_t> target,
                   OnlineMigrations online = OnlineMigrations::refuse,
                   std::optional<std::int64_t>* stopped_at = nullptr);

// Runs the down_sql of the tenant's applied migrations above target, newest
// first, under the tenant's lock. Returns how many ran.
int rollback_tenant(const std::string& tenant, const std::vector<Migration>& registered,
                    std::int64_t target);

}  // namespace tenancy::pg
