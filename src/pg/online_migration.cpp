#include "online_migration.hpp"

#include <exception>
#include <vector>

#include <fmt/format.h>

#include "../core/error.hpp"
#include "../core/identifier.hpp"
#include "applied_migrations.hpp"
#include "background_workers.hpp"
#include "error_boundary.hpp"
#include "migration_registry.hpp"
#include "migration_runner.hpp"
#include "migration_sandbox.hpp"
#include "registry.hpp"
#include "schema_migrations.hpp"
#include "shared_schemas.hpp"
#include "spi.hpp"
#include "tenant_migrations.hpp"

extern "C" {
#include "catalog/pg_index.h"
#include "parser/analyze.h"
#include "pgstat.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "tcop/pquery.h"
#include "utils/portal.h"
}

namespace tenancy::pg {

namespace {

// ---------------------------------------------------------------------------
// The hook: CONCURRENTLY dropped inside a transaction, and a worker's
// statements kept to the sandbox's rules.

int concurrently_dropped_depth = 0;
// A statement of a non-transactional migration is running in this process.
int online_statement_depth = 0;
ProcessUtility_hook_type previous_process_utility = nullptr;

bool drop_concurrently(Node* statement) {
    switch (nodeTag(statement)) {
        case T_IndexStmt: {
            auto* index = reinterpret_cast<IndexStmt*>(statement);
            bool had = index->concurrent;
            index->concurrent = false;
            return had;
        }
        case T_DropStmt: {
            auto* drop = reinterpret_cast<DropStmt*>(statement);
            bool had = drop->concurrent;
            drop->concurrent = false;
            return had;
        }
        case T_ReindexStmt: {
            auto* reindex = reinterpret_cast<ReindexStmt*>(statement);
            List* kept = NIL;
            bool had = false;
            ListCell* cell;
            foreach (cell, reindex->params) {
                auto* option = static_cast<DefElem*>(lfirst(cell));
                if (strcmp(option->defname, "concurrently") == 0)
                    had = true;
                else
                    kept = lappend(kept, option);
            }
            reindex->params = kept;
            return had;
        }
        default:
            return false;
    }
}

bool is_concurrent_form(Node* statement) {
    switch (nodeTag(statement)) {
        case T_IndexStmt: return reinterpret_cast<IndexStmt*>(statement)->concurrent;
        case T_DropStmt: return reinterpret_cast<DropStmt*>(statement)->concurrent;
        case T_ReindexStmt: {
            ListCell* cell;
            foreach (cell, reinterpret_cast<ReindexStmt*>(statement)->params)
                if (strcmp(static_cast<DefElem*>(lfirst(cell))->defname, "concurrently") == 0)
                    return true;
            return false;
        }
        default: return false;
    }
}

void online_process_utility(PlannedStmt* statement, const char* query_string, bool read_only_tree,
                            ProcessUtilityContext context, ParamListInfo params,
                            QueryEnvironment* environment, DestReceiver* destination,
                            QueryCompletion* completion) {
    Node* utility = statement->utilityStmt;
    if (concurrently_dropped_depth > 0 && is_concurrent_form(utility)) {
        // The tree may be a cached plan's: change a copy.
        statement = static_cast<PlannedStmt*>(copyObjectImpl(statement));
        read_only_tree = false;
        drop_concurrently(statement->utilityStmt);
    }
    if (online_statement_depth > 0) {
        if (const char* refused = outlives_sandbox(utility)) refuse_outliving_statement(refused);
        // Transaction control stays refused: a DO block or a procedure run
        // as a top-level statement could COMMIT; run atomically, it cannot.
        if (context == PROCESS_UTILITY_TOPLEVEL && (IsA(utility, DoStmt) || IsA(utility, CallStmt)))
            context = PROCESS_UTILITY_QUERY;
    }
    if (previous_process_utility)
        previous_process_utility(statement, query_string, read_only_tree, context, params,
                                 environment, destination, completion);
    else
        standard_ProcessUtility(statement, query_string, read_only_tree, context, params,
                                environment, destination, completion);
}

// ---------------------------------------------------------------------------
// Transactions of a process outside any transaction (a background worker).

// A memory context of the run's own, under the caller's: it survives the
// run's commits and aborts.
class RunMemory {
public:
    RunMemory() {
        context_ = call_postgres([&] {
            return AllocSetContextCreate(CurrentMemoryContext, "pg_tenancy online migration",
                                         ALLOCSET_DEFAULT_SIZES);
        });
        caller_ = CurrentMemoryContext;
    }
    ~RunMemory() {
        MemoryContextSwitchTo(caller_);
        MemoryContextDelete(context_);
    }
    RunMemory(const RunMemory&) = delete;
    RunMemory& operator=(const RunMemory&) = delete;
    MemoryContext context() const { return context_; }
    MemoryContext caller() const { return caller_; }

private:
    MemoryContext context_ = nullptr;
    MemoryContext caller_ = nullptr;
};

char* copy_text(const char* text, MemoryContext context) {
    return text ? MemoryContextStrdup(context, text) : nullptr;
}

// A copy of the error in context, for a caller whose run memory goes away.
ErrorData* copy_error(const ErrorData* error, MemoryContext context) {
    auto* copy = static_cast<ErrorData*>(MemoryContextAlloc(context, sizeof(ErrorData)));
    *copy = *error;
    copy->message = copy_text(error->message, context);
    copy->detail = copy_text(error->detail, context);
    copy->detail_log = copy_text(error->detail_log, context);
    copy->hint = copy_text(error->hint, context);
    copy->context = copy_text(error->context, context);
    copy->backtrace = copy_text(error->backtrace, context);
    copy->message_id = copy_text(error->message_id, context);
    copy->schema_name = copy_text(error->schema_name, context);
    copy->table_name = copy_text(error->table_name, context);
    copy->column_name = copy_text(error->column_name, context);
    copy->datatype_name = copy_text(error->datatype_name, context);
    copy->constraint_name = copy_text(error->constraint_name, context);
    copy->internalquery = copy_text(error->internalquery, context);
    copy->assoc_context = context;
    return copy;
}

// Runs work in a transaction of its own, with a snapshot, and commits; an
// error aborts the transaction and is thrown with its data in memory that
// outlives it.
template <typename Work>
void in_own_transaction(MemoryContext memory, Work&& work) {
    call_postgres([&] {
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        PushActiveSnapshot(GetTransactionSnapshot());
        MemoryContextSwitchTo(memory);
    });
    try {
        work();
        call_postgres([&] {
            if (ActiveSnapshotSet()) PopActiveSnapshot();
            CommitTransactionCommand();
            MemoryContextSwitchTo(memory);
        });
    } catch (const PostgresError& e) {
        ErrorData* kept = copy_error(e.error(), memory);
        MemoryContextSwitchTo(memory);
        call_postgres([] { AbortCurrentTransaction(); });
        MemoryContextSwitchTo(memory);
        throw PostgresError(kept);
    } catch (...) {
        MemoryContextSwitchTo(memory);
        call_postgres([] { AbortCurrentTransaction(); });
        MemoryContextSwitchTo(memory);
        throw;
    }
}

// ---------------------------------------------------------------------------
// One statement of a non-transactional migration.

struct OnlineRun {
    std::string tenant;
    Migration migration;
    Oid owner = InvalidOid;
    std::string search_path;
    std::vector<std::string> statements;
    // The migration's own top-level SET statements run so far: each later
    // statement runs after them, as in a session replaying the file.
    std::vector<std::string> settings;
    bool applied_already = false;
};

// What a statement is, judged from its parse tree: a top-level SET or
// RESET (not SET LOCAL), or a CREATE INDEX CONCURRENTLY that names its index.
enum StatementKind { other_statement, setting_statement, named_index_build };

StatementKind statement_kind(const std::string& text) {
    return call_postgres([&] {
        List* parsed = pg_parse_query(text.c_str());
        if (list_length(parsed) != 1) return other_statement;
        Node* statement = linitial_node(RawStmt, parsed)->stmt;
        if (IsA(statement, VariableSetStmt) && !reinterpret_cast<VariableSetStmt*>(statement)->is_local)
            return setting_statement;
        if (IsA(statement, IndexStmt) && reinterpret_cast<IndexStmt*>(statement)->concurrent &&
            reinterpret_cast<IndexStmt*>(statement)->idxname != nullptr)
            return named_index_build;
        return other_statement;
    });
}

// Enters the run's settings at a new GUC nest level, as the tenant's owner;
// the caller leaves with AtEOXact_GUC(false, level) and restores the user.
// Called inside call_postgres(), in a transaction.
int enter_tenant_settings(const OnlineRun& run, Oid* saved_user, int* saved_context) {
    GetUserIdAndSecContext(saved_user, saved_context);
    SetUserIdAndSecContext(run.owner, *saved_context | SECURITY_LOCAL_USERID_CHANGE);
    int level = NewGUCNestLevel();
    apply_migration_settings(run.search_path.c_str());
    return level;
}

void replay_settings(const OnlineRun& run) {
    if (run.settings.empty()) return;
    spi::connect();
    for (const std::string& setting : run.settings) spi::execute(setting);
    spi::finish();
}

// The invalid index that a failed CREATE INDEX CONCURRENTLY of this name
// left in the table's schema, qualified and quoted; nullopt when there is
// none (or a valid one). Resolved as the statement will be: as the owner,
// on the tenant's search_path.
std::optional<std::string> invalid_index_left(const OnlineRun& run, const std::string& text,
                                              MemoryContext memory) {
    std::optional<std::string> found;
    in_own_transaction(memory, [&] {
        Oid saved_user;
        int saved_context;
        int level = call_postgres([&] { return enter_tenant_settings(run, &saved_user, &saved_context); });
        replay_settings(run);
        const char* schema = nullptr;
        const char* name = nullptr;
        call_postgres([&] {
            List* parsed = pg_parse_query(text.c_str());
            auto* index = reinterpret_cast<IndexStmt*>(linitial_node(RawStmt, parsed)->stmt);
            Oid table = RangeVarGetRelid(index->relation, NoLock, true);
            if (!OidIsValid(table)) return;
            Oid schema_oid = get_rel_namespace(table);
            Oid existing = get_relname_relid(index->idxname, schema_oid);
            if (!OidIsValid(existing)) return;
            HeapTuple tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(existing));
            if (!HeapTupleIsValid(tuple)) return;  // a table or other relation of that name
            bool valid = reinterpret_cast<Form_pg_index>(GETSTRUCT(tuple))->indisvalid;
            ReleaseSysCache(tuple);
            if (valid) return;
            schema = get_namespace_name(schema_oid);
            name = pstrdup(index->idxname);
        });
        if (schema && name) found = core::quote_identifier(schema) + "." + core::quote_identifier(name);
        call_postgres([&] {
            AtEOXact_GUC(false, level);
            SetUserIdAndSecContext(saved_user, saved_context);
        });
    });
    return found;
}

// Runs text as exec_simple_query runs a statement: parsed, analysed, planned
// and run through a portal as a top-level statement, its trees in memory
// that survives the commits a CONCURRENTLY build makes inside. The current
// transaction is the statement's (no snapshot pushed).
void execute_top_level(const char* text, MemoryContext memory) {
    MemoryContext previous = MemoryContextSwitchTo(memory);
    List* parsed = pg_parse_query(text);
    RawStmt* raw = linitial_node(RawStmt, parsed);
    bool snapshot_set = false;
    if (analyze_requires_snapshot(raw)) {
        PushActiveSnapshot(GetTransactionSnapshot());
        snapshot_set = true;
    }
    List* queries = pg_analyze_and_rewrite_fixedparams(raw, text, nullptr, 0, nullptr);
    List* plans = pg_plan_queries(queries, text, CURSOR_OPT_PARALLEL_OK, nullptr);
    if (snapshot_set) PopActiveSnapshot();

    Portal portal = CreatePortal("", true, true);
    portal->visible = false;
    PortalDefineQuery(portal, nullptr, text, CreateCommandTag(raw->stmt), plans, nullptr);
    PortalStart(portal, nullptr, 0, InvalidSnapshot);
    DestReceiver* receiver = CreateDestReceiver(DestNone);
    QueryCompletion completion;
    InitializeQueryCompletion(&completion);
#if PG_VERSION_NUM >= 180000
    (void)PortalRun(portal, FETCH_ALL, true, receiver, receiver, &completion);
#else
    (void)PortalRun(portal, FETCH_ALL, true, true, receiver, receiver, &completion);
#endif
    receiver->rDestroy(receiver);
    PortalDrop(portal, false);
    MemoryContextSwitchTo(previous);
}

// One statement in a transaction of its own, as the tenant's owner under
// the run's settings; the deferred events it queued fire before the
// settings are left, still as the owner. Called between transactions.
void run_statement(const OnlineRun& run, const std::string& text, MemoryContext memory) {
    Oid saved_user = InvalidOid;
    int saved_context = 0;
    MemoryContext statement_memory = call_postgres([&] {
        return AllocSetContextCreate(memory, "pg_tenancy online statement", ALLOCSET_DEFAULT_SIZES);
    });
    try {
        std::int64_t temp_objects = 0;
        call_postgres([&] {
            SetCurrentStatementStartTimestamp();
            StartTransactionCommand();
            MemoryContextSwitchTo(memory);
            pgstat_report_activity(STATE_RUNNING, text.c_str());
            PushActiveSnapshot(GetTransactionSnapshot());
        });
        spi::connect();
        temp_objects = count_temp_objects();
        spi::finish();
        int level = call_postgres([&] {
            PopActiveSnapshot();
            return enter_tenant_settings(run, &saved_user, &saved_context);
        });
        if (!run.settings.empty()) {
            call_postgres([] { PushActiveSnapshot(GetTransactionSnapshot()); });
            replay_settings(run);
            call_postgres([] { PopActiveSnapshot(); });
        }
        call_postgres([&] {
            online_statement_depth++;
            execute_top_level(text.c_str(), statement_memory);
            online_statement_depth--;
            MemoryContextSwitchTo(memory);
            PushActiveSnapshot(GetTransactionSnapshot());
        });
        spi::connect();
        spi::execute("SET CONSTRAINTS ALL IMMEDIATE");
        if (count_temp_objects() != temp_objects)
            throw core::Error("42501", "cannot create temporary objects in a migration",
                              "A migration runs in a sandbox: nothing it does may outlive it in "
                              "the caller's session, nor shadow the objects it means.");
        spi::finish();
        call_postgres([&] {
            PopActiveSnapshot();
            AtEOXact_GUC(false, level);
            // Committed as the owner: nothing the owner's code queued runs
            // with the worker's rights.
            CommitTransactionCommand();
            SetUserIdAndSecContext(saved_user, saved_context);
            MemoryContextSwitchTo(memory);
            MemoryContextDelete(statement_memory);
        });
    } catch (const PostgresError& e) {
        online_statement_depth = 0;
        ErrorData* kept = copy_error(e.error(), memory);
        MemoryContextSwitchTo(memory);
        call_postgres([] { AbortCurrentTransaction(); });
        if (OidIsValid(saved_user)) SetUserIdAndSecContext(saved_user, saved_context);
        MemoryContextSwitchTo(memory);
        MemoryContextDelete(statement_memory);
        throw PostgresError(kept);
    } catch (...) {
        online_statement_depth = 0;
        MemoryContextSwitchTo(memory);
        call_postgres([] { AbortCurrentTransaction(); });
        if (OidIsValid(saved_user)) SetUserIdAndSecContext(saved_user, saved_context);
        MemoryContextSwitchTo(memory);
        MemoryContextDelete(statement_memory);
        throw;
    }
}

// The start of a statement's text for a message: its first 60 bytes (at a
// character boundary), blanks folded, "..." when cut.
std::string text_start(const std::string& text) {
    std::string folded;
    for (char c : text) {
        bool blank = c == ' ' || c == '\n' || c == '\r' || c == '\t';
        if (blank && (folded.empty() || folded.back() == ' ')) continue;
        folded += blank ? ' ' : c;
    }
    constexpr int limit = 60;
    if (folded.size() <= limit) return folded;
    int cut = call_postgres([&] { return pg_mbcliplen(folded.c_str(), static_cast<int>(folded.size()), limit); });
    return folded.substr(0, cut) + "...";
}

std::string which_statement(const OnlineRun& run, std::size_t index) {
    return fmt::format("statement {} of {} of migration {} \"{}\": {}", index + 1,
                       run.statements.size(), run.migration.version, run.migration.name,
                       text_start(run.statements[index]));
}

// The statement's failure, its message naming the statement (so that
// last_error does), its CONTEXT naming the tenant too.
[[noreturn]] void throw_statement_failure(const OnlineRun& run, std::size_t index,
                                          MemoryContext memory) {
    std::string where = which_statement(run, index);
    try {
        throw;
    } catch (const PostgresError& e) {
        ErrorData* error = e.error();
        std::string message = fmt::format("{} ({})", error->message ? error->message : "", where);
        std::string context = fmt::format("{} in tenant \"{}\"", where, run.tenant);
        if (error->context) context = std::string(error->context) + "\n" + context;
        error->message = MemoryContextStrdup(memory, message.c_str());
        error->context = MemoryContextStrdup(memory, context.c_str());
        throw;
    } catch (const core::Error& e) {
        throw core::Error(e.sqlstate(), fmt::format("{} ({})", e.what(), where), e.detail(), e.hint());
    }
}

// The first transaction of a run: the tenant's lock for the session, the
// checks a migration runs after, the migration read and split.
void prepare_run(OnlineRun& run, std::int64_t version, bool& locked, MemoryContext memory) {
    in_own_transaction(memory, [&] {
        registry::lock_tenant_for_session(run.tenant);
        locked = true;
        spi::connect();
        registry::require_registered(run.tenant);
        if (!registry::schema_exists(run.tenant))
            throw core::Error(core::sqlstate::invalid_schema_name,
                              fmt::format("schema of tenant \"{}\" does not exist", run.tenant));
        run.owner = owner_to_act_as(run.tenant);
        schema_migrations::ensure_table(run.tenant);
        VersionFilter only{{version}, std::nullopt};
        std::vector<AppliedMigration> rows;
        read_applied_migrations(run.tenant, ReadMode::for_update, rows, &only);
        run.applied_already = versions_of(rows).count(version) > 0;
        if (!run.applied_already) {
            run.migration = find_migration(registered_migrations(), version);
            if (run.migration.transactional)
                throw core::Error(core::sqlstate::internal_error,
                                  fmt::format("migration {} is not non-transactional", version));
            check_shared_schemas_not_writable();
            run.statements = split_migration(run.tenant, run.migration);
            run.search_path = tenant_search_path(run.tenant);
        }
        spi::finish();
    });
}

// The last transaction: the version recorded, in the sandbox, if the
// registry still holds the text that ran.
void record_run(const OnlineRun& run, MemoryContext memory) {
    in_own_transaction(memory, [&] {
        spi::connect();
        std::vector<Migration> registered = registered_migrations();
        const Migration& now = find_migration(registered, run.migration.version);
        if (now.up_sql != run.migration.up_sql || now.transactional != run.migration.transactional)
            throw core::Error(core::sqlstate::object_not_in_prerequisite_state,
                              fmt::format("migration {} \"{}\" was registered again while it ran in "
                                          "tenant \"{}\"",
                                          run.migration.version, run.migration.name, run.tenant),
                              "Its version was not recorded.",
                              "Run migrate_all again: the migration runs again from its first "
                              "statement, with the text registered now.");
        MigrationSandbox sandbox(run.tenant);
        schema_migrations::record_applied(run.tenant, run.migration.version);
        sandbox.finish();
        spi::finish();
    });
}

}  // namespace

