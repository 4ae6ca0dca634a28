#include "applied_migrations.hpp"

#include <algorithm>
#include <new>

#include "arguments.hpp"
#include "citus.hpp"
#include "compat.hpp"
#include "error_boundary.hpp"
#include "registry.hpp"
#include "schema_migrations.hpp"
#include "spi.hpp"

extern "C" {
#include "utils/rls.h"
#include "access/genam.h"
#include "access/stratnum.h"
#include "catalog/indexing.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "utils/fmgroids.h"
#include "utils/acl.h"
#include "utils/relcache.h"
}

namespace tenancy::pg {

namespace {

// Relation-cache fields renamed in PostgreSQL 16.
#if PG_VERSION_NUM >= 160000
#define TENANCY_FIRST_FILE_SUBID rd_firstRelfilelocatorSubid
#else
#define TENANCY_FIRST_FILE_SUBID rd_firstRelfilenodeSubid
#endif

bool may_use_schema(Oid schema) {
#if PG_VERSION_NUM >= 160000
    return object_aclcheck(NamespaceRelationId, schema, GetUserId(), ACL_USAGE) == ACLCHECK_OK;
#else
    return pg_namespace_aclcheck(schema, GetUserId(), ACL_USAGE) == ACLCHECK_OK;
#endif
}

const char* kind_name(char relkind) {
    switch (relkind) {
        case RELKIND_VIEW: return "a view";
        case RELKIND_MATVIEW: return "a materialized view";
        case RELKIND_INDEX:
        case RELKIND_PARTITIONED_INDEX: return "an index";
        case RELKIND_SEQUENCE: return "a sequence";
        case RELKIND_COMPOSITE_TYPE: return "a composite type";
        case RELKIND_PARTITIONED_TABLE: return "a partitioned table";
        case RELKIND_FOREIGN_TABLE: return "a foreign table";
        case RELKIND_TOASTVALUE: return "a TOAST table";
        default: return "not a table";
    }
}

// The table's Ecto columns; false unless "version" is there and a bigint.
bool find_ecto_columns(Relation relation, VersionsTable& table) {
    TupleDesc descriptor = RelationGetDescr(relation);
    for (int i = 0; i < descriptor->natts; i++) {
        Form_pg_attribute attribute = TupleDescAttr(descriptor, i);
        if (attribute->attisdropped) continue;
        if (strcmp(NameStr(attribute->attname), "version") == 0 && attribute->atttypid == INT8OID)
            table.version = attribute->attnum;
        if (strcmp(NameStr(attribute->attname), "inserted_at") == 0 &&
            attribute->atttypid == TIMESTAMPOID) {
            table.inserted_at = attribute->attnum;
            table.inserted_at_typmod = attribute->atttypmod;
        }
    }
    return table.version != InvalidAttrNumber;
}

// The clear error of for_update and for_query reads of a table that is not
// Ecto's: the tenant's own failure, never anyone else's.
[[noreturn]] void raise_malformed(const char* tenant, Oid table) {
    const char* name = schema_migrations::table_name();
    char relkind = get_rel_relkind(table);
    if (relkind != RELKIND_RELATION)
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("\"%s\".\"%s\" is %s, not a table", tenant, name, kind_name(relkind)),
                 errhint("pg_tenancy keeps applied versions in Ecto's layout: "
                         "version bigint PRIMARY KEY, inserted_at timestamp(0).")));
    AttrNumber column = get_attnum(table, "version");
    ereport(ERROR,
            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
             errmsg("\"%s\".\"%s\" is not a table with a bigint column \"version\"", tenant, name),
             column == InvalidAttrNumber
                 ? errdetail("It has no column \"version\".")
                 : errdetail("Its column \"version\" is of type %s.",
                             format_type_be(get_atttype(table, column))),
             errhint("pg_tenancy keeps applied versions in Ecto's layout: "
                     "version bigint PRIMARY KEY, inserted_at timestamp(0).")));
}

// The directory of the PeekDirectory alive, if any.
const CatalogDirectory* peek_directory = nullptr;

