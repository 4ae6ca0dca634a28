#include "applied_migrations.hpp"

#include "arguments.hpp"
#include "compat.hpp"
#include "error_boundary.hpp"
#include "registry.hpp"
#include "spi.hpp"

extern "C" {
#include "access/heapam.h"

}

namespace tenancy::pg {

namespace {

struct Columns {
    AttrNumber version = InvalidAttrNumber;
    AttrNumber inserted_at = InvalidAttrNumber;
};

// The table's Ecto columns, if it is a heap table that has them.
bool find_ecto_columns(Relation relation, Columns& columns) {
    if (relation->rd_rel->relkind != RELKIND_RELATION ||
        relation->rd_tableam != GetHeapamTableAmRoutine())
        return false;
    TupleDesc descriptor = RelationGetDescr(relation);
    for (int i = 0; i < descriptor->natts; i++) {
        Form_pg_attribute attribute = TupleDescAttr(descriptor, i);
        if (attribute->attisdropped) continue;
        if (strcmp(NameStr(attribute->attname), "version") == 0 && attribute->atttypid == INT8OID)
            columns.version = attribute->attnum;
        if (strcmp(NameStr(attribute->attname), "inserted_at") == 0 &&
            attribute->atttypid == TIMESTAMPOID)
            columns.inserted_at = attribute->attnum;
    }
    return columns.version != InvalidAttrNumber;
}

// Scans the table; called inside call_postgres(). rows is appended to only
// between PostgreSQL calls that cannot fail with the scan open.
TenantTable scan(const char* tenant, ReadMode mode, std::vector<AppliedMigration>& rows) {
    Oid schema = get_namespace_oid(tenant, true);
    if (!OidIsValid(schema)) return TenantTable::no_schema;
    Oid table = get_relname_relid("schema_migrations", schema);
    if (!OidIsValid(table)) return TenantTable::no_table;

    if (mode == ReadMode::peek) {
        if (!ConditionalLockRelationOid(table, AccessShareLock)) return TenantTable::unknown;
    } else {
        LockRelationOid(table, AccessShareLock);
    }
    Relation relation = try_table_open(table, NoLock);
    if (relation == nullptr) {  // dropped while we waited for its lock
        UnlockRelationOid(table, AccessShareLock);
        return TenantTable::no_table;
    }

    Columns columns;
    if (!find_ecto_columns(relation, columns)) {
        table_close(relation, AccessShareLock);
        if (mode == ReadMode::peek) return TenantTable::unknown;
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("\"%s\".schema_migrations is not a table with a bigint column \"version\"",
                        tenant),
                 errhint("pg_tenancy keeps applied versions in Ecto's layout: "
                         "version bigint PRIMARY KEY, inserted_at timestamp(0).")));
    }

    Snapshot snapshot = RegisterSnapshot(mode == ReadMode::for_query && ActiveSnapshotSet()
                                             ? GetActiveSnapshot()
                                             : GetLatestSnapshot());
    TableScanDesc table_scan = tenancy_table_beginscan(relation, snapshot, 0, nullptr);
    TupleDesc descriptor = RelationGetDescr(relation);
    HeapTuple tuple;
    while ((tuple = heap_getnext(table_scan, ForwardScanDirection)) != nullptr) {
        bool version_null = false;
        Datum version = heap_getattr(tuple, columns.version, descriptor, &version_null);
        if (version_null) continue;
        AppliedMigration row;
        row.version = DatumGetInt64(version);
        if (columns.inserted_at != InvalidAttrNumber) {
            bool inserted_at_null = true;
            Datum inserted_at = heap_getattr(tuple, columns.inserted_at, descriptor, &inserted_at_null);
            row.has_inserted_at = !inserted_at_null;
            if (!inserted_at_null) row.inserted_at = DatumGetTimestamp(inserted_at);
        }
        rows.push_back(row);
    }
    table_endscan(table_scan);
    UnregisterSnapshot(snapshot);
    table_close(relation, AccessShareLock);
    return TenantTable::present;
}

}  // namespace

TenantTable read_applied_migrations(const std::string& tenant, ReadMode mode,
                                    std::vector<AppliedMigration>& rows) {
    rows.clear();
    return call_postgres([&] { return scan(tenant.c_str(), mode, rows); });
}

}  // namespace tenancy::pg

using namespace tenancy::pg;

extern "C" {

PG_FUNCTION_INFO_V1(tenancy_applied_migrations);

// tenancy._applied_migrations(tenant text) RETURNS TABLE(version bigint, inserted_at timestamp)
// Registered tenants only; no rows when the tenant's schema or table is gone.
Datum tenancy_applied_migrations(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        std::string tenant = required_text_argument(fcinfo, 0, "tenant");
        spi::connect();
        registry::require_registered(tenant);
        spi::finish();

        std::vector<AppliedMigration> rows;
        read_applied_migrations(tenant, ReadMode::for_query, rows);
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
    });
}

}  // extern "C"
