// plan_migrate and plan_rollback: what tenancy.migrate / tenancy.rollback run
// for one tenant (SPEC "Tenant migrations").
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../../src/core/error.hpp"
#include "../../src/core/migration_plan.hpp"

using namespace tenancy::core;

namespace {

using Versions = std::vector<std::int64_t>;

// Registered migrations, all with a down_sql.
std::vector<RegisteredVersion> with_down(const Versions& versions) {
    std::vector<RegisteredVersion> registered;
    for (std::int64_t version : versions) registered.push_back({version, true});
    return registered;
}

// Registered migrations, none with a down_sql.
std::vector<RegisteredVersion> without_down(const Versions& versions) {
    std::vector<RegisteredVersion> registered;
    for (std::int64_t version : versions) registered.push_back({version, false});
    return registered;
}

// The SQLSTATE plan_rollback() raises, or "" (the plan then goes to *plan).
std::string rollback_sqlstate(const std::vector<RegisteredVersion>& registered,
                              const std::set<std::int64_t>& applied, std::int64_t target,
                              Versions* plan = nullptr) {
    try {
        Versions result = plan_rollback(registered, applied, target);
        if (plan) *plan = result;
        return "";
    } catch (const Error& e) {
        return e.sqlstate();
    }
}

}  // namespace

// ---- plan_migrate --------------------------------------------------------

TEST(PlanMigrate, NothingRegisteredPlansNothing) {
    EXPECT_EQ(plan_migrate({}, {}, std::nullopt), Versions{});
    EXPECT_EQ(plan_migrate({}, {1, 2}, std::nullopt), Versions{});
    EXPECT_EQ(plan_migrate({}, {}, 10), Versions{});
}

TEST(PlanMigrate, FreshTenantGetsEverythingLowestFirst) {
    EXPECT_EQ(plan_migrate(with_down({1, 2, 3}), {}, std::nullopt), (Versions{1, 2, 3}));
}

TEST(PlanMigrate, PendingIsRegisteredMinusApplied) {
    EXPECT_EQ(plan_migrate(with_down({1, 2, 3, 4}), {1, 2}, std::nullopt), (Versions{3, 4}));
    EXPECT_EQ(plan_migrate(with_down({1, 2, 3}), {1, 2, 3}, std::nullopt), Versions{});
}

TEST(PlanMigrate, HasDownDoesNotMatter) {
    std::vector<RegisteredVersion> registered = {{3, false}, {1, true}, {2, false}};
    EXPECT_EQ(plan_migrate(registered, {1}, std::nullopt), (Versions{2, 3}));
}

TEST(PlanMigrate, RegisteredInAnyOrderComesOutAscending) {
    EXPECT_EQ(plan_migrate(with_down({3, 1, 2}), {}, std::nullopt), (Versions{1, 2, 3}));
    EXPECT_EQ(plan_migrate(with_down({20240102000000, 5, 20231231235959, 100}), {100},
                           std::nullopt),
              (Versions{5, 20231231235959, 20240102000000}));
}

TEST(PlanMigrate, OutOfOrderGapIsFilled) {
    // A migration registered after a later one was applied (a merged branch).
    EXPECT_EQ(plan_migrate(with_down({1, 2, 3}), {1, 3}, std::nullopt), Versions{2});
    EXPECT_EQ(plan_migrate(with_down({1, 2, 3, 4, 5}), {2, 4}, std::nullopt),
              (Versions{1, 3, 5}));
}

TEST(PlanMigrate, AppliedButNotRegisteredIsIgnored) {
    EXPECT_EQ(plan_migrate(with_down({1, 2}), {1, 7, 99}, std::nullopt), Versions{2});
    EXPECT_EQ(plan_migrate(with_down({5}), {1, 2, 3, 4}, std::nullopt), Versions{5});
}

TEST(PlanMigrate, TargetIsInclusive) {
    EXPECT_EQ(plan_migrate(with_down({1, 2, 3, 4}), {}, 2), (Versions{1, 2}));
    EXPECT_EQ(plan_migrate(with_down({1, 2, 3, 4}), {1}, 3), (Versions{2, 3}));
    EXPECT_EQ(plan_migrate(with_down({4, 3, 2, 1}), {}, 4), (Versions{1, 2, 3, 4}));
}

TEST(PlanMigrate, TargetBetweenVersions) {
    EXPECT_EQ(plan_migrate(with_down({10, 20, 30}), {}, 25), (Versions{10, 20}));
}

