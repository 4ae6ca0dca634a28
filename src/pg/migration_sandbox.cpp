#include "migration_sandbox.hpp"
#include "shared_schemas.hpp"

#include <algorithm>
#include <cstring>

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
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "tcop/pquery.h"
#include "utils/acl.h"
#include "utils/portal.h"
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
ExecutorRun_hook_type previous_executor_run = nullptr;
ProcessUtility_hook_type previous_process_utility = nullptr;

// What a sandbox found in the caller's session when it opened, to tell at its
// end what the code inside changed there: the session-level advisory locks
// (how many times each is held) and the open cursors.
struct HeldAdvisoryLock {
    LOCKTAG tag;
    LOCKMODE mode;
    std::int64_t holds;
};
using AdvisoryLocks = std::vector<HeldAdvisoryLock>;

struct OpenCursor {
    Portal portal;
    std::string name;
    TimestampTz created;
    // Where it stands: a FETCH from a WITH HOLD cursor's stored rows runs no
    // executor, so no hook sees it, but it moves the cursor.
    bool at_start;
    bool at_end;
    uint64 position;
    // A WITH HOLD cursor of an earlier transaction, marked active while the
    // sandbox lives (park_held_cursors()).
    bool parked = false;
};

struct SandboxFrame {
    int nest_level;             // the (sub)transaction the sandbox opened in
    bool abandoned = false;     // left by an error: undone at that (sub)transaction's abort
    TimestampTz statement_start;
    Portal active_portal;       // the portal running the statements inside
    AdvisoryLocks locks;
    std::vector<OpenCursor> cursors;
};

// The open sandboxes, outermost first, and those an error left until the
// abort that follows it.
std::vector<SandboxFrame> frames;

// Set by the sandbox just before it runs its own SET CONSTRAINTS; the
// ProcessUtility hook lets that one statement through and clears it, so the
// deferred triggers the statement fires cannot use it.
bool own_set_constraints = false;

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

// The innermost sandbox still open, or nullptr.
const SandboxFrame* innermost_open_frame() {
    for (auto frame = frames.rbegin(); frame != frames.rend(); ++frame)
        if (!frame->abandoned) return &*frame;
    return nullptr;
}

// A portal the caller (or an outer sandbox) had before the innermost sandbox
// opened: one it listed then, or one defined by an earlier statement (the
// protocol-level portals pg_cursors does not list).
bool predates_sandbox(Portal portal, const SandboxFrame& frame) {
    if (portal->creation_time < frame.statement_start) return true;
    for (const OpenCursor& cursor : frame.cursors)
        if (cursor.portal == portal && cursor.name == portal->name) return true;
    return false;
}

[[noreturn]] void refuse_callers_cursor(const char* name) {
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("cannot use the caller's cursors in a migration"),
                    name ? errdetail("Cursor \"%s\" was open before the migration began: code in a "
                                     "migration may not read, move or close it.",
                                     name)
                         : errdetail("CLOSE ALL would close the cursors open before the migration "
                                     "began.")));
}

// FETCH and the like, from PL/pgSQL or SQL, run the cursor's portal; the
// statements inside the sandbox run under the portal that was active when it
// opened.
#if PG_VERSION_NUM >= 180000
void sandbox_executor_run(QueryDesc* query, ScanDirection direction, uint64 count) {
#else
void sandbox_executor_run(QueryDesc* query, ScanDirection direction, uint64 count, bool execute_once) {
#endif
    if (sandbox_depth > 0 && ActivePortal != nullptr) {
        const SandboxFrame* frame = innermost_open_frame();
        if (frame != nullptr && ActivePortal != frame->active_portal && predates_sandbox(ActivePortal, *frame))
            refuse_callers_cursor(ActivePortal->name);
    }
#if PG_VERSION_NUM >= 180000
    if (previous_executor_run)
        previous_executor_run(query, direction, count);
    else
        standard_ExecutorRun(query, direction, count);
#else
    if (previous_executor_run)
        previous_executor_run(query, direction, count, execute_once);
    else
        standard_ExecutorRun(query, direction, count, execute_once);
#endif
}

// FETCH, MOVE and CLOSE name the cursor (a WITH HOLD one already read is
// fetched from its store, without the executor).
void refuse_callers_cursor_statement(Node* statement) {
    const char* name = nullptr;
    if (IsA(statement, FetchStmt))
        name = reinterpret_cast<FetchStmt*>(statement)->portalname;
    else if (IsA(statement, ClosePortalStmt)) {
        name = reinterpret_cast<ClosePortalStmt*>(statement)->portalname;
        if (name == nullptr) refuse_callers_cursor(nullptr);
    } else
        return;
    const SandboxFrame* frame = innermost_open_frame();
    if (frame == nullptr || name == nullptr || name[0] == '\0') return;
    Portal portal = GetPortalByName(name);
    if (PortalIsValid(portal) && predates_sandbox(portal, *frame)) refuse_callers_cursor(name);
}

}  // namespace

