#include "arguments.hpp"

#include <fmt/format.h>

#include "../core/error.hpp"
#include "error_boundary.hpp"

extern "C" {
#include "utils/array.h"
}

namespace tenancy::pg {

namespace {

[[noreturn]] void throw_null_argument(const char* name) {
    throw core::Error(core::sqlstate::null_value_not_allowed,
                      fmt::format("{} must not be null", name));
}

}  // namespace

std::optional<std::string> text_argument(FunctionCallInfo fcinfo, int index) {
    // Past the arguments: an older SQL declaration of the function (a
    // database not updated yet) has fewer; the argument is absent.
    if (PG_NARGS() <= index || PG_ARGISNULL(index)) return std::nullopt;
    text* value = call_postgres([&] { return PG_GETARG_TEXT_PP(index); });
    return std::string(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));
}

std::string required_text_argument(FunctionCallInfo fcinfo, int index, const char* name) {
    std::optional<std::string> value = text_argument(fcinfo, index);
    if (!value) throw_null_argument(name);
    return *value;
}

bool required_bool_argument(FunctionCallInfo fcinfo, int index, const char* name) {
    if (PG_ARGISNULL(index)) throw_null_argument(name);
    return PG_GETARG_BOOL(index);
}

std::optional<int64> int64_argument(FunctionCallInfo fcinfo, int index) {
    if (PG_ARGISNULL(index)) return std::nullopt;
    return PG_GETARG_INT64(index);
}

void begin_materialized_result(FunctionCallInfo fcinfo) {
#if PG_VERSION_NUM >= 150000
    InitMaterializedSRF(fcinfo, 0);
#else
    auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    TupleDesc descriptor;
    if (get_call_result_type(fcinfo, nullptr, &descriptor) != TYPEFUNC_COMPOSITE)
        elog(ERROR, "return type must be a row type");
    MemoryContext previous = MemoryContextSwitchTo(result->econtext->ecxt_per_query_memory);
    result->returnMode = SFRM_Materialize;
    result->setResult = tuplestore_begin_heap(true, false, work_mem);
    result->setDesc = CreateTupleDescCopy(descriptor);
    MemoryContextSwitchTo(previous);
#endif
}

bool called_nonatomically(FunctionCallInfo fcinfo) {
    return fcinfo->context != nullptr && IsA(fcinfo->context, CallContext) &&
           !castNode(CallContext, fcinfo->context)->atomic;
}

std::vector<std::optional<std::string>> text_array_argument(FunctionCallInfo fcinfo, int index,
                                                            const char* name) {
    std::vector<std::optional<std::string>> elements;
    Datum* values = nullptr;
    bool* nulls = nullptr;
    int count = 0;
    call_postgres([&] {
        ArrayType* array = PG_GETARG_ARRAYTYPE_P(index);
        if (ARR_NDIM(array) > 1)
            ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                            errmsg("%s must be a one-dimensional array", name)));
        deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &values, &nulls, &count);
    });
    for (int i = 0; i < count; i++) {
        if (nulls[i]) {
            elements.emplace_back(std::nullopt);
        } else {
            text* element = reinterpret_cast<text*>(DatumGetPointer(values[i]));
            elements.emplace_back(std::string(VARDATA_ANY(element), VARSIZE_ANY_EXHDR(element)));
        }
    }
    return elements;
}

Datum text_datum(std::string_view text) {
    return call_postgres([&] {
        return PointerGetDatum(cstring_to_text_with_len(text.data(), static_cast<int>(text.size())));
    });
}

}  // namespace tenancy::pg
