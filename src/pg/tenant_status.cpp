// The status readers: tenancy._tenant_states() (the tenants view,
// pending_tenants()), tenancy._version_states() (the migration_states view)
// and tenancy.migration_status().
//
// One pass over the registry, and each tenant's table scanned directly: no
// query is planned per tenant. Each table's lock is tried, never waited for,
// and let go after its scan; its relation-cache entry is dropped and the
// catalog caches are kept within a budget, so reading 100,000 tenants leaves
// the session as small as it was. Whatever a tenant owner did to its table
// (locked it, replaced it by a view, made it huge), only that tenant's row is
// affected.
//
// The registry tables are read directly, as the views read them with their
// owner's rights; these functions return exactly what the views show:
//  - last_error only to roles with the privileges of the tenant schema's
//    owner, or of the registry's owner (the extension's owner): it may quote
//    a tenant's data;
//  - nothing of a tenant's versions unless the caller may SELECT its table
//    (and has USAGE on its schema), nor when its row-level security applies
//    to the caller; a table locked by someone else, or not in Ecto's layout,
//    shows nothing either. The tenants view then shows NULL version and
//    pending, migration_states no rows for the tenant.
// On Citus, a distributed tenant's versions are what its node answered
// before the walk (citus::PrefetchedVersions, one call per node).
#include <string>

#include "applied_migrations.hpp"
#include "arguments.hpp"
#include "citus.hpp"
#include "error_boundary.hpp"

extern "C" {
#include "access/genam.h"
#include "access/stratnum.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_operator.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/tuplesort.h"
}

