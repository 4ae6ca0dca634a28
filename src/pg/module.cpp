// Module initialisation: the GUCs, and the transaction callback that resets
// per-transaction state after an abort.
#include "own_ddl.hpp"
#include "pool.hpp"
#include "settings.hpp"

#include "postgres_headers.hpp"

namespace {

void reset_after_abort(XactEvent event, void*) {
    if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) {
        tenancy::pg::reset_own_ddl();
        tenancy::pg::start_requested_pool_worker(false);
    }
    // A transaction that took a spare or changed a pool refills it in the
    // background once it has committed (never before: the worker would not
    // see the spare gone).
    if (event == XACT_EVENT_COMMIT) tenancy::pg::start_requested_pool_worker(true);
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
