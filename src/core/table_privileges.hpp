// The privileges tenancy.grant_tenant_access() may declare: table privileges
// only, as GRANT ... ON TABLE spells them.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tenancy::core {

// Checks and normalises a privileges array: each element a table privilege
// (case-insensitive, surrounding spaces ignored), upper-cased, duplicates
// dropped, in the order given. Raises 22004 for a NULL element and 22023 for
// an empty array or a privilege that is not a table privilege.
std::vector<std::string> parse_table_privileges(const std::vector<std::optional<std::string>>& given);

// "SELECT, INSERT": the list as GRANT takes it.
std::string privilege_list(const std::vector<std::string>& privileges);

}  // namespace tenancy::core
