// Pools of ready tenants (issue 12). A spare is a registered tenant whose
// registry row says spare = true, named tenancy_spare_<random hex> (a prefix
// the name rules refuse to tenants), owned by its pool's owner, fully
// migrated. Taking one is a claim of its registry row (FOR UPDATE SKIP
// LOCKED: concurrent takers never get the same spare and never wait for each
// other), a check that it is current and holds its name nowhere, and a
// rename: in the caller's transaction, so a rollback gives it back.
#include "pool.hpp"

#include <set>
#include <vector>

#include <fmt/format.h>

#include "../core/error.hpp"
#include "../core/identifier.hpp"
#include "../core/migration_plan.hpp"
#include "../core/tenant_name.hpp"
#include "applied_migrations.hpp"
#include "arguments.hpp"
#include "background_workers.hpp"
#include "citus.hpp"
#include "error_boundary.hpp"
#include "migration_registry.hpp"
#include "own_ddl.hpp"
#include "registry.hpp"
#include "schema_migrations.hpp"
#include "settings.hpp"
#include "spi.hpp"
#include "tenant_access.hpp"
#include "tenant_migrations.hpp"

namespace tenancy::pg::pool {

namespace {

// last_error of a spare that holds its own name as text; such a spare is
// never taken (see name_tie()).
constexpr const char* name_tie_marker = "spare holds its name as text: ";

std::string oid_text(Oid oid) { return std::to_string(oid); }

// A database still at 0.1.0 (the library updated, ALTER EXTENSION not yet
// run) has no pools and no spare column: every tenant is a tenant there.
bool pools_installed() {
    return call_postgres([] {
        Oid schema = get_namespace_oid("tenancy", true);
        return OidIsValid(schema) && OidIsValid(get_relname_relid("tenant_pools", schema));
    });
}

// The first registered migration whose up_sql holds @tenant@.
std::optional<std::string> placeholder_migration() {
    return spi::query_value(
        "SELECT CAST(version AS pg_catalog.text) FROM tenancy.migration_registry "
        "WHERE pg_catalog.strpos(up_sql, '@tenant@') OPERATOR(pg_catalog.>) 0 "
        "ORDER BY version LIMIT 1");
}

// Something in the spare's schema that holds the schema's name as text, and
// so would keep naming the spare after the rename: a function's body or SET
// clause (SET search_path FROM CURRENT while migrating), a column default, a
// check constraint, a view, a trigger's arguments (its definition names
// its table qualified whatever search_path says). Deparsed with search_path
// set to the spare, so references by OID (a serial's nextval('seq'::regclass),
// a view's tables) print unqualified and only names kept as text show.
std::optional<std::string> name_tie(const std::string& spare) {
    std::string search_path = core::quote_identifier(spare) + ", pg_catalog";
    int nest_level = call_postgres([&] {
        int level = NewGUCNestLevel();
        set_config_option("search_path", search_path.c_str(), PGC_USERSET, PGC_S_SESSION,
                          GUC_ACTION_SAVE, true, 0, false);
        return level;
    });
    // Each deparse is behind a CASE on the schema, so that only the spare's
    // own objects are deparsed, whatever order the planner filters in; the
    // same test outside the CASE lets the planner join on it.
    spi::Value found = spi::query_value(
        "WITH n AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) $1) "
        "SELECT what FROM ("
        "SELECT 'function ' OPERATOR(pg_catalog.||) p.proname AS what FROM pg_catalog.pg_proc AS p, n "
        "WHERE p.pronamespace OPERATOR(pg_catalog.=) n.oid AND CASE WHEN p.pronamespace OPERATOR(pg_catalog.=) n.oid "
        "THEN pg_catalog.strpos(p.prosrc, $1) OPERATOR(pg_catalog.>) 0 "
        "OR pg_catalog.strpos(COALESCE(pg_catalog.array_to_string(p.proconfig, ' '), ''), $1) "
        "OPERATOR(pg_catalog.>) 0 ELSE false END "
        "UNION ALL "
        "SELECT 'default of column ' OPERATOR(pg_catalog.||) (SELECT a.attname FROM pg_catalog.pg_attribute AS a "
        "WHERE a.attrelid OPERATOR(pg_catalog.=) d.adrelid AND a.attnum OPERATOR(pg_catalog.=) d.adnum) "
        "OPERATOR(pg_catalog.||) ' of ' OPERATOR(pg_catalog.||) c.relname FROM pg_catalog.pg_attrdef AS d "
        "JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) d.adrelid, n "
        "WHERE c.relnamespace OPERATOR(pg_catalog.=) n.oid AND CASE WHEN c.relnamespace OPERATOR(pg_catalog.=) n.oid "
        "THEN pg_catalog.strpos(pg_catalog.pg_get_expr(d.adbin, d.adrelid), $1) OPERATOR(pg_catalog.>) 0 "
        "ELSE false END "
        "UNION ALL "
        "SELECT 'constraint ' OPERATOR(pg_catalog.||) co.conname FROM pg_catalog.pg_constraint AS co, n "
        "WHERE co.connamespace OPERATOR(pg_catalog.=) n.oid AND CASE WHEN co.connamespace OPERATOR(pg_catalog.=) n.oid AND co.contype OPERATOR(pg_catalog.=) 'c' "
        "THEN pg_catalog.strpos(pg_catalog.pg_get_constraintdef(co.oid), $1) OPERATOR(pg_catalog.>) 0 "
        "ELSE false END "
        "UNION ALL "
        "SELECT 'view ' OPERATOR(pg_catalog.||) c.relname FROM pg_catalog.pg_class AS c, n "
        "WHERE c.relnamespace OPERATOR(pg_catalog.=) n.oid AND CASE WHEN c.relnamespace OPERATOR(pg_catalog.=) n.oid "
        "AND c.relkind OPERATOR(pg_catalog.=) ANY (CAST('{v,m}' AS pg_catalog.\"char\"[])) "
        "THEN pg_catalog.strpos(pg_catalog.pg_get_viewdef(c.oid), $1) OPERATOR(pg_catalog.>) 0 "
        "ELSE false END "
        "UNION ALL "
        "SELECT 'trigger ' OPERATOR(pg_catalog.||) t.tgname FROM pg_catalog.pg_trigger AS t "
        "JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) t.tgrelid, n "
        "WHERE c.relnamespace OPERATOR(pg_catalog.=) n.oid AND CASE WHEN c.relnamespace OPERATOR(pg_catalog.=) n.oid AND NOT t.tgisinternal "
        "THEN pg_catalog.strpos(pg_catalog.encode(t.tgargs, 'escape'), $1) OPERATOR(pg_catalog.>) 0 "
        "ELSE false END"
        ") AS tied LIMIT 1",
        {spare});
    call_postgres([&] { AtEOXact_GUC(true, nest_level); });
    return found;
}

// The spare of a pool at the current version that no other transaction
// holds, claimed (its registry row locked) for this transaction.
std::optional<std::string> claim(Oid owner, Oid managed_table, const std::vector<std::string>& skipped) {
    std::string skipped_literal = core::text_array_literal(skipped);
    registry::AsRegistryOwner as_owner;
    return spi::query_value(
        "SELECT r.tenant FROM tenancy.tenant_registry AS r "
        "JOIN pg_catalog.pg_namespace AS n ON n.nspname OPERATOR(pg_catalog.=) r.tenant "
        "WHERE r.spare AND r.last_error IS NULL "
        "AND n.nspowner OPERATOR(pg_catalog.=) CAST($1 AS pg_catalog.oid) "
        "AND COALESCE(CAST(r.managed_by AS pg_catalog.oid), 0) OPERATOR(pg_catalog.=) CAST($2 AS pg_catalog.oid) "
        "AND r.tenant OPERATOR(pg_catalog.<>) ALL (CAST($3 AS pg_catalog.text[])) "
        "ORDER BY r.created_at LIMIT 1 FOR UPDATE OF r SKIP LOCKED",
        {oid_text(owner), oid_text(managed_table), skipped_literal});
}

// Whether the spare is at the current version; highest is set to its
// highest applied version.
bool is_current(const std::string& spare, const std::vector<Migration>& registered,
                std::int64_t& highest) {
    std::vector<AppliedMigration> rows;
    if (read_applied_migrations(spare, ReadMode::for_update, rows) != TenantTable::present) return false;
    std::set<std::int64_t> versions = versions_of(rows);
    highest = versions.empty() ? 0 : *versions.rbegin();
    return core::plan_migrate(registered_versions(registered), versions, std::nullopt).empty();
}

// The spare's highest applied version when it was last found free of its
// name (nullopt: never).
std::optional<std::int64_t> checked_version(const std::string& spare) {
    spi::Value version = spi::query_value(
        "SELECT CAST(spare_checked_version AS pg_catalog.text) FROM tenancy.tenant_registry "
        "WHERE tenant OPERATOR(pg_catalog.=) $1",
        {spare});
    if (!version) return std::nullopt;
    return std::stoll(*version);
}

// The highest applied version of a spare just migrated.
std::int64_t highest_applied(const std::string& spare) {
    std::vector<AppliedMigration> rows;
    read_applied_migrations(spare, ReadMode::for_update, rows);
    std::set<std::int64_t> versions = versions_of(rows);
    return versions.empty() ? 0 : *versions.rbegin();
}

std::string new_spare_name() {
    spi::Value suffix = spi::query_value(
        "SELECT pg_catalog.replace(CAST(pg_catalog.gen_random_uuid() AS pg_catalog.text), '-', '')");
    return std::string(core::spare_prefix) + *suffix;
}

// Makes one spare of the pool: its schema owned by owner, registered as a
// spare of managed_table (InvalidOid: of create_tenant), every registered
// migration applied, declared access granted, as create_tenant does.
void make_spare(Oid owner, Oid managed_table) {
    std::string spare = new_spare_name();
    registry::lock_tenant(spare);
    {
        OwnDdlScope own_ddl;
        spi::execute("CREATE SCHEMA " + core::quote_identifier(spare) + " AUTHORIZATION " +
                     core::quote_identifier(registry::role_name(owner)));
    }
    {
        registry::AsRegistryOwner as_owner;
        spi::execute(
            "INSERT INTO tenancy.tenant_registry (tenant, managed_by, spare) "
            "VALUES ($1, CAST(NULLIF(CAST($2 AS pg_catalog.oid), 0) AS pg_catalog.regclass), true)",
            {spare, oid_text(managed_table)});
    }
    schema_migrations::ensure_table(spare);
    migrate_tenant(spare, registered_migrations(), std::nullopt, OnlineMigrations::in_transaction);
    grant_declared_access(spare);
    if (std::optional<std::string> tie = name_tie(spare)) {
        registry::set_last_error(spare, name_tie_marker + *tie);
    } else {
        registry::AsRegistryOwner as_owner;
        spi::execute("UPDATE tenancy.tenant_registry SET spare_checked_version = CAST($2 AS pg_catalog.int8) "
                     "WHERE tenant OPERATOR(pg_catalog.=) $1",
                     {spare, std::to_string(highest_applied(spare))});
    }
}

}  // namespace

void forget_name_check(const std::string& tenant) {
    if (!pools_installed()) return;
    registry::AsRegistryOwner as_owner;
    spi::execute("UPDATE tenancy.tenant_registry SET spare_checked_version = NULL "
                 "WHERE tenant OPERATOR(pg_catalog.=) $1 AND spare_checked_version IS NOT NULL",
                 {tenant});
}

void spare_renamed_by_hand(const std::string& new_name) {
    if (!pools_installed() || new_name.rfind(core::spare_prefix, 0) == 0) return;
    registry::AsRegistryOwner as_owner;
    spi::execute("UPDATE tenancy.tenant_registry SET spare = false, spare_checked_version = NULL "
                 "WHERE tenant OPERATOR(pg_catalog.=) $1 AND spare",
                 {new_name});
}

namespace {

struct Pool {
    Oid owner;
    Oid managed_table;
    int target;
    std::vector<std::string> spares;  // best kept first: current ones, oldest first
};

// The key of a pool's refill lock, a name no tenant can have: one refiller
// at a time per pool, so two never both make the last missing spare.
std::string refill_lock_key(Oid owner, Oid managed_table) {
    return fmt::format("{}pool_{}_{}", core::spare_prefix, owner, managed_table);
}

std::vector<Pool> pools_to_refill() {
    std::vector<Pool> pools;
    for (spi::Row& row : spi::query(
             "SELECT CAST(COALESCE(o.oid, t.relowner) AS pg_catalog.text), "
             "CAST(COALESCE(CAST(p.managed_table AS pg_catalog.oid), 0) AS pg_catalog.text), "
             "CAST(p.target AS pg_catalog.text) "
             "FROM tenancy.tenant_pools AS p "
             "LEFT JOIN pg_catalog.pg_class AS t ON t.oid OPERATOR(pg_catalog.=) p.managed_table "
             "LEFT JOIN pg_catalog.pg_roles AS o ON o.rolname OPERATOR(pg_catalog.=) p.owner "
             "WHERE COALESCE(o.oid, t.relowner) IS NOT NULL ORDER BY p.owner, p.managed_table")) {
        Pool pool{static_cast<Oid>(std::stoul(*row[0])), static_cast<Oid>(std::stoul(*row[1])),
                  std::stoi(*row[2]), {}};
        if (registry::may_act_as(pool.owner)) pools.push_back(std::move(pool));
    }
    return pools;
}

std::vector<std::string> spares_of(Oid owner, Oid managed_table) {
    std::vector<std::string> spares;
    for (spi::Row& row : spi::query(
             "SELECT r.tenant FROM tenancy.tenant_registry AS r "
             "JOIN pg_catalog.pg_namespace AS n ON n.nspname OPERATOR(pg_catalog.=) r.tenant "
             "WHERE r.spare AND n.nspowner OPERATOR(pg_catalog.=) CAST($1 AS pg_catalog.oid) "
             "AND COALESCE(CAST(r.managed_by AS pg_catalog.oid), 0) OPERATOR(pg_catalog.=) CAST($2 AS pg_catalog.oid) "
             "ORDER BY r.last_error IS NULL, r.created_at DESC",
             {oid_text(owner), oid_text(managed_table)}))
        spares.push_back(std::move(*row[0]));
    return spares;
}

void notice_if_unusable(Oid owner, Oid managed_table) {
    std::optional<std::string> reason = unusable_reason(owner, managed_table);
    if (!reason) return;
    std::string message = "the tenant pool is not used: " + *reason;
    call_postgres([&] {
        ereport(NOTICE, (errmsg_internal("%s", message.c_str()),
                         errhint("tenancy.tenant_pools_status shows whether each pool is usable.")));
    });
}

void check_target(int target) {
    if (target < 0)
        throw core::Error(core::sqlstate::invalid_parameter_value,
                          fmt::format("pool size must not be negative, not {}", target), "",
                          "A pool of 0 keeps no spares; refill_tenant_pool() drops those left.");
}

// The role the next background refill runs as; InvalidOid: none requested.
Oid refill_role = InvalidOid;

}  // namespace

bool is_spare(const std::string& tenant) {
    if (!pools_installed()) return false;
    return spi::query_value("SELECT 1 FROM tenancy.tenant_registry "
                            "WHERE tenant OPERATOR(pg_catalog.=) $1 AND spare",
                            {tenant})
        .has_value();
}

void refuse_spare(const std::string& tenant, const char* action) {
    if (!is_spare(tenant)) return;
    throw core::Error(core::sqlstate::object_not_in_prerequisite_state,
                      fmt::format("cannot {} \"{}\": it is a spare of a tenant pool", action, tenant),
                      "Spares are made and dropped by tenancy.refill_tenant_pool() and taken by "
                      "create_tenant and the managed tables' row triggers.",
                      "Shrink the pool (set_tenant_pool() or manage_tenant(..., pool => n)) and "
                      "CALL tenancy.refill_tenant_pool() to drop spares.");
}

std::optional<std::string> unusable_reason(Oid owner, Oid managed_table) {
    // Read as the registry's owner: the status view is PUBLIC's, the
    // migrations' text is not.
    registry::AsRegistryOwner as_owner;
    if (std::optional<std::string> version = placeholder_migration())
        return fmt::format("migration {} holds @tenant@, which writes each tenant's name into it",
                           *version);
    spi::Value tie = spi::query_value(
        "SELECT r.tenant OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) r.last_error "
        "FROM tenancy.tenant_registry AS r "
        "JOIN pg_catalog.pg_namespace AS n ON n.nspname OPERATOR(pg_catalog.=) r.tenant "
        "WHERE r.spare AND pg_catalog.starts_with(r.last_error, $3) "
        "AND n.nspowner OPERATOR(pg_catalog.=) CAST($1 AS pg_catalog.oid) "
        "AND COALESCE(CAST(r.managed_by AS pg_catalog.oid), 0) OPERATOR(pg_catalog.=) CAST($2 AS pg_catalog.oid) "
        "ORDER BY r.tenant LIMIT 1",
        {oid_text(owner), oid_text(managed_table), std::string(name_tie_marker)});
    if (tie) return *tie;
    return std::nullopt;
}

bool take_spare(const std::string& tenant, Oid owner, Oid managed_table) {
    if (!pools_installed()) return false;
    std::vector<Migration> registered;
    {
        // The registry's reads as its owner: a caller without SELECT on
        // migration_registry gets the error it would get without a pool.
        registry::AsRegistryOwner as_owner;
        if (placeholder_migration()) return false;
        registered = registered_migrations();
    }
    std::vector<std::string> skipped;
    // A few tries: a spare behind on migrations (migrate_all has not reached
    // it yet) stays for migrate_all; each try locks one more registry row.
    for (int attempt = 0; attempt < 3; attempt++) {
        std::optional<std::string> spare = claim(owner, managed_table, skipped);
        if (!spare) return false;
        // Not waited for: a refill dropping the spare, or migrate_all
        // migrating it, holds it, and waits in turn for the registry row
        // this transaction has just claimed.
        if (!registry::try_lock_tenant(*spare)) {
            skipped.push_back(*spare);
            continue;
        }
        std::int64_t highest = 0;
        // The name check is costly (it deparses the spare's objects); it
        // was done when the spare was made, and is done again only when a
        // migration has been applied to it since.
        if (!is_current(*spare, registered, highest) ||
            (checked_version(*spare) != highest && name_tie(*spare))) {
            skipped.push_back(*spare);
            continue;
        }
        {
            OwnDdlScope own_ddl;
            spi::execute("ALTER SCHEMA " + core::quote_identifier(*spare) + " RENAME TO " +
                         core::quote_identifier(tenant));
        }
        {
            registry::AsRegistryOwner as_owner;
            spi::execute("UPDATE tenancy.tenant_registry "
                         "SET tenant = $2, spare = false, spare_checked_version = NULL, "
                         "created_at = pg_catalog.now() "
                         "WHERE tenant OPERATOR(pg_catalog.=) $1",
                         {*spare, tenant});
        }
        request_refill();
        return true;
    }
    return false;
}

void set_managed_pool(Oid managed_table, int target) {
    check_target(target);
    {
        registry::AsRegistryOwner as_owner;
        spi::execute("INSERT INTO tenancy.tenant_pools (managed_table, target) "
                     "VALUES (CAST(CAST($1 AS pg_catalog.oid) AS pg_catalog.regclass), "
                     "CAST($2 AS pg_catalog.int4)) "
                     "ON CONFLICT (managed_table) DO UPDATE SET target = EXCLUDED.target",
                     {oid_text(managed_table), std::to_string(target)});
    }
    Oid owner = call_postgres([&] {
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(managed_table));
        if (!HeapTupleIsValid(tuple)) elog(ERROR, "cache lookup failed for relation %u", managed_table);
        Oid relowner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
        ReleaseSysCache(tuple);
        return relowner;
    });
    if (target > 0) notice_if_unusable(owner, managed_table);
    request_refill();
}