namespace tenancy::pg {

namespace {

struct RegisteredMigration {
    int64 version;
    Datum name;    // text, in the walk's memory
    bool changed;  // up_sql no longer matches its checksum
};

struct Registered {
    RegisteredMigration* migrations = nullptr;
    int count = 0;
};

int compare_versions(const void* a, const void* b) {
    int64 left = static_cast<const RegisteredMigration*>(a)->version;
    int64 right = static_cast<const RegisteredMigration*>(b)->version;
    return left < right ? -1 : left > right ? 1 : 0;
}

int find_registered(const Registered& registered, int64 version) {
    int low = 0, high = registered.count - 1;
    while (low <= high) {
        int middle = low + (high - low) / 2;
        int64 found = registered.migrations[middle].version;
        if (found == version) return middle;
        if (found < version)
            low = middle + 1;
        else
            high = middle - 1;
    }
    return -1;
}

Oid registry_table(const char* name) {
    return get_relname_relid(name, get_namespace_oid("tenancy", false));
}

AttrNumber column(Relation relation, const char* name) {
    AttrNumber attnum = get_attnum(RelationGetRelid(relation), name);
    if (attnum == InvalidAttrNumber)
        elog(ERROR, "column \"%s\" of %s is missing", name, RelationGetRelationName(relation));
    return attnum;
}

// The registered migrations, sorted by version, with each one's "changed"
// judged by tenancy._checksum() as when it was registered.
Registered read_registered(Snapshot snapshot) {
    Oid checksum_argument = TEXTOID;
    Oid checksum_function = LookupFuncName(
        list_make2(makeString(pstrdup("tenancy")), makeString(pstrdup("_checksum"))), 1,
        &checksum_argument, false);
    FmgrInfo checksum;
    fmgr_info(checksum_function, &checksum);

    Relation relation = table_open(registry_table("migration_registry"), AccessShareLock);
    AttrNumber version_column = column(relation, "version"), name_column = column(relation, "name"),
               up_sql_column = column(relation, "up_sql"),
               checksum_column = column(relation, "checksum");
    Registered registered;
    int allocated = 16;
    registered.migrations =
        static_cast<RegisteredMigration*>(palloc(allocated * sizeof(RegisteredMigration)));
    TableScanDesc scan = table_beginscan(relation, snapshot, 0, nullptr);
    TupleTableSlot* slot = table_slot_create(relation, nullptr);
    while (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
        bool null = false;
        if (registered.count == allocated) {
            allocated *= 2;
            registered.migrations = static_cast<RegisteredMigration*>(
                repalloc(registered.migrations, allocated * sizeof(RegisteredMigration)));
        }
        RegisteredMigration& migration = registered.migrations[registered.count++];
        migration.version = DatumGetInt64(slot_getattr(slot, version_column, &null));
        migration.name = PointerGetDatum(
            DatumGetTextPCopy(slot_getattr(slot, name_column, &null)));
        Datum up_sql = slot_getattr(slot, up_sql_column, &null);
        Datum recorded = slot_getattr(slot, checksum_column, &null);
        Datum actual = FunctionCall1Coll(&checksum, DEFAULT_COLLATION_OID, up_sql);
        migration.changed =
            !DatumGetBool(DirectFunctionCall2Coll(texteq, C_COLLATION_OID, actual, recorded));
    }
    ExecDropSingleTupleTableSlot(slot);
    table_endscan(scan);
    table_close(relation, AccessShareLock);
    qsort(registered.migrations, registered.count, sizeof(RegisteredMigration), compare_versions);
    return registered;
}

enum class Shape {
    tenants,           // one row per tenant
    pending_tenants,   // tenants with pending migrations only, version left NULL
    migration_states,  // one row per tenant and version
};

struct Walk {
    Shape shape;
    const char* only_tenant;  // nullptr: every tenant
    bool found = false;       // only_tenant is registered
    Registered registered;
    Snapshot snapshot;
    Oid registry_owner;
    bool sees_every_error;  // the caller has the registry owner's privileges
    Check check;  // what the caller must be allowed to see a tenant's versions
    // Every schema and versions table, when the walk reads every tenant;
    // nullptr for one tenant, which the catalog caches find cheaper.
    const CatalogDirectory* directory = nullptr;
    Tuplestorestate* result;
    TupleDesc descriptor;
    Datum applied, changed, unregistered, pending;  // the state texts
};

// last_error, or NULL for a caller who may not see it.
bool may_see_error(const Walk& walk, Oid schema, const SchemaEntry* entry) {
    if (walk.sees_every_error) return true;
    if (!OidIsValid(schema)) return false;
    if (entry != nullptr) return has_privs_of_role(GetUserId(), entry->owner);
    HeapTuple tuple = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(schema));
    if (!HeapTupleIsValid(tuple)) return false;
    Oid owner = reinterpret_cast<Form_pg_namespace>(GETSTRUCT(tuple))->nspowner;
    ReleaseSysCache(tuple);
    return has_privs_of_role(GetUserId(), owner);
}

// A tenant's applied rows, sorted by version before they are shown. Up to
// in_memory_rows are sorted in an array; a tenant with more (a tenant owner
// can make its table huge) goes through a tuplesort, which spills to disk.
struct AppliedRow {
    int64 version;
    bool has_applied_at;
    Timestamp applied_at;
};
constexpr int in_memory_rows = 8192;

struct AppliedRows {
    AppliedRow* rows = nullptr;
    int count = 0;
    int next = 0;
    Tuplesortstate* sort = nullptr;
    TupleDesc sort_descriptor = nullptr;
    TupleTableSlot* sort_slot = nullptr;
};

int compare_applied(const void* a, const void* b) {
    int64 left = static_cast<const AppliedRow*>(a)->version;
    int64 right = static_cast<const AppliedRow*>(b)->version;
    return left < right ? -1 : left > right ? 1 : 0;
}

void sort_put(AppliedRows& applied, const AppliedRow& row) {
    TupleTableSlot* slot = applied.sort_slot;
    ExecClearTuple(slot);
    slot->tts_values[0] = Int64GetDatum(row.version);
    slot->tts_isnull[0] = false;
    slot->tts_values[1] = TimestampGetDatum(row.applied_at);
    slot->tts_isnull[1] = !row.has_applied_at;
    ExecStoreVirtualTuple(slot);
    tuplesort_puttupleslot(applied.sort, slot);
}

void add_applied(AppliedRows& applied, const AppliedRow& row) {
    if (applied.rows == nullptr)
        applied.rows = static_cast<AppliedRow*>(palloc(in_memory_rows * sizeof(AppliedRow)));
    if (applied.sort == nullptr && applied.count < in_memory_rows) {
        applied.rows[applied.count++] = row;
        return;
    }
    if (applied.sort == nullptr) {
        TupleDesc descriptor = CreateTemplateTupleDesc(2);
        TupleDescInitEntry(descriptor, 1, "version", INT8OID, -1, 0);
        TupleDescInitEntry(descriptor, 2, "applied_at", TIMESTAMPOID, -1, 0);
        AttrNumber key = 1;
        Oid less = Int8LessOperator;
        Oid collation = InvalidOid;
        bool nulls_first = false;
        applied.sort_descriptor = descriptor;
        applied.sort = tuplesort_begin_heap(descriptor, 1, &key, &less, &collation, &nulls_first,
                                            work_mem, nullptr, TUPLESORT_NONE);
        applied.sort_slot = MakeSingleTupleTableSlot(descriptor, &TTSOpsMinimalTuple);
        for (int i = 0; i < applied.count; i++) sort_put(applied, applied.rows[i]);
        applied.count = 0;
    }
    sort_put(applied, row);
}

void finish_applied(AppliedRows& applied) {
    if (applied.sort != nullptr)
        tuplesort_performsort(applied.sort);
    else if (applied.count > 1)
        qsort(applied.rows, applied.count, sizeof(AppliedRow), compare_applied);
}

bool next_applied(AppliedRows& applied, AppliedRow& row) {
    if (applied.sort == nullptr) {
        if (applied.next >= applied.count) return false;
        row = applied.rows[applied.next++];
        return true;
    }
    if (!tuplesort_gettupleslot(applied.sort, true, false, applied.sort_slot, nullptr)) return false;
    bool null = false;
    row.version = DatumGetInt64(slot_getattr(applied.sort_slot, 1, &null));
    row.applied_at = DatumGetTimestamp(slot_getattr(applied.sort_slot, 2, &null));
    row.has_applied_at = !null;
    return true;
}

void end_applied(AppliedRows& applied) {
    if (applied.sort == nullptr) return;
    tuplesort_end(applied.sort);
    ExecDropSingleTupleTableSlot(applied.sort_slot);
    applied.sort = nullptr;
}

void put_state(const Walk& walk, Datum tenant, int64 version, Datum name, bool has_name,
               Datum state, bool has_applied_at, Datum applied_at) {
    Datum values[5] = {tenant, Int64GetDatum(version), name, state, applied_at};
    bool nulls[5] = {false, false, !has_name, false, !has_applied_at};
    tuplestore_putvalues(walk.result, walk.descriptor, values, nulls);
}

// What a walk has learned of one tenant's applied versions so far.
struct TenantReading {
    bool* seen;  // per registered migration
    int seen_count = 0;
    bool has_version = false;
    int64 highest = 0;
    AppliedRows applied;
};

// Takes one applied version; false once the walk needs no more of them.
bool take_version(const Walk& walk, TenantReading& reading, int64 version, bool has_applied_at,
                  Timestamp applied_at) {
    if (!reading.has_version || version > reading.highest) reading.highest = version;
    reading.has_version = true;
    int index = find_registered(walk.registered, version);
    if (index >= 0 && !reading.seen[index]) {
        reading.seen[index] = true;
        reading.seen_count++;
        // Whether anything is pending is known once every registered
        // version is found, however long the table is.
        if (walk.shape == Shape::pending_tenants && reading.seen_count == walk.registered.count)
            return false;
    }
    if (walk.shape == Shape::migration_states)
        add_applied(reading.applied, AppliedRow{version, has_applied_at, applied_at});
    return true;
}

// One tenant: its row of the tenants view, or its rows of migration_states.
void read_tenant(const Walk& walk, Datum tenant, Datum created_at, bool has_created_at,
                 Datum last_error, bool has_last_error) {
    if (walk.shape == Shape::pending_tenants && walk.registered.count == 0) return;
    const char* name = TextDatumGetCString(tenant);
    const SchemaEntry* entry = nullptr;
    Oid schema = InvalidOid;
    if (walk.directory != nullptr) {
        entry = walk.directory->schema(name);
        if (entry != nullptr) schema = entry->schema;
    } else {
        schema = get_namespace_oid(name, true);
    }
    VersionsTable table;
    TableState state = TableState::no_schema;
    if (entry != nullptr)
        state = open_listed_versions_table(schema, walk.directory->versions_table(schema),
                                           walk.check, false, table);
    else if (OidIsValid(schema))
        state = open_versions_table(schema, walk.check, false, table);
    TenantReading reading;
    reading.seen = static_cast<bool*>(palloc0(Max(walk.registered.count, 1) * sizeof(bool)));

    if (state == TableState::readable) {
        TableScanDesc scan = table_beginscan(table.relation, walk.snapshot, 0, nullptr);
        TupleTableSlot* slot = table_slot_create(table.relation, nullptr);
        while (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
            bool null = false;
            Datum version = slot_getattr(slot, table.version, &null);
            if (null) continue;
            Timestamp applied_at = 0;
            bool has_applied_at = walk.shape == Shape::migration_states &&
                                  status_applied_at(slot, table, applied_at);
            if (!take_version(walk, reading, DatumGetInt64(version), has_applied_at, applied_at))
                break;
        }
        ExecDropSingleTupleTableSlot(slot);
        table_endscan(scan);
        close_versions_table(table, true);
    } else if (state == TableState::elsewhere) {
        // On Citus: what the tenant's node answered before the walk
        // (citus::PrefetchedVersions), if it did; otherwise the tenant shows
        // as unknown, as a locked one.
        const AppliedMigration* rows = nullptr;
        std::size_t count = 0;
        if (citus::prefetched_versions(name, rows, count)) {
            state = TableState::readable;
            for (std::size_t i = 0; i < count; i++)
                if (!take_version(walk, reading, rows[i].version, rows[i].has_inserted_at,
                                  rows[i].inserted_at))
                    break;
        }
    }
    bool known = state == TableState::readable || state == TableState::no_schema ||
                 state == TableState::no_table;
    if (walk.shape == Shape::tenants ||
        (walk.shape == Shape::pending_tenants && known &&
         reading.seen_count < walk.registered.count)) {
        // pending_tenants() leaves the version NULL.
        bool shows_version = reading.has_version && walk.shape == Shape::tenants;
        Datum values[5] = {tenant, created_at, Int64GetDatum(reading.highest),
                           Int32GetDatum(walk.registered.count - reading.seen_count), last_error};
        bool nulls[5] = {false, !has_created_at, !shows_version, !known,
                         !has_last_error || !may_see_error(walk, schema, entry)};
        tuplestore_putvalues(walk.result, walk.descriptor, values, nulls);
    } else if (known) {
        // Applied and pending versions merged in version order, so that
        // migration_status()'s ORDER BY finds them sorted already.
        finish_applied(reading.applied);
        AppliedRow row;
        bool has_row = next_applied(reading.applied, row);
        int pending = 0;
        for (;;) {
            while (pending < walk.registered.count && reading.seen[pending]) pending++;
            bool has_pending = pending < walk.registered.count;
            if (!has_row && !has_pending) break;
            if (has_pending &&
                (!has_row || walk.registered.migrations[pending].version < row.version)) {
                const RegisteredMigration& migration = walk.registered.migrations[pending++];
                put_state(walk, tenant, migration.version, migration.name, true, walk.pending,
                          false, Datum(0));
                continue;
            }
            int index = find_registered(walk.registered, row.version);
            if (index >= 0) {
                const RegisteredMigration& migration = walk.registered.migrations[index];
                put_state(walk, tenant, row.version, migration.name, true,
                          migration.changed ? walk.changed : walk.applied, row.has_applied_at,
                          TimestampGetDatum(row.applied_at));
            } else {
                put_state(walk, tenant, row.version, Datum(0), false, walk.unregistered,
                          row.has_applied_at, TimestampGetDatum(row.applied_at));
            }
            has_row = next_applied(reading.applied, row);
        }
        end_applied(reading.applied);
    }
}

void walk_registry(Walk& walk) {
    MemoryContext walk_context = CurrentMemoryContext;
    MemoryContext tenant_context = AllocSetContextCreate(walk_context, "pg_tenancy status tenant",
                                                         ALLOCSET_DEFAULT_SIZES);
    CatalogCacheBudget budget;
    Relation registry = table_open(registry_table("tenant_registry"), AccessShareLock);
    walk.registry_owner = registry->rd_rel->relowner;
    walk.sees_every_error = has_privs_of_role(GetUserId(), walk.registry_owner);
    walk.check = caller_check();
    AttrNumber tenant_column = column(registry, "tenant"),
               created_at_column = column(registry, "created_at"),
               last_error_column = column(registry, "last_error"),
               spare_column = column(registry, "spare");

    // migration_states walks the tenants in name order (the primary key's,
    // the default collation's), so its rows come out as migration_status()
    // orders them; the other shapes need no order.
    Relation index = nullptr;
    SysScanDesc ordered = nullptr;
    TableScanDesc scan = nullptr;
    if (walk.shape == Shape::migration_states) {
#if PG_VERSION_NUM >= 180000
        Oid primary_key = RelationGetPrimaryKeyIndex(registry, false);
#else
        Oid primary_key = RelationGetPrimaryKeyIndex(registry);
#endif
        index = index_open(primary_key, AccessShareLock);
        // One tenant (migration_status('x')): found through the index.
        ScanKeyData key;
        if (walk.only_tenant != nullptr)
            ScanKeyEntryInitialize(&key, 0, tenant_column, BTEqualStrategyNumber, InvalidOid,
                                   index->rd_indcollation[0], F_TEXTEQ,
                                   CStringGetTextDatum(walk.only_tenant));
        ordered = systable_beginscan_ordered(registry, index, walk.snapshot,
                                             walk.only_tenant != nullptr ? 1 : 0, &key);
    } else {
        scan = table_beginscan(registry, walk.snapshot, 0, nullptr);
    }
    TupleTableSlot* slot = ordered != nullptr
                               ? MakeSingleTupleTableSlot(RelationGetDescr(registry), &TTSOpsHeapTuple)
                               : table_slot_create(registry, nullptr);
    for (;;) {
        if (ordered != nullptr) {
            HeapTuple tuple = systable_getnext_ordered(ordered, ForwardScanDirection);
            if (tuple == nullptr) break;
            ExecStoreHeapTuple(tuple, slot, false);
        } else if (!table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
            break;
        }
        CHECK_FOR_INTERRUPTS();
        bool tenant_null = false, created_at_null = false, last_error_null = false;
        Datum tenant = slot_getattr(slot, tenant_column, &tenant_null);
        if (tenant_null) continue;
        // A pool's spares are not tenants yet: the views leave them out.
        bool spare_null = false;
        if (DatumGetBool(slot_getattr(slot, spare_column, &spare_null)) && !spare_null) continue;
        MemoryContextSwitchTo(tenant_context);
        if (walk.only_tenant == nullptr ||
            strcmp(TextDatumGetCString(tenant), walk.only_tenant) == 0) {
            Datum created_at = slot_getattr(slot, created_at_column, &created_at_null);
            Datum last_error = slot_getattr(slot, last_error_column, &last_error_null);
            // Detoasted: the result must not point into the registry's TOAST table.
            if (!last_error_null)
                last_error = PointerGetDatum(
                    pg_detoast_datum_packed(reinterpret_cast<varlena*>(DatumGetPointer(last_error))));
            walk.found = true;
            read_tenant(walk, tenant, created_at, !created_at_null, last_error, !last_error_null);
            budget.note();
        }
        MemoryContextSwitchTo(walk_context);
        MemoryContextReset(tenant_context);
    }
    ExecDropSingleTupleTableSlot(slot);
    if (ordered != nullptr) {
        systable_endscan_ordered(ordered);
        index_close(index, AccessShareLock);
    } else {
        table_endscan(scan);
    }
    table_close(registry, AccessShareLock);
    MemoryContextDelete(tenant_context);
}

[[noreturn]] void raise_unknown_tenant(const char* tenant) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_SCHEMA_NAME),
                    errmsg("tenant \"%s\" does not exist", tenant),
                    errhint("tenancy.all_tenants() lists the registered tenants.")));
}

