// Differences between the PostgreSQL versions pg_tenancy supports (15 to 19),
// kept in one place so that the code calling them reads the same for all.
#pragma once

#include "postgres_headers.hpp"

namespace tenancy::pg {

// PostgreSQL 19 gave table_beginscan() a fifth argument, the scan's flags.
inline TableScanDesc tenancy_table_beginscan(Relation relation, Snapshot snapshot, int nkeys,
                                             ScanKeyData* keys) {
#if PG_VERSION_NUM >= 190000
    return table_beginscan(relation, snapshot, nkeys, keys, SO_NONE);
#else
    return table_beginscan(relation, snapshot, nkeys, keys);
#endif
}

}  // namespace tenancy::pg
