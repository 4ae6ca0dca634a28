// CALL tenancy.migrate_all(...) and CALL tenancy.rollback_all(...): every
// tenant (or the subset asked for), each all-or-nothing, committing after each
// tenant when CALLed outside a transaction block; with workers => N, in N
// dynamic background workers that share one queue of tenants.
//
// The tenant list is read once, into a run (SharedRun) that the caller keeps
// in its own memory (workers => 1) or in a dynamic shared memory segment
// (workers > 1), before the first commit. Whoever runs tenants (the caller,
// the workers) claims them one at a time from it and runs each with
// run_one_tenant() (tenant_run.hpp), in its own transaction. The registered
// migrations are read again in each tenant's transaction, under the
// registry's lock (migration_registry.hpp).
//
// Workers connect to the caller's database as the calling role, with the
// caller's lock_timeout and pg_tenancy settings. The caller waits on its
// latch (cancel and statement_timeout interrupt it: it terminates the
// workers, whose open tenant transaction rolls back), relays progress, the
// first error of an on_error => 'stop' run, and the summary. Workers stop
// between tenants once the run is stopped or the caller is gone.
//
// One row per run in tenancy.migration_runs, written by the caller only (so
// workers never wait on each other for it): inserted and committed before
// the first tenant, its counters updated at most every second, finished at
// the end. tenancy.migration_progress joins the running ones with
// pg_stat_activity, where each worker's application_name names its run and
// its query the tenant and version it is on.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../core/error.hpp"
#include "../core/identifier.hpp"
#include "arguments.hpp"
#include "background_workers.hpp"
#include "citus.hpp"
#include "error_boundary.hpp"
#include "registry.hpp"
#include "spi.hpp"
#include "tenant_run.hpp"

extern "C" {
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/pmsignal.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/wait_event.h"
}

namespace tenancy::pg {

namespace {

constexpr int max_workers = 64;

// A tenant's place in the queue.
enum TenantState : uint32 {
    queued = 0,
    claimed = 1,
    deferred = 2,  // its lock was held by someone else: run last, waiting for it
    finished = 3,
    failed = 4,
};

struct SharedTenant {
    char name[NAMEDATALEN];
    bool had_last_error;
    pg_atomic_uint32 state;
};

struct SharedWorker {
    pg_atomic_uint32 exited;  // set by the worker when it leaves its loop normally
    uint32 tenants;           // tenants it ran
    uint64 memory;            // its TopMemoryContext's size when it left
};

// The first error of a run stopped by on_error => 'stop' (or of a worker that
// could not run at all), as the caller raises it.
struct SharedError {
    char sqlstate[6];
    char message[2048];
    char detail[2048];
    char hint[1024];
    char context[2048];
};

struct SharedRun {
    Oid database;
    Oid session_user;  // who the worker connects as: the session's user, who may log in
    Oid role;          // whom it acts as: the calling role (SET ROLE included), as a parallel worker does
    int64 run_id;
    Direction direction;
    bool has_target;
    int64 target;
    OnError on_error;
    uint32 max_tenants;  // 0: no limit
    pid_t caller_pid;
    PGPROC* caller;
    char lock_timeout[64];
    char shared_schemas[1024];
    char allow_writable_shared_schemas[8];

    pg_atomic_uint32 next;
    pg_atomic_uint32 stop;
    pg_atomic_uint32 admitted;
    pg_atomic_uint32 done;
    pg_atomic_uint32 changed;
    pg_atomic_uint32 failed;
    pg_atomic_uint32 dropped;
    pg_atomic_uint32 held_back;  // had work, beyond max_tenants
    pg_atomic_uint32 error_claimed;
    pg_atomic_uint32 error_ready;
    SharedError error;

    int workers;
    SharedWorker worker[max_workers];