TEST(PlanMigrate, TargetAboveEverythingPlansAll) {
    EXPECT_EQ(plan_migrate(with_down({1, 2, 3}), {2}, 1000), (Versions{1, 3}));
    EXPECT_EQ(plan_migrate(with_down({1, INT64_MAX}), {}, INT64_MAX), (Versions{1, INT64_MAX}));
}

TEST(PlanMigrate, TargetBelowEverythingPlansNothing) {
    EXPECT_EQ(plan_migrate(with_down({5, 6, 7}), {}, 4), Versions{});
    EXPECT_EQ(plan_migrate(with_down({5, 6, 7}), {}, 0), Versions{});
    EXPECT_EQ(plan_migrate(with_down({5, 6, 7}), {}, -1), Versions{});
    EXPECT_EQ(plan_migrate(with_down({5, 6, 7}), {}, INT64_MIN), Versions{});
}

TEST(PlanMigrate, GapBelowTargetIsFilledVersionsAboveAreNot) {
    EXPECT_EQ(plan_migrate(with_down({1, 2, 3, 4}), {1, 3}, 3), Versions{2});
}

TEST(PlanMigrate, ExtremeVersions) {
    EXPECT_EQ(plan_migrate(with_down({INT64_MAX, 1}), {}, std::nullopt),
              (Versions{1, INT64_MAX}));
    EXPECT_EQ(plan_migrate(with_down({INT64_MAX, 1}), {}, INT64_MAX - 1), Versions{1});
}

TEST(PlanMigrate, ManyVersions) {
    Versions all;
    std::set<std::int64_t> applied;
    for (std::int64_t v = 10000; v >= 1; v--) {
        all.push_back(v);
        if (v % 3 == 0) applied.insert(v);
    }
    Versions plan = plan_migrate(with_down(all), applied, 9000);
    Versions expected;
    for (std::int64_t v = 1; v <= 9000; v++)
        if (v % 3 != 0) expected.push_back(v);
    EXPECT_EQ(plan, expected);
}

// ---- plan_rollback -------------------------------------------------------

TEST(PlanRollback, AppliedAboveTargetNewestFirst) {
    EXPECT_EQ(plan_rollback(with_down({1, 2, 3, 4}), {1, 2, 3, 4}, 2), (Versions{4, 3}));
}

TEST(PlanRollback, RegisteredInAnyOrder) {
    EXPECT_EQ(plan_rollback(with_down({4, 1, 3, 2}), {1, 2, 3, 4}, 1), (Versions{4, 3, 2}));
}

TEST(PlanRollback, TargetIsKept) {
    // Rolling back to version 3 keeps 3 applied.
    EXPECT_EQ(plan_rollback(with_down({1, 2, 3, 4, 5}), {1, 2, 3, 4, 5}, 3), (Versions{5, 4}));
}

TEST(PlanRollback, TargetBetweenVersions) {
    EXPECT_EQ(plan_rollback(with_down({10, 20, 30}), {10, 20, 30}, 15), (Versions{30, 20}));
}

TEST(PlanRollback, TargetAtOrAboveNewestPlansNothing) {
    EXPECT_EQ(plan_rollback(with_down({1, 2, 3}), {1, 2, 3}, 3), Versions{});
    EXPECT_EQ(plan_rollback(with_down({1, 2, 3}), {1, 2, 3}, 4), Versions{});
    EXPECT_EQ(plan_rollback(with_down({1, 2, 3}), {1, 2, 3}, INT64_MAX), Versions{});
}

TEST(PlanRollback, NothingAppliedPlansNothing) {
    EXPECT_EQ(plan_rollback(with_down({1, 2, 3}), {}, 0), Versions{});
    EXPECT_EQ(plan_rollback({}, {}, 0), Versions{});
}

TEST(PlanRollback, TargetZeroRollsBackEverything) {
    EXPECT_EQ(plan_rollback(with_down({1, 2, 3}), {1, 2, 3}, 0), (Versions{3, 2, 1}));
    EXPECT_EQ(plan_rollback(with_down({1, INT64_MAX}), {1, INT64_MAX}, 0),
              (Versions{INT64_MAX, 1}));
}

TEST(PlanRollback, NegativeTargetRollsBackEverything) {
    EXPECT_EQ(plan_rollback(with_down({1, 2}), {1, 2}, -1), (Versions{2, 1}));
    EXPECT_EQ(plan_rollback(with_down({1, 2}), {1, 2}, INT64_MIN), (Versions{2, 1}));
}

