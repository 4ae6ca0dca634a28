// tenancy.shared_schemas: the schemas that follow a tenant's own on the
// search_path of its migrations and of set_tenant() (default public; say
// "public, extensions" when extensions live in a schema of their own).
#pragma once

#include <string>
#include <vector>

namespace tenancy::pg {

// The listed schemas that exist, in order. A listed schema that does not
// exist is skipped with a WARNING (once per statement), not left a silent hole.
std::vector<std::string> shared_schemas();

// "<tenant>", "<shared schema>"..., pg_temp: every name quoted, and pg_temp
// last, so that no temporary object can shadow a tenant's or a shared one.
// The one place a tenant's search_path is spelled.
std::string tenant_search_path(const std::string& tenant);

}  // namespace tenancy::pg
