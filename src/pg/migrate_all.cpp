// CALL tenancy.migrate_all(...) and CALL tenancy.rollback_all(...): every
// tenant, each all-or-nothing, committing after each tenant when CALLed
// outside a transaction block.
//
// The tenant list is read once, into C++ memory, before the first commit;
// the registered migrations again in each tenant's transaction, under the
// registry's lock (migration_registry.hpp). Each tenant runs in a subtransaction, so a
// failure rolls back that tenant only and can be recorded in its last_error.
// No subtransaction is open at a commit.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../core/error.hpp"
#include "../core/migration_plan.hpp"
#include "applied_migrations.hpp"
#include "arguments.hpp"
#include "error_boundary.hpp"
#include "migration_registry.hpp"
#include "registry.hpp"
#include "migration_runner.hpp"
#include "online_migration.hpp"
#include "spi.hpp"
#include "tenant_migrations.hpp"

namespace tenancy::pg {

namespace {

enum class OnError { stop, continue_ };

struct RunOptions {
    Direction direction = Direction::up;
    std::optional<std::int64_t> target;
    OnError on_error = OnError::stop;
    bool commit_each_tenant = false;
};

struct TenantRow {
    std::string tenant;
    bool has_last_error = false;
};

std::vector<TenantRow> tenants_in_name_order() {
    std::vector<TenantRow> tenants;
    for (spi::Row& row : spi::query("SELECT tenant, last_error IS NOT NULL "
                                    "FROM tenancy.tenant_registry ORDER BY tenant COLLATE pg_catalog.\"C\""))
        tenants.push_back({std::move(*row[0]), *row[1] == "t"});
    return tenants;
}

void set_last_error(const std::string& tenant, const std::optional<std::string>& error) {
    registry::set_last_error(tenant, error);
}

const char* procedure_name(const RunOptions& options) {
    return options.direction == Direction::up ? "migrate_all" : "rollback_all";
}

// Whether the tenant has anything to do, judged without its lock and without
// waiting or raising: a tenant with work, or one the peek cannot judge, is
// locked and read again by migrate_tenant()/rollback_tenant(), inside its
// subtransaction. nullopt when the tenant's schema is gone (dropped meanwhile).
std::optional<bool> has_work(const std::string& tenant,
                             const std::vector<core::RegisteredVersion>& registered,
                             const VersionFilter& relevant, const RunOptions& options) {
    std::vector<AppliedMigration> rows;
    switch (read_applied_migrations(tenant, ReadMode::peek, rows, &relevant)) {
        case TenantTable::no_schema: return std::nullopt;
        case TenantTable::unknown: return true;
        case TenantTable::no_table:
        case TenantTable::present: break;
    }
    std::set<std::int64_t> applied = versions_of(rows);
    if (options.direction == Direction::up)
        return !core::plan_migrate(registered, applied, options.target).empty();
    // A rollback's own refusals (no down_sql) belong to the tenant's run.
    return applied.upper_bound(*options.target) != applied.end();
}

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

// Runs one tenant in a subtransaction, the way plpgsql runs a block with an
// EXCEPTION clause. Returns the error message on failure (the tenant then is
// as it was); in 'stop' mode, records it and rethrows.
std::optional<std::string> run_tenant(const std::string& tenant, const RunOptions& options,
                                      bool had_last_error) {
    MemoryContext caller_context = CurrentMemoryContext;
    ResourceOwner caller_owner = CurrentResourceOwner;
    call_postgres([] { BeginInternalSubTransaction(nullptr); });
    MemoryContextSwitchTo(caller_context);

    std::exception_ptr failure;
    std::optional<std::int64_t> online_next;  // a non-transactional migration reached
    try {
        // Read again in each tenant's transaction, under the registry's lock:
        // a migration registered meanwhile is run with the text it has now.
        std::vector<Migration> registered = registered_migrations();
        if (options.direction == Direction::up)
            migrate_tenant(tenant, registered, options.target,
                           options.commit_each_tenant ? OnlineMigrations::stop_before
                                                      : OnlineMigrations::refuse,
                           &online_next);
        else
            rollback_tenant(tenant, registered, *options.target);
        call_postgres([] { ReleaseCurrentSubTransaction(); });
        MemoryContextSwitchTo(caller_context);
        CurrentResourceOwner = caller_owner;
    } catch (...) {
        failure = std::current_exception();
        call_postgres([] { RollbackAndReleaseCurrentSubTransaction(); });
        MemoryContextSwitchTo(caller_context);
        CurrentResourceOwner = caller_owner;
    }
    // The rest of the tenant, from its first non-transactional migration on,
    // runs in a background worker, between transactions (online_migration.hpp).
    if (!failure && online_next) {
        try {
            migrate_rest_in_worker(tenant, options.target);
        } catch (...) {
            failure = std::current_exception();
        }
    }
    if (failure && ends_the_run(failure)) std::rethrow_exception(failure);

    std::optional<std::string> message;
    if (failure) message = describe_error(failure);
    if (message)
        set_last_error(tenant, message);
    else if (had_last_error)
        set_last_error(tenant, std::nullopt);
    if (failure && options.on_error == OnError::stop) {
        if (options.commit_each_tenant) call_postgres([] { SPI_commit(); });
        std::rethrow_exception(failure);
    }
    return message;
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
    return relevant;
}

void run_all(const RunOptions& options) {
    std::vector<TenantRow> tenants = tenants_in_name_order();
    std::vector<Migration> registered = registered_migrations();
    std::vector<core::RegisteredVersion> versions = registered_versions(registered);
    VersionFilter relevant = relevant_versions(versions, options);
    const char* name = procedure_name(options);
    // PostgreSQL never evicts catalog and relation cache entries, and every
    // tenant brings its own relations: the budget resets the caches once they
    // have grown by more than it, so the backend does not grow with the
    // number of tenants.
    CatalogCacheBudget cache_budget;

    // Per-tenant allocations (error copies, scans) go here and are freed
    // after each tenant, so memory does not grow with the number of tenants.
    MemoryContext run_context = CurrentMemoryContext;
    MemoryContext tenant_context = call_postgres([] {
        return AllocSetContextCreate(CurrentMemoryContext, "pg_tenancy tenant",
                                     ALLOCSET_DEFAULT_SIZES);
    });

    std::size_t done = 0, changed = 0, skipped = 0;
    std::vector<std::string> failed;
    std::size_t next_report = 1;
    for (const TenantRow& row : tenants) {
        MemoryContextSwitchTo(tenant_context);
        std::optional<bool> work = has_work(row.tenant, versions, relevant, options);
        if (!work) {
            skipped++;  // dropped since the list was read
        } else if (*work || row.has_last_error) {
            std::optional<std::string> error = run_tenant(row.tenant, options, row.has_last_error);
            if (error)
                failed.push_back(row.tenant);
            else if (*work)
                changed++;
            if (options.commit_each_tenant) call_postgres([] { SPI_commit(); });
        }
        MemoryContextSwitchTo(run_context);
        call_postgres([&] { MemoryContextReset(tenant_context); });

        done++;
        cache_budget.note();
        // Progress at least every 10 % of the tenants.
        if (done * 10 >= next_report * tenants.size() && done < tenants.size()) {
            notice(fmt::format("{}: {} of {} tenants done", name, done, tenants.size()));
            while (next_report * tenants.size() <= done * 10) next_report++;
        }
    }
    call_postgres([&] { MemoryContextDelete(tenant_context); });

    notice(fmt::format("{}: {} tenants, {} {}, {} failed, {} up to date{}", name, tenants.size(),
                       changed, options.direction == Direction::up ? "migrated" : "rolled back",
                       failed.size(), tenants.size() - changed - failed.size() - skipped,
                       skipped ? fmt::format(", {} dropped meanwhile", skipped) : ""));
    if (!failed.empty()) {
        std::string list;
        for (std::size_t i = 0; i < failed.size() && i < 20; i++)
            list += (i ? ", " : "") + ("\"" + failed[i] + "\"");
        if (failed.size() > 20) list += fmt::format(" and {} more", failed.size() - 20);
        call_postgres([&] { emit_failed_tenants_warning(name, failed.size(), list.c_str()); });
    }
}

OnError parse_on_error(const std::string& value) {
    if (value == "stop") return OnError::stop;
    if (value == "continue") return OnError::continue_;
    throw core::Error(core::sqlstate::invalid_parameter_value,
                      fmt::format("invalid on_error value \"{}\"", value), "",
                      "on_error is 'stop' or 'continue'.");
}

Datum run_procedure(FunctionCallInfo fcinfo, Direction direction) {
    return guard_entry([&] {
        RunOptions options;
        options.direction = direction;
        options.target = int64_argument(fcinfo, 0);
        if (direction == Direction::down && !options.target)
            throw core::Error(core::sqlstate::null_value_not_allowed,
                              "target_version must not be null");
        options.on_error = parse_on_error(required_text_argument(fcinfo, 1, "on_error"));
        options.commit_each_tenant = called_nonatomically(fcinfo);

        spi::connect(options.commit_each_tenant);
        run_all(options);
        spi::finish();
        return Datum(0);
    });
}

}  // namespace

}  // namespace tenancy::pg

extern "C" {

PG_FUNCTION_INFO_V1(tenancy_migrate_all);
PG_FUNCTION_INFO_V1(tenancy_rollback_all);

// CALL tenancy.migrate_all(target_version bigint DEFAULT NULL, on_error text DEFAULT 'stop')
Datum tenancy_migrate_all(PG_FUNCTION_ARGS) {
    return tenancy::pg::run_procedure(fcinfo, tenancy::pg::Direction::up);
}

// CALL tenancy.rollback_all(target_version bigint, on_error text DEFAULT 'stop')
Datum tenancy_rollback_all(PG_FUNCTION_ARGS) {
    return tenancy::pg::run_procedure(fcinfo, tenancy::pg::Direction::down);
}

}  // extern "C"