    uint32 tenant_count;
    SharedTenant tenants[1];  // tenant_count of them
};

Size shared_run_size(uint32 tenants) {
    return offsetof(SharedRun, tenants) + sizeof(SharedTenant) * (tenants > 0 ? tenants : 1);
}

RunOptions options_of(const SharedRun* run) {
    RunOptions options;
    options.direction = run->direction;
    if (run->has_target) options.target = run->target;
    options.on_error = run->on_error;
    // Workers run only for a CALL outside a transaction block.
    options.online_allowed = true;
    return options;
}

bool stopped(const SharedRun* run) {
    return pg_atomic_read_u32(const_cast<pg_atomic_uint32*>(&run->stop)) != 0;
}

// The next tenant to run, and whether to wait for its lock; -1 when none is
// left. Queued tenants first, in name order; then those deferred because
// someone else held their lock (by now usually done by that someone).
int claim(SharedRun* run, BusyTenant& busy) {
    for (;;) {
        uint32 i = pg_atomic_fetch_add_u32(&run->next, 1);
        if (i >= run->tenant_count) break;
        uint32 expected = queued;
        if (pg_atomic_compare_exchange_u32(&run->tenants[i].state, &expected, claimed)) {
            busy = BusyTenant::skip;
            return static_cast<int>(i);
        }
    }
    for (uint32 i = 0; i < run->tenant_count; i++) {
        uint32 expected = deferred;
        if (pg_atomic_compare_exchange_u32(&run->tenants[i].state, &expected, claimed)) {
            busy = BusyTenant::wait;
            return static_cast<int>(i);
        }
    }
    return -1;
}

// Keeps the first error of the run for the caller and stops the run.
// Called from inside a catch block; allocates nothing.
void publish_current_error(SharedRun* run) noexcept {
    uint32 expected = 0;
    if (pg_atomic_compare_exchange_u32(&run->error_claimed, &expected, 1)) {
        PendingError pending;
        capture_current_exception(pending);
        SharedError& error = run->error;
        if (pending.postgres_error) {
            ErrorData* e = pending.postgres_error;
            copy_clipped(error.sqlstate, unpack_sql_state(e->sqlerrcode));
            copy_clipped(error.message, e->message);
            copy_clipped(error.detail, e->detail);
            copy_clipped(error.hint, e->hint);
            copy_clipped(error.context, e->context);
        } else {
            copy_clipped(error.sqlstate, pending.sqlstate);
            copy_clipped(error.message, pending.message);
            copy_clipped(error.detail, pending.detail);
            copy_clipped(error.hint, pending.hint);
            error.context[0] = '\0';
        }
        pg_write_barrier();
        pg_atomic_write_u32(&run->error_ready, 1);
    }
    pg_atomic_write_u32(&run->stop, 1);
}

void wake_caller(SharedRun* run) {
    if (run->caller != nullptr) SetLatch(&run->caller->procLatch);
}

// The caller raises a worker's error as its own.
[[noreturn]] void raise_shared_error(const SharedError& error) {
    const char* s = error.sqlstate;
    ereport(ERROR, (errcode(MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4])),
                    errmsg_internal("%s", error.message),
                    error.detail[0] ? errdetail_internal("%s", error.detail) : 0,
                    error.hint[0] ? errhint("%s", error.hint) : 0,
                    error.context[0] ? errcontext("%s", error.context) : 0));
    pg_unreachable();
}

// Runs the claimed tenant and records its outcome in the run. Both the
// caller and the workers call it, in a transaction of the tenant's own.
// Returns the outcome; on_error => 'stop' is the callers' to act on.
void finish_claimed(SharedRun* run, int index, const TenantOutcome& outcome);

// in_caller: the calling backend, which runs the rest of a tenant that
// reaches a non-transactional migration right away (in a background worker
// it waits for); a worker leaves it to its main loop, between transactions
// (outcome.online_next, the tenant not finished yet).
TenantOutcome run_claimed(SharedRun* run, int index, BusyTenant busy, const RunPlan& plan,
                          bool in_caller) {
    SharedTenant& tenant = run->tenants[index];
    auto admit = [run] {
        return run->max_tenants == 0 ||
               pg_atomic_fetch_add_u32(&run->admitted, 1) < run->max_tenants;
    };
    TenantOutcome outcome = run_one_tenant(tenant.name, tenant.had_last_error, plan, busy, admit);
    if (outcome.online_next) {
        if (!in_caller) return outcome;
        std::exception_ptr failure = run_rest_of_tenant(tenant.name, plan.options, false);
        record_rest_of_tenant(tenant.name, tenant.had_last_error, failure, outcome);
    }
    finish_claimed(run, index, outcome);
    return outcome;
}

// Records a tenant's outcome in the run.
void finish_claimed(SharedRun* run, int index, const TenantOutcome& outcome) {
    SharedTenant& tenant = run->tenants[index];
    switch (outcome.kind) {
        case TenantOutcome::busy:
            pg_atomic_write_u32(&tenant.state, deferred);
            return;
        case TenantOutcome::failed:
            pg_atomic_write_u32(&tenant.state, failed);
            pg_atomic_fetch_add_u32(&run->failed, 1);
            break;
        case TenantOutcome::changed:
            pg_atomic_fetch_add_u32(&run->changed, 1);
            pg_atomic_write_u32(&tenant.state, finished);
            break;
        case TenantOutcome::dropped:
            pg_atomic_fetch_add_u32(&run->dropped, 1);
            pg_atomic_write_u32(&tenant.state, finished);
            break;
        case TenantOutcome::not_admitted:
            pg_atomic_fetch_add_u32(&run->held_back, 1);
            pg_atomic_write_u32(&tenant.state, finished);
            break;
        case TenantOutcome::up_to_date:
            pg_atomic_write_u32(&tenant.state, finished);
            break;
    }
    pg_atomic_fetch_add_u32(&run->done, 1);
}

// ---------------------------------------------------------------------------
// The caller

struct TenantRow {
    std::string tenant;
    bool has_last_error = false;
};

struct Subset {
    std::optional<std::vector<std::string>> tenants;
    std::optional<std::string> pattern;
    std::optional<int> max_tenants;
};