ConcurrentlyDropped::ConcurrentlyDropped() { concurrently_dropped_depth++; }
ConcurrentlyDropped::~ConcurrentlyDropped() { concurrently_dropped_depth--; }

void run_nontransactional_migration(const std::string& tenant, std::int64_t version) {
    RunMemory memory;
    OnlineRun run;
    run.tenant = tenant;
    bool locked = false;
    try {
        prepare_run(run, version, locked, memory.context());
        if (!run.applied_already) {
            for (std::size_t i = 0; i < run.statements.size(); i++) {
                const std::string& text = run.statements[i];
                try {
                    StatementKind kind = statement_kind(text);
                    if (kind == named_index_build) {
                        // What a failed build left: dropped, then built again.
                        if (std::optional<std::string> left = invalid_index_left(run, text, memory.context()))
                            run_statement(run, "DROP INDEX CONCURRENTLY IF EXISTS " + *left,
                                          memory.context());
                    }
                    run_statement(run, text, memory.context());
                    if (kind == setting_statement) run.settings.push_back(text);
                } catch (...) {
                    throw_statement_failure(run, i, memory.context());
                }
            }
            record_run(run, memory.context());
        }
        call_postgres([] { pgstat_report_activity(STATE_IDLE, nullptr); });
    } catch (const PostgresError& e) {
        if (locked) registry::unlock_tenant_for_session(tenant);
        throw PostgresError(copy_error(e.error(), memory.caller()));
    } catch (...) {
        if (locked) registry::unlock_tenant_for_session(tenant);
        throw;
    }
    registry::unlock_tenant_for_session(tenant);
}

