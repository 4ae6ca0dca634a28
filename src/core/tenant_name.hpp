// The rules a tenant name must follow (SPEC "Tenant names").
//
// A tenant name is a schema name that is always quoted, so the rules are about
// bytes, not characters: PostgreSQL silently truncates identifiers longer than
// 63 bytes, and two long names could otherwise land on one schema.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tenancy::core {

// The pattern (the GUC tenancy.tenant_name_pattern) a name must match. The
// server side matches it with PostgreSQL's own regex engine, the unit tests
// with std::regex; the rules only need the answer.
class NamePattern {
public:
    virtual ~NamePattern() = default;
    virtual bool matches(std::string_view name) const = 0;
};

// Names no tenant may take, besides the extra ones of tenancy.reserved_names.
inline constexpr std::string_view always_reserved_names[] = {
    "public", "information_schema", "tenancy"};
// As CREATE SCHEMA does, the prefix is matched case-sensitively: "PG_x" is fine.
inline constexpr std::string_view reserved_prefix = "pg_";
// The names of a tenant pool's spares (issue 12) begin with this; no tenant
// may take one, so a spare's name never collides with a tenant's.
inline constexpr std::string_view spare_prefix = "tenancy_spare_";

// Splits tenancy.reserved_names ("a, b,c") into its names, trimmed of spaces;
// empty entries are skipped.
std::vector<std::string> parse_reserved_names(std::string_view comma_separated);

class TenantNameRules {
public:
    TenantNameRules(const NamePattern& pattern, std::vector<std::string> extra_reserved)
        : pattern_(pattern), extra_reserved_(std::move(extra_reserved)) {}

    // Throws core::Error with the SPEC's SQLSTATE for the first rule broken:
    // NULL (22004), length (42622), pattern (42602), reserved (42939).
    void check(std::optional<std::string_view> name) const;

    bool is_reserved(std::string_view name) const;

private:
    const NamePattern& pattern_;
    std::vector<std::string> extra_reserved_;
};

}  // namespace tenancy::core
