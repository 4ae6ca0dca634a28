// What a migrate or a rollback of one tenant must run, from the registered
// migrations and the versions the tenant's schema_migrations holds.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <vector>

namespace tenancy::core {

struct RegisteredVersion {
    std::int64_t version = 0;
    bool has_down = false;
};

// Registered versions the tenant lacks, up to target (all when nullopt),
// lowest first. registered may come in any order.
std::vector<std::int64_t> plan_migrate(const std::vector<RegisteredVersion>& registered,
                                       const std::set<std::int64_t>& applied,
                                       std::optional<std::int64_t> target);

// Applied versions above target, newest first, each to be undone with its
// down_sql. Throws core::Error (55000) when one of them has no down_sql or is
// not registered at all: then nothing may be rolled back.
std::vector<std::int64_t> plan_rollback(const std::vector<RegisteredVersion>& registered,
                                        const std::set<std::int64_t>& applied,
                                        std::int64_t target);

}  // namespace tenancy::core
