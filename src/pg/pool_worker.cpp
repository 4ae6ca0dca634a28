// The pool's background refill: a dynamic background worker (no
// shared_preload_libraries needed), started when a transaction that took a
// spare or changed a pool commits. It connects to the same database as the
// role that took the spare and makes spares one per transaction, as CALL
// tenancy.refill_tenant_pool() does, until every pool that role may act for
// holds its target. Spares it is making are invisible to takers until each
// commits; takers skip locked registry rows, so the refill never blocks them.
//
// The error boundary: the C++ work runs in refill_step(), which catches
// everything and raises it as a PostgreSQL ERROR once the catch block has
// ended (in a background worker that ends the worker); the frames around it
// hold no C++ object.
#include "background_workers.hpp"
#include "error_boundary.hpp"
#include "pool.hpp"
#include "spi.hpp"

extern "C" {
#include "pgstat.h"
#include "storage/ipc.h"
}

namespace tenancy::pg {

namespace {

// This backend's last worker: no second one while it still runs.
BackgroundWorkerHandle* last_worker = nullptr;

// One spare made or dropped, in the current transaction. Returns whether
// there was anything to do.
bool refill_step() {
    PendingError pending;
    try {
        spi::connect();
        bool did = pool::refill_one();
        spi::finish();
        return did;
    } catch (...) {
        capture_current_exception(pending);
    }
    raise_pending_error(pending);
}

}  // namespace

// Called from the transaction callback after a commit: must not raise.
void launch_pool_worker(Oid role) {
    pid_t pid;
    if (last_worker != nullptr) {
        BgwHandleStatus status = GetBackgroundWorkerPid(last_worker, &pid);
        if (status == BGWH_STARTED || status == BGWH_NOT_YET_STARTED) return;
        pfree(last_worker);
        last_worker = nullptr;
    }
    BackgroundWorker worker = describe_worker("tenancy_pool_worker_main", "pg_tenancy pool refill",
                                              "pg_tenancy pool refill", ObjectIdGetDatum(role));
    memcpy(worker.bgw_extra, &MyDatabaseId, sizeof(Oid));
    worker.bgw_notify_pid = 0;

    MemoryContext previous = MemoryContextSwitchTo(TopMemoryContext);
    BackgroundWorkerHandle* handle = nullptr;
    bool registered = RegisterDynamicBackgroundWorker(&worker, &handle);
    MemoryContextSwitchTo(previous);
    if (registered) {
        last_worker = handle;
    } else {
        ereport(LOG, (errmsg("pg_tenancy could not start a pool refill worker: no background worker slot is free"),
                      errhint("CALL tenancy.refill_tenant_pool() refills the pools, or raise max_worker_processes.")));
    }
}

}  // namespace tenancy::pg

extern "C" {

PGDLLEXPORT void tenancy_pool_worker_main(Datum main_arg);

void tenancy_pool_worker_main(Datum main_arg) {
    Oid role = DatumGetObjectId(main_arg);
    Oid database;
    memcpy(&database, MyBgworkerEntry->bgw_extra, sizeof(Oid));
    BackgroundWorkerUnblockSignals();
#ifdef BGWORKER_BYPASS_ROLELOGINCHECK
    BackgroundWorkerInitializeConnectionByOid(database, role, BGWORKER_BYPASS_ROLELOGINCHECK);
#else
    BackgroundWorkerInitializeConnectionByOid(database, role, 0);
#endif

    // One spare per transaction; bounded, so that a pool whose spares are
    // dropped as fast as they are made does not keep the worker forever.
    for (int step = 0; step < 10000; step++) {
        CHECK_FOR_INTERRUPTS();
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        PushActiveSnapshot(GetTransactionSnapshot());
        pgstat_report_activity(STATE_RUNNING, "pg_tenancy: refilling tenant pools");
        bool did = tenancy::pg::refill_step();
        PopActiveSnapshot();
        CommitTransactionCommand();
        if (!did) break;
    }
    pgstat_report_activity(STATE_IDLE, nullptr);
    proc_exit(0);
}

}  // extern "C"
