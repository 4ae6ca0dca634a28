// Event triggers that keep the registry true when tenant schemas are dropped or
// renamed by hand (DROP SCHEMA, ALTER SCHEMA ... RENAME). They ignore the
// extension's own DDL, which keeps the registry itself, and DROP EXTENSION.
#include "error_boundary.hpp"
#include "own_ddl.hpp"
#include "registry.hpp"
#include "spi.hpp"

using namespace tenancy::pg;

namespace {

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

// sql_drop: forget tenants whose schema was dropped by hand. Its WHEN TAG
// filter leaves DROP EXTENSION out; DROP SCHEMA tenancy CASCADE, which takes
// the extension along, finds the registry gone and does nothing.
Datum tenancy_on_sql_drop(PG_FUNCTION_ARGS) {
    (void)event_data(fcinfo);
    if (own_ddl_running()) PG_RETURN_VOID();

    return guard_entry([&] {
        spi::connect();
        if (registry::registry_exists()) {
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

// ddl_command_end for ALTER SCHEMA: follow a tenant schema renamed by hand.
// Only the parse tree still knows the old name, which is why this is C.
Datum tenancy_on_ddl_command_end(PG_FUNCTION_ARGS) {
    EventTriggerData* event = event_data(fcinfo);
    if (own_ddl_running() || !IsA(event->parsetree, RenameStmt)) PG_RETURN_VOID();
    auto* rename = reinterpret_cast<RenameStmt*>(event->parsetree);
    if (rename->renameType != OBJECT_SCHEMA) PG_RETURN_VOID();

    return guard_entry([&] {
        std::string old_name = rename->subname;
        std::string new_name = rename->newname;
        spi::connect();
        if (registry::registry_exists()) registry::rename(old_name, new_name);
        spi::finish();
        return Datum(0);
    });
}

}  // extern "C"
