#include "shared_schemas.hpp"

#include "../core/identifier.hpp"
#include "error_boundary.hpp"
#include "settings.hpp"

extern "C" {
#include "utils/timestamp.h"
#include "utils/varlena.h"
}

namespace tenancy::pg {

namespace {

// The statement that last warned of a missing shared schema: a migrate_all
// over thousands of tenants says it once, not once per tenant.
TimestampTz warned_in_statement = 0;

void warn_missing(const char* schema) {
    ereport(WARNING, (errcode(ERRCODE_UNDEFINED_SCHEMA),
                      errmsg("schema \"%s\" of tenancy.shared_schemas does not exist, skipped", schema),
                      errhint("Create the schema, or take it out of tenancy.shared_schemas.")));
}

}  // namespace

std::vector<std::string> shared_schemas() {
    std::vector<std::string> schemas;
    std::vector<std::string> missing;
    call_postgres([&] {
        // The check hook (settings.cpp) accepted the list, so it splits.
        char* list = pstrdup(tenancy_shared_schemas());
        List* names = nullptr;
        SplitIdentifierString(list, ',', &names);
        ListCell* cell;
        foreach (cell, names) {
            const char* name = static_cast<const char*>(lfirst(cell));
            if (OidIsValid(get_namespace_oid(name, true)))
                schemas.emplace_back(name);
            else
                missing.emplace_back(name);
        }
        list_free(names);
        pfree(list);
    });
    if (!missing.empty()) {
        TimestampTz statement = call_postgres([] { return GetCurrentStatementStartTimestamp(); });
        if (statement != warned_in_statement) {
            warned_in_statement = statement;
            for (const std::string& name : missing) call_postgres([&] { warn_missing(name.c_str()); });
        }
    }
    return schemas;
}

std::string tenant_search_path(const std::string& tenant) {
    std::string path = core::quote_identifier(tenant);
    for (const std::string& schema : shared_schemas()) path += ", " + core::quote_identifier(schema);
    return path + ", pg_temp";
}

}  // namespace tenancy::pg