// Fills the function's result; called inside call_postgres(), holds no C++ object.
// With require_tenant, an only_tenant that is not registered is 3F000.
void read_status(FunctionCallInfo fcinfo, Shape shape, const char* only_tenant,
                 bool require_tenant = false) {
    begin_materialized_result(fcinfo);
    auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    MemoryContext caller_context = CurrentMemoryContext;
    MemoryContext walk_context =
        AllocSetContextCreate(caller_context, "pg_tenancy status", ALLOCSET_DEFAULT_SIZES);
    MemoryContextSwitchTo(walk_context);

    Walk walk;
    walk.shape = shape;
    walk.only_tenant = only_tenant;
    walk.snapshot = RegisterSnapshot(GetActiveSnapshot());
    walk.result = result->setResult;
    walk.descriptor = result->setDesc;
    walk.applied = CStringGetTextDatum("applied");
    walk.changed = CStringGetTextDatum("changed");
    walk.unregistered = CStringGetTextDatum("unregistered");
    walk.pending = CStringGetTextDatum("pending");
    walk.registered = read_registered(walk.snapshot);
    CatalogDirectory directory;
    if (only_tenant == nullptr) {
        directory.read();
        walk.directory = &directory;
    }
    walk_registry(walk);
    UnregisterSnapshot(walk.snapshot);
    if (require_tenant && only_tenant != nullptr && !walk.found) raise_unknown_tenant(only_tenant);

    MemoryContextSwitchTo(caller_context);
    MemoryContextDelete(walk_context);
}

