#include "schema_migrations.hpp"

#include "../core/identifier.hpp"
#include "error_boundary.hpp"
#include "migration_sandbox.hpp"
#include "spi.hpp"

namespace tenancy::pg::schema_migrations {

namespace {

constexpr const char* table_name = "schema_migrations";

std::string qualified(const std::string& tenant) {
    return core::quote_identifier(tenant) + "." + core::quote_identifier(table_name);
}

Oid table_oid(const std::string& tenant) {
    return call_postgres([&] {
        Oid schema = get_namespace_oid(tenant.c_str(), false);
        return get_relname_relid(table_name, schema);
    });
}

}  // namespace

void ensure_table(const std::string& tenant) {
    if (OidIsValid(table_oid(tenant))) return;
    MigrationSandbox sandbox(tenant);
    // Ecto's layout exactly: version bigint PRIMARY KEY, inserted_at timestamp(0).
    spi::execute("CREATE TABLE " + qualified(tenant) +
                 " (version pg_catalog.int8 PRIMARY KEY, "
                 "inserted_at pg_catalog.timestamp(0))");
    sandbox.finish();
}

void lock(const std::string& tenant) {
    Oid table = table_oid(tenant);
    if (!OidIsValid(table)) return;
    call_postgres([&] { LockRelationOid(table, ShareUpdateExclusiveLock); });
}

void record_applied(const std::string& tenant, std::int64_t version) {
    spi::execute("INSERT INTO " + qualified(tenant) +
                     " (version, inserted_at) VALUES "
                     "(CAST($1 AS pg_catalog.int8), CAST(pg_catalog.timezone('UTC', "
                     "pg_catalog.now()) AS pg_catalog.timestamp(0)))",
                 {std::to_string(version)});
}

void forget_applied(const std::string& tenant, std::int64_t version) {
    spi::execute("DELETE FROM " + qualified(tenant) +
                     " WHERE version OPERATOR(pg_catalog.=) CAST($1 AS pg_catalog.int8)",
                 {std::to_string(version)});
}

}  // namespace tenancy::pg::schema_migrations