// What would outlive the sandbox in the caller's session, as a
// security-restricted operation refuses it; nullptr when the statement may run.
const char* outlives_sandbox(Node* statement) {
    switch (nodeTag(statement)) {
        case T_PrepareStmt: return "PREPARE";
        case T_DeallocateStmt: return "DEALLOCATE";
        case T_ListenStmt: return "LISTEN";
        case T_UnlistenStmt: return "UNLISTEN";
        case T_DiscardStmt: return "DISCARD";
        case T_LoadStmt: return "LOAD";
        // The caller's transaction would keep the new mode, and IMMEDIATE
        // fires the caller's pending events inside.
        case T_ConstraintsSetStmt: return "SET CONSTRAINTS";
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
        Node* utility = statement->utilityStmt;
        bool own = own_set_constraints && IsA(utility, ConstraintsSetStmt);
        own_set_constraints = false;
        const char* refused = own ? nullptr : outlives_sandbox(utility);
        if (refused)
            refuse_outliving_statement(refused);
        refuse_callers_cursor_statement(utility);
        remember_copy_target(utility);
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

// How many times finish() looks again for deferred events that the firing
// of others queued (a deferred trigger writing to a table whose deferred
// trigger then waits): a chain longer than this fails the tenant's run.
constexpr int deferred_rounds = 32;

// SET CONSTRAINTS ... IMMEDIATE fires the pending events of the named
// constraints only; the initially deferred ones are deferred again after, so
// the caller's transaction goes on as it was.
void fire_constraints(const std::vector<DeferredConstraint>& constraints) {
    std::string all, initially_deferred;
    for (const DeferredConstraint& constraint : constraints) {
        all += (all.empty() ? "" : ", ") + constraint.qualified_name;
        if (constraint.initially_deferred)
            initially_deferred += (initially_deferred.empty() ? "" : ", ") + constraint.qualified_name;
    }
    struct ClearOwnSetConstraints {
        ~ClearOwnSetConstraints() { own_set_constraints = false; }
    } clear;
    own_set_constraints = true;
    spi::execute("SET CONSTRAINTS " + all + " IMMEDIATE");
    if (!initially_deferred.empty()) {
        own_set_constraints = true;
        spi::execute("SET CONSTRAINTS " + initially_deferred + " DEFERRED");
    }
}

// Fires, inside the sandbox, every deferred event on the relations written
// since mark, including those the firing itself queues (the relations its
// triggers write are added to the list as they run), round after round until
// none is left.
void fire_deferred_events(int mark) {
    for (int round = 0; round < deferred_rounds; round++) {
        std::vector<DeferredConstraint> constraints = constraints_to_fire(mark);
        if (constraints.empty()) return;
        fire_constraints(constraints);
    }
    if (!constraints_to_fire(mark).empty())
        throw core::Error("42501", "cannot leave deferred trigger events after a migration",
                          fmt::format("A migration runs in a sandbox: deferred triggers firing after it "
                                      "would run outside it. Deferred triggers kept queueing new "
                                      "deferred events for {} rounds.",
                                      deferred_rounds),
                          "Make the constraint triggers that write to other tables fire immediately.");
}

// The session-level advisory locks this backend holds, with how many times
// each: the lock manager's shared table names them (advisory locks never take
// the fast path), the local one counts the session's holds. Holding a lock
// already, acquiring it again only counts one more hold locally; that hold is
// given back at once. May raise a PostgreSQL error.
LockAcquireResult acquire_session_lock(const LOCKTAG& tag, LOCKMODE mode, LOCALLOCK** local) {
#if PG_VERSION_NUM >= 180000
    return LockAcquireExtended(&tag, mode, true, true, false, local, false);
#else
    return LockAcquireExtended(&tag, mode, true, true, false, local);
#endif
}

void collect_session_advisory_locks(AdvisoryLocks& found) {
    found.clear();
    for (int partition = 0; partition < NUM_LOCK_PARTITIONS; partition++) {
        LWLock* partition_lock = LockHashPartitionLockByIndex(partition);
        LWLockAcquire(partition_lock, LW_SHARED);
#if PG_VERSION_NUM >= 160000
        // dlist_foreach and dlist_container, whose type checks C++ lacks.
        dlist_head* list = &MyProc->myProcLocks[partition];
        for (dlist_node* node = list->head.next; node != nullptr && node != &list->head; node = node->next) {
            auto* proclock = reinterpret_cast<PROCLOCK*>(reinterpret_cast<char*>(node) - offsetof(PROCLOCK, procLink));
#else
        SHM_QUEUE* list = &MyProc->myProcLocks[partition];
        for (auto* proclock = reinterpret_cast<PROCLOCK*>(
                 SHMQueueNext(list, list, offsetof(PROCLOCK, procLink)));
             proclock != nullptr;
             proclock = reinterpret_cast<PROCLOCK*>(
                 SHMQueueNext(list, &proclock->procLink, offsetof(PROCLOCK, procLink)))) {
#endif
            const LOCKTAG& tag = proclock->tag.myLock->tag;
            if (tag.locktag_type != LOCKTAG_ADVISORY || tag.locktag_lockmethodid != USER_LOCKMETHOD)
                continue;
            for (LOCKMODE mode = 1; mode < MAX_LOCKMODES; mode++)
                if (proclock->holdMask & LOCKBIT_ON(mode)) found.push_back({tag, mode, 0});
        }
        LWLockRelease(partition_lock);
    }
    for (HeldAdvisoryLock& lock : found) {
        LOCALLOCK* local = nullptr;
        LockAcquireResult result = acquire_session_lock(lock.tag, lock.mode, &local);
        if (result == LOCKACQUIRE_NOT_AVAIL) continue;
        if (result == LOCKACQUIRE_OK) {  // not ours after all
            LockRelease(&lock.tag, lock.mode, true);
            continue;
        }
        for (int i = 0; i < local->numLockOwners; i++)
            if (local->lockOwners[i].owner == nullptr) lock.holds += local->lockOwners[i].nLocks;
        lock.holds -= 1;
        LockRelease(&lock.tag, lock.mode, true);
    }
}

std::int64_t holds_in(const AdvisoryLocks& locks, const HeldAdvisoryLock& lock) {
    for (const HeldAdvisoryLock& other : locks)
        if (other.mode == lock.mode && memcmp(&other.tag, &lock.tag, sizeof(LOCKTAG)) == 0) return other.holds;
    return 0;
}

// What restore_session_advisory_locks() found, as bits.
constexpr int locks_kept = 1;      // locks taken inside and still held: released now
constexpr int locks_released = 2;  // the caller's locks released inside: taken again
constexpr int locks_lost = 4;      // ... but another session holds one now

// Puts the session's advisory locks back as they were. May raise a
// PostgreSQL error.
int restore_session_advisory_locks(const AdvisoryLocks& before) {
    AdvisoryLocks now;
    collect_session_advisory_locks(now);
    int changes = 0;
    for (const HeldAdvisoryLock& lock : now)
        for (std::int64_t extra = lock.holds - holds_in(before, lock); extra > 0; extra--) {
            changes |= locks_kept;
            LockRelease(&lock.tag, lock.mode, true);
        }
    for (const HeldAdvisoryLock& lock : before)
        for (std::int64_t missing = lock.holds - holds_in(now, lock); missing > 0; missing--) {
            changes |= locks_released;
            LOCALLOCK* local = nullptr;
            if (acquire_session_lock(lock.tag, lock.mode, &local) == LOCKACQUIRE_NOT_AVAIL) {
                changes |= locks_lost;
                break;
            }
        }
    return changes;
}

// The cursors open in the session (pg_cursors: those of DECLARE and of
// PL/pgSQL and other SPI users).
std::vector<OpenCursor> open_cursors() {
    std::vector<OpenCursor> cursors;
    for (const spi::Row& row : spi::query("SELECT name FROM pg_catalog.pg_cursor()")) {
        if (!row[0]) continue;
        const std::string& name = *row[0];
        OpenCursor cursor{nullptr, name, 0, false, false, 0};
        bool open = call_postgres([&] {
            Portal portal = GetPortalByName(name.c_str());
            if (!PortalIsValid(portal)) return false;
            cursor.portal = portal;
            cursor.created = portal->creation_time;
            cursor.at_start = portal->atStart;
            cursor.at_end = portal->atEnd;
            cursor.position = portal->portalPos;
            return true;
        });
        if (open) cursors.push_back(cursor);
    }
    return cursors;
}

// Undoes what the sandboxes from index first on left in the session's
// advisory locks, as the (sub)transaction they opened in aborts, and forgets
// them. Runs in a transaction callback: nothing may escape it.
void undo_frames_from(std::size_t first) noexcept {
    if (first >= frames.size()) return;
    try {
        AdvisoryLocks before = frames[first].locks;
        frames.resize(first);
        MemoryContext caller_context = CurrentMemoryContext;
        PG_TRY();
        {
            (void)restore_session_advisory_locks(before);
        }
        PG_CATCH();
        {
            MemoryContextSwitchTo(caller_context);
            FlushErrorState();
        }
        PG_END_TRY();
    } catch (...) {
        frames.resize(std::min(first, frames.size()));
    }
}

void sandbox_subtransaction_callback(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
    if (event != SUBXACT_EVENT_ABORT_SUB || frames.empty()) return;
    int level = GetCurrentTransactionNestLevel();
    for (std::size_t i = 0; i < frames.size(); i++)
        if (frames[i].nest_level >= level) {
            undo_frames_from(i);
            return;
        }
}

void sandbox_transaction_callback(XactEvent event, void*) {
    if (frames.empty()) return;
    // At commit, only sandboxes an error left (and its handler swallowed).
    if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PARALLEL_PRE_COMMIT ||
        event == XACT_EVENT_PRE_PREPARE) {
        for (std::size_t i = 0; i < frames.size(); i++)
            if (frames[i].abandoned) {
                undo_frames_from(i);
                return;
            }
        return;
    }
    if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) undo_frames_from(0);
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PREPARE)
        frames.clear();
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

namespace {

// The rows of a WITH HOLD cursor of an earlier transaction are read from its
// store, past every executor hook: while the sandbox lives, such a cursor of
// the caller is marked active, as if running, so that any FETCH, MOVE or
// CLOSE of it, from SQL, PL/pgSQL or SPI, fails (55000, "cannot be run" /
// "cannot drop active portal") and nothing is read.
void park_held_cursors(std::vector<OpenCursor>& cursors) {
    for (OpenCursor& cursor : cursors) {
        Portal portal = cursor.portal;
        if (portal == nullptr || portal->status != PORTAL_READY || portal->holdStore == nullptr) continue;
        portal->status = PORTAL_ACTIVE;
        cursor.parked = true;
    }
}

// Marks them ready again; raises nothing (also called while unwinding).
void unpark_held_cursors(std::vector<OpenCursor>& cursors) {
    for (OpenCursor& cursor : cursors) {
        if (!cursor.parked) continue;
        cursor.parked = false;
        Portal portal = GetPortalByName(cursor.name.c_str());
        if (portal == cursor.portal && portal->status == PORTAL_ACTIVE) portal->status = PORTAL_READY;
    }
}

}  // namespace

MigrationSandbox::MigrationSandbox(const std::string& tenant) {
    Oid owner = owner_to_act_as(tenant);
    std::string search_path = tenant_search_path(tenant);
    temp_objects_at_entry_ = count_temp_objects();
    SandboxFrame frame;
    frame.cursors = open_cursors();
    call_postgres([&] {
        frame.nest_level = GetCurrentTransactionNestLevel();
        frame.statement_start = GetCurrentStatementStartTimestamp();
        frame.active_portal = ActivePortal;
        collect_session_advisory_locks(frame.locks);
        park_held_cursors(frame.cursors);
    });
    frames.push_back(std::move(frame));
    frame_index_ = frames.size() - 1;
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

// Cursors opened inside (DECLARE, or a function returning a refcursor) would
// let the caller run the owner's code later, with the caller's rights: they
// are closed, as a transaction's end closes them. The caller's cursors must
// all still be there.
void MigrationSandbox::close_cursors_opened_inside() {
    const SandboxFrame& frame = frames[frame_index_];
    std::vector<OpenCursor> now = open_cursors();
    for (const OpenCursor& before : frame.cursors) {
        const OpenCursor* still_open = nullptr;
        for (const OpenCursor& cursor : now)
            if (cursor.portal == before.portal && cursor.name == before.name && cursor.created == before.created)
                still_open = &cursor;
        if (still_open == nullptr)
            throw core::Error("42501", "cannot use the caller's cursors in a migration",
                              fmt::format("Cursor \"{}\" was open before the migration began, and "
                                          "code in the migration closed it.",
                                          before.name));
        if (still_open->position != before.position || still_open->at_start != before.at_start ||
            still_open->at_end != before.at_end)
            throw core::Error("42501", "cannot use the caller's cursors in a migration",
                              fmt::format("Cursor \"{}\" was open before the migration began, and "
                                          "code in the migration read or moved it.",
                                          before.name));
    }
    for (const OpenCursor& cursor : now) {
        bool opened_inside = true;
        for (const OpenCursor& before : frame.cursors)
            opened_inside = opened_inside && !(cursor.portal == before.portal && cursor.name == before.name);
        if (!opened_inside || cursor.created < frame.statement_start) continue;
        call_postgres([&] {
            Portal portal = GetPortalByName(cursor.name.c_str());
            if (!PortalIsValid(portal)) return;
            if (portal->status == PORTAL_ACTIVE || portal->portalPinned)
                ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                                errmsg("cannot leave cursor \"%s\" open after a migration", portal->name)));
            PortalDrop(portal, false);
        });
    }
}

