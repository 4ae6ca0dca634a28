// Event triggers that keep the registry true when tenant schemas are dropped or
// renamed by hand (DROP SCHEMA, ALTER SCHEMA ... RENAME), and managed tables'
// settings true when such a table is dropped or a template column renamed.
// They ignore the extension's own schema DDL, which keeps the registry itself,
// and DROP EXTENSION.
#include <fmt/format.h>

#include "../core/error.hpp"
#include "error_boundary.hpp"
#include "own_ddl.hpp"
#include "pool.hpp"
#include "registry.hpp"
#include "spi.hpp"

using namespace tenancy::pg;

namespace {

// ALTER TABLE ... DROP COLUMN of a column a tenant name template names would
// leave the table's rows without a tenant name.
void refuse_dropping_template_columns() {
    std::vector<spi::Row> used = spi::query(
        "SELECT CAST(managed.tbl AS pg_catalog.text), dropped.address_names[3] "
        "FROM pg_catalog.pg_event_trigger_dropped_objects() AS dropped "
        "JOIN tenancy.managed_tables AS managed "
        "ON CAST(managed.tbl AS pg_catalog.oid) OPERATOR(pg_catalog.=) dropped.objid "
        "WHERE dropped.object_type OPERATOR(pg_catalog.=) 'table column' "
        "AND ':' OPERATOR(pg_catalog.||) dropped.address_names[3] "
        "OPERATOR(pg_catalog.=) ANY (managed.template)");
    if (!used.empty())
        throw tenancy::core::Error(
            "2BP01",
            fmt::format("cannot drop column \"{}\" of table {}", *used[0][1], *used[0][0]),
            "The tenant name template of tenancy.manage_tenant() uses it.",
            "Give the table another template with tenancy.manage_tenant(), or call "
            "tenancy.unmanage_tenant(), first.");
}

EventTriggerData* event_data(FunctionCallInfo fcinfo) {
    if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("function was not called by the event trigger manager")));
    return reinterpret_cast<EventTriggerData*>(fcinfo->context);
}

}  // namespace

extern "C" {

PG_FUNCTION_INFO_V1(tenancy_on_sql_drop);
PG_FUNCTION_INFO_V1(tenancy_on_ddl_command_end);

// sql_drop: forget tenants whose schema was dropped by hand, and the settings
// of managed tables that were dropped; refuse to drop a column a tenant name
// template uses. Its WHEN TAG filter leaves DROP EXTENSION out; DROP SCHEMA
// tenancy CASCADE, which takes the extension along, finds the registry gone.
Datum tenancy_on_sql_drop(PG_FUNCTION_ARGS) {
    (void)event_data(fcinfo);

    return guard_entry([&] {
        spi::connect();
        if (registry::registry_exists()) {
            refuse_dropping_template_columns();
            spi::execute(
                "UPDATE tenancy.tenant_registry AS registered SET managed_by = NULL "
                "FROM pg_catalog.pg_event_trigger_dropped_objects() AS dropped "
                "WHERE dropped.object_type OPERATOR(pg_catalog.=) 'table' "
                "AND CAST(registered.managed_by AS pg_catalog.oid) OPERATOR(pg_catalog.=) dropped.objid");
            spi::execute(
                "DELETE FROM tenancy.managed_tables AS managed "
                "USING pg_catalog.pg_event_trigger_dropped_objects() AS dropped "
                "WHERE dropped.object_type OPERATOR(pg_catalog.=) 'table' "
                "AND CAST(managed.tbl AS pg_catalog.oid) OPERATOR(pg_catalog.=) dropped.objid");
            if (!own_ddl_running())
                spi::execute(
                    "DELETE FROM tenancy.tenant_registry AS registered "
                    "USING pg_catalog.pg_event_trigger_dropped_objects() AS dropped "
                    "WHERE dropped.object_type OPERATOR(pg_catalog.=) 'schema' "
                    "AND registered.tenant OPERATOR(pg_catalog.=) dropped.object_name");
        }
        spi::finish();
        return Datum(0);
    });
}

// ddl_command_end: follow a tenant schema renamed by hand, and a managed
// table's template column renamed. Only the parse tree still knows the old
// name, which is why this is C.
Datum tenancy_on_ddl_command_end(PG_FUNCTION_ARGS) {
    EventTriggerData* event = event_data(fcinfo);
    if (!IsA(event->parsetree, RenameStmt)) PG_RETURN_VOID();
    auto* rename = reinterpret_cast<RenameStmt*>(event->parsetree);
    if (rename->renameType == OBJECT_SCHEMA && own_ddl_running()) PG_RETURN_VOID();
    if (rename->renameType != OBJECT_SCHEMA && rename->renameType != OBJECT_COLUMN)
        PG_RETURN_VOID();

    return guard_entry([&] {
        std::string old_name = rename->subname;
        std::string new_name = rename->newname;
        spi::connect();
        if (registry::registry_exists()) {
            if (rename->renameType == OBJECT_SCHEMA) {
                registry::rename(old_name, new_name);
                pool::spare_renamed_by_hand(new_name);
            } else {
                // The command's own record names the table: the parse tree's
                // RangeVar would resolve against this function's search_path.
                spi::execute(
                    "UPDATE tenancy.managed_tables "
                    "SET template = pg_catalog.array_replace(template, "
                    "':' OPERATOR(pg_catalog.||) $1, ':' OPERATOR(pg_catalog.||) $2) "
                    "WHERE CAST(tbl AS pg_catalog.oid) OPERATOR(pg_catalog.=) ANY ("
                    "SELECT objid FROM pg_catalog.pg_event_trigger_ddl_commands() "
                    "WHERE classid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_class' AS pg_catalog.regclass))",
                    {old_name, new_name});
            }
        }
        spi::finish();
        return Datum(0);
    });
}

}  // extern "C"
