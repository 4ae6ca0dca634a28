// Tenant access for application roles (tenancy.grant_tenant_access): the
// declared roles get USAGE on every tenant schema, their privileges on its
// tables, USAGE and SELECT on its sequences, and default privileges, so the
// tables later migrations create get them too.
#pragma once

#include <string>

namespace tenancy::pg {

// Grants every declared role its access in a tenant that was just created or
// adopted. The caller is connected to SPI.
void grant_declared_access(const std::string& tenant);

}  // namespace tenancy::pg