void set_own_pool(int target) {
    check_target(target);
    Oid owner = call_postgres([] { return GetUserId(); });
    {
        registry::AsRegistryOwner as_owner;
        spi::execute("INSERT INTO tenancy.tenant_pools (owner, target) "
                     "VALUES ($1, CAST($2 AS pg_catalog.int4)) "
                     "ON CONFLICT (owner) DO UPDATE SET target = EXCLUDED.target",
                     {registry::role_name(owner), std::to_string(target)});
    }
    if (target > 0) notice_if_unusable(owner, InvalidOid);
    request_refill();
}

bool refill_one() {
    for (Pool& pool : pools_to_refill()) {
        registry::lock_tenant(refill_lock_key(pool.owner, pool.managed_table));
        std::vector<std::string> spares = spares_of(pool.owner, pool.managed_table);
        int have = static_cast<int>(spares.size());
        if (have > pool.target) {
            // The least useful first: spares that hold their name, then the newest.
            std::string surplus = spares.front();
            registry::lock_tenant(surplus);
            OwnDdlScope own_ddl;
            spi::execute("DROP SCHEMA " + core::quote_identifier(surplus) + " CASCADE");
            registry::AsRegistryOwner as_owner;
            spi::execute("DELETE FROM tenancy.tenant_registry WHERE tenant OPERATOR(pg_catalog.=) $1",
                         {surplus});
            return true;
        }
        if (have < pool.target && !unusable_reason(pool.owner, pool.managed_table)) {
            make_spare(pool.owner, pool.managed_table);
            return true;
        }
    }
    return false;
}

