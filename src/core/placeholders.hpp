// The @tenant@ placeholder of migration texts (as @extschema@ is in extension
// scripts): replaced by the quoted tenant identifier before a migration runs.
#pragma once

#include <string>
#include <string_view>

namespace tenancy::core {

inline constexpr std::string_view tenant_placeholder = "@tenant@";

// Replaces every @tenant@ that stands on its own with quoted_tenant. One that
// is part of a longer word (@tenant@x, x@tenant@, @tenant@_id) is some other
// identifier and is left alone. The text is otherwise copied byte for byte,
// string literals and function bodies included.
std::string substitute_tenant(std::string_view sql, std::string_view quoted_tenant);

}  // namespace tenancy::core
