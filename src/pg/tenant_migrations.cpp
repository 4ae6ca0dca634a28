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
                   std::optional<std::int64_t> target, OnlineMigrations online,
                   std::optional<std::int64_t>* stopped_at) {
    if (stopped_at) stopped_at->reset();
    VersionFilter relevant;  // a tenant's table may hold any number of others
    for (const Migration& migration : registered) relevant.versions.push_back(migration.version);
    std::set<std::int64_t> applied = lock_and_read_applied(tenant, relevant);
    std::vector<std::int64_t> pending =
        core::plan_migrate(registered_versions(registered), applied, target);
    int ran = 0;
    for (std::int64_t version : pending) {
        const Migration& migration = find_migration(registered, version);
        if (!migration.transactional && online == OnlineMigrations::stop_before) {
            if (stopped_at) *stopped_at = version;
            return ran;
        }
        if (!migration.transactional && online == OnlineMigrations::refuse)
            throw core::Error(
                "25001",
                fmt::format("migration {} \"{}\" is non-transactional and cannot run inside a transaction",
                            migration.version, migration.name),
                fmt::format("Its statements run one by one, each in a transaction of its own, in an "
                            "existing tenant; nothing was applied to tenant \"{}\".",
                            tenant),
                "CALL tenancy.migrate_all() outside a transaction block: it runs the migration "
                "in a background worker, without blocking writes for its duration.");
        report_tenant_activity(tenant, version);
        run_migration(tenant, migration, Direction::up);
        ran++;
    }
    return ran;
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
