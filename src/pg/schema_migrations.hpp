// Each tenant's "<tenant>".schema_migrations table: the one Ecto keeps, so an
// Ecto application and pg_tenancy see each other's migrations as applied.
//
// Its name is a setting (tenancy.migration_table, Ecto's migration_source):
// every place that names the table asks table_name() or qualified_name(), and
// only this file's functions write it.
#pragma once

#include <cstdint>
#include <string>

#include "postgres_headers.hpp"

namespace tenancy::pg::schema_migrations {

// Defines tenancy.migration_table; called from define_settings().
void define_setting();

// The version table's name, unquoted (default "schema_migrations").
const char* table_name();

// "<tenant>"."<table>", both quoted, for SQL text.
std::string qualified_name(const std::string& tenant);

// The table's OID in the tenant's schema; InvalidOid when it is not there.
Oid table_oid(const std::string& tenant);

// Creates the table in the tenant unless it is there already (an adopted
// schema that Ecto migrated keeps its own rows), in the migration sandbox.
// The caller is connected to SPI.
void ensure_table(const std::string& tenant);

// Takes Ecto's lock on the table (SHARE UPDATE EXCLUSIVE, which Ecto's
// migrator holds while it migrates), so the two queue rather than race.
// Nothing when the table is not there. No privilege is checked: the caller
// has checked that it may act as the tenant's owner.
void lock(const std::string& tenant);

// The bookkeeping of one migration; run inside the sandbox.
void record_applied(const std::string& tenant, std::int64_t version);
void forget_applied(const std::string& tenant, std::int64_t version);

}  // namespace tenancy::pg::schema_migrations
