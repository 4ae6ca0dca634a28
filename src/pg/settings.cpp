#include "settings.hpp"

#include "postgres_headers.hpp"

namespace tenancy::pg {

namespace {

char* tenant_name_pattern_value = nullptr;
char* reserved_names_value = nullptr;
char* tenant_migrations_path_value = nullptr;
bool pool_refill_worker_value = true;

constexpr const char* default_tenant_name_pattern = "^[A-Za-z0-9_-]+$";

// Refuses a pattern PostgreSQL's regex engine cannot compile, so a bad value
// fails at SET time instead of at every later create_tenant. Check hooks must
// not raise errors, hence pg_regcomp directly rather than the ~ operator.
bool check_tenant_name_pattern(char** newval, void**, GucSource) {
    const char* pattern = *newval;
    size_t length = strlen(pattern);
    pg_wchar* wide = static_cast<pg_wchar*>(malloc((length + 1) * sizeof(pg_wchar)));
    if (wide == nullptr) return false;
    int wide_length = pg_mb2wchar_with_len(pattern, wide, static_cast<int>(length));

    regex_t compiled;
    int rc = pg_regcomp(&compiled, wide, wide_length, REG_ADVANCED, C_COLLATION_OID);
    free(wide);
    if (rc == REG_OKAY) {
        pg_regfree(&compiled);
        return true;
    }
    char reason[256];
    pg_regerror(rc, &compiled, reason, sizeof reason);
    GUC_check_errcode(ERRCODE_INVALID_REGULAR_EXPRESSION);
    GUC_check_errmsg("invalid regular expression for tenancy.tenant_name_pattern: %s", reason);
    return false;
}

}  // namespace

void define_settings() {
    DefineCustomStringVariable(
        "tenancy.tenant_migrations_path",
        "Server-side directory that tenancy.load_migrations() reads by default.", nullptr,
        &tenant_migrations_path_value, "", PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable(
        "tenancy.tenant_name_pattern",
        "Regular expression every new tenant name must match.", nullptr,
        &tenant_name_pattern_value, default_tenant_name_pattern, PGC_SUSET, 0,
        check_tenant_name_pattern, nullptr, nullptr);
    DefineCustomStringVariable(
        "tenancy.reserved_names", "Comma-separated names no tenant may take.", nullptr,
        &reserved_names_value, "", PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable(
        "tenancy.pool_refill_worker",
        "Starts a background worker that refills the tenant pools after a transaction took a spare.",
        nullptr, &pool_refill_worker_value, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
#if PG_VERSION_NUM >= 150000
    MarkGUCPrefixReserved("tenancy");
#else
    EmitWarningsOnPlaceholders("tenancy");
#endif
}

const char* tenant_name_pattern() {
    return tenant_name_pattern_value ? tenant_name_pattern_value : default_tenant_name_pattern;
}
bool pool_refill_worker() { return pool_refill_worker_value; }
const char* reserved_names() { return reserved_names_value ? reserved_names_value : ""; }
const char* tenant_migrations_path() {
    return tenant_migrations_path_value ? tenant_migrations_path_value : "";
}

}  // namespace tenancy::pg
