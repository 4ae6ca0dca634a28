// Reading SQL arguments into C++ values, and making SQL results from them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postgres_headers.hpp"

namespace tenancy::pg {

// A text argument; nullopt for SQL NULL.
std::optional<std::string> text_argument(FunctionCallInfo fcinfo, int index);

// A text argument that must not be NULL (22004 names the argument otherwise).
std::string required_text_argument(FunctionCallInfo fcinfo, int index, const char* name);
bool required_bool_argument(FunctionCallInfo fcinfo, int index, const char* name);

// A one-dimensional text[] argument that is not NULL itself; its elements may be.
std::vector<std::optional<std::string>> text_array_argument(FunctionCallInfo fcinfo, int index,
                                                            const char* name);

// A bigint argument; nullopt for SQL NULL.
std::optional<int64> int64_argument(FunctionCallInfo fcinfo, int index);

// Sets up a set-returning function's result as a tuplestore (SFRM_Materialize).
// Called inside call_postgres().
void begin_materialized_result(FunctionCallInfo fcinfo);

// Whether a procedure may commit: CALLed outside a transaction block, as the
// PL handlers decide it (a SET clause or SECURITY DEFINER makes every CALL atomic).
bool called_nonatomically(FunctionCallInfo fcinfo);

// A text Datum allocated in the current memory context.
Datum text_datum(std::string_view text);

}  // namespace tenancy::pg