std::vector<TenantRow> tenants_in_name_order(const Subset& subset) {
    std::vector<TenantRow> tenants;
    spi::Value names;
    if (subset.tenants) names = core::text_array_literal(*subset.tenants);
    // As the registry's owner: last_error is not readable by every caller,
    // and only whether there is one is read here.
    std::vector<spi::Row> rows;
    {
        registry::AsRegistryOwner as_owner;
        rows = spi::query("SELECT r.tenant, r.last_error IS NOT NULL FROM tenancy.tenant_registry r "
                    "WHERE ($1::text[] IS NULL OR r.tenant OPERATOR(pg_catalog.=) ANY ("
                          // A subquery: the list is read once (a cast in the
                          // condition would parse it again for every row).
                          "SELECT pg_catalog.unnest($1::text[]))) "
                    "AND ($2::text IS NULL OR r.tenant COLLATE pg_catalog.\"C\" "
                    "OPERATOR(pg_catalog.~) $2::text) "
                          "ORDER BY r.tenant COLLATE pg_catalog.\"C\"",
                          {names, subset.pattern});
    }
    for (spi::Row& row : rows) tenants.push_back({std::move(*row[0]), *row[1] == "t"});
    if (subset.tenants) {
        std::set<std::string> found;
        for (const TenantRow& row : tenants) found.insert(row.tenant);
        for (const std::string& name : *subset.tenants)
            if (!found.count(name))
                throw core::Error(core::sqlstate::invalid_schema_name,
                                  fmt::format("tenant \"{}\" does not exist", name),
                                  "Nothing was migrated: every name in tenants must be a "
                                  "registered tenant.");
    }
    return tenants;
}

// Plain functions, so that a message's LOCATION names them, not a lambda.
void emit_notice(const char* text) { ereport(NOTICE, (errmsg_internal("%s", text))); }

void emit_failed_tenants_warning(const char* procedure, std::size_t count, const char* tenants) {
    ereport(WARNING, (errmsg("%s: %zu tenants failed: %s", procedure, count, tenants),
                      errhint("tenancy.tenants shows the error of each in last_error.")));
}

void notice(const std::string& text) {
    call_postgres([&] { emit_notice(text.c_str()); });
}

// The run's row in tenancy.migration_runs.
class RunLog {
public:
    RunLog(const RunOptions& options, int workers, std::size_t tenants, bool may_commit)
        : may_commit_(may_commit), started_(std::chrono::steady_clock::now()) {
        // Absent while the database still has the 0.1.0 objects (before
        // ALTER EXTENSION pg_tenancy UPDATE): the run is not logged then.
        enabled_ = spi::query_value("SELECT pg_catalog.to_regclass('tenancy.migration_runs') IS NOT NULL") ==
                   spi::Value("t");
        if (!enabled_) return;
        std::string caller = registry::role_name(GetUserId());
        registry::AsRegistryOwner as_owner;
        // Runs whose backend is gone without finishing them (killed, cancelled).
        spi::execute(
            "UPDATE tenancy.migration_runs r SET outcome = 'interrupted' "
            "WHERE r.finished_at IS NULL AND r.outcome IS NULL AND NOT EXISTS ("
            "SELECT FROM pg_catalog.pg_stat_activity a WHERE a.pid OPERATOR(pg_catalog.=) r.backend_pid "
            "AND a.backend_start OPERATOR(pg_catalog.<=) r.started_at)");
        id_ = std::stoll(*spi::query_value(
            "INSERT INTO tenancy.migration_runs (procedure, started_by, target_version, workers, "
            "tenants, backend_pid) VALUES ($1, $5, $2::bigint, $3::integer, "
            "$4::integer, pg_catalog.pg_backend_pid()) RETURNING run",
            {std::string(procedure_name(options)),
             options.target ? spi::Value(std::to_string(*options.target)) : std::nullopt,
             std::to_string(workers), std::to_string(tenants), caller}));
        if (may_commit_) call_postgres([] { SPI_commit(); });
    }

    std::int64_t id() const { return id_; }

    // The counters, at most every second; the caller commits.
    bool due() const {
        return std::chrono::steady_clock::now() - last_update_ >= std::chrono::seconds(1);
    }
    void update(const SharedRun* run, int workers_started) {
        last_update_ = std::chrono::steady_clock::now();
        write(run, workers_started, std::nullopt);
    }
    void finish(const SharedRun* run, int workers_started, const char* outcome) {
        write(run, workers_started, std::string(outcome));
    }

private:
    void write(const SharedRun* run, int workers_started, const std::optional<std::string>& outcome) {
        if (!enabled_) return;
        auto* counters = const_cast<SharedRun*>(run);
        double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
        registry::AsRegistryOwner as_owner;
        spi::execute(
            "UPDATE tenancy.migration_runs SET workers_started = $2::integer, done = $3::integer, "
            "migrated = $4::integer, failed = $5::integer, outcome = $6, "
            "finished_at = CASE WHEN $6 IS NULL THEN NULL ELSE pg_catalog.clock_timestamp() END, "
            "seconds = CASE WHEN $6 IS NULL THEN NULL ELSE $7::double precision END "
            "WHERE run OPERATOR(pg_catalog.=) $1::bigint",
            {std::to_string(id_), std::to_string(workers_started),
             std::to_string(pg_atomic_read_u32(&counters->done)),
             std::to_string(pg_atomic_read_u32(&counters->changed)),
             std::to_string(pg_atomic_read_u32(&counters->failed)), outcome,
             fmt::format("{:.3f}", seconds)});
    }

