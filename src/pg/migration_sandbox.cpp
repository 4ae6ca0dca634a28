#include "migration_sandbox.hpp"
#include "shared_schemas.hpp"

#include <fmt/format.h>

#include "../core/error.hpp"
#include "../core/identifier.hpp"
#include "error_boundary.hpp"
#include "settings.hpp"
#include "spi.hpp"

extern "C" {
#include "catalog/pg_constraint.h"
#include "catalog/pg_inherits.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
}

namespace tenancy::pg {

namespace {

// The settings every migration runs under, whoever calls it and from where:
// each changes what SQL means or how values are read and printed. Values are
// PostgreSQL's own defaults where it has one that does not depend on initdb.
struct PinnedSetting {
    const char* name;
    const char* value;
};
constexpr PinnedSetting pinned_settings[] = {
    {"DateStyle", "ISO, MDY"},
    {"IntervalStyle", "postgres"},
    {"TimeZone", "UTC"},
    {"timezone_abbreviations", "Default"},
    {"extra_float_digits", "1"},
    {"bytea_output", "hex"},
    {"lc_monetary", "C"},
    {"lc_numeric", "C"},
    {"lc_time", "C"},
    {"standard_conforming_strings", "on"},
    {"backslash_quote", "safe_encoding"},
    {"check_function_bodies", "on"},
    {"transform_null_equals", "off"},
    {"array_nulls", "on"},
    {"quote_all_identifiers", "off"},
    {"row_security", "on"},
    {"xmloption", "content"},
    {"xmlbinary", "base64"},
};

// How many sandboxes are open (a migration may insert into a managed table,
// whose trigger creates a tenant in a sandbox of its own), and the relations
// that DML inside them wrote, outermost first.
int sandbox_depth = 0;
MemoryContext touched_context = nullptr;
List* touched_relations = NIL;

ExecutorStart_hook_type previous_executor_start = nullptr;
ProcessUtility_hook_type previous_process_utility = nullptr;

// Only the relations a statement writes can have row events queued, and so
// deferred ones; their partitions are added when the sandbox finishes.
void remember_result_relations(QueryDesc* query) {
    PlannedStmt* plan = query->plannedstmt;
    if (plan == nullptr || touched_context == nullptr) return;
    MemoryContext caller = MemoryContextSwitchTo(touched_context);
    ListCell* cell;
    foreach (cell, plan->resultRelations) {
        RangeTblEntry* entry = rt_fetch(lfirst_int(cell), plan->rtable);
        if (entry->rtekind == RTE_RELATION) touched_relations = lappend_oid(touched_relations, entry->relid);
    }
    MemoryContextSwitchTo(caller);
}

void sandbox_executor_start(QueryDesc* query, int eflags) {
    if (sandbox_depth > 0 && !(eflags & EXEC_FLAG_EXPLAIN_ONLY)) remember_result_relations(query);
    if (previous_executor_start)
        previous_executor_start(query, eflags);
    else
        standard_ExecutorStart(query, eflags);
}

// What would outlive the sandbox in the caller's session, as a
// security-restricted operation refuses it; nullptr when the statement may run.
}  // namespace

const char* outlives_sandbox(Node* statement) {
    switch (nodeTag(statement)) {
        case T_PrepareStmt: return "PREPARE";
        case T_DeallocateStmt: return "DEALLOCATE";
        case T_ListenStmt: return "LISTEN";
        case T_UnlistenStmt: return "UNLISTEN";
        case T_DiscardStmt: return "DISCARD";
        case T_LoadStmt: return "LOAD";
        case T_DeclareCursorStmt:
            return (reinterpret_cast<DeclareCursorStmt*>(statement)->options & CURSOR_OPT_HOLD)
                       ? "DECLARE CURSOR WITH HOLD"
                       : nullptr;
        default: return nullptr;
    }
}

namespace {

void remember_copy_target(Node* statement) {
    if (!IsA(statement, CopyStmt)) return;
    auto* copy = reinterpret_cast<CopyStmt*>(statement);
    if (!copy->is_from || copy->relation == nullptr || touched_context == nullptr) return;
    Oid relation = RangeVarGetRelid(copy->relation, NoLock, true);
    if (!OidIsValid(relation)) return;
    MemoryContext caller = MemoryContextSwitchTo(touched_context);
    touched_relations = lappend_oid(touched_relations, relation);
    MemoryContextSwitchTo(caller);
}

void sandbox_process_utility(PlannedStmt* statement, const char* query_string, bool read_only_tree,
                             ProcessUtilityContext context, ParamListInfo params,
                             QueryEnvironment* environment, DestReceiver* destination,
                             QueryCompletion* completion) {
    if (sandbox_depth > 0) {
        const char* refused = outlives_sandbox(statement->utilityStmt);
        if (refused)
            refuse_outliving_statement(refused);
        remember_copy_target(statement->utilityStmt);
    }
    if (previous_process_utility)
        previous_process_utility(statement, query_string, read_only_tree, context, params,
                                 environment, destination, completion);
    else
        standard_ProcessUtility(statement, query_string, read_only_tree, context, params,
                                environment, destination, completion);
}

}  // namespace

// Objects in the session's temporary schema: each depends on that schema.
std::int64_t count_temp_objects() {
    return std::stoll(*spi::query_value(
        "SELECT pg_catalog.count(*) FROM pg_catalog.pg_depend "
        "WHERE refclassid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_namespace' AS pg_catalog.regclass) "
        "AND refobjid OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema()"));
}

namespace {

struct DeferredConstraint {
    std::string qualified_name;
    bool initially_deferred;
};

// The deferrable constraints with events pending on the relations written
// since mark (partitions included). Called inside call_postgres().
void pending_deferrable_constraints(int mark, std::vector<Oid>& constraints,
                                    std::vector<bool>& initially_deferred) {
    List* relations = NIL;
    for (int i = mark; i < list_length(touched_relations); i++) {
        Oid relation = list_nth_oid(touched_relations, i);
        if (list_member_oid(relations, relation)) continue;
        if (get_rel_relkind(relation) == RELKIND_PARTITIONED_TABLE || has_subclass(relation))
            relations = list_concat_unique_oid(relations, find_all_inheritors(relation, NoLock, nullptr));
        else
            relations = lappend_oid(relations, relation);
    }
    ListCell* cell;
    foreach (cell, relations) {
        Oid relid = lfirst_oid(cell);
        if (!AfterTriggerPendingOnRel(relid)) continue;
        Relation relation = RelationIdGetRelation(relid);
        if (!RelationIsValid(relation)) continue;
        TriggerDesc* triggers = relation->trigdesc;
        for (int t = 0; triggers != nullptr && t < triggers->numtriggers; t++) {
            const Trigger& trigger = triggers->triggers[t];
            if (!trigger.tgdeferrable || !OidIsValid(trigger.tgconstraint)) continue;
            bool known = false;
            for (Oid seen : constraints) known = known || seen == trigger.tgconstraint;
            if (known) continue;
            constraints.push_back(trigger.tgconstraint);
            initially_deferred.push_back(trigger.tginitdeferred);
        }
        RelationClose(relation);
    }
    list_free(relations);
}

std::vector<DeferredConstraint> constraints_to_fire(int mark) {
    std::vector<Oid> oids;
    std::vector<bool> deferred;
    call_postgres([&] { pending_deferrable_constraints(mark, oids, deferred); });
    std::vector<DeferredConstraint> found;
    for (std::size_t i = 0; i < oids.size(); i++) {
        Oid constraint = oids[i];
        std::string name, schema;
        bool exists = call_postgres([&] {
            HeapTuple tuple = SearchSysCache1(CONSTROID, ObjectIdGetDatum(constraint));
            if (!HeapTupleIsValid(tuple)) return false;
            auto* form = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tuple));
            Oid namespace_oid = form->connamespace;
            char* constraint_name = pstrdup(NameStr(form->conname));
            ReleaseSysCache(tuple);
            char* schema_name = get_namespace_name(namespace_oid);
            if (schema_name == nullptr) return false;
            name = constraint_name;
            schema = schema_name;
            return true;
        });
        if (exists)
            found.push_back({core::quote_identifier(schema) + "." + core::quote_identifier(name),
                             deferred[i]});
    }
    return found;
}

