// The migration sandbox: the one place tenant SQL runs (README "Migrations run
// in a sandbox"). Every path that runs a tenant's migrations or creates its
// schema_migrations (create, adopt, migrate, migrate_all, rollback,
// rollback_all, the managed tables' row trigger, backfill) enters it.
//
// Inside, for as long as the object lives:
//  - the current user is the owner of the tenant's schema (SECURITY DEFINER's
//    kind of switch: SET ROLE and SET SESSION AUTHORIZATION are refused);
//  - one GUC nest level holds search_path (tenant_search_path(): "<tenant>",
//    the shared schemas, pg_temp) and the pinned settings; finish() undoes every setting changed
//    inside, plain SET and set_config(..., false) included;
//  - statements that would outlive the sandbox in the caller's session are
//    refused (PREPARE, DEALLOCATE, LISTEN, UNLISTEN, DISCARD, DECLARE ... WITH
//    HOLD, LOAD, SET CONSTRAINTS but the sandbox's own), and so is any
//    temporary object;
//  - session-level advisory locks are as they were when it opened: finish()
//    releases those taken inside and takes back the caller's released inside
//    (failing the run either way), the abort of a failed run does the same;
//  - cursors opened inside are closed by finish(); those open before are out
//    of reach (FETCH, MOVE, CLOSE refused, closing one fails the run);
//  - deferred trigger events queued inside (deferred constraints, constraint
//    triggers) are fired by finish(), still as the owner and inside the nest
//    level, so none of them fires later as the caller and a violation fails
//    the tenant's run.
// An error leaves it through the (sub)transaction's abort, which restores the
// user and the settings; the destructor only unwinds the sandbox's own state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "postgres_headers.hpp"

namespace tenancy::pg {

// The owner of the tenant's schema, once the caller is known to be allowed to
// act as that role (42501 otherwise).
Oid owner_to_act_as(const std::string& tenant);

class MigrationSandbox {
public:
    explicit MigrationSandbox(const std::string& tenant);
    ~MigrationSandbox();
    MigrationSandbox(const MigrationSandbox&) = delete;
    MigrationSandbox& operator=(const MigrationSandbox&) = delete;

    // Fires what the sandbox deferred, checks nothing outlives it, restores
    // the settings and the user. Call once, after the last statement.
    void finish();

private:
    void close_cursors_opened_inside();

    std::size_t frame_index_ = 0;
    Oid saved_user_ = InvalidOid;
    int saved_security_context_ = 0;
    int nest_level_ = 0;
    int touched_mark_ = 0;
    std::int64_t temp_objects_at_entry_ = 0;
    bool finished_ = false;
};

// Refuses shared schemas on the search path that roles besides their owner
// may CREATE in (unless tenancy.allow_writable_shared_schemas). Called before
// a migration runs.
void check_shared_schemas_not_writable();

// The statement's name when it would outlive the sandbox in the caller's
// session (PREPARE, LISTEN, DECLARE ... WITH HOLD...), else nullptr; and the
// error that refuses it (42501), raised with ereport.
const char* outlives_sandbox(Node* statement);
void refuse_outliving_statement(const char* what);

// Sets search_path and the pinned settings at the current GUC nest level
// (GUC_ACTION_SAVE): the settings every migration runs under. Called inside
// call_postgres().
void apply_migration_settings(const char* search_path);

// How many objects the session's temporary schema holds; a migration may
// leave none behind. The caller is connected to SPI.
std::int64_t count_temp_objects();

// Installs the hooks the sandbox relies on; called once from _PG_init.
void install_sandbox_hooks();

// Called at transaction abort: the sandbox's bookkeeping starts over.
void reset_sandbox();

}  // namespace tenancy::pg