// On Citus, the distributed tenants' versions read on their nodes first (one
// call per node), for the walk to find: every tenant's, or only_tenant's.
void prefetch_on_citus(std::optional<citus::PrefetchedVersions>& prefetched,
                       const std::optional<std::string>& only_tenant) {
    if (!citus::loaded()) return;
    if (!only_tenant) {
        prefetched.emplace(nullptr);
        return;
    }
    std::vector<std::string> tenants{*only_tenant};
    prefetched.emplace(&tenants);
}

}  // namespace

}  // namespace tenancy::pg

using namespace tenancy::pg;

extern "C" {

PG_FUNCTION_INFO_V1(tenancy_tenant_states);
PG_FUNCTION_INFO_V1(tenancy_version_states);
PG_FUNCTION_INFO_V1(tenancy_migration_status);

// tenancy._tenant_states(only_pending boolean DEFAULT false) RETURNS TABLE(tenant text,
//     created_at timestamptz, version bigint, pending integer, last_error text):
//     the tenants view; with only_pending, the tenants with pending migrations,
//     version NULL (pending_tenants()).
Datum tenancy_tenant_states(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        bool only_pending = required_bool_argument(fcinfo, 0, "only_pending");
        std::optional<citus::PrefetchedVersions> prefetched;
        prefetch_on_citus(prefetched, std::nullopt);
        call_postgres([&] {
            read_status(fcinfo, only_pending ? Shape::pending_tenants : Shape::tenants, nullptr);
        });
        return Datum(0);
    });
}