    bool may_commit_;
    bool enabled_ = false;
    std::int64_t id_ = 0;
    std::chrono::steady_clock::time_point started_;
    std::chrono::steady_clock::time_point last_update_ = std::chrono::steady_clock::now();
};

// The workers' handles: terminated when the caller leaves the run by an error
// (a cancel, statement_timeout) or exits (pg_terminate_backend); their open
// tenant transactions roll back.
struct WorkerHandles {
    int count = 0;
    BackgroundWorkerHandle* handle[max_workers];
};

void terminate_workers(WorkerHandles* handles) {
    for (int i = 0; i < handles->count; i++)
        if (handles->handle[i] != nullptr) TerminateBackgroundWorker(handles->handle[i]);
}

void terminate_workers_on_detach(dsm_segment*, Datum arg) {
    terminate_workers(reinterpret_cast<WorkerHandles*>(DatumGetPointer(arg)));
}

bool all_workers_stopped(WorkerHandles* handles) {
    for (int i = 0; i < handles->count; i++) {
        pid_t pid;
        if (GetBackgroundWorkerPid(handles->handle[i], &pid) != BGWH_STOPPED) return false;
    }
    return true;
}

int start_workers(dsm_segment* segment, SharedRun* run, int asked, WorkerHandles* handles) {
    const char* procedure = procedure_name(options_of(run));
    for (int i = 0; i < asked; i++) {
        char name[BGW_MAXLEN];
        snprintf(name, sizeof name, "pg_tenancy %s run %lld worker %d", procedure,
                 static_cast<long long>(run->run_id), i + 1);
        BackgroundWorker worker =
            describe_worker("tenancy_migration_worker_main", "pg_tenancy migration worker", name,
                            UInt32GetDatum(dsm_segment_handle(segment)));
        memcpy(worker.bgw_extra, &i, sizeof(int));
        worker.bgw_notify_pid = MyProcPid;
        BackgroundWorkerHandle* handle = nullptr;
        if (!RegisterDynamicBackgroundWorker(&worker, &handle)) break;
        handles->handle[handles->count++] = handle;
    }
    run->workers = handles->count;
    return handles->count;
}

struct Progress {
    std::size_t next_report = 1;
};

void relay_progress(const SharedRun* run, Progress& progress, const char* name) {
    std::size_t total = run->tenant_count;
    std::size_t done = pg_atomic_read_u32(const_cast<pg_atomic_uint32*>(&run->done));
    // At least every 10 % of the tenants.
    if (done * 10 >= progress.next_report * total && done < total) {
        notice(fmt::format("{}: {} of {} tenants done", name, done, total));
        while (progress.next_report * total <= done * 10) progress.next_report++;
    }
}

struct CallerRun {
    SharedRun* run;
    const RunPlan& plan;
    RunLog& log;
    bool may_commit;
    int workers_started;
    Progress progress;
};

void commit(CallerRun& c) {
    if (c.may_commit) call_postgres([] { SPI_commit(); });
}

// The caller's own share of the tenants: all of them with workers => 1, or
// alongside fewer workers than asked, or what workers left behind.
void run_tenants_in_caller(CallerRun& c) {
    const char* name = procedure_name(c.plan.options);
    CatalogCacheBudget cache_budget;
    // Per-tenant allocations (error copies, scans) go here and are freed
    // after each tenant, so memory does not grow with the number of tenants.
    MemoryContext run_context = CurrentMemoryContext;
    MemoryContext tenant_context = call_postgres([] {
        return AllocSetContextCreate(CurrentMemoryContext, "pg_tenancy tenant", ALLOCSET_DEFAULT_SIZES);
    });
    BusyTenant busy;
    int index;
    // Read once there is a tenant to peek at (often none is left after workers).
    std::optional<PeekDirectory> peek_directory;
    while (!stopped(c.run) && (index = claim(c.run, busy)) >= 0) {
        if (!peek_directory) peek_directory.emplace();
        MemoryContextSwitchTo(tenant_context);
        TenantOutcome outcome = run_claimed(c.run, index, busy, c.plan, true);
        MemoryContextSwitchTo(run_context);
        if (outcome.kind == TenantOutcome::failed && c.plan.options.on_error == OnError::stop) {
            pg_atomic_write_u32(&c.run->stop, 1);
            c.log.finish(c.run, c.workers_started, "stopped");
            commit(c);
            std::rethrow_exception(outcome.failure);
        }
        if (c.log.due() && c.may_commit) c.log.update(c.run, c.workers_started);
        commit(c);
        call_postgres([&] { MemoryContextReset(tenant_context); });
        cache_budget.note();
        relay_progress(c.run, c.progress, name);
    }
    call_postgres([&] { MemoryContextDelete(tenant_context); });
}

void wait_for_workers(CallerRun& c, WorkerHandles* handles) {
    const char* name = procedure_name(c.plan.options);
    for (;;) {
        call_postgres([] { ResetLatch(MyLatch); });
        if (pg_atomic_read_u32(&c.run->error_ready)) pg_atomic_write_u32(&c.run->stop, 1);
        bool done = all_workers_stopped(handles);
        relay_progress(c.run, c.progress, name);
        if (c.log.due() && c.may_commit) {
            c.log.update(c.run, c.workers_started);
            commit(c);
        }
        if (done) return;
        call_postgres([] {
            (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000,
                            PG_WAIT_EXTENSION);
            CHECK_FOR_INTERRUPTS();
        });
    }
}

