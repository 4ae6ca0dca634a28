// Module initialisation: the GUCs, and the transaction callback that resets
// per-transaction state after an abort.
#include "own_ddl.hpp"
#include "settings.hpp"

#include "postgres_headers.hpp"

namespace {

void reset_after_abort(XactEvent event, void*) {
    if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
        tenancy::pg::reset_own_ddl();
}

}  // namespace

extern "C" {

PG_MODULE_MAGIC;

void _PG_init(void);

void _PG_init(void) {
    tenancy::pg::define_settings();
    RegisterXactCallback(reset_after_abort, nullptr);
}

}  // extern "C"