void MigrationSandbox::finish() {
    fire_deferred_events(touched_mark_);
    unpark_held_cursors(frames[frame_index_].cursors);
    if (count_temp_objects() != temp_objects_at_entry_)
        throw core::Error("42501", "cannot create temporary objects in a migration",
                          "A migration runs in a sandbox: nothing it does may outlive it in the "
                          "caller's session, nor shadow the objects it means.");
    close_cursors_opened_inside();
    int locks = call_postgres([&] { return restore_session_advisory_locks(frames[frame_index_].locks); });
    if (locks & locks_kept)
        throw core::Error("42501", "cannot keep session-level advisory locks after a migration",
                          "A migration runs in a sandbox: nothing it does may outlive it in the "
                          "caller's session. The session-level advisory locks taken in it were "
                          "released.",
                          "Take pg_advisory_xact_lock(), released with the transaction, or release "
                          "the lock before the migration ends.");
    if (locks & locks_released)
        throw core::Error("42501", "cannot release the caller's session-level advisory locks in a migration",
                          (locks & locks_lost) ? "A migration runs in a sandbox: it may not change the caller's "
                                       "session. One of the locks could not be taken again: another "
                                       "session holds it now."
                                     : "A migration runs in a sandbox: it may not change the caller's "
                                       "session. The caller holds its locks again.");
    finished_ = true;
    frames.resize(frame_index_);
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
    // the user goes back now, so nothing after runs as the owner. Session
    // locks outlive an abort: the abort of the (sub)transaction puts them back.
    if (frame_index_ < frames.size()) {
        frames[frame_index_].abandoned = true;
        unpark_held_cursors(frames[frame_index_].cursors);
    }
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
    previous_executor_run = ExecutorRun_hook;
    ExecutorRun_hook = sandbox_executor_run;
    previous_process_utility = ProcessUtility_hook;
    ProcessUtility_hook = sandbox_process_utility;
    RegisterXactCallback(sandbox_transaction_callback, nullptr);
    RegisterSubXactCallback(sandbox_subtransaction_callback, nullptr);
}

void reset_sandbox() {
    sandbox_depth = 0;
    own_set_constraints = false;
    touched_context = nullptr;  // freed with TopTransactionContext
    touched_relations = NIL;
}

}  // namespace tenancy::pg
