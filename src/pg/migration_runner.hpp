// Running one migration in one tenant (SPEC "How a migration runs in a tenant").
#pragma once

#include <string>
#include <vector>

#include "migration_registry.hpp"

namespace tenancy::pg {

enum class Direction { up, down };

// Runs the migration's up_sql (or down_sql) in the tenant, in the migration
// sandbox (migration_sandbox.hpp), and there records (or removes) its version
// in the tenant's schema_migrations. @tenant@ is substituted. Errors keep
// their SQLSTATE and get a CONTEXT line naming the tenant and the migration.
// The caller holds the tenant's lock and is connected to SPI. A
// non-transactional migration runs here too, with its CONCURRENTLY forms run
// as their plain forms (a new tenant, a rollback: see online_migration.hpp).
void run_migration(const std::string& tenant, const Migration& migration, Direction direction);

// Refuses, before anything runs, the statements a migration may not hold:
// transaction control, those that cannot run in a transaction block, and
// COPY from or to the client.
// Syntax errors surface here too, with the migration named in CONTEXT.
// Returns how many statements the text holds.
int check_migration_text(const std::string& sql, const Migration& migration,
                          const char* which_text);

// The statements of the migration's up_sql in the tenant (@tenant@
// substituted), each as its own text, refused as check_migration_text()
// refuses them. For a non-transactional run, statement by statement.
std::vector<std::string> split_migration(const std::string& tenant, const Migration& migration);

}  // namespace tenancy::pg
