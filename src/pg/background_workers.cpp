#include "background_workers.hpp"

extern "C" {
#include "catalog/pg_authid.h"
}

namespace tenancy::pg {

BackgroundWorker describe_worker(const char* main_function, const char* type, const char* name,
                                 Datum main_arg) {
    BackgroundWorker worker;
    memset(&worker, 0, sizeof(worker));
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = BGW_NEVER_RESTART;
    strlcpy(worker.bgw_library_name, "pg_tenancy", sizeof(worker.bgw_library_name));
    strlcpy(worker.bgw_function_name, main_function, sizeof(worker.bgw_function_name));
    strlcpy(worker.bgw_name, name, sizeof(worker.bgw_name));
    strlcpy(worker.bgw_type, type, sizeof(worker.bgw_type));
    worker.bgw_main_arg = main_arg;
    return worker;
}

Oid role_to_connect_as() {
    Oid role = GetUserId();
#ifndef BGWORKER_BYPASS_ROLELOGINCHECK
    HeapTuple tuple = SearchSysCache1(AUTHOID, ObjectIdGetDatum(role));
    bool can_login =
        HeapTupleIsValid(tuple) && reinterpret_cast<Form_pg_authid>(GETSTRUCT(tuple))->rolcanlogin;
    if (HeapTupleIsValid(tuple)) ReleaseSysCache(tuple);
    if (!can_login) role = GetSessionUserId();
#endif
    return role;
}

}  // namespace tenancy::pg
