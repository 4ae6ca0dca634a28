#include "table_privileges.hpp"
#include "pure_cpp.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/format.h>

#include "error.hpp"

namespace tenancy::core {

namespace {

// MAINTAIN exists from PostgreSQL 17 on; GRANT itself refuses it before that.
constexpr std::array<const char*, 8> table_privileges = {
    "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"};

std::string normalised(const std::string& privilege) {
    std::size_t first = privilege.find_first_not_of(" \t\n");
    std::size_t last = privilege.find_last_not_of(" \t\n");
    std::string word = first == std::string::npos ? "" : privilege.substr(first, last - first + 1);
    std::transform(word.begin(), word.end(), word.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return word;
}

}  // namespace

std::vector<std::string> parse_table_privileges(const std::vector<std::optional<std::string>>& given) {
    if (given.empty())
        throw Error(sqlstate::invalid_parameter_value, "privileges must not be empty",
                    "", "List table privileges, such as ARRAY['SELECT', 'INSERT'].");
    std::vector<std::string> privileges;
    for (const std::optional<std::string>& element : given) {
        if (!element) throw Error(sqlstate::null_value_not_allowed, "privileges must not contain null");
        std::string word = normalised(*element);
        bool known = std::any_of(table_privileges.begin(), table_privileges.end(),
                                 [&](const char* privilege) { return word == privilege; });
        if (!known)
            throw Error(sqlstate::invalid_parameter_value,
                        fmt::format("\"{}\" is not a table privilege", *element),
                        "Tenant access grants privileges on the tenant's tables; the schema's USAGE "
                        "and the sequences' USAGE, SELECT come with it.",
                        "Use SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER or "
                        "MAINTAIN.");
        if (std::find(privileges.begin(), privileges.end(), word) == privileges.end())
            privileges.push_back(word);
    }
    return privileges;
}

std::string privilege_list(const std::vector<std::string>& privileges) {
    std::string list;
    for (const std::string& privilege : privileges) list += (list.empty() ? "" : ", ") + privilege;
    return list;
}

}  // namespace tenancy::core
