#include "migration_runner.hpp"

#include <fmt/format.h>

#include "../core/error.hpp"
#include "../core/identifier.hpp"
#include "../core/placeholders.hpp"
#include "citus.hpp"
#include "error_boundary.hpp"
#include "migration_sandbox.hpp"
#include "online_migration.hpp"
#include "schema_migrations.hpp"
#include "spi.hpp"

namespace tenancy::pg {

namespace {

// What the CONTEXT line of an error raised inside a migration names.
struct MigrationContext {
    const char* tenant;  // nullptr while checking a text outside any tenant
    std::int64_t version;
    const char* name;
    const char* direction;
    const char* text;  // the text being parsed, for a syntax error's position
};

void report_migration_context(void* arg) {
    auto* context = static_cast<MigrationContext*>(arg);
    // A syntax error points into the migration's text, not the caller's query.
    int position = geterrposition();
    if (position > 0 && context->text) {
        errposition(0);
        internalerrposition(position);
        internalerrquery(context->text);
    }
    if (context->tenant)
        errcontext("%s of migration %lld \"%s\" in tenant \"%s\"", context->direction,
                   static_cast<long long>(context->version), context->name, context->tenant);
    else
        errcontext("%s of migration %lld \"%s\"", context->direction,
                   static_cast<long long>(context->version), context->name);
}

// Pushes the migration's CONTEXT callback for as long as it lives. Only
// pointers change hands, so unwinding past it is safe; a PostgreSQL error that
// longjmps past it is caught by call_postgres() first, which restores
// error_context_stack itself.
class MigrationContextScope {
public:
    explicit MigrationContextScope(MigrationContext& context) {
        callback_.callback = report_migration_context;
        callback_.arg = &context;
        callback_.previous = error_context_stack;
        error_context_stack = &callback_;
    }
    ~MigrationContextScope() { error_context_stack = callback_.previous; }
    MigrationContextScope(const MigrationContextScope&) = delete;
    MigrationContextScope& operator=(const MigrationContextScope&) = delete;

private:
    ErrorContextCallback callback_{};
};

// Statements that PostgreSQL runs only outside a transaction block; online is
// set for those a non-transactional migration may hold (the CONCURRENTLY
// forms). Others of the kind (VACUUM inside a DO block, say) still fail when
// they run, with the same CONTEXT.
bool needs_own_transaction(Node* statement, const char** what, bool* online) {
    *what = CreateCommandName(statement);
    *online = false;
    switch (nodeTag(statement)) {
        case T_IndexStmt:
            *what = "CREATE INDEX CONCURRENTLY";
            *online = true;
            return reinterpret_cast<IndexStmt*>(statement)->concurrent;
        case T_DropStmt:
            *what = "DROP INDEX CONCURRENTLY";
            *online = true;
            return reinterpret_cast<DropStmt*>(statement)->concurrent;
        case T_VacuumStmt:
        case T_CreatedbStmt:
        case T_DropdbStmt:
        case T_AlterSystemStmt:
        case T_CreateTableSpaceStmt:
        case T_DropTableSpaceStmt:
        case T_CreateSubscriptionStmt:
        case T_DropSubscriptionStmt:
            return true;
        case T_ReindexStmt: {
            auto* reindex = reinterpret_cast<ReindexStmt*>(statement);
            ListCell* cell;
            foreach (cell, reindex->params) {
                auto* option = static_cast<DefElem*>(lfirst(cell));
                if (strcmp(option->defname, "concurrently") == 0 && defGetBoolean(option)) {
                    *what = "REINDEX CONCURRENTLY";
                    *online = true;
                    return true;
                }
            }
            return false;
        }
        default:
            return false;
    }
}

// Parses the text and refuses what no migration may hold; returns the parsed
// statements. Called inside call_postgres(), under the migration's context.
List* parse_migration(const char* sql, const char* which_text, bool transactional) {
    List* statements = pg_parse_query(sql);
    ListCell* cell;
    foreach (cell, statements) {
        Node* statement = lfirst_node(RawStmt, cell)->stmt;
        if (IsA(statement, TransactionStmt))
            ereport(ERROR,
                    (errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
                     errmsg("%s of a migration may not contain %s", which_text,
                            CreateCommandName(statement)),
                     transactional
                         ? errdetail("A migration runs inside the transaction pg_tenancy opens for it; "
                                     "nothing was applied.")
                         : errdetail("pg_tenancy runs each statement of a non-transactional migration "
                                     "in a transaction of its own; nothing was applied."),
                     errhint("Remove the transaction control statements from the migration.")));
        // Refused when they run anyway (wherever they come from); here they
        // are found before anything runs, and at registration.
        if (const char* refused = outlives_sandbox(statement)) refuse_outliving_statement(refused);
        // SPI has no client to exchange COPY data with.
        if (IsA(statement, CopyStmt) && reinterpret_cast<CopyStmt*>(statement)->filename == nullptr) {
            const char* copy = reinterpret_cast<CopyStmt*>(statement)->is_from ? "COPY FROM STDIN"
                                                                                : "COPY TO STDOUT";
            ereport(ERROR,
                    (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                     errmsg("%s of a migration may not contain %s", which_text, copy),
                     errdetail("A migration runs inside the server, with no client to exchange "
                               "COPY data with; nothing was applied."),
                     errhint("Write the rows as INSERT statements, or COPY from a server-side "
                             "file.")));
        }
        const char* what;
        bool online;
        if (!needs_own_transaction(statement, &what, &online)) continue;
        if (online && !transactional) {
            // A rerun finds what a failed build left by the index's name
            // (online_migration.cpp); a name PostgreSQL chooses would differ.
            if (IsA(statement, IndexStmt) && reinterpret_cast<IndexStmt*>(statement)->idxname == nullptr)
                ereport(ERROR,
                        (errcode(ERRCODE_SYNTAX_ERROR),
                         errmsg("%s of a migration must name the index of CREATE INDEX CONCURRENTLY",
                                which_text),
                         errdetail("A rerun after a failed build finds the invalid index it left by "
                                   "its name, drops it and builds it again; nothing was applied."),
                         errhint("Write CREATE INDEX CONCURRENTLY IF NOT EXISTS <name> ON ....")));
            continue;
        }
        if (online)
            ereport(ERROR,
                    (errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
                     errmsg("%s of a migration may not contain %s", which_text, what),
                     errdetail("%s cannot run inside a transaction block, and a transactional "
                               "migration always runs in one; nothing was applied.",
                               what),
                     errhint("Register the migration with transactional => false (in a migration "
                             "file: begin it with the line -- tenancy:no-transaction): its "
                             "statements then run one by one, each in a transaction of its own.")));
        ereport(ERROR,
                (errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
                 errmsg("%s of a migration may not contain %s", which_text, what),
                 errdetail("%s cannot run inside a transaction block, and pg_tenancy runs every "
                           "statement of a migration in one; nothing was applied.",
                           what)));
    }
    return statements;
}

// The text of one parsed statement, palloc'd, without its leading blanks.
char* statement_text(const char* sql, RawStmt* statement) {
    const char* start = sql + statement->stmt_location;
    int length = statement->stmt_len > 0 ? statement->stmt_len : static_cast<int>(strlen(start));
    while (length > 0 && scanner_isspace(*start)) {
        start++;
        length--;
    }
    return pnstrdup(start, length);
}

// Runs the parsed statements one by one, so that an error's CONTEXT quotes the
// failing statement rather than the whole migration.
void execute_statements(const char* tenant, const char* sql, List* statements) {
    ListCell* cell;
    foreach (cell, statements) {
        char* text = statement_text(sql, lfirst_node(RawStmt, cell));
        int rc = SPI_execute(text, false, 0);
        if (rc < 0) elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
        SPI_freetuptable(SPI_tuptable);
        pfree(text);
        // What Citus does to a top-level CREATE TABLE in a distributed schema.
        citus::distribute_new_tables(tenant);
    }
}

// The lock manager's "out of shared memory" says little about a migration
// that simply touches too many relations for one transaction.
void explain_lock_exhaustion(ErrorData* error, const Migration& migration) {
    if (error->sqlerrcode != ERRCODE_OUT_OF_MEMORY || error->message == nullptr ||
        strcmp(error->message, "out of shared memory") != 0)
        return;
    std::string detail = fmt::format(
        "Migration {} \"{}\" takes more locks than one transaction can hold: every relation it "
        "creates, alters or drops is locked until it commits, and the server keeps room for "
        "max_locks_per_transaction ({}) locks per connection.",
        migration.version, migration.name, max_locks_per_xact);
    call_postgres([&] {
        error->detail = pstrdup(detail.c_str());
        error->hint = pstrdup("Split the migration into several versions, or raise "
                              "max_locks_per_transaction (a server restart is needed).");
    });
}

}  // namespace

int check_migration_text(const std::string& sql, const Migration& migration,
                         const char* which_text) {
    // The placeholder is not SQL until substituted; any quoted name will do.
    std::string checked = core::substitute_tenant(sql, "tenant");
    MigrationContext context{nullptr, migration.version, migration.name.c_str(), "registration",
                             checked.c_str()};
    MigrationContextScope scope(context);
    return call_postgres([&] {
        MemoryContext parse_context = AllocSetContextCreate(
            CurrentMemoryContext, "pg_tenancy migration check", ALLOCSET_DEFAULT_SIZES);
        MemoryContext caller_context = MemoryContextSwitchTo(parse_context);
        int count = list_length(parse_migration(checked.c_str(), which_text, migration.transactional));
        MemoryContextSwitchTo(caller_context);
        MemoryContextDelete(parse_context);
        return count;
    });
}

std::vector<std::string> split_migration(const std::string& tenant, const Migration& migration) {
    std::string sql;
    try {
        sql = core::substitute_tenant(migration.up_sql, tenant);
    } catch (const core::Error& e) {
        throw core::Error(e.sqlstate(), e.what(),
                          fmt::format("{} Migration {} \"{}\" was not run in tenant {}.", e.detail(),
                                      migration.version, migration.name,
                                      core::quote_identifier(tenant)),
                          e.hint());
    }
    MigrationContext context{tenant.c_str(), migration.version, migration.name.c_str(), "up",
                             sql.c_str()};
    MigrationContextScope scope(context);
    std::vector<std::string> texts;
    MemoryContext parse_context = call_postgres([] {
        return AllocSetContextCreate(CurrentMemoryContext, "pg_tenancy migration split",
                                     ALLOCSET_DEFAULT_SIZES);
    });
    try {
        List* statements = call_postgres([&] {
            MemoryContext caller_context = MemoryContextSwitchTo(parse_context);
            List* parsed = parse_migration(sql.c_str(), "up_sql", migration.transactional);
            MemoryContextSwitchTo(caller_context);
            return parsed;
        });
        ListCell* cell;
        foreach (cell, statements) {
            char* text = call_postgres([&] {
                MemoryContext caller_context = MemoryContextSwitchTo(parse_context);
                char* copy = statement_text(sql.c_str(), lfirst_node(RawStmt, cell));
                MemoryContextSwitchTo(caller_context);
                return copy;
            });
            texts.emplace_back(text);
        }
    } catch (...) {
        call_postgres([&] { MemoryContextDelete(parse_context); });
        throw;
    }
    call_postgres([&] { MemoryContextDelete(parse_context); });
    return texts;
}

void run_migration(const std::string& tenant, const Migration& migration, Direction direction) {
    const std::string& text = direction == Direction::up ? migration.up_sql : *migration.down_sql;
    std::string sql;
    try {
        sql = core::substitute_tenant(text, tenant);
    } catch (const core::Error& e) {
        throw core::Error(e.sqlstate(), e.what(),
                          fmt::format("{} Migration {} \"{}\" was not run in tenant {}.", e.detail(),
                                      migration.version, migration.name,
                                      core::quote_identifier(tenant)),
                          e.hint());
    }
    check_shared_schemas_not_writable();
    MigrationSandbox sandbox(tenant);
    // Inside a transaction, a non-transactional migration's CONCURRENTLY
    // forms run as their plain forms (a new tenant, a rollback).
    std::optional<ConcurrentlyDropped> plain_forms;
    if (!migration.transactional) plain_forms.emplace();

    try {
        MigrationContext context{tenant.c_str(), migration.version, migration.name.c_str(),
                                 direction == Direction::up ? "up" : "down", sql.c_str()};
        MigrationContextScope scope(context);
        const char* which_text = direction == Direction::up ? "up_sql" : "down_sql";
        call_postgres([&] {
            // Parse trees and everything else the run allocates outside SPI
            // go in a context of their own, freed when the migration is done.
            MemoryContext run_context = AllocSetContextCreate(
                CurrentMemoryContext, "pg_tenancy migration", ALLOCSET_DEFAULT_SIZES);
            MemoryContext caller_context = MemoryContextSwitchTo(run_context);
            List* statements = parse_migration(sql.c_str(), which_text, migration.transactional);
            // A connection of its own, atomic: a CALLed procedure cannot commit.
            if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
            execute_statements(tenant.c_str(), sql.c_str(), statements);
            SPI_finish();
            MemoryContextSwitchTo(caller_context);
            MemoryContextDelete(run_context);
        });
        // The bookkeeping is part of the migration: in the sandbox, as the
        // owner, so the owner's triggers on the table run there too.
        if (direction == Direction::up)
            schema_migrations::record_applied(tenant, migration.version);
        else
            schema_migrations::forget_applied(tenant, migration.version);
        sandbox.finish();
    } catch (const PostgresError& e) {
        explain_lock_exhaustion(e.error(), migration);
        throw;
    }
}

}  // namespace tenancy::pg