void summarize(const SharedRun* run, const char* name, Direction direction) {
    auto* r = const_cast<SharedRun*>(run);
    std::size_t total = run->tenant_count;
    std::size_t changed = pg_atomic_read_u32(&r->changed);
    std::size_t failed_count = pg_atomic_read_u32(&r->failed);
    std::size_t skipped = pg_atomic_read_u32(&r->dropped);
    std::size_t held_back = pg_atomic_read_u32(&r->held_back);
    notice(fmt::format("{}: {} tenants, {} {}, {} failed, {} up to date{}{}", name, total, changed,
                       direction == Direction::up ? "migrated" : "rolled back", failed_count,
                       total - changed - failed_count - skipped - held_back,
                       skipped ? fmt::format(", {} dropped meanwhile", skipped) : "",
                       held_back ? fmt::format(", {} left for later (max_tenants)", held_back) : ""));
    if (failed_count == 0) return;
    std::string list;
    std::size_t listed = 0;
    for (uint32 i = 0; i < run->tenant_count; i++) {
        if (pg_atomic_read_u32(&r->tenants[i].state) != failed) continue;
        if (listed == 20) break;
        list += (listed++ ? ", " : "") + ("\"" + std::string(run->tenants[i].name) + "\"");
    }
    if (failed_count > 20) list += fmt::format(" and {} more", failed_count - 20);
    call_postgres([&] { emit_failed_tenants_warning(name, failed_count, list.c_str()); });
}

struct Call {
    RunOptions options;
    int workers = 1;
    Subset subset;
    bool may_commit = false;
};

void fill_run(SharedRun* run, const Call& call, const std::vector<TenantRow>& tenants) {
    memset(run, 0, offsetof(SharedRun, tenants));
    run->database = MyDatabaseId;
    run->session_user = GetSessionUserId();
    run->role = GetUserId();
    run->direction = call.options.direction;
    run->has_target = call.options.target.has_value();
    run->target = call.options.target.value_or(0);
    run->on_error = call.options.on_error;
    run->max_tenants = call.subset.max_tenants ? static_cast<uint32>(*call.subset.max_tenants) : 0;
    run->caller_pid = MyProcPid;
    run->caller = MyProc;
    copy_clipped(run->lock_timeout, GetConfigOption("lock_timeout", false, false));
    copy_clipped(run->shared_schemas, GetConfigOption("tenancy.shared_schemas", true, false));
    copy_clipped(run->allow_writable_shared_schemas,
              GetConfigOption("tenancy.allow_writable_shared_schemas", true, false));
    for (pg_atomic_uint32* counter : {&run->next, &run->stop, &run->admitted, &run->done,
                                      &run->changed, &run->failed, &run->dropped, &run->held_back,
                                      &run->error_claimed, &run->error_ready})
        pg_atomic_init_u32(counter, 0);
    for (SharedWorker& worker : run->worker) pg_atomic_init_u32(&worker.exited, 0);
    run->tenant_count = static_cast<uint32>(tenants.size());
    for (std::size_t i = 0; i < tenants.size(); i++) {
        copy_clipped(run->tenants[i].name, tenants[i].tenant.c_str());
        run->tenants[i].had_last_error = tenants[i].has_last_error;
        pg_atomic_init_u32(&run->tenants[i].state, queued);
    }
}

// On Citus, before the workers start: the tenants whose node answered for
// them and that have nothing to do are done, as a peek would find them.
// The workers run in other backends, which have none of this session's
// prefetched versions, and would read each of these tenants through Citus.
void finish_prefetched_tenants(SharedRun* run, const RunPlan& plan) {
    for (uint32 i = 0; i < run->tenant_count; i++) {
        SharedTenant& tenant = run->tenants[i];
        const AppliedMigration* rows = nullptr;
        std::size_t count = 0;
        if (tenant.had_last_error || !citus::prefetched_versions(tenant.name, rows, count)) continue;
        std::optional<bool> work = tenant_has_work(tenant.name, plan);
        if (!work || *work) continue;
        pg_atomic_write_u32(&tenant.state, finished);
        pg_atomic_fetch_add_u32(&run->done, 1);
    }
}