// SET CONSTRAINTS ... IMMEDIATE fires the pending events of the named
// constraints only; the initially deferred ones are deferred again after, so
// the caller's transaction goes on as it was.
void fire_deferred_events(int mark) {
    std::vector<DeferredConstraint> constraints = constraints_to_fire(mark);
    if (constraints.empty()) return;
    std::string all, initially_deferred;
    for (const DeferredConstraint& constraint : constraints) {
        all += (all.empty() ? "" : ", ") + constraint.qualified_name;
        if (constraint.initially_deferred)
            initially_deferred += (initially_deferred.empty() ? "" : ", ") + constraint.qualified_name;
    }
    spi::execute("SET CONSTRAINTS " + all + " IMMEDIATE");
    if (!initially_deferred.empty()) spi::execute("SET CONSTRAINTS " + initially_deferred + " DEFERRED");
}

}  // namespace

void refuse_outliving_statement(const char* what) {
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("cannot execute %s in a migration", what),
                    errdetail("A migration runs in a sandbox: nothing it does may outlive it in "
                              "the caller's session.")));
}

void apply_migration_settings(const char* search_path) {
    set_config_option("search_path", search_path, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
                      true, 0, false);
    for (const PinnedSetting& setting : pinned_settings)
        set_config_option(setting.name, setting.value, PGC_USERSET, PGC_S_SESSION,
                          GUC_ACTION_SAVE, true, 0, false);
}

