// What the dynamic background workers pg_tenancy starts have in common
// (migrate_all's workers, the online migration worker, the pool refill
// worker): registered at run time, so no shared_preload_libraries is needed,
// and never restarted. Plain C frames: call inside call_postgres().
#pragma once

#include "postgres_headers.hpp"

extern "C" {
#include "postmaster/bgworker.h"
}

namespace tenancy::pg {

// A worker that connects to a database and runs main_function of this
// library with main_arg; name is what pg_stat_activity shows of it, type
// its backend_type. The caller sets bgw_extra and bgw_notify_pid.
BackgroundWorker describe_worker(const char* main_function, const char* type, const char* name,
                                 Datum main_arg);

// The role a worker can connect as to act for the current one: the current
// role, unless it may not log in (a role reached by SET ROLE) and the server
// is older than 17 (BGWORKER_BYPASS_ROLELOGINCHECK): then the session's
// role, who did log in and may act for what the current role may.
Oid role_to_connect_as();

}  // namespace tenancy::pg
