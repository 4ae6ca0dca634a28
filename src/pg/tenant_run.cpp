#include "tenant_run.hpp"

#include <algorithm>

#include "online_migration.hpp"

#include <fmt/format.h>

#include "../core/error.hpp"
#include "error_boundary.hpp"
#include "migration_registry.hpp"
#include "registry.hpp"
#include "spi.hpp"
#include "tenant_migrations.hpp"

extern "C" {
#include "pgstat.h"
#include "postmaster/bgworker.h"
}

namespace tenancy::pg {

namespace {

// What last_error keeps of a failure: "SQLSTATE: message".
std::string describe_error(std::exception_ptr failure) {
    try {
        std::rethrow_exception(failure);
    } catch (const PostgresError& e) {
        return fmt::format("{}: {}", unpack_sql_state(e.error()->sqlerrcode), e.what());
    } catch (const core::Error& e) {
        return fmt::format("{}: {}", e.sqlstate(), e.what());
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown error";
    }
}

// A cancel (pg_cancel_backend, statement_timeout) ends the whole run whatever
// on_error says. Only a real one: the interrupt is raised by
// ProcessInterrupts(), while tenant code can raise the same SQLSTATE with
// RAISE ... USING ERRCODE = 'query_canceled' (or 'assert_failure'), and a
// tenant must not be able to stop everyone else's run.
bool ends_the_run(std::exception_ptr failure) {
    try {
        std::rethrow_exception(failure);
    } catch (const PostgresError& e) {
        const ErrorData* error = e.error();
        return error->sqlerrcode == ERRCODE_QUERY_CANCELED && error->funcname != nullptr &&
               strcmp(error->funcname, "ProcessInterrupts") == 0;
    } catch (...) {
        return false;
    }
}

// The applied versions a run looks at: the registered ones going up (a
// tenant's table may hold any number of others), those above the target going
// down.
VersionFilter relevant_versions(const std::vector<core::RegisteredVersion>& registered,
                                const RunOptions& options) {
    VersionFilter relevant;
    if (options.direction == Direction::down) {
        relevant.above = options.target;
        return relevant;
    }
    for (const core::RegisteredVersion& version : registered) relevant.versions.push_back(version.version);
    // Sorted once here, as keeps() reads them, rather than for every tenant.
    std::sort(relevant.versions.begin(), relevant.versions.end());
    return relevant;
}

// Runs the tenant's migrations in a subtransaction, the way plpgsql runs a
// block with an EXCEPTION clause. Returns the failure (the tenant then is as
// it was), or nullptr; ran counts the migrations run (none when someone else
// ran them meanwhile).
std::exception_ptr run_in_subtransaction(const std::string& tenant, const RunOptions& options,
                                         int& ran, bool& online_next) {
    MemoryContext caller_context = CurrentMemoryContext;
    ResourceOwner caller_owner = CurrentResourceOwner;
    call_postgres([] { BeginInternalSubTransaction(nullptr); });
    MemoryContextSwitchTo(caller_context);

    std::exception_ptr failure;
    try {
        // Read again in each tenant's transaction, under the registry's lock:
        // a migration registered meanwhile is run with the text it has now.
        std::vector<Migration> registered = registered_migrations();
        std::optional<std::int64_t> stopped_at;
        if (options.direction == Direction::up)
            ran = migrate_tenant(tenant, registered, options.target,
                                 options.online_allowed ? OnlineMigrations::stop_before
                                                        : OnlineMigrations::refuse,
                                 &stopped_at);
        else
            ran = rollback_tenant(tenant, registered, *options.target);
        online_next = stopped_at.has_value();
        call_postgres([] { ReleaseCurrentSubTransaction(); });
        MemoryContextSwitchTo(caller_context);
        CurrentResourceOwner = caller_owner;
    } catch (...) {
        failure = std::current_exception();
        call_postgres([] { RollbackAndReleaseCurrentSubTransaction(); });
        MemoryContextSwitchTo(caller_context);
        CurrentResourceOwner = caller_owner;
    }
    return failure;
}

}  // namespace

namespace {

// The tenant failed: the outcome says why, and so does its last_error.
void record_failure(const std::string& tenant, const std::exception_ptr& failure,
                    TenantOutcome& outcome) {
    outcome.kind = TenantOutcome::failed;
    outcome.error = describe_error(failure);
    outcome.failure = failure;
    registry::set_last_error(tenant, outcome.error);
}

}  // namespace

const char* procedure_name(const RunOptions& options) {
    return options.direction == Direction::up ? "migrate_all" : "rollback_all";
}

RunPlan make_run_plan(const RunOptions& options) {
    RunPlan plan;
    plan.options = options;
    plan.versions = registered_versions(registered_migrations());
    plan.relevant = relevant_versions(plan.versions, options);
    return plan;
}

// Judged without the tenant's lock and without waiting or raising: a tenant
// with work, or one the peek cannot judge, is locked and read again by
// migrate_tenant()/rollback_tenant(), inside its subtransaction.
std::optional<bool> tenant_has_work(const std::string& tenant, const RunPlan& plan) {
    std::vector<AppliedMigration> rows;
    switch (read_applied_migrations(tenant, ReadMode::peek, rows, &plan.relevant)) {
        case TenantTable::no_schema: return std::nullopt;
        case TenantTable::unknown: return true;
        case TenantTable::no_table:
        case TenantTable::present: break;
    }
    std::set<std::int64_t> applied = versions_of(rows);
    if (plan.options.direction == Direction::up)
        return !core::plan_migrate(plan.versions, applied, plan.options.target).empty();
    // A rollback's own refusals (no down_sql) belong to the tenant's run.
    return applied.upper_bound(*plan.options.target) != applied.end();
}

TenantOutcome run_one_tenant(const std::string& tenant, bool had_last_error, const RunPlan& plan,
                             BusyTenant busy, const std::function<bool()>& admit) {
    TenantOutcome outcome;
    std::optional<bool> work = tenant_has_work(tenant, plan);
    if (!work) {
        outcome.kind = TenantOutcome::dropped;
        return outcome;
    }
    if (!*work && !had_last_error) return outcome;
    // Held to the end of the transaction (the subtransaction takes it again).
    if (busy == BusyTenant::skip && !registry::try_lock_tenant(tenant)) {
        outcome.kind = TenantOutcome::busy;
        return outcome;
    }
    if (*work && !admit()) {
        outcome.kind = TenantOutcome::not_admitted;
        return outcome;
    }
    report_tenant_activity(tenant, std::nullopt);

    int ran = 0;
    bool online_next = false;
    std::exception_ptr failure = run_in_subtransaction(tenant, plan.options, ran, online_next);
    if (failure && ends_the_run(failure)) std::rethrow_exception(failure);
    if (failure) {
        record_failure(tenant, failure, outcome);
    } else {
        outcome.kind = ran > 0 ? TenantOutcome::changed : TenantOutcome::up_to_date;
        outcome.online_next = online_next;
        // Cleared once the tenant is done: by run_rest_of_tenant() when a
        // non-transactional migration is still to come.
        if (had_last_error && !online_next) registry::set_last_error(tenant, std::nullopt);
    }
    return outcome;
}

std::exception_ptr run_rest_of_tenant(const std::string& tenant, const RunOptions& options,
                                      bool in_worker_process) {
    std::exception_ptr failure;
    try {
        if (in_worker_process)
            migrate_tenant_between_transactions(tenant, options.target);
        else
            migrate_rest_in_worker(tenant, options.target);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure && ends_the_run(failure)) std::rethrow_exception(failure);
    return failure;
}

void record_rest_of_tenant(const std::string& tenant, bool had_last_error,
                           const std::exception_ptr& failure, TenantOutcome& outcome) {
    outcome.online_next = false;
    if (failure) {
        record_failure(tenant, failure, outcome);
    } else {
        outcome.kind = TenantOutcome::changed;
        if (had_last_error) registry::set_last_error(tenant, std::nullopt);
    }
}

void report_tenant_activity(const std::string& tenant, std::optional<std::int64_t> version) {
    if (MyBgworkerEntry == nullptr) return;
    std::string text =
        version ? fmt::format("tenant \"{}\" version {}", tenant, *version)
                : fmt::format("tenant \"{}\"", tenant);
    call_postgres([&] { pgstat_report_activity(STATE_RUNNING, text.c_str()); });
}

}  // namespace tenancy::pg
