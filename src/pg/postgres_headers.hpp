// The one place src/pg includes PostgreSQL's headers.
//
// They are C headers that define macros clashing with C++ (Min, Max, foreach,
// gettext, printf...), so they come after every C++ header of a file and inside
// extern "C". Include this header last.
#pragma once

// fmt is compiled header-only (FMT_HEADER_ONLY): its inline definitions call
// std::fprintf and friends, which PostgreSQL's port.h turns into macros. Parse
// them first, whichever order a file includes its headers in.
#include <fmt/format.h>

extern "C" {
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/scansup.h"
#include "regex/regex.h"
#include "storage/lmgr.h"
#include "storage/lock.h"  // max_locks_per_xact (lmgr.h stops including it in 19)
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}