// Whether the open relation is the schema's versions table: a relid found
// earlier (in a directory, or before waiting for the lock) may name a table
// renamed or moved since. Once we hold its lock, it cannot be.
bool is_versions_table_of(Relation relation, Oid schema) {
    return relation->rd_rel->relnamespace == schema &&
           strcmp(NameStr(relation->rd_rel->relname), schema_migrations::table_name()) == 0;
}

// Reads the table; called inside call_postgres(). rows is appended to only
// between PostgreSQL calls that cannot fail with the scan open.
TenantTable scan(const char* tenant, ReadMode mode, std::vector<AppliedMigration>& rows,
                 const VersionFilter* keep) {
    Oid schema = get_namespace_oid(tenant, true);
    if (!OidIsValid(schema)) return TenantTable::no_schema;

    VersionsTable table;
    Check check = mode == ReadMode::for_query ? caller_check() : Check::nothing;
    TableState state =
        mode == ReadMode::peek
            ? open_listed_versions_table(schema,
                                         peek_directory != nullptr
                                             ? peek_directory->versions_table(schema)
                                             : InvalidOid,
                                         Check::nothing, false, table)
            : open_versions_table(schema, check, true, table);
    switch (state) {
        case TableState::readable: break;
        case TableState::no_schema: return TenantTable::no_schema;
        case TableState::no_table: return TenantTable::no_table;
        case TableState::locked: return TenantTable::unknown;  // a peek only
        case TableState::elsewhere: return TenantTable::unknown;
        case TableState::forbidden:
            aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, schema_migrations::table_name());
            pg_unreachable();
        case TableState::malformed:
            if (mode == ReadMode::peek) return TenantTable::unknown;
            raise_malformed(tenant, get_relname_relid(schema_migrations::table_name(), schema));
    }

    Snapshot snapshot = RegisterSnapshot(mode == ReadMode::for_query && ActiveSnapshotSet()
                                             ? GetActiveSnapshot()
                                             : GetLatestSnapshot());
    TableScanDesc table_scan = tenancy_table_beginscan(table.relation, snapshot, 0, nullptr);
    TupleTableSlot* slot = table_slot_create(table.relation, nullptr);
    while (table_scan_getnextslot(table_scan, ForwardScanDirection, slot)) {
        bool version_null = false;
        Datum version = slot_getattr(slot, table.version, &version_null);
        if (version_null || !keeps(keep, DatumGetInt64(version))) continue;
        AppliedMigration row;
        row.version = DatumGetInt64(version);
        if (table.inserted_at != InvalidAttrNumber) {
            bool inserted_at_null = true;
            Datum inserted_at = slot_getattr(slot, table.inserted_at, &inserted_at_null);
            row.has_inserted_at = !inserted_at_null;
            if (!inserted_at_null) row.inserted_at = DatumGetTimestamp(inserted_at);
        }
        rows.push_back(row);
    }
    ExecDropSingleTupleTableSlot(slot);
    table_endscan(table_scan);
    UnregisterSnapshot(snapshot);
    close_versions_table(table, mode == ReadMode::peek);
    return TenantTable::present;
}

// The used (not merely reserved) bytes of CacheMemoryContext itself, where
// catalog-cache tuples and relation descriptors live.
Size cache_bytes_in_use() {
    MemoryContextCounters counters;
    memset(&counters, 0, sizeof counters);
    CacheMemoryContext->methods->stats(CacheMemoryContext, nullptr, nullptr, &counters, false);
    return counters.totalspace - counters.freespace;
}

// How much a walk may let the catalog caches grow before it resets them, and
// how often it looks.
constexpr Size cache_budget_bytes = 2 * 1024 * 1024;
// Measuring walks the context's blocks and free chunks (a tenth of a status
// read when done every 64 tenants); 256 tenants add well under the budget.
constexpr unsigned tenants_between_cache_looks = 256;

}  // namespace

TableState open_versions_table(Oid schema, Check check, bool wait, VersionsTable& table) {
    // Looked up again when the table found was renamed or replaced while we
    // waited for its lock, as PostgreSQL's RangeVarGetRelidExtended() does.
    for (;;) {
        TableState state = open_versions_table(
            schema, get_relname_relid(schema_migrations::table_name(), schema), check, wait, table);
        if (state != TableState::readable || is_versions_table_of(table.relation, schema))
            return state;
        close_versions_table(table, true);
        CHECK_FOR_INTERRUPTS();
    }
}

