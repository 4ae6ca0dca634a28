// tenancy._relation_bytes(relfilenode, reltablespace, relpersistence): a
// relation's size on disk, all forks and segments, read with stat() from the
// pg_class columns alone. pg_total_relation_size() opens every relation, and
// the relation cache entries it builds stay for the life of the session:
// reading the sizes of 10,000 tenants that way left 150 MB in a pooled
// connection; this leaves nothing behind.
#include <sys/stat.h>

#include <string>

#include <fmt/format.h>

#include "error_boundary.hpp"

extern "C" {
#include "common/relpath.h"
}

namespace tenancy::pg {

namespace {

// The bytes of one fork: its segments path, path.1, path.2 ... until one is missing.
std::int64_t fork_bytes(const std::string& path) {
    std::int64_t total = 0;
    for (unsigned segment = 0;; segment++) {
        std::string name = segment == 0 ? path : fmt::format("{}.{}", path, segment);
        struct stat status;
        if (stat(name.c_str(), &status) != 0) {
            if (errno == ENOENT) break;  // no such fork or segment, or dropped meanwhile
            int error = errno;
            call_postgres([&] {
                errno = error;
                ereport(ERROR, (errcode_for_file_access(),
                                errmsg("could not stat file \"%s\": %m", name.c_str())));
            });
        }
        total += status.st_size;
    }
    return total;
}

std::string fork_path(Oid tablespace, Oid file_number, ForkNumber fork) {
    constexpr int shared_buffers_backend = -1;  // InvalidBackendId, INVALID_PROC_NUMBER
    char path[MAXPGPATH];
    call_postgres([&] {
#if PG_VERSION_NUM >= 180000
        RelPathStr made = GetRelationPath(MyDatabaseId, tablespace, file_number, shared_buffers_backend, fork);
        strlcpy(path, made.str, sizeof path);
#else
        char* made = GetRelationPath(MyDatabaseId, tablespace, file_number, shared_buffers_backend, fork);
        strlcpy(path, made, sizeof path);
        pfree(made);
#endif
    });
    return path;
}

}  // namespace

}  // namespace tenancy::pg

using namespace tenancy::pg;

extern "C" {

PG_FUNCTION_INFO_V1(tenancy_relation_bytes);

// tenancy._relation_bytes(relfilenode oid, reltablespace oid, relpersistence "char")
// RETURNS bigint: NULL for a relation without a file of its own in this
// database (a view, a mapped catalog, another session's temporary table).
Datum tenancy_relation_bytes(PG_FUNCTION_ARGS) {
    Oid file_number = PG_GETARG_OID(0);
    Oid tablespace = PG_GETARG_OID(1);
    char persistence = PG_GETARG_CHAR(2);
    if (!OidIsValid(file_number) || persistence == RELPERSISTENCE_TEMP) PG_RETURN_NULL();
    if (!OidIsValid(tablespace)) tablespace = MyDatabaseTableSpace;
    return guard_entry([&] {
        std::int64_t total = 0;
        for (ForkNumber fork : {MAIN_FORKNUM, FSM_FORKNUM, VISIBILITYMAP_FORKNUM, INIT_FORKNUM})
            total += fork_bytes(fork_path(tablespace, file_number, fork));
        return Int64GetDatum(total);
    });
}

}  // extern "C"
