// One tenant of a migrate_all/rollback_all run: the work that the calling
// backend and the run's background workers (migration_worker.cpp) do alike.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "../core/migration_plan.hpp"
#include "applied_migrations.hpp"
#include "migration_runner.hpp"

namespace tenancy::pg {

enum class OnError { stop, continue_ };

struct RunOptions {
    Direction direction = Direction::up;
    std::optional<std::int64_t> target;
    OnError on_error = OnError::stop;
    // Whether a tenant may reach a non-transactional migration: only a run
    // that commits each tenant can run one (outside a transaction block);
    // otherwise such a migration is refused (25001).
    bool online_allowed = false;
};

// What a run reads once, before its first tenant: the registered versions
// and the applied versions that matter to it.
struct RunPlan {
    RunOptions options;
    std::vector<core::RegisteredVersion> versions;
    VersionFilter relevant;
};

// Reads the registered migrations; the caller is connected to SPI.
RunPlan make_run_plan(const RunOptions& options);

// How a tenant whose lock someone else holds is treated: skip it for now
// (another run is migrating it: two runs share the tenants instead of
// following each other), or wait for the lock.
enum class BusyTenant { skip, wait };

struct TenantOutcome {
    enum Kind {
        up_to_date,  // nothing to do (and no last_error to clear)
        changed,     // migrations ran (or a last_error was cleared)
        failed,      // rolled back; error holds "SQLSTATE: message", recorded in last_error
        dropped,     // the tenant's schema is gone
        busy,        // BusyTenant::skip and the tenant's lock is held
        not_admitted,  // admit() said no
    } kind = up_to_date;
    std::optional<std::string> error;
    std::exception_ptr failure;  // the failure itself, for on_error => 'stop'
    // The tenant's migrations before its first non-transactional one are
    // done (in the current transaction), and that one is next: the rest of
    // the tenant is to run between transactions (run_rest_of_tenant()).
    bool online_next = false;
};

// The rest of a tenant whose outcome has online_next, once the transaction
// that ran its first part has committed: its migrations from the first
// non-transactional one on (online_migration.hpp). in_worker_process: this
// process is a background worker between transactions, which runs them
// itself; else (the calling backend, connected to SPI nonatomically) a
// background worker runs them while it waits. Returns the failure, nullptr
// when done; a cancel is rethrown.
std::exception_ptr run_rest_of_tenant(const std::string& tenant, const RunOptions& options,
                                      bool in_worker_process);

// Records what run_rest_of_tenant() returned: outcome changed, or failed
// with last_error set. In a transaction, connected to SPI.
void record_rest_of_tenant(const std::string& tenant, bool had_last_error,
                           const std::exception_ptr& failure, TenantOutcome& outcome);

// Runs one tenant, all or nothing, in the current transaction: a peek at its
// version table without locks; a tenant with work (or a last_error to clear)
// is locked, and its migrations run in a subtransaction. A failure is rolled
// back and recorded in last_error (in the current transaction); a real cancel
// (ends_the_run) is rethrown. Committing is the caller's: each tenant is
// committed on its own by both the calling backend and the workers.
// admit is asked once the tenant is known to have work and is not busy:
// false (max_tenants reached) leaves the tenant alone (not_admitted).
// The caller is connected to SPI.
TenantOutcome run_one_tenant(const std::string& tenant, bool had_last_error, const RunPlan& plan,
                             BusyTenant busy, const std::function<bool()>& admit);

// Whether the tenant has something to do (a peek, without locks): nullopt
// when its schema is gone.
std::optional<bool> tenant_has_work(const std::string& tenant, const RunPlan& plan);

// In a migration worker, tells pg_stat_activity which tenant and version it
// is on; elsewhere does nothing (a backend's activity is its statement).
void report_tenant_activity(const std::string& tenant, std::optional<std::int64_t> version);

const char* procedure_name(const RunOptions& options);

}  // namespace tenancy::pg