// tenancy._version_states(tenant_name text DEFAULT NULL) RETURNS TABLE(tenant text,
//     version bigint, name text, state text, applied_at timestamp): the
//     migration_states view; one tenant's rows only when tenant_name is given.
Datum tenancy_version_states(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        std::optional<std::string> tenant = text_argument(fcinfo, 0);
        std::optional<citus::PrefetchedVersions> prefetched;
        prefetch_on_citus(prefetched, tenant);
        call_postgres([&] {
            read_status(fcinfo, Shape::migration_states, tenant ? tenant->c_str() : nullptr);
        });
        return Datum(0);
    });
}

// tenancy.migration_status(tenant_name text DEFAULT NULL) RETURNS SETOF
//     tenancy.migration_states: as _version_states(), in tenant and version
//     order; an unknown tenant_name is 3F000. The view's row type gives
//     applied_at its timestamp(0).
Datum tenancy_migration_status(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        std::optional<std::string> tenant = text_argument(fcinfo, 0);
        std::optional<citus::PrefetchedVersions> prefetched;
        prefetch_on_citus(prefetched, tenant);
        call_postgres([&] {
            read_status(fcinfo, Shape::migration_states, tenant ? tenant->c_str() : nullptr, true);
        });
        return Datum(0);
    });
}

}  // extern "C"