void migrate_tenant_between_transactions(const std::string& tenant,
                                         std::optional<std::int64_t> target) {
    RunMemory memory;
    // Each round applies at least one migration or ends.
    for (;;) {
        std::optional<std::int64_t> next;
        try {
            in_own_transaction(memory.context(), [&] {
                spi::connect();
                registry::require_registered(tenant);
                migrate_tenant(tenant, registered_migrations(), target,
                               OnlineMigrations::stop_before, &next);
                spi::finish();
            });
        } catch (const PostgresError& e) {
            throw PostgresError(copy_error(e.error(), memory.caller()));
        }
        if (!next) return;
        MemoryContextSwitchTo(memory.caller());
        run_nontransactional_migration(tenant, *next);
    }
}

// ---------------------------------------------------------------------------
// The background worker, and the caller that waits for it.

namespace {

// What the caller and its worker share (a dynamic shared memory segment).
struct WorkerShared {
    Oid database;
    Oid login_role;  // the role the worker connects as
    Oid user;        // the caller's current user, whom the worker acts as
    bool has_target;
    std::int64_t target;
    char tenant[NAMEDATALEN];
    char lock_timeout[64];
    // Written by the worker before it exits.
    bool finished;
    bool failed;
    int sqlerrcode;
    char message[2048];
    char detail[2048];
    char hint[1024];
    char context[4096];
};

// The worker this backend waits for, stopped if the transaction aborts (a
// cancel, or the caller's own end).
BackgroundWorkerHandle* running_worker = nullptr;

void stop_running_worker() {
    if (running_worker != nullptr) TerminateBackgroundWorker(running_worker);
}

void at_transaction_end(XactEvent event, void*) {
    if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) stop_running_worker();
}