void request_refill() {
    // The worker acts for the current role (background_workers.hpp).
    refill_role = call_postgres([] { return role_to_connect_as(); });
}

}  // namespace tenancy::pg::pool

namespace tenancy::pg {

void launch_pool_worker(Oid role);

void start_requested_pool_worker(bool committed) {
    Oid role = pool::refill_role;
    pool::refill_role = InvalidOid;
    if (committed && OidIsValid(role) && pool_refill_worker()) launch_pool_worker(role);
}

}  // namespace tenancy::pg

using namespace tenancy::pg;

extern "C" {

PG_FUNCTION_INFO_V1(tenancy_set_tenant_pool);
PG_FUNCTION_INFO_V1(tenancy_refill_tenant_pool);
PG_FUNCTION_INFO_V1(tenancy_pool_unusable_reason);

// tenancy.set_tenant_pool(size integer) RETURNS integer
Datum tenancy_set_tenant_pool(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        if (PG_ARGISNULL(0))
            throw tenancy::core::Error(tenancy::core::sqlstate::null_value_not_allowed,
                                       "size must not be null");
        int target = PG_GETARG_INT32(0);
        spi::connect();
        pool::set_own_pool(target);
        spi::finish();
        return Int32GetDatum(target);
    });
}

// CALL tenancy.refill_tenant_pool(): one spare made or dropped per
// transaction, committing after each when CALLed outside a transaction block.
Datum tenancy_refill_tenant_pool(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        bool nonatomic = called_nonatomically(fcinfo);
        spi::connect(nonatomic);
        // Bounded: a pool whose spares fail to stay (dropped behind its back)
        // cannot keep the procedure going.
        int budget = 0;
        for (spi::Row& row : spi::query("SELECT CAST(COALESCE(pg_catalog.sum(target), 0) AS pg_catalog.text) "
                                        "FROM tenancy.tenant_pools"))
            budget = std::stoi(*row[0]);
        budget += static_cast<int>(std::stoll(*spi::query_value(
            "SELECT CAST(pg_catalog.count(*) AS pg_catalog.text) FROM tenancy.tenant_registry WHERE spare")));
        for (int step = 0; step <= budget && pool::refill_one(); step++)
            if (nonatomic) call_postgres([] { SPI_commit(); });
        spi::finish();
        return Datum(0);
    });
}

// tenancy._pool_unusable_reason(owner oid, managed_table oid) RETURNS text
Datum tenancy_pool_unusable_reason(PG_FUNCTION_ARGS) {
    return guard_entry([&]() -> Datum {
        citus::refuse_on_worker(fcinfo);
        Oid owner = PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0);
        Oid table = PG_ARGISNULL(1) ? InvalidOid : PG_GETARG_OID(1);
        spi::connect();
        std::optional<std::string> reason = pool::unusable_reason(owner, table);
        spi::finish();
        if (!reason) {
            fcinfo->isnull = true;
            return Datum(0);
        }
        return text_datum(*reason);
    });
}

}  // extern "C"
