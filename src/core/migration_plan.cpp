#include "migration_plan.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "error.hpp"
#include "pure_cpp.hpp"

namespace tenancy::core {

std::vector<std::int64_t> plan_migrate(const std::vector<RegisteredVersion>& registered,
                                       const std::set<std::int64_t>& applied,
                                       std::optional<std::int64_t> target) {
    std::vector<std::int64_t> pending;
    for (const RegisteredVersion& migration : registered) {
        if (target && migration.version > *target) continue;
        if (applied.count(migration.version) == 0) pending.push_back(migration.version);
    }
    std::sort(pending.begin(), pending.end());
    return pending;
}

std::vector<std::int64_t> plan_rollback(const std::vector<RegisteredVersion>& registered,
                                        const std::set<std::int64_t>& applied,
                                        std::int64_t target) {
    std::map<std::int64_t, bool> has_down;
    for (const RegisteredVersion& migration : registered)
        has_down[migration.version] = migration.has_down;

    std::vector<std::int64_t> to_undo;
    for (auto it = applied.rbegin(); it != applied.rend() && *it > target; ++it) {
        auto found = has_down.find(*it);
        if (found == has_down.end())
            throw Error(sqlstate::object_not_in_prerequisite_state,
                        fmt::format("cannot roll back migration {}: it is not registered", *it),
                        "Only registered migrations with a down_sql can be rolled back.");
        if (!found->second)
            throw Error(sqlstate::object_not_in_prerequisite_state,
                        fmt::format("cannot roll back migration {}: it has no down_sql", *it),
                        "Nothing was rolled back.",
                        "Register the migration again with its down_sql.");
        to_undo.push_back(*it);
    }
    return to_undo;
}

}  // namespace tenancy::core
