// Each tenant's "<tenant>".schema_migrations table: the one Ecto keeps, so an
// Ecto application and pg_tenancy see each other's migrations as applied.
#pragma once

#include <string>

namespace tenancy::pg::schema_migrations {

// Creates the table in the tenant unless it is there already (an adopted
// schema that Ecto migrated keeps its own rows). The caller is connected to SPI.
void ensure_table(const std::string& tenant);

}  // namespace tenancy::pg::schema_migrations
