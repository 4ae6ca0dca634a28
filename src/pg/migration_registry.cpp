#include "migration_registry.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "../core/error.hpp"
#include "applied_migrations.hpp"
#include "error_boundary.hpp"
#include "migration_runner.hpp"
#include "registry.hpp"
#include "spi.hpp"

namespace tenancy::pg {

namespace {

// The tenants that applied version, first few only: for the error message.
std::vector<std::string> tenants_that_applied(std::int64_t version, std::size_t at_most) {
    std::vector<std::string> found;
    for (const std::string& tenant : registry::all_tenants()) {
        std::vector<AppliedMigration> rows;
        VersionFilter only_this{{version}, std::nullopt};
        read_applied_migrations(tenant, ReadMode::for_update, rows, &only_this);
        if (versions_of(rows).count(version)) {
            found.push_back(tenant);
            if (found.size() == at_most) break;
        }
    }
    return found;
}

// Whether the registry has its transactional column: a database not yet
// updated from 0.1.0 (ALTER EXTENSION pg_tenancy UPDATE) has not, and the
// library serves its old definitions meanwhile, every migration transactional.
bool has_transactional_column() {
    return call_postgres([] {
        Oid schema = get_namespace_oid("tenancy", false);
        Oid registry = get_relname_relid("migration_registry", schema);
        return OidIsValid(registry) && get_attnum(registry, "transactional") != InvalidAttrNumber;
    });
}

}  // namespace

void check_migration(const Migration& migration) {
    if (migration.version <= 0)
        throw core::Error(core::sqlstate::invalid_parameter_value,
                          fmt::format("migration version must be positive, not {}", migration.version));
    if (migration.name.empty())
        throw core::Error(core::sqlstate::invalid_parameter_value, "migration name must not be empty");
    int up_statements = check_migration_text(migration.up_sql, migration, "up_sql");
    if (migration.down_sql) check_migration_text(*migration.down_sql, migration, "down_sql");
    if (up_statements == 0)
        throw core::Error(core::sqlstate::invalid_parameter_value,
                          fmt::format("up_sql of migration {} is empty", migration.version),
                          "A migration's up_sql must hold at least one statement.");
}

std::vector<Migration> registered_migrations() {
    // ROW EXCLUSIVE, although only read: it conflicts with the SHARE ROW
    // EXCLUSIVE lock of register_migration and not with itself, so a
    // registration waits until every transaction that runs the texts read
    // here has ended, and migrations run side by side. Taken without a
    // privilege check: callers are pg_tenancy functions that read the table.
    call_postgres([] {
        Oid schema = get_namespace_oid("tenancy", false);
        Oid registry = get_relname_relid("migration_registry", schema);
        if (!OidIsValid(registry)) elog(ERROR, "relation tenancy.migration_registry does not exist");
        LockRelationOid(registry, RowExclusiveLock);
    });
    std::vector<Migration> migrations;
    for (spi::Row& row : spi::query(std::string("SELECT version, name, up_sql, down_sql, ") +
                                    (has_transactional_column() ? "transactional" : "true") +
                                    " FROM tenancy.migration_registry ORDER BY version")) {
        Migration migration;
        migration.version = std::stoll(*row[0]);
        migration.name = std::move(*row[1]);
        migration.up_sql = std::move(*row[2]);
        migration.down_sql = std::move(row[3]);
        migration.transactional = *row[4] == "t";
        migrations.push_back(std::move(migration));
    }
    return migrations;
}

std::vector<core::RegisteredVersion> registered_versions(const std::vector<Migration>& registered) {
    std::vector<core::RegisteredVersion> versions;
    versions.reserve(registered.size());
    for (const Migration& migration : registered)
        versions.push_back({migration.version, migration.down_sql.has_value()});
    return versions;
}

const Migration& find_migration(const std::vector<Migration>& registered, std::int64_t version) {
    auto found = std::lower_bound(
        registered.begin(), registered.end(), version,
        [](const Migration& migration, std::int64_t v) { return migration.version < v; });
    if (found == registered.end() || found->version != version)
        throw core::Error(core::sqlstate::internal_error,
                          fmt::format("migration {} is not registered", version));
    return *found;
}

Registration register_migration(const Migration& migration) {
    check_migration(migration);
    std::string version = std::to_string(migration.version);
    std::string transactional = migration.transactional ? "t" : "f";
    // One registration at a time: the applied-anywhere check below must not
    // race with another session changing the same version.
    spi::execute("LOCK TABLE tenancy.migration_registry IN SHARE ROW EXCLUSIVE MODE");

    bool has_column = has_transactional_column();
    std::vector<spi::Row> existing = spi::query(
        std::string("SELECT name, up_sql, down_sql, ") + (has_column ? "transactional" : "true") +
        " FROM tenancy.migration_registry "
        "WHERE version OPERATOR(pg_catalog.=) CAST($1 AS pg_catalog.int8)",
        {version});

    if (existing.empty()) {
        spi::execute(
            std::string("INSERT INTO tenancy.migration_registry (version, name, up_sql, down_sql, checksum") +
                (has_column ? ", transactional" : "") +
                ") VALUES (CAST($1 AS pg_catalog.int8), $2, $3, $4, tenancy._checksum($3)" +
                (has_column ? ", CAST($5 AS pg_catalog.bool))" : ")"),
            {version, migration.name, migration.up_sql, migration.down_sql, transactional});
        return Registration::added;
    }

    const spi::Row& current = existing.front();
    bool same_up = *current[1] == migration.up_sql;
    if (same_up && *current[0] == migration.name && current[2] == migration.down_sql &&
        *current[3] == transactional)
        return Registration::unchanged;

    if (!same_up) {
        std::vector<std::string> appliers = tenants_that_applied(migration.version, 3);
        if (!appliers.empty())
            throw core::Error(
                core::sqlstate::object_not_in_prerequisite_state,
                fmt::format("migration {} is already applied and its up_sql differs",
                            migration.version),
                fmt::format("Tenant \"{}\"{} applied version {}; nothing was changed.",
                            appliers.front(), appliers.size() > 1 ? " and others" : "",
                            migration.version),
                "Register the change as a new migration with a higher version.");
    }
    spi::execute(
        std::string("UPDATE tenancy.migration_registry "
                    "SET name = $2, up_sql = $3, down_sql = $4, checksum = tenancy._checksum($3), ") +
            (has_column ? "transactional = CAST($5 AS pg_catalog.bool), " : "") +
            "registered_at = pg_catalog.now() "
            "WHERE version OPERATOR(pg_catalog.=) CAST($1 AS pg_catalog.int8)",
        {version, migration.name, migration.up_sql, migration.down_sql, transactional});
    return Registration::changed;
}

}  // namespace tenancy::pg
