// Module initialisation: the GUCs, the migration sandbox's hooks, and the
// transaction callback that resets per-transaction state.
#include "migration_sandbox.hpp"
#include "own_ddl.hpp"
#include "settings.hpp"

#include "postgres_headers.hpp"

namespace {

void reset_at_transaction_end(XactEvent event, void*) {
    if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
        tenancy::pg::reset_own_ddl();
    if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
        event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
        event == XACT_EVENT_PREPARE)
        tenancy::pg::reset_sandbox();
}

}  // namespace

extern "C" {

PG_MODULE_MAGIC;

void _PG_init(void);

void _PG_init(void) {
    tenancy::pg::define_settings();
    RegisterXactCallback(reset_at_transaction_end, nullptr);
    tenancy::pg::install_sandbox_hooks();
}

}  // extern "C"
