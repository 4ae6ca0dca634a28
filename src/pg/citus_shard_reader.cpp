// tenancy._shard_applied_versions(): the worker-node half of reading applied
// versions on Citus (citus.hpp's PrefetchedVersions is the coordinator half).
//
// The coordinator calls it once per node, through Citus'
// master_run_on_worker(), as the calling role, with the shards of the
// tenants' schema_migrations that the node holds. It reads them as the
// status readers read a local table (applied_migrations.hpp): each shard
// scanned directly, no query planned per shard, its lock tried and never
// waited for, its relation-cache entry dropped after the scan; nothing is
// read of a shard the caller may not SELECT, or whose row-level security
// applies to the caller. A shard holding more than max_rows_per_shard
// versions is not read either: one tenant owner's huge table must not make
// the node's answer too large for the tenants beside it. The answer is one text value,
// because that is what master_run_on_worker() returns: a line per shard,
//     "<i>"                      read, no versions
//     "<i> <v> <v>@<t> ..."      read: each version, with its applied_at as a
//                                PostgreSQL Timestamp when it has one
//     "<i> -"                    not read (gone, locked, forbidden, malformed,
//                                too long)
// where <i> is the shard's position in the arguments, from 1.
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../core/error.hpp"
#include "applied_migrations.hpp"
#include "arguments.hpp"
#include "citus.hpp"
#include "error_boundary.hpp"

extern "C" {
#include "lib/stringinfo.h"
}

namespace tenancy::pg {

namespace {

constexpr int max_rows_per_shard = 10000;
// Far below the 1 GB a text value may hold: the shards past it are not read.
constexpr int max_answer_bytes = 256 * 1024 * 1024;

// One shard's line, appended to answer (allocated in the caller's context).
void read_shard(int position, const char* schema_name, const char* table_name, Check check,
                StringInfo answer) {
    int line_start = answer->len;
    appendStringInfo(answer, "%d", position);
    Oid schema = schema_name != nullptr ? get_namespace_oid(schema_name, true) : InvalidOid;
    Oid relid = OidIsValid(schema) && table_name != nullptr ? get_relname_relid(table_name, schema)
                                                           : InvalidOid;
    VersionsTable table;
    if (!OidIsValid(relid) ||
        answer->len >= max_answer_bytes ||
        open_versions_table(schema, relid, check, false, table) != TableState::readable) {
        appendStringInfoString(answer, " -\n");
        return;
    }
    TableScanDesc scan = table_beginscan(table.relation, GetActiveSnapshot(), 0, nullptr);
    TupleTableSlot* slot = table_slot_create(table.relation, nullptr);
    int rows = 0;
    bool too_many = false;
    while (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
        bool null = false;
        Datum version = slot_getattr(slot, table.version, &null);
        if (null) continue;
        if (++rows > max_rows_per_shard) {
            too_many = true;
            break;
        }
        appendStringInfo(answer, " " INT64_FORMAT, DatumGetInt64(version));
        Timestamp applied_at = 0;
        if (status_applied_at(slot, table, applied_at))
            appendStringInfo(answer, "@" INT64_FORMAT, applied_at);
    }
    ExecDropSingleTupleTableSlot(slot);
    table_endscan(scan);
    close_versions_table(table, true);
    if (too_many) {
        answer->len = line_start;
        answer->data[line_start] = '\0';
        appendStringInfo(answer, "%d -", position);
    }
    appendStringInfoChar(answer, '\n');
}

}  // namespace

}  // namespace tenancy::pg

using namespace tenancy::pg;

extern "C" {

PG_FUNCTION_INFO_V1(tenancy_shard_applied_versions);

// tenancy._shard_applied_versions(schemas text[], tables text[]) RETURNS text
// (STRICT): the shards named by schemas[i].tables[i], as described above.
Datum tenancy_shard_applied_versions(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_off_citus(fcinfo);
        std::vector<std::optional<std::string>> schemas = text_array_argument(fcinfo, 0, "schemas");
        std::vector<std::optional<std::string>> tables = text_array_argument(fcinfo, 1, "tables");
        if (schemas.size() != tables.size())
            throw tenancy::core::Error(
                tenancy::core::sqlstate::invalid_parameter_value,
                "schemas and tables must have as many elements",
                fmt::format("schemas has {}, tables {}.", schemas.size(), tables.size()));
        return call_postgres([&] {
            Check check = caller_check();
            StringInfoData answer;
            initStringInfo(&answer);
            MemoryContext caller_context = CurrentMemoryContext;
            MemoryContext shard_context = AllocSetContextCreate(
                caller_context, "pg_tenancy shard versions", ALLOCSET_DEFAULT_SIZES);
            CatalogCacheBudget budget;
            for (std::size_t i = 0; i < schemas.size(); i++) {
                CHECK_FOR_INTERRUPTS();
                MemoryContextSwitchTo(shard_context);
                read_shard(static_cast<int>(i + 1), schemas[i] ? schemas[i]->c_str() : nullptr,
                           tables[i] ? tables[i]->c_str() : nullptr, check, &answer);
                MemoryContextSwitchTo(caller_context);
                MemoryContextReset(shard_context);
                budget.note();
            }
            MemoryContextDelete(shard_context);
            PG_RETURN_TEXT_P(cstring_to_text_with_len(answer.data, answer.len));
        });
    });
}

}  // extern "C"
