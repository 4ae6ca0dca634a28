#include "schema_migrations.hpp"

#include "../core/identifier.hpp"
#include "citus.hpp"
#include "error_boundary.hpp"
#include "migration_sandbox.hpp"
#include "spi.hpp"

namespace tenancy::pg::schema_migrations {

namespace {

constexpr const char* default_table_name = "schema_migrations";
char* table_name_value = nullptr;

// A table name PostgreSQL would keep as given: not empty, not truncated.
// Any character is allowed, since the name is always quoted.
bool check_table_name(char** newval, void**, GucSource) {
    size_t length = strlen(*newval);
    if (length == 0) {
        GUC_check_errcode(ERRCODE_INVALID_NAME);
        GUC_check_errmsg("tenancy.migration_table must not be empty");
        return false;
    }
    if (length >= NAMEDATALEN) {
        GUC_check_errcode(ERRCODE_NAME_TOO_LONG);
        GUC_check_errmsg("tenancy.migration_table \"%s\" is longer than %d bytes", *newval,
                         NAMEDATALEN - 1);
        return false;
    }
    return true;
}

}  // namespace

void define_setting() {
    DefineCustomStringVariable(
        "tenancy.migration_table",
        "Name of the table in each tenant that records its applied migrations (Ecto's migration_source).",
        nullptr, &table_name_value, default_table_name, PGC_SUSET, 0, check_table_name, nullptr,
        nullptr);
}

const char* table_name() {
    return table_name_value && *table_name_value ? table_name_value : default_table_name;
}

std::string qualified_name(const std::string& tenant) {
    return core::quote_identifier(tenant) + "." + core::quote_identifier(table_name());
}

Oid table_oid(const std::string& tenant) {
    return call_postgres([&] {
        Oid schema = get_namespace_oid(tenant.c_str(), false);
        return get_relname_relid(table_name(), schema);
    });
}

void ensure_table(const std::string& tenant) {
    if (OidIsValid(table_oid(tenant))) return;
    MigrationSandbox sandbox(tenant);
    // Ecto's layout exactly: version bigint PRIMARY KEY, inserted_at timestamp(0).
    spi::execute("CREATE TABLE " + qualified_name(tenant) +
                 " (version pg_catalog.int8 PRIMARY KEY, "
                 "inserted_at pg_catalog.timestamp(0))");
    call_postgres([&] { citus::distribute_new_tables(tenant.c_str()); });
    sandbox.finish();
}

void lock(const std::string& tenant) {
    Oid table = table_oid(tenant);
    if (!OidIsValid(table)) return;
    call_postgres([&] { LockRelationOid(table, ShareUpdateExclusiveLock); });
}

void record_applied(const std::string& tenant, std::int64_t version) {
    spi::execute("INSERT INTO " + qualified_name(tenant) +
                     " (version, inserted_at) VALUES "
                     "(CAST($1 AS pg_catalog.int8), CAST(pg_catalog.timezone('UTC', "
                     "pg_catalog.now()) AS pg_catalog.timestamp(0)))",
                 {std::to_string(version)});
}

void forget_applied(const std::string& tenant, std::int64_t version) {
    spi::execute("DELETE FROM " + qualified_name(tenant) +
                     " WHERE version OPERATOR(pg_catalog.=) CAST($1 AS pg_catalog.int8)",
                 {std::to_string(version)});
}

}  // namespace tenancy::pg::schema_migrations
