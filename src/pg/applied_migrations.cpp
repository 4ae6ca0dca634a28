#include "applied_migrations.hpp"

#include "arguments.hpp"
#include "error_boundary.hpp"

namespace tenancy::pg {

namespace {

// Scans the table; called inside call_postgres(). rows is appended to only
// between PostgreSQL calls, so a PostgreSQL error never leaves it half-built.
TenantTable scan(const char* tenant, std::vector<AppliedMigration>& rows) {
    Oid schema = get_namespace_oid(tenant, true);
    if (!OidIsValid(schema)) return TenantTable::no_schema;
    Oid table = get_relname_relid("schema_migrations", schema);
    if (!OidIsValid(table)) return TenantTable::no_table;

    Relation relation = table_open(table, AccessShareLock);
    TupleDesc descriptor = RelationGetDescr(relation);
    AttrNumber version_column = InvalidAttrNumber;
    AttrNumber inserted_at_column = InvalidAttrNumber;
    for (int i = 0; i < descriptor->natts; i++) {
        Form_pg_attribute attribute = TupleDescAttr(descriptor, i);
        if (attribute->attisdropped) continue;
        if (strcmp(NameStr(attribute->attname), "version") == 0 && attribute->atttypid == INT8OID)
            version_column = attribute->attnum;
        if (strcmp(NameStr(attribute->attname), "inserted_at") == 0 &&
            attribute->atttypid == TIMESTAMPOID)
            inserted_at_column = attribute->attnum;
    }
    if (version_column == InvalidAttrNumber)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("table \"%s\".schema_migrations has no bigint column \"version\"",
                               tenant),
                        errhint("pg_tenancy keeps applied versions in Ecto's layout: "
                                "version bigint PRIMARY KEY, inserted_at timestamp(0).")));

    Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
    TableScanDesc table_scan = table_beginscan(relation, snapshot, 0, nullptr);
    HeapTuple tuple;
    while ((tuple = heap_getnext(table_scan, ForwardScanDirection)) != nullptr) {
        bool version_null = false;
        Datum version = heap_getattr(tuple, version_column, descriptor, &version_null);
        if (version_null) continue;
        AppliedMigration row;
        row.version = DatumGetInt64(version);
        if (inserted_at_column != InvalidAttrNumber) {
            bool inserted_at_null = true;
            Datum inserted_at = heap_getattr(tuple, inserted_at_column, descriptor, &inserted_at_null);
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

TenantTable read_applied_migrations(const std::string& tenant, std::vector<AppliedMigration>& rows) {
    rows.clear();
    return call_postgres([&] { return scan(tenant.c_str(), rows); });
}

std::optional<std::set<std::int64_t>> read_applied_versions(const std::string& tenant) {
    std::vector<AppliedMigration> rows;
    if (read_applied_migrations(tenant, rows) == TenantTable::no_schema) return std::nullopt;
    std::set<std::int64_t> versions;
    for (const AppliedMigration& row : rows) versions.insert(row.version);
    return versions;
}

}  // namespace tenancy::pg

using namespace tenancy::pg;

extern "C" {

PG_FUNCTION_INFO_V1(tenancy_applied_migrations);

// tenancy._applied_migrations(tenant text) RETURNS TABLE(version bigint, inserted_at timestamp)
// No rows when the tenant's schema or table is gone.
Datum tenancy_applied_migrations(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        std::string tenant = required_text_argument(fcinfo, 0, "tenant");
        std::vector<AppliedMigration> rows;
        read_applied_migrations(tenant, rows);
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
