#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "../../src/core/error.hpp"
#include "../../src/core/identifier.hpp"
#include "../../src/core/tenant_name.hpp"

using namespace tenancy::core;

namespace {

// The default pattern, matched the way POSIX extended regexes are.
class StdRegexPattern final : public NamePattern {
public:
    explicit StdRegexPattern(const std::string& pattern)
        : regex_(pattern, std::regex::extended) {}
    bool matches(std::string_view name) const override {
        return std::regex_search(name.begin(), name.end(), regex_);
    }

private:
    std::regex regex_;
};

const StdRegexPattern default_pattern("^[A-Za-z0-9_-]+$");

// The SQLSTATE check() raises for name, or "" when the name is accepted.
std::string sqlstate_of(std::optional<std::string_view> name,
                        std::vector<std::string> reserved = {},
                        const NamePattern& pattern = default_pattern) {
    TenantNameRules rules(pattern, std::move(reserved));
    try {
        rules.check(name);
        return "";
    } catch (const Error& e) {
        return e.sqlstate();
    }
}

}  // namespace

TEST(TenantName, AcceptsOrdinaryNames) {
    EXPECT_EQ(sqlstate_of("org_1"), "");
    EXPECT_EQ(sqlstate_of("Mixed-Case_1"), "");
    EXPECT_EQ(sqlstate_of("a"), "");
}

TEST(TenantName, NullIsRefused) { EXPECT_EQ(sqlstate_of(std::nullopt), "22004"); }

TEST(TenantName, EmptyIsRefusedAsALengthError) { EXPECT_EQ(sqlstate_of(""), "42622"); }

TEST(TenantName, SixtyThreeBytesFitSixtyFourDoNot) {
    EXPECT_EQ(sqlstate_of(std::string(63, 'a')), "");
    EXPECT_EQ(sqlstate_of(std::string(64, 'a')), "42622");
    EXPECT_EQ(sqlstate_of(std::string(1000, 'a')), "42622");
}

TEST(TenantName, LengthIsCountedInBytesNotCharacters) {
    StdRegexPattern anything(".*");
    // 31 two-byte characters: 62 bytes, accepted.
    std::string two_byte_chars;
    for (int i = 0; i < 31; i++) two_byte_chars += "\xC3\xA9";  // é
    EXPECT_EQ(sqlstate_of(two_byte_chars, {}, anything), "");
    // 32 of them: 32 characters but 64 bytes.
    EXPECT_EQ(sqlstate_of(two_byte_chars + "\xC3\xA9", {}, anything), "42622");
}

TEST(TenantName, MultibyteCharacterSplitAtTheBoundaryIsRefusedNotTruncated) {
    StdRegexPattern anything(".*");
    // 62 ASCII bytes and a 2-byte character: byte 63 is half of it.
    std::string name = std::string(62, 'a') + "\xC3\xA9";
    ASSERT_EQ(name.size(), 64u);
    EXPECT_EQ(sqlstate_of(name, {}, anything), "42622");
    // A 3-byte character ending exactly at byte 63 fits.
    EXPECT_EQ(sqlstate_of(std::string(60, 'a') + "\xE2\x82\xAC", {}, anything), "");
    // A 4-byte character crossing it does not.
    EXPECT_EQ(sqlstate_of(std::string(60, 'a') + "\xF0\x9F\x98\x80", {}, anything), "42622");
}

TEST(TenantName, PatternViolationsAreInvalidNames) {
    EXPECT_EQ(sqlstate_of("has space"), "42602");
    EXPECT_EQ(sqlstate_of("quote\"d"), "42602");
    EXPECT_EQ(sqlstate_of("back\\slash"), "42602");
    EXPECT_EQ(sqlstate_of("semi;colon"), "42602");
    EXPECT_EQ(sqlstate_of("caf\xC3\xA9"), "42602");
}

TEST(TenantName, EmbeddedNulIsRefusedWhateverThePattern) {
    StdRegexPattern anything(".*");
    EXPECT_EQ(sqlstate_of(std::string("ab\0cd", 5), {}, anything), "42602");
    EXPECT_EQ(sqlstate_of(std::string("\0", 1), {}, anything), "42602");
}

TEST(TenantName, ReservedNames) {
    EXPECT_EQ(sqlstate_of("public"), "42939");
    EXPECT_EQ(sqlstate_of("information_schema"), "42939");
    EXPECT_EQ(sqlstate_of("tenancy"), "42939");
    EXPECT_EQ(sqlstate_of("pg_"), "42939");
    EXPECT_EQ(sqlstate_of("pg_anything"), "42939");
}

TEST(TenantName, ReservedMatchingIsCaseSensitiveAsCreateSchemaIs) {
    EXPECT_EQ(sqlstate_of("PG_x"), "");
    EXPECT_EQ(sqlstate_of("Pg_x"), "");
    EXPECT_EQ(sqlstate_of("Public"), "");
    EXPECT_EQ(sqlstate_of("pgx"), "");
}

TEST(TenantName, SpareNamesOfTenantPoolsAreReserved) {
    EXPECT_EQ(sqlstate_of("tenancy_spare_"), "42939");
    EXPECT_EQ(sqlstate_of("tenancy_spare_0123abcd"), "42939");
    EXPECT_EQ(sqlstate_of("Tenancy_spare_x"), "");
    EXPECT_EQ(sqlstate_of("tenancy_sparex"), "");
    EXPECT_EQ(sqlstate_of("my_tenancy_spare_x"), "");
}

TEST(TenantName, ExtraReservedNamesFromTheSetting) {
    std::vector<std::string> reserved = parse_reserved_names(" admin, www ,,api ");
    EXPECT_EQ(reserved, (std::vector<std::string>{"admin", "www", "api"}));
    EXPECT_EQ(sqlstate_of("admin", reserved), "42939");
    EXPECT_EQ(sqlstate_of("api", reserved), "42939");
    EXPECT_EQ(sqlstate_of("Admin", reserved), "");
    EXPECT_EQ(sqlstate_of("", reserved), "42622");
}

TEST(TenantName, ParseReservedNamesHandlesEmptyInput) {
    EXPECT_TRUE(parse_reserved_names("").empty());
    EXPECT_TRUE(parse_reserved_names(" , ,").empty());
}

TEST(TenantName, RulesApplyInTheSpecsOrder) {
    // Too long and invalid: the length rule comes first.
    EXPECT_EQ(sqlstate_of(std::string(64, ' ')), "42622");
    // Invalid and reserved-looking: the pattern rule comes first.
    EXPECT_EQ(sqlstate_of("pg_ x"), "42602");
}

TEST(TenantName, MessagesShowTheNameAndNeverEndAtANul) {
    StdRegexPattern anything(".*");
    TenantNameRules rules(anything, {});
    try {
        rules.check(std::string_view("ab\0cd", 5));
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "invalid tenant name \"ab\\0cd\"");
    }
}