void report_to_caller(WorkerShared* shared) noexcept {
    try {
        throw;
    } catch (const PostgresError& e) {
        const ErrorData* error = e.error();
        shared->sqlerrcode = error->sqlerrcode;
        copy_clipped(shared->message, error->message);
        copy_clipped(shared->detail, error->detail);
        copy_clipped(shared->hint, error->hint);
        copy_clipped(shared->context, error->context);
    } catch (const core::Error& e) {
        const char* s = e.sqlstate();
        shared->sqlerrcode = MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);
        copy_clipped(shared->message, e.what());
        copy_clipped(shared->detail, e.detail().c_str());
        copy_clipped(shared->hint, e.hint().c_str());
    } catch (const std::exception& e) {
        shared->sqlerrcode = ERRCODE_INTERNAL_ERROR;
        copy_clipped(shared->message, e.what());
    } catch (...) {
        shared->sqlerrcode = ERRCODE_INTERNAL_ERROR;
        copy_clipped(shared->message, "unknown C++ exception in pg_tenancy");
    }
    shared->failed = true;
}

// The worker's C++ work; nothing escapes it.
void worker_body(WorkerShared* shared) noexcept {
    try {
        std::optional<std::int64_t> target;
        if (shared->has_target) target = shared->target;
        migrate_tenant_between_transactions(shared->tenant, target);
    } catch (...) {
        report_to_caller(shared);
    }
    pg_write_barrier();
    shared->finished = true;
}

