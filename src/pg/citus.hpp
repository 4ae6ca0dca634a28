// pg_tenancy on Citus schema-based sharding (README "Running on Citus").
//
// Citus is never a dependency: everything here first asks whether Citus'
// library is loaded into the server (its citus.version setting exists, a
// hash lookup), and does nothing more when it is not. Citus' own C functions
// are looked up by name, and only for the Citus versions this code was
// tested with (supported_major below).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "applied_migrations.hpp"
#include "postgres_headers.hpp"

namespace tenancy::pg::citus {

// Whether Citus' library is loaded into this server.
bool loaded();

// Raises 0A000 unless Citus is loaded and created in this database (for the
// functions the coordinator calls on the nodes).
void refuse_off_citus(FunctionCallInfo fcinfo);

// Raises 0A000 when this database is a Citus worker node: the registry and
// the tenants' metadata live on the coordinator, a worker holds shards only.
// Every SQL-callable entry point but the triggers calls it first.
void refuse_on_worker(FunctionCallInfo fcinfo);

// After each statement of a migration, and after pg_tenancy made a tenant's
// schema_migrations: when the tenant's schema is a Citus distributed schema,
// makes each table of it that is no Citus table yet a single-shard table of
// the schema (what Citus does to a top-level CREATE TABLE there), and raises
// 0A000 naming the table Citus refuses. Plain C frames: call it inside
// call_postgres(), in the migration sandbox (as the tenant's owner).
void distribute_new_tables(const char* tenant);

// What Citus made of a table: 'n' none (or no Citus), 'd' distributed
// (hash or single-shard), 'r' reference, 'l' Citus local table.
char table_kind(Oid relid);

// The table a managed table's trigger fires for, or manage_tenant and
// unmanage_tenant are given, once Citus made it a Citus local table: Citus
// then keeps the rows (and the original OID, which pg_tenancy's settings
// name) in a shard and puts a new table, the shell, in its place. Returns the
// shell for the shell or its shard, after moving the settings still naming
// the shard onto it; relid itself for any other table.
Oid managed_table_of(Oid relid);

// Refuses (0A000) to manage a distributed or reference table: its rows live
// on workers, where no trigger of pg_tenancy can create a tenant.
void refuse_distributed_managed_table(Oid relid, const std::string& qualified_name);

// Whether the tenant's table of applied versions is a distributed table,
// whose rows live in a shard on a worker (the coordinator's copy is empty).
bool distributed_table(Oid relid);

// Reads the tenant's applied versions where they live when its table of
// applied versions is a Citus table (the coordinator's copy of a distributed
// table is an empty shell): for a peek, from what PrefetchedVersions read
// when it has the tenant, otherwise through Citus' executor. False, with
// nothing done, for any other table (read it directly then). keep as
// keeps() reads it: its versions sorted.
bool read_through_citus(const std::string& tenant, bool peek, const VersionFilter* keep,
                        std::vector<AppliedMigration>& rows, TenantTable& result);

using VersionsByTenant = std::map<std::string, std::vector<AppliedMigration>, std::less<>>;

// For the lifetime of the object, the applied versions of the given tenants
// (every tenant when nullptr) whose table of applied versions is
// distributed, read on their nodes in one call per node, the nodes in
// parallel: Citus' master_run_on_worker() calls
// tenancy._shard_applied_versions() on each node, as the calling role. Each
// inserted_at is as the status views show it (timestamp(0)). A node that
// cannot answer: a WARNING, and its tenants are left out (migrate_all's
// peeks read them one by one; the status views show them as unknown).
// Reads nothing without Citus, and nothing once this transaction has work
// open on the nodes (new connections would not see its changes). Nested
// objects stack: the outer one's versions are back when the inner one goes.
class PrefetchedVersions {
public:
    explicit PrefetchedVersions(const std::vector<std::string>* tenants);
    ~PrefetchedVersions();
    PrefetchedVersions(const PrefetchedVersions&) = delete;
    PrefetchedVersions& operator=(const PrefetchedVersions&) = delete;

private:
    VersionsByTenant outer_;
};

// What the PrefetchedVersions alive read for the tenant: false when it has
// nothing of it. Allocates nothing and never throws: the status walk calls it
// inside call_postgres().
bool prefetched_versions(const char* tenant, const AppliedMigration*& rows,
                         std::size_t& count) noexcept;

}  // namespace tenancy::pg::citus
