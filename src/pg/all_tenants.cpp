// tenancy.all_tenants() and tenancy._library_loaded(): C functions, so that
// listing the tenants, or reading the views (which call _library_loaded()
// once, even over an empty registry), loads the library and with it the
// tenancy.* settings: SHOW tenancy.tenant_name_pattern works after any of them.
#include <string>
#include <vector>

#include "citus.hpp"
#include "error_boundary.hpp"
#include "registry.hpp"
#include "spi.hpp"

using namespace tenancy::pg;

extern "C" {

PG_FUNCTION_INFO_V1(tenancy_all_tenants);
PG_FUNCTION_INFO_V1(tenancy_library_loaded);

// tenancy.all_tenants() RETURNS SETOF text: the registered tenants, in name
// (byte) order; the pool's spares are not tenants yet.
Datum tenancy_all_tenants(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        spi::connect();
        std::vector<std::string> tenants = registry::all_tenants(registry::Spares::exclude);
        spi::finish();
        call_postgres([&] {
            // SETOF text is no row type: the executor's expected descriptor has its one column.
            InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
            auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
            for (const std::string& tenant : tenants) {
                Datum value = PointerGetDatum(
                    cstring_to_text_with_len(tenant.data(), static_cast<int>(tenant.size())));
                bool null = false;
                tuplestore_putvalues(result->setResult, result->setDesc, &value, &null);
            }
        });
        return Datum(0);
    });
}

// tenancy._library_loaded() RETURNS boolean: true; being called is its whole point.
Datum tenancy_library_loaded(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);  // so every view refuses on a Citus worker
        return BoolGetDatum(true);
    });
}

}  // extern "C"
