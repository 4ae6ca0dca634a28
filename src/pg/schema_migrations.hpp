// Each tenant's "<tenant>".schema_migrations table: the one Ecto keeps, so an
// Ecto application and pg_tenancy see each other's migrations as applied.
//
// Its name is a setting (tenancy.migration_table, Ecto's migration_source):
// every place that names the table asks table_name() or qualified_name().
#pragma once

#include <string>

namespace tenancy::pg::schema_migrations {

// Defines tenancy.migration_table; called from define_settings().
void define_setting();

// The version table's name, unquoted (default "schema_migrations").
const char* table_name();

// "<tenant>"."<table>", both quoted, for SQL text.
std::string qualified_name(const std::string& tenant);

// Creates the table in the tenant unless it is there already (an adopted
// schema that Ecto migrated keeps its own rows). The caller is connected to SPI.
void ensure_table(const std::string& tenant);

}  // namespace tenancy::pg::schema_migrations
