// Reading a tenant's "<tenant>".schema_migrations without SQL.
//
// migrate_all looks at every tenant, most of them up to date; parsing and
// planning a SELECT per tenant would cost more than the check itself, so the
// table is scanned directly and its lock let go right after the scan.
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

enum class TenantTable {
    present,
    no_table,   // the schema is there, its schema_migrations is not
    no_schema,  // the tenant's schema is gone
    unknown,    // only from a peek: the table is locked, or not Ecto's layout
};

// How to read the table.
enum class ReadMode {
    // Under the tenant's lock, before migrating it: waits for the table's
    // lock, sees everything committed (the latest snapshot), and raises
    // 55000 if the table is not a plain table with a bigint version column.
    for_update,
    // migrate_all's lock-free look at a tenant: never waits, never raises;
    // anything it cannot judge is `unknown`, left for the locked read.
    peek,
    // For SQL (the tenants and migration_states views): the statement's own
    // snapshot, so REPEATABLE READ sees a consistent picture.
    for_query,
};

TenantTable read_applied_migrations(const std::string& tenant, ReadMode mode,
                                    std::vector<AppliedMigration>& rows);

inline std::set<std::int64_t> versions_of(const std::vector<AppliedMigration>& rows) {
    std::set<std::int64_t> versions;
    for (const AppliedMigration& row : rows) versions.insert(row.version);
    return versions;
}

}  // namespace tenancy::pg