Oid owner_to_act_as(const std::string& tenant) {
    Oid owner = call_postgres([&] {
        HeapTuple tuple = SearchSysCache1(
            NAMESPACEOID, ObjectIdGetDatum(get_namespace_oid(tenant.c_str(), false)));
        if (!HeapTupleIsValid(tuple)) elog(ERROR, "cache lookup failed for schema \"%s\"", tenant.c_str());
        Oid nspowner = reinterpret_cast<Form_pg_namespace>(GETSTRUCT(tuple))->nspowner;
        ReleaseSysCache(tuple);
        return nspowner;
    });
    // Whoever runs a tenant's migrations must be able to act as its owner
    // anyway: otherwise migrate would be a way to run SQL as someone else.
    // The rule of CREATE SCHEMA ... AUTHORIZATION: from PostgreSQL 16 on,
    // membership WITH SET; before, membership that inherits privileges.
    bool may_act_as_owner = call_postgres([&] {
#if PG_VERSION_NUM >= 160000
        return member_can_set_role(GetUserId(), owner);
#else
        return has_privs_of_role(GetUserId(), owner);
#endif
    });
    if (!may_act_as_owner)
        throw core::Error("42501", fmt::format("permission denied to migrate tenant \"{}\"", tenant),
                          "Migrations run as the owner of the tenant's schema.",
                          "Grant the owner's role to the role that migrates, or run it as a superuser.");
    return owner;
}