TableState open_listed_versions_table(Oid schema, Oid listed, Check check, bool wait,
                                      VersionsTable& table) {
    if (OidIsValid(listed)) {
        TableState state = open_versions_table(schema, listed, check, wait, table);
        if (state == TableState::readable) {
            if (is_versions_table_of(table.relation, schema)) return state;
            close_versions_table(table, true);
        } else if (state != TableState::no_table) {
            return state;
        }
    }
    return open_versions_table(schema, check, wait, table);
}

TableState open_versions_table(Oid schema, Oid relid, Check check, bool wait, VersionsTable& table) {
    table = VersionsTable{};
    if (!OidIsValid(relid)) return TableState::no_table;
    // Privileges are judged from the catalog before anything is locked.
    if (check == Check::privileges &&
        (!may_use_schema(schema) || pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK))
        return TableState::forbidden;

    // A Citus table's rows live elsewhere (citus.hpp reads them): its copy
    // here is an empty shell, never to be judged.
    if (citus::loaded() && citus::distributed_table(relid)) return TableState::elsewhere;
    if (wait)
        LockRelationOid(relid, AccessShareLock);
    else if (!ConditionalLockRelationOid(relid, AccessShareLock))
        return TableState::locked;
    // Any kind of relation opens (a view, an index, a composite type...):
    // whatever a tenant owner made under the name is judged here, and only
    // that tenant's reading fails.
    Relation relation = try_relation_open(relid, NoLock);
    if (relation == nullptr) {  // dropped while we waited for its lock
        UnlockRelationOid(relid, AccessShareLock);
        return TableState::no_table;
    }
    if (relation->rd_rel->relkind != RELKIND_RELATION || !find_ecto_columns(relation, table)) {
        table = VersionsTable{};
        relation_close(relation, AccessShareLock);
        return TableState::malformed;
    }
    // The readers scan the table directly, past its policies: a table whose
    // row-level security applies to the caller shows the caller nothing.
    if (check != Check::nothing && relation->rd_rel->relrowsecurity &&
        check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED) {
        table = VersionsTable{};
        relation_close(relation, AccessShareLock);
        return TableState::forbidden;
    }
    // A status read counts in no table's statistics: otherwise the backend
    // would keep a pending statistics entry per tenant until it goes idle.
    if (relation->pgstat_info == nullptr) relation->pgstat_enabled = false;
    table.relation = relation;
    return TableState::readable;
}

namespace {

int compare_table_entries(const void* a, const void* b) {
    Oid left = *static_cast<const Oid*>(a), right = *static_cast<const Oid*>(b);
    return left < right ? -1 : left > right ? 1 : 0;
}

}  // namespace