void run_all(const Call& call) {
    const char* name = procedure_name(call.options);
    std::vector<TenantRow> tenants = tenants_in_name_order(call.subset);
    // On Citus, each node's tenants are read at once, not one by one.
    std::optional<citus::PrefetchedVersions> prefetched;
    if (citus::loaded()) {
        std::vector<std::string> names;
        for (const TenantRow& row : tenants) names.push_back(row.tenant);
        prefetched.emplace(&names);
    }
    RunPlan plan = make_run_plan(call.options);
    RunLog log(call.options, call.workers, tenants.size(), call.may_commit);
    Size size = shared_run_size(static_cast<uint32>(tenants.size()));

    if (call.workers == 1) {
        // Kept beyond the commits: the caller's own memory, freed at the end.
        MemoryContext owner = call_postgres([] {
            return AllocSetContextCreate(TopMemoryContext, "pg_tenancy run", ALLOCSET_DEFAULT_SIZES);
        });
        auto* run = static_cast<SharedRun*>(
            call_postgres([&] { return MemoryContextAllocExtended(owner, size, MCXT_ALLOC_HUGE); }));
        fill_run(run, call, tenants);
        run->run_id = log.id();
        CallerRun c{run, plan, log, call.may_commit, 0, {}};
        try {
            run_tenants_in_caller(c);
        } catch (...) {
            call_postgres([&] { MemoryContextDelete(owner); });
            throw;
        }
        summarize(run, name, call.options.direction);
        log.finish(run, 0, "completed");
        call_postgres([&] { MemoryContextDelete(owner); });
        return;
    }

    // The segment outlives the caller's per-tenant commits (its mapping is
    // pinned); it goes when the run ends, or when the backend exits.
    dsm_segment* segment = call_postgres([&] {
        dsm_segment* s = dsm_create(size, 0);
        dsm_pin_mapping(s);
        return s;
    });
    auto* run = static_cast<SharedRun*>(dsm_segment_address(segment));
    fill_run(run, call, tenants);
    run->run_id = log.id();
    auto* handles = static_cast<WorkerHandles*>(call_postgres(
        [] { return MemoryContextAllocZero(TopMemoryContext, sizeof(WorkerHandles)); }));
    call_postgres([&] { on_dsm_detach(segment, terminate_workers_on_detach, PointerGetDatum(handles)); });
    auto end_run = [&] {
        call_postgres([&] {
            dsm_detach(segment);
            for (int i = 0; i < handles->count; i++) pfree(handles->handle[i]);
            pfree(handles);
        });
    };

    std::unique_ptr<SharedError> stop_error;
    try {
        if (prefetched) finish_prefetched_tenants(run, plan);
        int started = call_postgres([&] { return start_workers(segment, run, call.workers, handles); });
        CallerRun c{run, plan, log, call.may_commit, started, {}};
        log.update(run, started);
        commit(c);
        if (started < call.workers)
            notice(fmt::format("{}: {} of {} workers started (no free background worker slot; "
                               "see max_worker_processes), the calling session runs tenants too",
                               name, started, call.workers));
        if (started < call.workers) run_tenants_in_caller(c);
        wait_for_workers(c, handles);
        if (pg_atomic_read_u32(&run->error_ready)) {
            log.finish(run, started, "stopped");
            commit(c);
            stop_error = std::make_unique<SharedError>(run->error);
        }
        // Tenants a worker claimed but never finished (it was terminated),
        // or never reached: the caller runs them, waiting for their locks.
        bool left = false;
        for (uint32 i = 0; i < run->tenant_count; i++) {
            uint32 expected = claimed;
            if (pg_atomic_compare_exchange_u32(&run->tenants[i].state, &expected, deferred) ||
                expected == queued || expected == deferred)
                left = true;
        }
        if (left && !stop_error)
            call_postgres([&] {
                ereport(WARNING, (errmsg("%s: a worker ended before the queue was empty; the "
                                         "calling session runs the tenants left",
                                         name)));
            });
        if (!stop_error) run_tenants_in_caller(c);
        for (int w = 0; w < run->workers; w++)
            if (run->worker[w].tenants > 0)
                call_postgres([&] {
                    ereport(DEBUG1, (errmsg_internal("%s worker %d: %u tenants, memory %llu kB", name,
                                                     w + 1, run->worker[w].tenants,
                                                     static_cast<unsigned long long>(
                                                         run->worker[w].memory / 1024))));
                });
        if (!stop_error) {
            summarize(run, name, call.options.direction);
            log.finish(run, started, "completed");
        }
    } catch (...) {
        end_run();
        throw;
    }
    end_run();
    if (stop_error) call_postgres([&] { raise_shared_error(*stop_error); });
}

OnError parse_on_error(const std::string& value) {
    if (value == "stop") return OnError::stop;
    if (value == "continue") return OnError::continue_;
    throw core::Error(core::sqlstate::invalid_parameter_value,
                      fmt::format("invalid on_error value \"{}\"", value), "",
                      "on_error is 'stop' or 'continue'.");
}

std::optional<int> int32_argument(FunctionCallInfo fcinfo, int index) {
    if (PG_NARGS() <= index || PG_ARGISNULL(index)) return std::nullopt;
    return PG_GETARG_INT32(index);
}

