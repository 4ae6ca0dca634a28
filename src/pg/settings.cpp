#include "settings.hpp"

#include "schema_migrations.hpp"

#include "postgres_headers.hpp"

extern "C" {
#include "utils/varlena.h"
}

namespace tenancy::pg {

namespace {

char* tenant_name_pattern_value = nullptr;
char* reserved_names_value = nullptr;
char* tenant_migrations_path_value = nullptr;
bool allow_writable_shared_schemas_value = false;
char* shared_schemas_value = nullptr;
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

// A comma-separated list of schema names, as search_path spells them
// (unquoted names are folded to lower case). pg_temp is always last and
// "$user" means nothing for a tenant: both are refused.
bool check_shared_schemas(char** newval, void**, GucSource) {
    char* list = pstrdup(*newval);
    List* names = nullptr;
    bool valid = SplitIdentifierString(list, ',', &names);
    if (!valid) {
        GUC_check_errdetail("List syntax is invalid.");
    } else {
        ListCell* cell;
        foreach (cell, names) {
            const char* name = static_cast<const char*>(lfirst(cell));
            if (strcmp(name, "pg_temp") == 0 || strncmp(name, "pg_temp_", 8) == 0 ||
                strcmp(name, "$user") == 0) {
                GUC_check_errdetail("\"%s\" cannot be a shared schema: pg_temp is always last on a "
                                    "tenant's search_path, and \"$user\" names no tenant's schema.",
                                    name);
                valid = false;
                break;
            }
        }
    }
    list_free(names);
    pfree(list);
    return valid;
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
        "tenancy.allow_writable_shared_schemas",
        "Lets migrations run while a shared schema on their search_path is writable by roles "
        "other than its owner.",
        nullptr, &allow_writable_shared_schemas_value, false, PGC_SUSET, 0, nullptr, nullptr,
        nullptr);
    DefineCustomStringVariable(
        "tenancy.shared_schemas",
        "Schemas that follow the tenant's on the search_path of its migrations and of set_tenant().",
        "Quoted on the search_path, with pg_temp last; a schema that does not exist is skipped "
        "with a WARNING.",
        &shared_schemas_value, "public", PGC_SUSET, GUC_LIST_INPUT,
        check_shared_schemas, nullptr, nullptr);
    schema_migrations::define_setting();
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
bool allow_writable_shared_schemas() { return allow_writable_shared_schemas_value; }
const char* tenancy_shared_schemas() { return shared_schemas_value ? shared_schemas_value : "public"; }
const char* tenant_migrations_path() {
    return tenant_migrations_path_value ? tenant_migrations_path_value : "";
}

}  // namespace tenancy::pg
