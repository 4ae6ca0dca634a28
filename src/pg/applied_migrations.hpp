// Reading a tenant's "<tenant>".schema_migrations without SQL.
//
// migrate_all looks at every tenant, most of them up to date; parsing and
// planning a SELECT per tenant would cost more than the check itself, so the
// table is scanned directly, with the latest snapshot, and its lock is let go
// right after (a tenant with work to do is locked and read again).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace tenancy::pg {

struct AppliedMigration {
    std::int64_t version = 0;
    bool has_inserted_at = false;
    std::int64_t inserted_at = 0;  // a PostgreSQL Timestamp
};

enum class TenantTable { present, no_table, no_schema };

// The rows of the tenant's schema_migrations. Raises 55000 if the table is
// there but lacks Ecto's version bigint column.
TenantTable read_applied_migrations(const std::string& tenant, std::vector<AppliedMigration>& rows);

// Just the versions; nullopt when the tenant's schema is gone.
std::optional<std::set<std::int64_t>> read_applied_versions(const std::string& tenant);

}  // namespace tenancy::pg
