// Entry points of tenant migrations (SPEC "Tenant migrations"):
// register_migration, migrate and rollback. load_migrations and the
// *_all procedures have files of their own.
#include <fmt/format.h>

#include "../core/error.hpp"
#include "arguments.hpp"
#include "citus.hpp"
#include "error_boundary.hpp"
#include "migration_registry.hpp"
#include "migration_runner.hpp"
#include "registry.hpp"
#include "spi.hpp"
#include "tenant_migrations.hpp"

using namespace tenancy::pg;

extern "C" {

PG_FUNCTION_INFO_V1(tenancy_register_migration);
PG_FUNCTION_INFO_V1(tenancy_migrate);
PG_FUNCTION_INFO_V1(tenancy_rollback);

// tenancy.register_migration(version bigint, name text, up_sql text, down_sql text DEFAULT NULL,
//                            transactional boolean DEFAULT true)
Datum tenancy_register_migration(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        Migration migration;
        std::optional<int64> version = int64_argument(fcinfo, 0);
        if (!version)
            throw tenancy::core::Error(tenancy::core::sqlstate::null_value_not_allowed,
                                       "version must not be null");
        migration.version = *version;
        migration.name = required_text_argument(fcinfo, 1, "name");
        migration.up_sql = required_text_argument(fcinfo, 2, "up_sql");
        migration.down_sql = text_argument(fcinfo, 3);
        // The 0.1.0 definition, until ALTER EXTENSION ... UPDATE, has no fifth argument.
        migration.transactional =
            PG_NARGS() <= 4 || required_bool_argument(fcinfo, 4, "transactional");

        spi::connect();
        Registration registration = register_migration(migration);
        spi::finish();
        return text_datum(registration == Registration::added     ? "added"
                          : registration == Registration::changed ? "changed"
                                                                  : "unchanged");
    });
}

// tenancy.migrate(tenant text, target_version bigint DEFAULT NULL) RETURNS integer
Datum tenancy_migrate(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        std::string tenant = required_text_argument(fcinfo, 0, "tenant");
        std::optional<int64> target = int64_argument(fcinfo, 1);

        spi::connect();
        registry::require_registered(tenant);
        int applied = migrate_tenant(tenant, registered_migrations(), target);
        spi::finish();
        return Int32GetDatum(applied);
    });
}

// tenancy.rollback(tenant text, target_version bigint) RETURNS integer
Datum tenancy_rollback(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        std::string tenant = required_text_argument(fcinfo, 0, "tenant");
        std::optional<int64> target = int64_argument(fcinfo, 1);
        if (!target)
            throw tenancy::core::Error(tenancy::core::sqlstate::null_value_not_allowed,
                                       "target_version must not be null");

        spi::connect();
        registry::require_registered(tenant);
        int undone = rollback_tenant(tenant, registered_migrations(), *target);
        spi::finish();
        return Int32GetDatum(undone);
    });
}

}  // extern "C"
