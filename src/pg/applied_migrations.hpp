// Reading a tenant's applied versions ("<tenant>".schema_migrations, or the
// table tenancy.migration_table names) without SQL.
//
// migrate_all and the status views look at every tenant, most of them up to
// date; parsing and planning a SELECT per tenant would cost more than the look
// itself, so the table is scanned directly and its lock let go right after.
// A tenant can make its table huge: readers keep only the versions they need.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "postgres_headers.hpp"

namespace tenancy::pg {

struct AppliedMigration {
    std::int64_t version = 0;
    bool has_inserted_at = false;
    std::int64_t inserted_at = 0;  // a PostgreSQL Timestamp
};

enum class TenantTable {
    present,
    no_table,   // the schema is there, its schema_migrations is not
    no_schema,  // the tenant's schema is gone
    unknown,    // only from a peek: the table is locked, or not Ecto's layout
};

// How to read the table.
enum class ReadMode {
    // Under the tenant's lock, before migrating it: waits for the table's
    // lock, sees everything committed (the latest snapshot), and raises
    // 55000 if the table is not a plain table with a bigint version column.
    for_update,
    // migrate_all's lock-free look at a tenant: never waits, never raises;
    // anything it cannot judge is `unknown`, left for the locked read.
    peek,
    // For SQL: the statement's own snapshot, so REPEATABLE READ sees a
    // consistent picture; raises 42501 unless the caller may SELECT the table
    // (checked before anything is locked), waits for its lock as a SELECT does.
    for_query,
};

// Which applied versions a read keeps; everything when not given.
struct VersionFilter {
    std::vector<std::int64_t> versions;  // kept when applied, in any order
    std::optional<std::int64_t> above;   // and every applied version above this one
};

// Whether the filter keeps the version; nullptr keeps every one. Its
// versions must be sorted (read_applied_migrations() sorts them).
bool keeps(const VersionFilter* keep, std::int64_t version);

TenantTable read_applied_migrations(const std::string& tenant, ReadMode mode,
                                    std::vector<AppliedMigration>& rows,
                                    const VersionFilter* keep = nullptr);

inline std::set<std::int64_t> versions_of(const std::vector<AppliedMigration>& rows) {
    std::set<std::int64_t> versions;
    for (const AppliedMigration& row : rows) versions.insert(row.version);
    return versions;
}

// ---------------------------------------------------------------------------
// The pieces the readers are made of, for code that walks many tenants inside
// one call_postgres() (tenant_status.cpp). They hold no C++ object, so a
// PostgreSQL error may longjmp through them.

// What a reader found of one tenant's table.
enum class TableState {
    readable,   // opened and locked (AccessShareLock): scan it, then close_versions_table()
    no_schema,
    no_table,
    forbidden,  // the caller may not SELECT it (or has no USAGE on the schema)
    locked,     // someone holds a lock that conflicts with reading it
    malformed,  // not a table with a bigint column "version"
    elsewhere,  // a Citus table: its rows live on a worker node (citus.hpp reads them)
};

struct VersionsTable {
    Relation relation = nullptr;
    AttrNumber version = InvalidAttrNumber;
    AttrNumber inserted_at = InvalidAttrNumber;  // InvalidAttrNumber: no timestamp column
    int32 inserted_at_typmod = -1;
};

// What a reader checks before it reads a table's rows (`forbidden` if it fails).
enum class Check {
    nothing,       // pg_tenancy's own reading (a peek, a run), shown to no one
    row_security,  // rows shown to a caller who may SELECT every table: a table
                   // whose row-level security applies to the caller is refused
    privileges,    // and, first, USAGE on the schema and SELECT on the table
};

// The check for rows shown to GetUserId(): row_security for a superuser or a
// member of pg_read_all_data, privileges for anyone else.
Check caller_check();

// Finds and opens the tenant's table. check: what GetUserId() must be
// allowed (privileges before anything is locked). wait: wait for the
// table's lock (else `locked`). Never raises for what it finds.
TableState open_versions_table(Oid schema, Check check, bool wait, VersionsTable& table);

// The same, for a table already found (relid; InvalidOid: there is none),
// whatever its name (a Citus shard's is not the versions table's).
TableState open_versions_table(Oid schema, Oid relid, Check check, bool wait, VersionsTable& table);

// The table a CatalogDirectory listed for the schema (InvalidOid: none), if
// once locked it still is the schema's versions table; otherwise the one
// the catalog names now. The directory may be older than the statement.
TableState open_listed_versions_table(Oid schema, Oid listed, Check check, bool wait,
                                      VersionsTable& table);

// Every schema and every schema's versions table, each found by one catalog
// scan at the start of a walk over all tenants, where looking each tenant up
// in the catalog caches would miss every time (each tenant's entries are
// new), costing an index search and a cache entry per tenant. Allocated in
// the current memory context; trivially destructible, so a PostgreSQL error
// may longjmp past it, and nothing to release but that context.
struct SchemaEntry {
    NameData name;  // the hash key
    Oid schema;
    Oid owner;
};

class CatalogDirectory {
public:
    // Reads pg_namespace, and pg_class's (relname, relnamespace) index for
    // the tables named like the versions table.
    void read();
    // Reads only the latter: versions_table() answers, schema() does not.
    void read_versions_tables();
    // nullptr when no schema has that name.
    const SchemaEntry* schema(const char* name) const;
    // The schema's versions table, InvalidOid when it has none.
    Oid versions_table(Oid schema) const;

private:
    struct TableEntry {
        Oid schema;
        Oid relid;
    };
    HTAB* schemas_ = nullptr;
    TableEntry* tables_ = nullptr;  // sorted by schema
    int table_count_ = 0;
};


// While one lives, migrate_all's peeks (ReadMode::peek) find each schema's
// versions table in a CatalogDirectory read when the run starts, instead of
// missing the catalog cache for every tenant. The run lasts: a table found
// in it counts only if, once opened and locked, it is still the one named
// like the versions table in that schema; otherwise, and for a schema it
// does not list, the catalog is asked as before. The schema itself is
// always looked up by name at the time of the peek. Nested ones stack.
class PeekDirectory {
public:
    PeekDirectory();  // reads the catalog: call where a PostgreSQL error may be raised
    ~PeekDirectory();
    PeekDirectory(const PeekDirectory&) = delete;
    PeekDirectory& operator=(const PeekDirectory&) = delete;

private:
    MemoryContext context_;  // kept beyond the run's per-tenant commits
    const CatalogDirectory* outer_;
};

// Closes the table, lets its lock go and, with forget, drops its relcache
// entry when nothing else uses it, so a walk over many tenants leaves no
// entry behind.
void close_versions_table(VersionsTable& table, bool forget);

// The row's applied_at as the status views show it: timestamp(0), as Ecto's
// inserted_at (a column declared otherwise is rounded the way the cast
// would). False when the row has none.
bool status_applied_at(TupleTableSlot* slot, const VersionsTable& table, Timestamp& applied_at);

// Keeps the backend's catalog caches within a budget over walks of many
// tenants: note() after each tenant resets them when they have grown by more
// than the budget since the session's last reset (or since they were first
// measured).
class CatalogCacheBudget {
public:
    CatalogCacheBudget();
    void note();

private:
    unsigned tenants_ = 0;
};

}  // namespace tenancy::pg