// The segment and the worker of one wait; both let go on every path, the
// worker stopped (and waited for) unless it finished.
class WorkerRun {
public:
    WorkerRun() = default;
    ~WorkerRun() {
        if (handle_ != nullptr) {
            if (!done_) {
                TerminateBackgroundWorker(handle_);
                HOLD_INTERRUPTS();
                (void)WaitForBackgroundWorkerShutdown(handle_);
                RESUME_INTERRUPTS();
            }
            running_worker = nullptr;
            pfree(handle_);
        }
        if (segment_ != nullptr) dsm_detach(segment_);
    }
    WorkerRun(const WorkerRun&) = delete;
    WorkerRun& operator=(const WorkerRun&) = delete;

    dsm_segment* segment_ = nullptr;
    BackgroundWorkerHandle* handle_ = nullptr;
    bool done_ = false;
};

}  // namespace

void migrate_rest_in_worker(const std::string& tenant, std::optional<std::int64_t> target) {
    // What ran so far is the tenant's, committed; the tenant's lock goes
    // with it, for the worker to take. Nothing of this backend may hold back
    // a CONCURRENTLY build while it waits: no snapshot, no lock.
    call_postgres([] {
        SPI_commit();
        InvalidateCatalogSnapshot();
    });
    WorkerRun run;
    WorkerShared* shared = call_postgres([&] {
        run.segment_ = dsm_create(sizeof(WorkerShared), 0);
        dsm_pin_mapping(run.segment_);
        auto* memory = static_cast<WorkerShared*>(dsm_segment_address(run.segment_));
        memset(memory, 0, sizeof(WorkerShared));
        memory->database = MyDatabaseId;
        memory->user = GetUserId();
        memory->login_role = role_to_connect_as();
        strlcpy(memory->lock_timeout, GetConfigOption("lock_timeout", false, false),
                sizeof memory->lock_timeout);
        return memory;
    });
    shared->has_target = target.has_value();
    shared->target = target.value_or(0);
    strlcpy(shared->tenant, tenant.c_str(), sizeof shared->tenant);

    bool started = call_postgres([&] {
        char name[BGW_MAXLEN];
        snprintf(name, sizeof name, "pg_tenancy online migration of \"%s\"", shared->tenant);
        BackgroundWorker worker =
            describe_worker("tenancy_online_migration_main", "pg_tenancy online migration", name,
                            UInt32GetDatum(dsm_segment_handle(run.segment_)));
        worker.bgw_notify_pid = MyProcPid;
        MemoryContext previous = MemoryContextSwitchTo(TopMemoryContext);
        bool registered = RegisterDynamicBackgroundWorker(&worker, &run.handle_);
        MemoryContextSwitchTo(previous);
        if (registered) running_worker = run.handle_;
        return registered;
    });
    if (!started)
        throw core::Error("53000",
                          fmt::format("could not start a background worker to migrate tenant \"{}\"", tenant),
                          "A non-transactional migration runs in a background worker, and no "
                          "background worker slot is free.",
                          "Raise max_worker_processes, or run migrate_all when fewer workers run.");

    // Interruptible: a cancel raises here, and WorkerRun stops the worker.
    BgwHandleStatus status = call_postgres([&] { return WaitForBackgroundWorkerShutdown(run.handle_); });
    run.done_ = true;
    pg_read_barrier();
    if (status == BGWH_STOPPED && shared->finished && !shared->failed) return;

    ErrorData* error = call_postgres([&] {
        auto* data = static_cast<ErrorData*>(palloc0(sizeof(ErrorData)));
        data->elevel = ERROR;
        data->output_to_server = true;
        data->output_to_client = true;
        data->assoc_context = CurrentMemoryContext;
        if (shared->finished) {
            data->sqlerrcode = shared->sqlerrcode;
            data->message = pstrdup(shared->message);
            if (shared->detail[0]) data->detail = pstrdup(shared->detail);
            if (shared->hint[0]) data->hint = pstrdup(shared->hint);
            if (shared->context[0]) data->context = pstrdup(shared->context);
        } else {
            data->sqlerrcode = ERRCODE_ADMIN_SHUTDOWN;
            data->message = psprintf("the background worker migrating tenant \"%s\" ended before it finished",
                                     shared->tenant);
            data->detail = pstrdup("It was terminated; the statement it was running did not complete.");
            data->hint = pstrdup("Run migrate_all again: a non-transactional migration runs again from "
                                 "its first statement.");
        }
        return data;
    });
    throw PostgresError(error);
}

