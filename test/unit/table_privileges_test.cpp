#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../../src/core/error.hpp"
#include "../../src/core/table_privileges.hpp"

using namespace tenancy::core;

namespace {
std::string sqlstate_of(const std::vector<std::optional<std::string>>& given) {
    try {
        parse_table_privileges(given);
    } catch (const Error& e) {
        return e.sqlstate();
    }
    return "none";
}
}  // namespace

TEST(TablePrivileges, NormalisesCaseAndSpaces) {
    EXPECT_EQ(parse_table_privileges({"select", " Insert ", "UPDATE"}),
              (std::vector<std::string>{"SELECT", "INSERT", "UPDATE"}));
}

TEST(TablePrivileges, DropsDuplicatesKeepingOrder) {
    EXPECT_EQ(parse_table_privileges({"DELETE", "select", "delete"}),
              (std::vector<std::string>{"DELETE", "SELECT"}));
}

TEST(TablePrivileges, AcceptsEveryTablePrivilege) {
    EXPECT_EQ(parse_table_privileges({"TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"}).size(), 4u);
}

TEST(TablePrivileges, RefusesWhatIsNotATablePrivilege) {
    EXPECT_EQ(sqlstate_of({"USAGE"}), "22023");
    EXPECT_EQ(sqlstate_of({"ALL"}), "22023");
    EXPECT_EQ(sqlstate_of({"SELECT; DROP TABLE x"}), "22023");
    EXPECT_EQ(sqlstate_of({""}), "22023");
    EXPECT_EQ(sqlstate_of({}), "22023");
}

TEST(TablePrivileges, RefusesNull) { EXPECT_EQ(sqlstate_of({"SELECT", std::nullopt}), "22004"); }

TEST(TablePrivileges, ListsAsGrantTakesThem) {
    EXPECT_EQ(privilege_list({"SELECT", "INSERT"}), "SELECT, INSERT");
}
