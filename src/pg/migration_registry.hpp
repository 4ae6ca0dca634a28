// The registered migrations (tenancy.migration_registry). Callers are
// connected to SPI.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../core/migration_plan.hpp"

namespace tenancy::pg {

struct Migration {
    std::int64_t version = 0;
    std::string name;
    std::string up_sql;
    std::optional<std::string> down_sql;
    // false: a non-transactional (online) migration (online_migration.hpp).
    bool transactional = true;
};

// Every registered migration, lowest version first. Locks the registry
// against register_migration until the transaction ends: the texts read are
// the ones registered for as long as they may run.
std::vector<Migration> registered_migrations();

// The versions of registered, for the planner.
std::vector<core::RegisteredVersion> registered_versions(const std::vector<Migration>& registered);

// The registered migration of version; registered is sorted by version.
const Migration& find_migration(const std::vector<Migration>& registered, std::int64_t version);

// Raises 22023 for a version that is not positive, an empty name or an
// up_sql with no statement, and refuses statements no migration may hold
// (see check_migration_text()); syntax errors surface here too.
void check_migration(const Migration& migration);

enum class Registration { unchanged, added, changed };

// Registers one migration (SPEC register_migration): identical text is a
// no-op; different up_sql for a version some tenant applied is refused (55000).
Registration register_migration(const Migration& migration);

}  // namespace tenancy::pg