void install_online_migrations() {
    previous_process_utility = ProcessUtility_hook;
    ProcessUtility_hook = online_process_utility;
    RegisterXactCallback(at_transaction_end, nullptr);
}

}  // namespace tenancy::pg

extern "C" {

PGDLLEXPORT void tenancy_online_migration_main(Datum main_arg);

void tenancy_online_migration_main(Datum main_arg) {
    // SIGTERM (the caller's cancel) ends the worker at its next interrupt
    // check, as it ends a backend, not in the middle of anything.
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    dsm_segment* segment = dsm_attach(DatumGetUInt32(main_arg));
    if (segment == nullptr)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("pg_tenancy online migration worker: its caller is gone")));
    auto* shared = static_cast<tenancy::pg::WorkerShared*>(dsm_segment_address(segment));
#ifdef BGWORKER_BYPASS_ROLELOGINCHECK
    BackgroundWorkerInitializeConnectionByOid(shared->database, shared->login_role,
                                              BGWORKER_BYPASS_ROLELOGINCHECK);
#else
    BackgroundWorkerInitializeConnectionByOid(shared->database, shared->login_role, 0);
#endif
    SetUserIdAndSecContext(shared->user, 0);
    SetConfigOption("lock_timeout", shared->lock_timeout, PGC_USERSET, PGC_S_SESSION);
    tenancy::pg::worker_body(shared);
    pgstat_report_activity(STATE_IDLE, nullptr);
    proc_exit(0);
}

}  // extern "C"