void CatalogDirectory::read() {
    HASHCTL control;
    memset(&control, 0, sizeof control);
    control.keysize = NAMEDATALEN;
    control.entrysize = sizeof(SchemaEntry);
    control.hcxt = CurrentMemoryContext;
    schemas_ = hash_create("pg_tenancy schemas", 1024, &control,
                           HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
    Relation namespaces = table_open(NamespaceRelationId, AccessShareLock);
    SysScanDesc scan = systable_beginscan(namespaces, InvalidOid, false, nullptr, 0, nullptr);
    for (HeapTuple tuple; (tuple = systable_getnext(scan)) != nullptr;) {
        auto* form = reinterpret_cast<Form_pg_namespace>(GETSTRUCT(tuple));
        bool found = false;
        auto* entry = static_cast<SchemaEntry*>(
            hash_search(schemas_, NameStr(form->nspname), HASH_ENTER, &found));
        entry->schema = form->oid;
        entry->owner = form->nspowner;
    }
    systable_endscan(scan);
    table_close(namespaces, AccessShareLock);

    read_versions_tables();
}

void CatalogDirectory::read_versions_tables() {
    int allocated = 1024;
    tables_ = static_cast<TableEntry*>(palloc(allocated * sizeof(TableEntry)));
    Relation classes = table_open(RelationRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_class_relname, BTEqualStrategyNumber, F_NAMEEQ,
                CStringGetDatum(schema_migrations::table_name()));
    SysScanDesc scan = systable_beginscan(classes, ClassNameNspIndexId, true, nullptr, 1, &key);
    for (HeapTuple tuple; (tuple = systable_getnext(scan)) != nullptr;) {
        auto* form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
        if (table_count_ == allocated) {
            allocated *= 2;
            tables_ = static_cast<TableEntry*>(repalloc(tables_, allocated * sizeof(TableEntry)));
        }
        tables_[table_count_++] = {form->relnamespace, form->oid};
    }
    systable_endscan(scan);
    table_close(classes, AccessShareLock);
    qsort(tables_, table_count_, sizeof(TableEntry), compare_table_entries);
}

const SchemaEntry* CatalogDirectory::schema(const char* name) const {
    // The key is a NameData: a longer name matches no schema.
    if (schemas_ == nullptr || strlen(name) >= NAMEDATALEN) return nullptr;
    char key[NAMEDATALEN] = {};
    strlcpy(key, name, NAMEDATALEN);
    return static_cast<SchemaEntry*>(hash_search(schemas_, key, HASH_FIND, nullptr));
}

Oid CatalogDirectory::versions_table(Oid schema) const {
    TableEntry probe{schema, InvalidOid};
    auto* found = static_cast<TableEntry*>(
        bsearch(&probe, tables_, table_count_, sizeof(TableEntry), compare_table_entries));
    return found != nullptr ? found->relid : InvalidOid;
}

PeekDirectory::PeekDirectory() : context_(nullptr), outer_(peek_directory) {
    call_postgres([&] {
        context_ = AllocSetContextCreate(TopMemoryContext, "pg_tenancy peek directory",
                                         ALLOCSET_DEFAULT_SIZES);
        MemoryContext caller = MemoryContextSwitchTo(context_);
        PG_TRY();
        {
            auto* directory = new (palloc(sizeof(CatalogDirectory))) CatalogDirectory();
            directory->read_versions_tables();
            peek_directory = directory;
        }
        PG_CATCH();
        {
            MemoryContextSwitchTo(caller);
            MemoryContextDelete(context_);
            context_ = nullptr;
            PG_RE_THROW();
        }
        PG_END_TRY();
        MemoryContextSwitchTo(caller);
    });
}

PeekDirectory::~PeekDirectory() {
    peek_directory = outer_;
    if (context_ != nullptr) MemoryContextDelete(context_);
}

Check caller_check() {
    return superuser() || has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_DATA) ? Check::row_security
                                                                                : Check::privileges;
}

void close_versions_table(VersionsTable& table, bool forget) {
    Relation relation = table.relation;
    Oid relid = RelationGetRelid(relation);
    table.relation = nullptr;
    table_close(relation, AccessShareLock);
    // The entry stays valid until the next invalidation, which nothing in
    // between can process. An entry made or rewritten in this transaction
    // must stay (the relation cache tracks it until commit).
    if (forget && RelationHasReferenceCountZero(relation) &&
        relation->rd_createSubid == InvalidSubTransactionId &&
        relation->TENANCY_FIRST_FILE_SUBID == InvalidSubTransactionId)
        RelationForgetRelation(relid);
}

bool status_applied_at(TupleTableSlot* slot, const VersionsTable& table, Timestamp& applied_at) {
    if (table.inserted_at == InvalidAttrNumber) return false;
    bool null = true;
    Datum value = slot_getattr(slot, table.inserted_at, &null);
    if (null) return false;
    if (table.inserted_at_typmod != 0)
        value = DirectFunctionCall2(timestamp_scale, value, Int32GetDatum(0));
    applied_at = DatumGetTimestamp(value);
    return true;
}

// What the catalog caches held after the session's last reset (or when it
// was first measured): one baseline for the whole session, so that walk
// after walk cannot each add a budget's worth.
Size cache_baseline = 0;
bool cache_baseline_known = false;

CatalogCacheBudget::CatalogCacheBudget() {
    Size used = cache_bytes_in_use();
    if (!cache_baseline_known || used < cache_baseline) cache_baseline = used;
    cache_baseline_known = true;
}