void check_shared_schemas_not_writable() {
    if (allow_writable_shared_schemas()) return;
    for (const std::string& schema : shared_schemas()) {
        std::vector<spi::Row> writers = spi::query(
            "SELECT pg_catalog.quote_ident(n.nspname), CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 "
            "THEN 'PUBLIC' ELSE pg_catalog.quote_ident(CAST(CAST(a.grantee AS pg_catalog.regrole) "
            "AS pg_catalog.text)) END "
            "FROM pg_catalog.pg_namespace AS n, pg_catalog.aclexplode(n.nspacl) AS a "
            "WHERE n.nspname OPERATOR(pg_catalog.=) $1 "
            "AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE' "
            "AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner "
            "ORDER BY a.grantee LIMIT 1",
            {schema});
        if (writers.empty()) continue;
        const std::string& quoted = *writers.front()[0];
        const std::string& writer = *writers.front()[1];
        throw core::Error(
            "42501",
            fmt::format("schema {} on a migration's search_path is writable by roles other than its owner",
                        quoted),
            fmt::format("{} may create objects in it that a migration would use in place of the ones "
                        "it means (a function or an operator of a better-matching type).",
                        writer),
            fmt::format("REVOKE CREATE ON SCHEMA {} FROM {}, or let a superuser set "
                        "tenancy.allow_writable_shared_schemas.",
                        quoted, writer));
    }
}

MigrationSandbox::MigrationSandbox(const std::string& tenant) {
    Oid owner = owner_to_act_as(tenant);
    std::string search_path = tenant_search_path(tenant);
    temp_objects_at_entry_ = count_temp_objects();
    call_postgres([&] {
        if (touched_context == nullptr) {
            touched_context = AllocSetContextCreate(TopTransactionContext, "pg_tenancy sandbox",
                                                    ALLOCSET_SMALL_SIZES);
            touched_relations = NIL;
        }
        touched_mark_ = list_length(touched_relations);
        nest_level_ = NewGUCNestLevel();
        apply_migration_settings(search_path.c_str());
        GetUserIdAndSecContext(&saved_user_, &saved_security_context_);
        // As SECURITY DEFINER functions do: SET ROLE and SET SESSION
        // AUTHORIZATION are refused inside. Not a security-restricted
        // operation, which would refuse deferred constraints outright; the
        // sandbox refuses the rest of what such an operation does instead.
        SetUserIdAndSecContext(owner, saved_security_context_ | SECURITY_LOCAL_USERID_CHANGE);
    });
    sandbox_depth++;
}

void MigrationSandbox::finish() {
    fire_deferred_events(touched_mark_);
    if (count_temp_objects() != temp_objects_at_entry_)
        throw core::Error("42501", "cannot create temporary objects in a migration",
                          "A migration runs in a sandbox: nothing it does may outlive it in the "
                          "caller's session, nor shadow the objects it means.");
    finished_ = true;
    sandbox_depth--;
    call_postgres([&] {
        touched_relations = list_truncate(touched_relations, touched_mark_);
        // false: every setting made inside goes, plain SET and
        // set_config(..., false) included, as on abort.
        AtEOXact_GUC(false, nest_level_);
        SetUserIdAndSecContext(saved_user_, saved_security_context_);
        if (sandbox_depth == 0) {
            MemoryContextDelete(touched_context);
            touched_context = nullptr;
            touched_relations = NIL;
        }
    });
}

MigrationSandbox::~MigrationSandbox() {
    if (finished_) return;
    // Unwinding an error: the (sub)transaction's abort restores the settings;
    // the user goes back now, so nothing after runs as the owner.
    sandbox_depth--;
    SetUserIdAndSecContext(saved_user_, saved_security_context_);
    if (touched_context == nullptr) return;
    if (sandbox_depth > 0) {
        touched_relations = list_truncate(touched_relations, touched_mark_);
    } else {
        MemoryContextDelete(touched_context);
        touched_context = nullptr;
        touched_relations = NIL;
    }
}

void install_sandbox_hooks() {
    previous_executor_start = ExecutorStart_hook;
    ExecutorStart_hook = sandbox_executor_start;
    previous_process_utility = ProcessUtility_hook;
    ProcessUtility_hook = sandbox_process_utility;
}

void reset_sandbox() {
    sandbox_depth = 0;
    touched_context = nullptr;  // freed with TopTransactionContext
    touched_relations = NIL;
}

}  // namespace tenancy::pg
