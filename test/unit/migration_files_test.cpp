// parse_migration_file_name and plan_migration_files: the file-naming rules of
// tenancy.load_migrations (SPEC "Tenant migrations").
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../../src/core/error.hpp"
#include "../../src/core/migration_files.hpp"

using namespace tenancy::core;

namespace {

// The SQLSTATE parse_migration_file_name() raises for name, or "" when it
// accepts (or ignores) the name.
std::string parse_sqlstate(std::string_view file_name) {
    try {
        parse_migration_file_name(file_name);
        return "";
    } catch (const Error& e) {
        return e.sqlstate();
    }
}

// The SQLSTATE plan_migration_files() raises for the listing, or "".
std::string plan_sqlstate(const std::vector<std::string>& file_names) {
    try {
        plan_migration_files(file_names);
        return "";
    } catch (const Error& e) {
        return e.sqlstate();
    }
}

// The error plan_migration_files() raises; fails the test when it raises none.
Error plan_error(const std::vector<std::string>& file_names) {
    try {
        plan_migration_files(file_names);
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "plan_migration_files() raised no error";
    return Error("", "");
}

bool is_ignored(std::string_view file_name) {
    return parse_migration_file_name(file_name).kind == MigrationFileKind::ignored;
}

}  // namespace

// ---- parse_migration_file_name: accepted names ---------------------------

TEST(ParseMigrationFileName, PlainSqlIsAnUpFile) {
    MigrationFileName parsed = parse_migration_file_name("20240101120000_create_users.sql");
    EXPECT_EQ(parsed.kind, MigrationFileKind::up);
    EXPECT_EQ(parsed.version, 20240101120000);
    EXPECT_EQ(parsed.name, "create_users");
}

TEST(ParseMigrationFileName, DotUpSqlIsAnUpFile) {
    MigrationFileName parsed = parse_migration_file_name("1_create_users.up.sql");
    EXPECT_EQ(parsed.kind, MigrationFileKind::up);
    EXPECT_EQ(parsed.version, 1);
    EXPECT_EQ(parsed.name, "create_users");
}

TEST(ParseMigrationFileName, DotDownSqlIsADownFile) {
    MigrationFileName parsed = parse_migration_file_name("1_create_users.down.sql");
    EXPECT_EQ(parsed.kind, MigrationFileKind::down);
    EXPECT_EQ(parsed.version, 1);
    EXPECT_EQ(parsed.name, "create_users");
}

TEST(ParseMigrationFileName, NameMayHoldLettersDigitsAndUnderscores) {
    MigrationFileName parsed = parse_migration_file_name("7_Add_Index_2__x.sql");
    EXPECT_EQ(parsed.version, 7);
    EXPECT_EQ(parsed.name, "Add_Index_2__x");
    // A name may start with a digit or an underscore, or be only digits:
    // everything after the first "_" is the name.
    EXPECT_EQ(parse_migration_file_name("7_2fa.sql").name, "2fa");
    EXPECT_EQ(parse_migration_file_name("7__private.sql").name, "_private");
    EXPECT_EQ(parse_migration_file_name("7__.sql").name, "_");
    EXPECT_EQ(parse_migration_file_name("7_123.sql").name, "123");
    EXPECT_EQ(parse_migration_file_name("7_123.sql").version, 7);
}

TEST(ParseMigrationFileName, WordsUpAndDownWithoutADotAreJustPartOfTheName) {
    MigrationFileName down_name = parse_migration_file_name("3_down.sql");
    EXPECT_EQ(down_name.kind, MigrationFileKind::up);
    EXPECT_EQ(down_name.name, "down");
    MigrationFileName up_name = parse_migration_file_name("3_x_up.sql");
    EXPECT_EQ(up_name.kind, MigrationFileKind::up);
    EXPECT_EQ(up_name.name, "x_up");
    MigrationFileName up_down = parse_migration_file_name("3_up.down.sql");
    EXPECT_EQ(up_down.kind, MigrationFileKind::down);
    EXPECT_EQ(up_down.name, "up");
}

TEST(ParseMigrationFileName, LeadingZerosAreDroppedFromTheVersion) {
    EXPECT_EQ(parse_migration_file_name("0001_x.sql").version, 1);
    EXPECT_EQ(parse_migration_file_name("010_x.sql").version, 10);
    // Many leading zeros do not count towards an overflow.
    EXPECT_EQ(parse_migration_file_name(std::string(100, '0') + "42_x.sql").version, 42);
    EXPECT_EQ(parse_migration_file_name(std::string(100, '0') + "9223372036854775807_x.sql").version,
              INT64_MAX);
}

TEST(ParseMigrationFileName, LargestBigintIsAccepted) {
    MigrationFileName parsed = parse_migration_file_name("9223372036854775807_max.sql");
    EXPECT_EQ(parsed.kind, MigrationFileKind::up);
    EXPECT_EQ(parsed.version, INT64_MAX);
    EXPECT_EQ(parse_migration_file_name("9223372036854775807_max.down.sql").version, INT64_MAX);
    EXPECT_EQ(parse_migration_file_name("9223372036854775799_x.sql").version,
              INT64_MAX - 8);
    EXPECT_EQ(parse_migration_file_name("922337203685477580_x.sql").version, INT64_MAX / 10);
}

// ---- parse_migration_file_name: ignored names ----------------------------

TEST(ParseMigrationFileName, FilesNotEndingInSqlAreIgnored) {
    EXPECT_TRUE(is_ignored("README.md"));
    EXPECT_TRUE(is_ignored("foo.sql.bak"));
    EXPECT_TRUE(is_ignored("1_x.sql~"));
    EXPECT_TRUE(is_ignored("1_x.sql.swp"));
    EXPECT_TRUE(is_ignored(".1_x.sql.swp"));
    EXPECT_TRUE(is_ignored("1_x.txt"));
    EXPECT_TRUE(is_ignored("1_x"));
    EXPECT_TRUE(is_ignored("sql"));
    EXPECT_TRUE(is_ignored("xsql"));
    EXPECT_TRUE(is_ignored(".sq"));
    EXPECT_TRUE(is_ignored(""));
    EXPECT_TRUE(is_ignored("."));
    EXPECT_TRUE(is_ignored(".."));
}

TEST(ParseMigrationFileName, SuffixIsCaseSensitiveSoUppercaseSqlIsIgnored) {
    EXPECT_TRUE(is_ignored("x.SQL"));
    EXPECT_TRUE(is_ignored("1_x.SQL"));
    EXPECT_TRUE(is_ignored("1_x.Sql"));
    EXPECT_TRUE(is_ignored("1_x.sqL"));
    // ".UP.sql" still ends in ".sql": it is parsed, and ".UP" is part of the stem.
    EXPECT_EQ(parse_sqlstate("1_x.UP.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1_x.Down.sql"), "22023");
}

TEST(ParseMigrationFileName, IgnoredNamesCarryNoVersionOrName) {
    MigrationFileName parsed = parse_migration_file_name("12_x.txt");
    EXPECT_EQ(parsed.kind, MigrationFileKind::ignored);
    EXPECT_EQ(parsed.version, 0);
    EXPECT_EQ(parsed.name, "");
}

// ---- parse_migration_file_name: refused names ----------------------------

TEST(ParseMigrationFileName, NoVersionIsRefused) {
    EXPECT_EQ(parse_sqlstate("create_users.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("_create_users.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("v1_create_users.sql"), "22023");
    EXPECT_EQ(parse_sqlstate(" 1_x.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("+1_x.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("-1_x.sql"), "22023");
    EXPECT_EQ(parse_sqlstate(".sql"), "22023");
    EXPECT_EQ(parse_sqlstate(".up.sql"), "22023");
    EXPECT_EQ(parse_sqlstate(".down.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("up.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("schema.sql"), "22023");
}

TEST(ParseMigrationFileName, NoUnderscoreAfterTheVersionIsRefused) {
    EXPECT_EQ(parse_sqlstate("1.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1.up.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1.down.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1x.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1-x.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1 x.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("20240101120000.sql"), "22023");
}

TEST(ParseMigrationFileName, EmptyNameIsRefused) {
    EXPECT_EQ(parse_sqlstate("1_.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1_.up.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1_.down.sql"), "22023");
}

TEST(ParseMigrationFileName, NameWithOtherCharactersIsRefused) {
    EXPECT_EQ(parse_sqlstate("1_create-users.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1_create.users.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1_x..sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1_x.up.up.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1_x.down.up.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1_x.up.down.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1_create users.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1_x .sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1_x\t.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1_x\n.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1_x$.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1_x/y.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1_x\\y.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1_x'y.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("1_x\"y.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("sub/1_x.sql"), "22023");
}

TEST(ParseMigrationFileName, NonAsciiIsRefused) {
    EXPECT_EQ(parse_sqlstate("1_caf\xC3\xA9.sql"), "22023");             // é
    EXPECT_EQ(parse_sqlstate("1_\xE2\x82\xAC.sql"), "22023");            // €
    EXPECT_EQ(parse_sqlstate("1_x\xF0\x9F\x98\x80.sql"), "22023");       // emoji
    EXPECT_EQ(parse_sqlstate("1_x\xFF.sql"), "22023");                   // invalid UTF-8
    // Digits of other scripts are no version: Arabic-Indic one, fullwidth one.
    EXPECT_EQ(parse_sqlstate("\xD9\xA1_x.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("\xEF\xBC\x91_x.sql"), "22023");
}

TEST(ParseMigrationFileName, VersionZeroIsRefused) {
    EXPECT_EQ(parse_sqlstate("0_x.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("0000_x.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("0_x.down.sql"), "22023");
    EXPECT_EQ(parse_sqlstate(std::string(200, '0') + "_x.sql"), "22023");
}

TEST(ParseMigrationFileName, VersionOverflowingBigintIsRefused) {
    EXPECT_EQ(parse_sqlstate("9223372036854775808_x.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("9223372036854775809_x.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("9223372036854775810_x.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("9999999999999999999_x.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("99999999999999999999_x.sql"), "22023");
    EXPECT_EQ(parse_sqlstate("18446744073709551616_x.sql"), "22023");  // 2^64: wraps to 0
    EXPECT_EQ(parse_sqlstate("18446744073709551617_x.sql"), "22023");  // 2^64+1: wraps to 1
    EXPECT_EQ(parse_sqlstate("92233720368547758070_x.sql"), "22023");
    EXPECT_EQ(parse_sqlstate(std::string(1000, '9') + "_x.sql"), "22023");
}

TEST(ParseMigrationFileName, EmbeddedNulIsRefusedOrIgnoredNeverTruncated) {
    // A NUL inside the name is not a name character.
    EXPECT_EQ(parse_sqlstate(std::string("1_a\0b.sql", 9)), "22023");
    EXPECT_EQ(parse_sqlstate(std::string("1_a\0.sql", 8)), "22023");
    // Nor a digit, nor the "_" after the version.
    EXPECT_EQ(parse_sqlstate(std::string("\0" "1_a.sql", 8)), "22023");
    EXPECT_EQ(parse_sqlstate(std::string("1\0_a.sql", 8)), "22023");
    // A name that does not end in ".sql" (the NUL comes after it) is ignored,
    // not read up to the NUL as "1_a.sql".
    EXPECT_TRUE(is_ignored(std::string("1_a.sql\0", 8)));
    EXPECT_TRUE(is_ignored(std::string("1_a.sql\0.bak", 12)));
}

TEST(ParseMigrationFileName, ErrorNamesTheFileAndHasDetailAndHint) {
    try {
        parse_migration_file_name("1_bad-name.sql");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.sqlstate(), "22023");
        EXPECT_NE(std::string(e.what()).find("1_bad-name.sql"), std::string::npos) << e.what();
        EXPECT_FALSE(e.detail().empty());
        EXPECT_FALSE(e.hint().empty());
    }
}

// ---- plan_migration_files ---------------------------------------------

TEST(PlanMigrationFiles, EmptyDirectoryPlansNothing) {
    EXPECT_TRUE(plan_migration_files({}).empty());
    EXPECT_TRUE(plan_migration_files({"README.md", "notes.txt", "x.SQL"}).empty());
}

TEST(PlanMigrationFiles, PairsUpAndDownFiles) {
    std::vector<MigrationFiles> plan = plan_migration_files(
        {"2_add_index.sql", "1_create.up.sql", "1_create.down.sql", "README.md"});
    ASSERT_EQ(plan.size(), 2u);
    EXPECT_EQ(plan[0].version, 1);
    EXPECT_EQ(plan[0].name, "create");
    EXPECT_EQ(plan[0].up_file, "1_create.up.sql");
    ASSERT_TRUE(plan[0].down_file.has_value());
    EXPECT_EQ(*plan[0].down_file, "1_create.down.sql");
    EXPECT_EQ(plan[1].version, 2);
    EXPECT_EQ(plan[1].name, "add_index");
    EXPECT_EQ(plan[1].up_file, "2_add_index.sql");
    EXPECT_FALSE(plan[1].down_file.has_value());
}

TEST(PlanMigrationFiles, PlainSqlUpFileMayHaveADownFile) {
    std::vector<MigrationFiles> plan = plan_migration_files({"5_x.down.sql", "5_x.sql"});
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_EQ(plan[0].up_file, "5_x.sql");
    ASSERT_TRUE(plan[0].down_file.has_value());
    EXPECT_EQ(*plan[0].down_file, "5_x.down.sql");
}

TEST(PlanMigrationFiles, FileNamesAreKeptAsListedWithLeadingZeros) {
    std::vector<MigrationFiles> plan =
        plan_migration_files({"0001_x.up.sql", "0001_x.down.sql", "0002_y.sql"});
    ASSERT_EQ(plan.size(), 2u);
    EXPECT_EQ(plan[0].version, 1);
    EXPECT_EQ(plan[0].up_file, "0001_x.up.sql");
    EXPECT_EQ(*plan[0].down_file, "0001_x.down.sql");
    EXPECT_EQ(plan[1].version, 2);
    EXPECT_EQ(plan[1].up_file, "0002_y.sql");
}

TEST(PlanMigrationFiles, SortedByVersionNotByFileName) {
    // As strings "10_" < "2_" < "9_"; as versions 2 < 9 < 10.
    std::vector<MigrationFiles> plan =
        plan_migration_files({"10_c.sql", "9_b.sql", "2_a.sql", "100_d.sql"});
    ASSERT_EQ(plan.size(), 4u);
    EXPECT_EQ(plan[0].version, 2);
    EXPECT_EQ(plan[1].version, 9);
    EXPECT_EQ(plan[2].version, 10);
    EXPECT_EQ(plan[3].version, 100);
    // Leading zeros do not change the order either.
    plan = plan_migration_files({"3_c.sql", "0002_b.sql", "00000000001_a.sql"});
    ASSERT_EQ(plan.size(), 3u);
    EXPECT_EQ(plan[0].name, "a");
    EXPECT_EQ(plan[1].name, "b");
    EXPECT_EQ(plan[2].name, "c");
}

TEST(PlanMigrationFiles, ResultDoesNotDependOnTheListingOrder) {
    std::vector<std::string> files = {
        "20240101120000_create_users.up.sql", "20240101120000_create_users.down.sql",
        "20240102000000_add_email.sql",       "20231231235959_bootstrap.sql",
        "9223372036854775807_last.up.sql",    "9223372036854775807_last.down.sql",
        "1_first.sql",                        "README.md",
        "seed.csv"};
    std::vector<MigrationFiles> expected = plan_migration_files(files);
    ASSERT_EQ(expected.size(), 5u);
    EXPECT_EQ(expected.front().version, 1);
    EXPECT_EQ(expected.back().version, INT64_MAX);
    EXPECT_EQ(*expected.back().down_file, "9223372036854775807_last.down.sql");

    std::mt19937 random(12345);
    for (int round = 0; round < 50; round++) {
        std::shuffle(files.begin(), files.end(), random);
        std::vector<MigrationFiles> plan = plan_migration_files(files);
        ASSERT_EQ(plan.size(), expected.size());
        for (std::size_t i = 0; i < plan.size(); i++) {
            EXPECT_EQ(plan[i].version, expected[i].version);
            EXPECT_EQ(plan[i].name, expected[i].name);
            EXPECT_EQ(plan[i].up_file, expected[i].up_file);
            EXPECT_EQ(plan[i].down_file, expected[i].down_file);
        }
    }
}

TEST(PlanMigrationFiles, OneBadNameRefusesTheWholeDirectory) {
    EXPECT_EQ(plan_sqlstate({"1_a.sql", "2_b.sql", "3_bad-name.sql"}), "22023");
    EXPECT_EQ(plan_sqlstate({"3_bad-name.sql", "1_a.sql"}), "22023");
    EXPECT_EQ(plan_sqlstate({"1_a.sql", "schema.sql"}), "22023");
    EXPECT_EQ(plan_sqlstate({"1_a.sql", "0_zero.sql"}), "22023");
    EXPECT_EQ(plan_sqlstate({"1_a.sql", "99999999999999999999_big.sql"}), "22023");
    // The bad name is ignored when it does not end in ".sql".
    EXPECT_EQ(plan_sqlstate({"1_a.sql", "3_bad-name.sql.orig"}), "");
}

TEST(PlanMigrationFiles, TwoUpFilesForOneVersionAreRefused) {
    EXPECT_EQ(plan_sqlstate({"1_a.sql", "1_a.up.sql"}), "22023");
    EXPECT_EQ(plan_sqlstate({"1_a.sql", "1_b.sql"}), "22023");
    EXPECT_EQ(plan_sqlstate({"1_a.up.sql", "1_b.up.sql"}), "22023");
    EXPECT_EQ(plan_sqlstate({"1_a.sql", "1_b.sql", "1_a.down.sql"}), "22023");
    // The same name listed twice is two files too.
    EXPECT_EQ(plan_sqlstate({"1_a.sql", "1_a.sql"}), "22023");
}

TEST(PlanMigrationFiles, TwoDownFilesForOneVersionAreRefused) {
    EXPECT_EQ(plan_sqlstate({"1_a.sql", "1_a.down.sql", "01_a.down.sql"}), "22023");
    EXPECT_EQ(plan_sqlstate({"1_a.sql", "1_a.down.sql", "1_b.down.sql"}), "22023");
}

TEST(PlanMigrationFiles, VersionsEqualAfterLeadingZerosClash) {
    EXPECT_EQ(plan_sqlstate({"1_x.sql", "01_y.sql"}), "22023");
    EXPECT_EQ(plan_sqlstate({"01_y.sql", "1_x.sql"}), "22023");
    EXPECT_EQ(plan_sqlstate({"1_x.sql", "0001_x.up.sql"}), "22023");
    // Same name too: still two files for version 1.
    EXPECT_EQ(plan_sqlstate({"1_x.sql", "01_x.sql"}), "22023");
}

TEST(PlanMigrationFiles, ClashErrorNamesBothFilesWhateverTheListingOrder) {
    Error first = plan_error({"1_a.sql", "1_b.sql"});
    Error second = plan_error({"1_b.sql", "1_a.sql"});
    EXPECT_STREQ(first.sqlstate(), "22023");
    EXPECT_STREQ(second.sqlstate(), "22023");
    EXPECT_NE(first.detail().find("1_a.sql"), std::string::npos) << first.detail();
    EXPECT_NE(first.detail().find("1_b.sql"), std::string::npos) << first.detail();
    // The message is the same whichever order the directory lists them in.
    EXPECT_EQ(std::string(first.what()), std::string(second.what()));
    EXPECT_EQ(first.detail(), second.detail());
}

TEST(PlanMigrationFiles, DownFileWithoutItsUpFileIsRefused) {
    EXPECT_EQ(plan_sqlstate({"1_a.down.sql"}), "22023");
    EXPECT_EQ(plan_sqlstate({"1_a.sql", "2_b.down.sql"}), "22023");
    EXPECT_EQ(plan_sqlstate({"2_b.down.sql", "1_a.sql", "3_c.sql"}), "22023");
    // An up file of a non-.sql name is ignored, so it does not count.
    EXPECT_EQ(plan_sqlstate({"1_a.down.sql", "1_a.up.SQL"}), "22023");
    Error error = plan_error({"1_a.sql", "2_b.down.sql"});
    EXPECT_NE(std::string(error.what()).find("2_b.down.sql"), std::string::npos) << error.what();
}

TEST(PlanMigrationFiles, UpAndDownWithDifferentNamesAreRefused) {
    EXPECT_EQ(plan_sqlstate({"1_a.up.sql", "1_b.down.sql"}), "22023");
    EXPECT_EQ(plan_sqlstate({"1_a.sql", "1_b.down.sql"}), "22023");
    // Names are compared exactly: case matters.
    EXPECT_EQ(plan_sqlstate({"1_a.sql", "1_A.down.sql"}), "22023");
    // Leading zeros of the version are not part of the name.
    EXPECT_EQ(plan_sqlstate({"1_a.sql", "001_a.down.sql"}), "");
    Error error = plan_error({"1_a.up.sql", "1_b.down.sql"});
    EXPECT_NE(std::string(error.what()).find("1_a.up.sql"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("1_b.down.sql"), std::string::npos) << error.what();
}

TEST(PlanMigrationFiles, EmbeddedNulInAListedName) {
    // A refused name refuses the directory; an ignored one is skipped.
    EXPECT_EQ(plan_sqlstate({"1_a.sql", std::string("2_b\0c.sql", 9)}), "22023");
    std::vector<MigrationFiles> plan =
        plan_migration_files({"1_a.sql", std::string("2_b.sql\0", 8)});
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_EQ(plan[0].version, 1);
}

TEST(PlanMigrationFiles, TenThousandFiles) {
    std::vector<std::string> files;
    for (int version = 1; version <= 10000; version++) {
        std::string name = "m" + std::to_string(version);
        files.push_back(std::to_string(version) + "_" + name + ".up.sql");
        if (version % 2 == 0) files.push_back(std::to_string(version) + "_" + name + ".down.sql");
        if (version % 100 == 0) files.push_back("notes" + std::to_string(version) + ".txt");
    }
    std::mt19937 random(2024);
    std::shuffle(files.begin(), files.end(), random);

    std::vector<MigrationFiles> plan = plan_migration_files(files);
    ASSERT_EQ(plan.size(), 10000u);
    for (std::size_t i = 0; i < plan.size(); i++) {
        std::int64_t version = static_cast<std::int64_t>(i) + 1;
        ASSERT_EQ(plan[i].version, version);
        ASSERT_EQ(plan[i].name, "m" + std::to_string(version));
        ASSERT_EQ(plan[i].down_file.has_value(), version % 2 == 0);
    }

    // One clash among them refuses all of them.
    files.push_back("5000_other.sql");
    EXPECT_EQ(plan_sqlstate(files), "22023");
}

// declares_no_transaction: the first line "-- tenancy:no-transaction" makes a
// migration file non-transactional; nothing else does.
TEST(NoTransactionMarker, FirstLineDeclaresTheFileNonTransactional) {
    EXPECT_TRUE(declares_no_transaction("-- tenancy:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);"));
    EXPECT_TRUE(declares_no_transaction("-- tenancy:no-transaction"));
    EXPECT_TRUE(declares_no_transaction("-- tenancy:no-transaction  \t\r\nSELECT 1;"));
    EXPECT_TRUE(declares_no_transaction("\xEF\xBB\xBF-- tenancy:no-transaction\nSELECT 1;"));
}

TEST(NoTransactionMarker, AnythingElseIsAnOrdinaryComment) {
    EXPECT_FALSE(declares_no_transaction(""));
    EXPECT_FALSE(declares_no_transaction("SELECT 1;\n-- tenancy:no-transaction\n"));
    EXPECT_FALSE(declares_no_transaction("\n-- tenancy:no-transaction\n"));
    EXPECT_FALSE(declares_no_transaction(" -- tenancy:no-transaction\n"));
    EXPECT_FALSE(declares_no_transaction("-- tenancy:no-transactions\n"));
    EXPECT_FALSE(declares_no_transaction("-- tenancy:no-transaction please\n"));
    EXPECT_FALSE(declares_no_transaction("-- Tenancy:No-Transaction\n"));
    EXPECT_FALSE(declares_no_transaction("--tenancy:no-transaction\n"));
    EXPECT_FALSE(declares_no_transaction(std::string("-- tenancy:no-transaction\0\n", 27)));
    EXPECT_FALSE(declares_no_transaction("-- tenancy:no-transac"));
}
