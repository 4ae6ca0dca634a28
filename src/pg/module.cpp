// Module initialisation: the GUCs, the migration sandbox's hooks, and the
// transaction callback that resets per-transaction state.
#include "migration_sandbox.hpp"
#include "online_migration.hpp"
#include "own_ddl.hpp"
#include "pool.hpp"
#include "settings.hpp"

#include "postgres_headers.hpp"

namespace {

void reset_at_transaction_end(XactEvent event, void*) {
    if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) {
        tenancy::pg::reset_own_ddl();
        tenancy::pg::start_requested_pool_worker(false);
    }
    if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
        event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
        event == XACT_EVENT_PREPARE)
        tenancy::pg::reset_sandbox();
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
    RegisterXactCallback(reset_at_transaction_end, nullptr);
    tenancy::pg::install_sandbox_hooks();
    tenancy::pg::install_online_migrations();
}

}  // extern "C"
