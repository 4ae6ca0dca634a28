#include "tenant_name.hpp"

#include <fmt/format.h>

#include "error.hpp"
#include "identifier.hpp"
#include "pure_cpp.hpp"

namespace tenancy::core {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view text) {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    return text;
}

// Names in messages are shown quoted, as PostgreSQL shows identifiers; a NUL
// byte would end the C string the message becomes, so it is spelled out.
std::string printable(std::string_view name) {
    std::string shown;
    for (char c : name) {
        if (c == '\0')
            shown += "\\0";
        else
            shown.push_back(c);
    }
    return shown;
}

}  // namespace

std::vector<std::string> parse_reserved_names(std::string_view comma_separated) {
    std::vector<std::string> names;
    while (true) {
        std::size_t comma = comma_separated.find(',');
        std::string_view entry = trim(comma_separated.substr(0, comma));
        if (!entry.empty()) names.emplace_back(entry);
        if (comma == std::string_view::npos) break;
        comma_separated.remove_prefix(comma + 1);
    }
    return names;
}

bool TenantNameRules::is_reserved(std::string_view name) const {
    if (name.substr(0, reserved_prefix.size()) == reserved_prefix) return true;
    if (name.substr(0, spare_prefix.size()) == spare_prefix) return true;
    for (std::string_view reserved : always_reserved_names)
        if (name == reserved) return true;
    for (const std::string& reserved : extra_reserved_)
        if (name == reserved) return true;
    return false;
}

void TenantNameRules::check(std::optional<std::string_view> maybe_name) const {
    if (!maybe_name)
        throw Error(sqlstate::null_value_not_allowed, "tenant name must not be null");
    std::string_view name = *maybe_name;

    if (name.empty())
        throw Error(sqlstate::name_too_long, "tenant name must not be empty",
                    fmt::format("Tenant names are 1 to {} bytes long.", max_identifier_bytes));
    if (name.size() > max_identifier_bytes)
        throw Error(sqlstate::name_too_long,
                    fmt::format("tenant name \"{}\" is too long", printable(name)),
                    fmt::format("The name is {} bytes long; tenant names are at most {} bytes.",
                                name.size(), max_identifier_bytes),
                    "PostgreSQL would truncate a longer schema name, so it is refused.");

    if (name.find('\0') != std::string_view::npos || !pattern_.matches(name))
        throw Error(sqlstate::invalid_name,
                    fmt::format("invalid tenant name \"{}\"", printable(name)),
                    "Tenant names must match the pattern set by tenancy.tenant_name_pattern.");

    if (is_reserved(name))
        throw Error(sqlstate::reserved_name,
                    fmt::format("tenant name \"{}\" is reserved", printable(name)),
                    "The names public, information_schema and tenancy, names beginning with "
                    "\"pg_\" or \"tenancy_spare_\" (a tenant pool's spares), and those listed in tenancy.reserved_names are reserved.");
}

}  // namespace tenancy::core