Datum run_procedure(FunctionCallInfo fcinfo, Direction direction) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        Call call;
        call.options.direction = direction;
        call.options.target = int64_argument(fcinfo, 0);
        if (direction == Direction::down && !call.options.target)
            throw core::Error(core::sqlstate::null_value_not_allowed,
                              "target_version must not be null");
        call.options.on_error = parse_on_error(required_text_argument(fcinfo, 1, "on_error"));
        // The 0.1.0 procedures (before ALTER EXTENSION ... UPDATE) pass two arguments.
        std::optional<int> workers = PG_NARGS() > 2 ? int32_argument(fcinfo, 2) : std::optional<int>(1);
        if (!workers)
            throw core::Error(core::sqlstate::null_value_not_allowed, "workers must not be null");
        if (*workers < 1 || *workers > max_workers)
            throw core::Error(core::sqlstate::invalid_parameter_value,
                              fmt::format("workers must be between 1 and {}", max_workers),
                              fmt::format("workers is {}.", *workers));
        call.workers = *workers;
        if (PG_NARGS() > 3 && !PG_ARGISNULL(3)) {
            std::vector<std::string> names;
            for (auto& name : text_array_argument(fcinfo, 3, "tenants")) {
                if (!name)
                    throw core::Error(core::sqlstate::null_value_not_allowed,
                                      "tenants must not contain nulls");
                names.push_back(std::move(*name));
            }
            call.subset.tenants = std::move(names);
        }
        call.subset.pattern = text_argument(fcinfo, 4);
        call.subset.max_tenants = int32_argument(fcinfo, 5);
        if (call.subset.max_tenants && *call.subset.max_tenants < 1)
            throw core::Error(core::sqlstate::invalid_parameter_value,
                              "max_tenants must be at least 1",
                              fmt::format("max_tenants is {}.", *call.subset.max_tenants),
                              "Leave it NULL to run every tenant that has work.");
        call.may_commit = called_nonatomically(fcinfo);
        call.options.online_allowed = call.may_commit;
        if (call.workers > 1 && !call.may_commit)
            throw core::Error(core::sqlstate::active_sql_transaction,
                              fmt::format("{} with workers > 1 cannot run inside a transaction block",
                                          direction == Direction::up ? "migrate_all" : "rollback_all"),
                              "Workers commit each tenant in transactions of their own.",
                              "CALL it outside a transaction block, or with workers => 1.");

        spi::connect(call.may_commit);
        run_all(call);
        spi::finish();
        return Datum(0);
    });
}

// ---------------------------------------------------------------------------
// A worker

// Whether the worker should take another tenant.
bool worker_goes_on(SharedRun* run) {
    if (stopped(run)) return false;
    // The caller gone (terminated, crashed): finish no more tenants for it.
    if (BackendPidGetProc(run->caller_pid) == nullptr) return false;
    return PostmasterIsAlive();
}

void apply_caller_settings(SharedRun* run) {
    SetConfigOption("lock_timeout", run->lock_timeout, PGC_USERSET, PGC_S_SESSION);
    SetConfigOption("tenancy.shared_schemas", run->shared_schemas, PGC_SUSET, PGC_S_SESSION);
    SetConfigOption("tenancy.allow_writable_shared_schemas", run->allow_writable_shared_schemas,
                    PGC_SUSET, PGC_S_SESSION);
}

// The worker's plan, and the directory of versions tables for its peeks,
// made in its first transaction. The error boundary: each step catches
// everything, publishes it for the caller, and raises it once the catch
// block has ended (ending the worker).
RunPlan* worker_plan(SharedRun* run, std::unique_ptr<PeekDirectory>& peek_directory) {
    PendingError pending;
    try {
        spi::connect();
        auto* plan = new RunPlan(make_run_plan(options_of(run)));
        spi::finish();
        peek_directory = std::make_unique<PeekDirectory>();
        return plan;
    } catch (...) {
        publish_current_error(run);
        capture_current_exception(pending);
    }
    wake_caller(run);
    raise_pending_error(pending);
}

enum class Step { queue_empty, quiet, wrote };

// Tenants, in the current transaction: one that has work (then the
// transaction is that tenant's alone), or up to 64 that have none (a peek
// each), so that a run with little to do costs few transactions.
// A tenant that reaches a non-transactional migration ends the step: its
// index goes to online_tenant (else -1) and its outcome so far to
// online_outcome, and the worker's main loop runs the rest of it once this
// transaction has committed.
Step worker_step(SharedRun* run, const RunPlan& plan, int worker, CatalogCacheBudget& cache_budget,
                 int& online_tenant, TenantOutcome& online_outcome) {
    online_tenant = -1;
    PendingError pending;
    try {
        spi::connect();
        for (int quiet = 0; quiet < 64 && !stopped(run); quiet++) {
            cache_budget.note();
            BusyTenant busy;
            int index = claim(run, busy);
            if (index < 0) {
                spi::finish();
                return Step::queue_empty;
            }
            TenantOutcome outcome = run_claimed(run, index, busy, plan, false);
            if (outcome.kind != TenantOutcome::busy) run->worker[worker].tenants++;
            if (outcome.online_next) {
                online_tenant = index;
                online_outcome = outcome;
                spi::finish();
                return Step::wrote;
            }
            if (outcome.kind == TenantOutcome::failed && plan.options.on_error == OnError::stop) {
                // last_error is committed with the tenant's transaction.
                try {
                    std::rethrow_exception(outcome.failure);
                } catch (...) {
                    publish_current_error(run);
                }
            }
            bool wrote = outcome.kind == TenantOutcome::changed || outcome.kind == TenantOutcome::failed ||
                         (outcome.kind == TenantOutcome::up_to_date && run->tenants[index].had_last_error);
            if (wrote) {
                spi::finish();
                return Step::wrote;
            }
        }
        spi::finish();
        return Step::quiet;
    } catch (...) {
        publish_current_error(run);
        capture_current_exception(pending);
    }
    wake_caller(run);
    raise_pending_error(pending);
}