TEST(PlanRollback, OnlyAppliedVersionsAreUndone) {
    // 3 is registered but not applied (a gap): nothing to undo for it.
    EXPECT_EQ(plan_rollback(with_down({1, 2, 3, 4}), {1, 2, 4}, 1), (Versions{4, 2}));
    // Registered, above target, never applied.
    EXPECT_EQ(plan_rollback(with_down({1, 2, 3}), {1}, 0), Versions{1});
}

TEST(PlanRollback, VersionWithoutDownRefusesEverything) {
    std::vector<RegisteredVersion> registered = {{1, true}, {2, false}, {3, true}};
    Versions plan = {42};
    EXPECT_EQ(rollback_sqlstate(registered, {1, 2, 3}, 0, &plan), "55000");
    // Not even 3, which could be undone, is planned: nothing was returned.
    EXPECT_EQ(plan, Versions{42});
    EXPECT_EQ(rollback_sqlstate(registered, {1, 2, 3}, 1), "55000");
    // The newest one lacking its down refuses too.
    EXPECT_EQ(rollback_sqlstate(without_down({1, 2, 3}), {1, 2, 3}, 2), "55000");
}

TEST(PlanRollback, VersionWithoutDownAtOrBelowTargetIsUntouched) {
    std::vector<RegisteredVersion> registered = {{1, false}, {2, false}, {3, true}, {4, true}};
    EXPECT_EQ(plan_rollback(registered, {1, 2, 3, 4}, 2), (Versions{4, 3}));
    EXPECT_EQ(plan_rollback(registered, {1, 2, 3, 4}, 4), Versions{});
    EXPECT_EQ(rollback_sqlstate(registered, {1, 2, 3, 4}, 1), "55000");
}

TEST(PlanRollback, VersionWithoutDownNotAppliedDoesNotMatter) {
    std::vector<RegisteredVersion> registered = {{1, true}, {2, false}, {3, true}};
    EXPECT_EQ(plan_rollback(registered, {1, 3}, 0), (Versions{3, 1}));
}

TEST(PlanRollback, UnregisteredAppliedVersionAboveTargetRefusesEverything) {
    Versions plan = {42};
    EXPECT_EQ(rollback_sqlstate(with_down({1, 2}), {1, 2, 3}, 0, &plan), "55000");
    EXPECT_EQ(plan, Versions{42});
    // Also when it is not the newest: 2 is applied (by Ecto, say) but unknown here.
    EXPECT_EQ(rollback_sqlstate(with_down({1, 3}), {1, 2, 3}, 1), "55000");
}

TEST(PlanRollback, UnregisteredAppliedVersionAtOrBelowTargetIsUntouched) {
    EXPECT_EQ(plan_rollback(with_down({3, 4}), {1, 2, 3, 4}, 2), (Versions{4, 3}));
    EXPECT_EQ(plan_rollback(with_down({3, 4}), {1, 2, 3, 4}, 3), Versions{4});
}

TEST(PlanRollback, ErrorNamesTheVersion) {
    try {
        plan_rollback({{1, true}, {20240101120000, false}}, {1, 20240101120000}, 0);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.sqlstate(), "55000");
        EXPECT_NE(std::string(e.what()).find("20240101120000"), std::string::npos) << e.what();
    }
    try {
        plan_rollback(with_down({1}), {1, 777}, 0);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.sqlstate(), "55000");
        EXPECT_NE(std::string(e.what()).find("777"), std::string::npos) << e.what();
    }
}

TEST(PlanRollback, ManyVersions) {
    Versions all;
    std::set<std::int64_t> applied;
    for (std::int64_t v = 1; v <= 10000; v++) {
        all.push_back(v);
        applied.insert(v);
    }
    Versions plan = plan_rollback(with_down(all), applied, 5000);
    ASSERT_EQ(plan.size(), 5000u);
    EXPECT_EQ(plan.front(), 10000);
    EXPECT_EQ(plan.back(), 5001);
    for (std::size_t i = 1; i < plan.size(); i++) ASSERT_EQ(plan[i - 1], plan[i] + 1);
}

// ---- migrate then rollback ----------------------------------------------

TEST(PlanMigrateAndRollback, RollbackUndoesWhatMigrateApplied) {
    std::vector<RegisteredVersion> registered = with_down({5, 1, 4, 2, 3});
    std::set<std::int64_t> applied = {1, 2};
    Versions migrated = plan_migrate(registered, applied, std::nullopt);
    EXPECT_EQ(migrated, (Versions{3, 4, 5}));
    applied.insert(migrated.begin(), migrated.end());
    Versions undone = plan_rollback(registered, applied, 2);
    EXPECT_EQ(undone, (Versions{5, 4, 3}));
}
