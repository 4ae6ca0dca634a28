#include "schema_migrations.hpp"

#include "../core/identifier.hpp"
#include "error_boundary.hpp"
#include "schema_owner.hpp"
#include "spi.hpp"

namespace tenancy::pg::schema_migrations {

void ensure_table(const std::string& tenant) {
    bool exists = call_postgres([&] {
        Oid schema = get_namespace_oid(tenant.c_str(), false);
        return OidIsValid(get_relname_relid("schema_migrations", schema));
    });
    if (exists) return;
    ActAsSchemaOwner as_owner(tenant);
    // Ecto's layout exactly: version bigint PRIMARY KEY, inserted_at timestamp(0).
    spi::execute("CREATE TABLE " + core::quote_identifier(tenant) +
                 ".schema_migrations (version bigint PRIMARY KEY, "
                 "inserted_at timestamp(0) without time zone)");
}

}  // namespace tenancy::pg::schema_migrations