// In a worker, between transactions: the rest of a tenant from its first
// non-transactional migration on, then its outcome in the run (last_error,
// counters, and the run's error for on_error => 'stop').
void run_rest_in_worker(SharedRun* run, const RunPlan& plan, int index, TenantOutcome& outcome) {
    PendingError pending;
    try {
        SharedTenant& tenant = run->tenants[index];
        std::exception_ptr failure = run_rest_of_tenant(tenant.name, plan.options, true);
        call_postgres([] {
            SetCurrentStatementStartTimestamp();
            StartTransactionCommand();
            PushActiveSnapshot(GetTransactionSnapshot());
        });
        spi::connect();
        record_rest_of_tenant(tenant.name, tenant.had_last_error, failure, outcome);
        finish_claimed(run, index, outcome);
        if (outcome.kind == TenantOutcome::failed && plan.options.on_error == OnError::stop) {
            try {
                std::rethrow_exception(outcome.failure);
            } catch (...) {
                publish_current_error(run);
            }
        }
        spi::finish();
        call_postgres([] {
            PopActiveSnapshot();
            CommitTransactionCommand();
        });
        return;
    } catch (...) {
        publish_current_error(run);
        capture_current_exception(pending);
    }
    wake_caller(run);
    raise_pending_error(pending);
}

}  // namespace

}  // namespace tenancy::pg

extern "C" {

PG_FUNCTION_INFO_V1(tenancy_migrate_all);
PG_FUNCTION_INFO_V1(tenancy_rollback_all);

// CALL tenancy.migrate_all(target_version, on_error, workers, tenants, tenant_pattern, max_tenants)
Datum tenancy_migrate_all(PG_FUNCTION_ARGS) {
    return tenancy::pg::run_procedure(fcinfo, tenancy::pg::Direction::up);
}

// CALL tenancy.rollback_all(target_version, on_error, workers, tenants, tenant_pattern, max_tenants)
Datum tenancy_rollback_all(PG_FUNCTION_ARGS) {
    return tenancy::pg::run_procedure(fcinfo, tenancy::pg::Direction::down);
}

PGDLLEXPORT void tenancy_migration_worker_main(Datum main_arg);

void tenancy_migration_worker_main(Datum main_arg) {
    using namespace tenancy::pg;
    // SIGTERM (the caller cancelled, pg_terminate_backend) is handled at the
    // next CHECK_FOR_INTERRUPTS(): the open tenant transaction rolls back.
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    dsm_segment* segment = dsm_attach(DatumGetUInt32(main_arg));
    if (segment == nullptr) proc_exit(0);  // the caller is gone already
    auto* run = static_cast<SharedRun*>(dsm_segment_address(segment));
    int worker;
    memcpy(&worker, MyBgworkerEntry->bgw_extra, sizeof(int));
#ifdef BGWORKER_BYPASS_ROLELOGINCHECK
    BackgroundWorkerInitializeConnectionByOid(run->database, run->session_user,
                                              BGWORKER_BYPASS_ROLELOGINCHECK);
#else
    BackgroundWorkerInitializeConnectionByOid(run->database, run->session_user, 0);
#endif
    char application_name[NAMEDATALEN];
    snprintf(application_name, sizeof(application_name), "pg_tenancy run %lld worker %d",
             static_cast<long long>(run->run_id), worker + 1);
    SetConfigOption("application_name", application_name, PGC_USERSET, PGC_S_SESSION);

    StartTransactionCommand();
    if (run->role != run->session_user) SetCurrentRoleId(run->role, superuser_arg(run->role));
    PushActiveSnapshot(GetTransactionSnapshot());
    apply_caller_settings(run);
    std::unique_ptr<PeekDirectory> peek_directory;
    RunPlan* plan = worker_plan(run, peek_directory);
    PopActiveSnapshot();
    CommitTransactionCommand();

    CatalogCacheBudget cache_budget;
    while (worker_goes_on(run)) {
        CHECK_FOR_INTERRUPTS();
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        PushActiveSnapshot(GetTransactionSnapshot());
        int online_tenant = -1;
        TenantOutcome online_outcome;
        Step step = worker_step(run, *plan, worker, cache_budget, online_tenant, online_outcome);
        PopActiveSnapshot();
        CommitTransactionCommand();
        if (online_tenant >= 0) run_rest_in_worker(run, *plan, online_tenant, online_outcome);
        pgstat_report_activity(STATE_IDLE, nullptr);
        // Between tenants, the pending table statistics go to shared memory,
        // so they do not pile up over thousands of tenants: after each one
        // that changed something, and at most every second otherwise.
        pgstat_report_stat(step == Step::wrote);
        wake_caller(run);
        if (step == Step::queue_empty) break;
    }
    run->worker[worker].memory = MemoryContextMemAllocated(TopMemoryContext, true);
    pg_atomic_write_u32(&run->worker[worker].exited, 1);
    wake_caller(run);
    delete plan;
    peek_directory.reset();
    dsm_detach(segment);
    proc_exit(0);
}

}  // extern "C"