void CatalogCacheBudget::note() {
    if (++tenants_ % tenants_between_cache_looks != 0) return;
    if (cache_bytes_in_use() <= cache_baseline + cache_budget_bytes) return;
    InvalidateSystemCaches();
    cache_baseline = cache_bytes_in_use();
}

bool keeps(const VersionFilter* keep, std::int64_t version) {
    if (keep == nullptr) return true;
    if (keep->above && version > *keep->above) return true;
    return std::binary_search(keep->versions.begin(), keep->versions.end(), version);
}

TenantTable read_applied_migrations(const std::string& tenant, ReadMode mode,
                                    std::vector<AppliedMigration>& rows,
                                    const VersionFilter* keep) {
    VersionFilter sorted;
    if (keep != nullptr && !std::is_sorted(keep->versions.begin(), keep->versions.end())) {
        sorted = *keep;
        std::sort(sorted.versions.begin(), sorted.versions.end());
        keep = &sorted;
    }
    TenantTable through_citus;
    if (citus::read_through_citus(tenant, mode == ReadMode::peek, keep, rows, through_citus))
        return through_citus;
    rows.clear();
    return call_postgres([&] { return scan(tenant.c_str(), mode, rows, keep); });
}

}  // namespace tenancy::pg

using namespace tenancy::pg;

namespace {

// Streams the tenant's rows into the function's result (a tuplestore, which
// spills to disk), so a huge table is never held in memory. Checks that the
// caller may SELECT the table before locking it; called inside call_postgres().
void put_applied_migrations(FunctionCallInfo fcinfo, const char* tenant) {
    begin_materialized_result(fcinfo);
    auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    Oid schema = get_namespace_oid(tenant, true);
    if (!OidIsValid(schema)) return;
    VersionsTable table;
    switch (open_versions_table(schema, caller_check(), true, table)) {
        case TableState::readable: break;
        case TableState::forbidden:
            aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, schema_migrations::table_name());
            pg_unreachable();
        case TableState::malformed:
            raise_malformed(tenant, get_relname_relid(schema_migrations::table_name(), schema));
        default: return;  // no schema, no table: no rows
    }
    TableScanDesc table_scan = table_beginscan(table.relation, GetActiveSnapshot(), 0, nullptr);
    TupleTableSlot* slot = table_slot_create(table.relation, nullptr);
    while (table_scan_getnextslot(table_scan, ForwardScanDirection, slot)) {
        Datum values[2] = {0, 0};
        bool nulls[2] = {false, true};
        values[0] = slot_getattr(slot, table.version, &nulls[0]);
        if (nulls[0]) continue;
        if (table.inserted_at != InvalidAttrNumber)
            values[1] = slot_getattr(slot, table.inserted_at, &nulls[1]);
        tuplestore_putvalues(result->setResult, result->setDesc, values, nulls);
    }
    ExecDropSingleTupleTableSlot(slot);
    table_endscan(table_scan);
    close_versions_table(table, true);
}

}  // namespace

extern "C" {

PG_FUNCTION_INFO_V1(tenancy_applied_migrations);

// tenancy._applied_migrations(tenant text) RETURNS TABLE(version bigint, inserted_at timestamp)
// Registered tenants only; no rows when the tenant's schema or table is gone;
// 42501 when the caller may not SELECT the table.
Datum tenancy_applied_migrations(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        std::string tenant = required_text_argument(fcinfo, 0, "tenant");
        spi::connect();
        registry::require_registered(tenant);
        spi::finish();
        std::vector<AppliedMigration> rows;
        TenantTable through_citus;
        if (citus::read_through_citus(tenant, false, nullptr, rows, through_citus)) {
            call_postgres([&] {
                begin_materialized_result(fcinfo);
                auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
                for (const AppliedMigration& row : rows) {
                    Datum values[2] = {Int64GetDatum(row.version), TimestampGetDatum(row.inserted_at)};
                    bool nulls[2] = {false, !row.has_inserted_at};
                    tuplestore_putvalues(result->setResult, result->setDesc, values, nulls);
                }
            });
            return Datum(0);
        }
        call_postgres([&] { put_applied_migrations(fcinfo, tenant.c_str()); });
        return Datum(0);
    });
}

}  // extern "C"
