// Entry points that make the error boundary work in both directions, for
// test/pgtap/error_boundary.sql:
//  - tenancy_test_throw(kind) throws a C++ exception under guard_entry();
//  - tenancy_test_run_sql(sql) runs SQL through SPI while C++ objects are
//    alive on the stack; their destructors must run when it fails.
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "../../src/core/error.hpp"
#include "error_boundary.hpp"
#include "spi.hpp"

namespace {

// Counts live instances, so a test can see that no destructor was skipped.
int live_guards = 0;
struct LiveGuard {
    LiveGuard() { ++live_guards; }
    ~LiveGuard() { --live_guards; }
};

}  // namespace

using namespace tenancy::pg;

extern "C" {

PG_MODULE_MAGIC;
PG_FUNCTION_INFO_V1(tenancy_test_throw);
PG_FUNCTION_INFO_V1(tenancy_test_run_sql);
PG_FUNCTION_INFO_V1(tenancy_test_live_guards);

Datum tenancy_test_throw(PG_FUNCTION_ARGS) {
    std::string kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
    return guard_entry([&]() -> Datum {
        LiveGuard guard;
        std::vector<std::string> held(3, std::string(100, 'x'));
        if (kind == "bad_alloc") throw std::bad_alloc();
        if (kind == "runtime_error") throw std::runtime_error("something broke in C++");
        if (kind == "core_error")
            throw tenancy::core::Error("22023", "core refused the value", "A detail.", "A hint.");
        if (kind == "not_an_exception") throw 42;
        return Datum(0);
    });
}

Datum tenancy_test_run_sql(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        LiveGuard guard;
        std::string sql = call_postgres([&] { return text_to_cstring(PG_GETARG_TEXT_PP(0)); });
        std::vector<std::string> held(3, sql);
        spi::connect();
        spi::execute(sql);
        spi::finish();
        return Datum(0);
    });
}

Datum tenancy_test_live_guards(PG_FUNCTION_ARGS) {
    (void)fcinfo;
    PG_RETURN_INT32(live_guards);
}

}  // extern "C"
