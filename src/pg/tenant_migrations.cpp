#include "tenant_migrations.hpp"

#include <fmt/format.h>

#include "../core/error.hpp"
#include "../core/migration_plan.hpp"
#include "applied_migrations.hpp"
#include "migration_runner.hpp"
#include "migration_sandbox.hpp"
#include "pool.hpp"
#include "registry.hpp"
#include "schema_migrations.hpp"
#include "tenant_run.hpp"

namespace tenancy::pg {

namespace {

// The versions the tenant has applied, read under its locks: the tenant's
// lock, then (once the caller is known to be allowed to act as the tenant's
// owner) Ecto's lock on its schema_migrations.
std::set<std::int64_t> lock_and_read_applied(const std::string& tenant, const VersionFilter& relevant) {
    registry::lock_tenant(tenant);
    if (registry::schema_exists(tenant)) {
        owner_to_act_as(tenant);
        schema_migrations::lock(tenant);
    }
    std::vector<AppliedMigration> rows;
    TenantTable table = read_applied_migrations(tenant, ReadMode::for_update, rows, &relevant);
    if (table == TenantTable::no_schema)
        throw core::Error(core::sqlstate::invalid_schema_name,
                          fmt::format("schema of tenant \"{}\" does not exist", tenant));
    if (table == TenantTable::no_table) schema_migrations::ensure_table(tenant);

    return versions_of(rows);
}

}  // namespace

int migrate_tenant(const std::string& tenant, const std::vector<Migration>& registered,
                   std::optional<std::int64_t> target) {
    VersionFilter relevant;  // a tenant's table may hold any number of others
    for (const Migration& migration : registered) relevant.versions.push_back(migration.version);
    std::set<std::int64_t> applied = lock_and_read_applied(tenant, relevant);
    std::vector<std::int64_t> pending =
        core::plan_migrate(registered_versions(registered), applied, target);
    for (std::int64_t version : pending) {
        report_tenant_activity(tenant, version);
        run_migration(tenant, find_migration(registered, version), Direction::up);
    }
    return static_cast<int>(pending.size());
}

int rollback_tenant(const std::string& tenant, const std::vector<Migration>& registered,
                    std::int64_t target) {
    VersionFilter relevant{{}, target};  // what is undone, and what blocks it
    std::set<std::int64_t> applied = lock_and_read_applied(tenant, relevant);
    std::vector<std::int64_t> to_undo;
    try {
        to_undo = core::plan_rollback(registered_versions(registered), applied, target);
    } catch (const core::Error& e) {
        throw core::Error(e.sqlstate(), fmt::format("{} in tenant \"{}\"", e.what(), tenant),
                          e.detail(), e.hint());
    }
    for (std::int64_t version : to_undo) {
        report_tenant_activity(tenant, version);
        run_migration(tenant, find_migration(registered, version), Direction::down);
    }
    if (!to_undo.empty()) pool::forget_name_check(tenant);
    return static_cast<int>(to_undo.size());
}

}  // namespace tenancy::pg
