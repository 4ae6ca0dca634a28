// The tenant lifecycle (SPEC "Tenant lifecycle"): create, rename, drop and
// switch to tenants. Each entry point validates, locks the tenant name, does
// the DDL and keeps the registry in step, all in the caller's transaction.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../core/error.hpp"
#include "../core/identifier.hpp"
#include "../core/tenant_name.hpp"
#include "arguments.hpp"
#include "citus.hpp"
#include "error_boundary.hpp"
#include "own_ddl.hpp"
#include "pool.hpp"
#include "registry.hpp"
#include "schema_migrations.hpp"
#include "settings.hpp"
#include "shared_schemas.hpp"
#include "spi.hpp"
#include "tenant_access.hpp"
#include "tenant_migrations.hpp"
#include "tenants.hpp"

extern "C" {
#include "utils/acl.h"
}

namespace tenancy::pg {

namespace {

// tenancy.tenant_name_pattern, matched by PostgreSQL's own ~ operator (C
// collation), so a pattern means here what it means in SQL.
class PostgresNamePattern final : public core::NamePattern {
public:
    bool matches(std::string_view name) const override {
        return call_postgres([&] {
            Datum subject = PointerGetDatum(
                cstring_to_text_with_len(name.data(), static_cast<int>(name.size())));
            Datum pattern = CStringGetTextDatum(tenancy::pg::tenant_name_pattern());
            return DatumGetBool(
                DirectFunctionCall2Coll(textregexeq, C_COLLATION_OID, subject, pattern));
        });
    }
};

[[noreturn]] void throw_schema_exists(const std::string& schema, const char* hint) {
    throw core::Error(core::sqlstate::duplicate_schema,
                      fmt::format("schema \"{}\" already exists", schema), "", hint);
}

// Runs DDL with client_min_messages at WARNING, so DROP SCHEMA ... CASCADE
// does not list every object of the tenant; the setting is restored after.
void execute_quietly(const std::string& sql) {
    int nest_level = call_postgres([] {
        int level = NewGUCNestLevel();
        set_config_option("client_min_messages", "warning", PGC_USERSET, PGC_S_SESSION,
                          GUC_ACTION_SAVE, true, 0, false);
        return level;
    });
    spi::execute(sql);
    call_postgres([&] { AtEOXact_GUC(true, nest_level); });
}

// Adopting an existing schema makes it a tenant whose migrations run as its
// owner. A managed table's tenants belong to the table's owner: a schema
// some other role made first (a squatter, who would keep its rights on the
// organization's data) is never adopted, nor a tenant another managed table
// made. create_tenant adopts a schema only for a caller who may act as its
// owner, as CREATE SCHEMA ... AUTHORIZATION would require.
void check_adoption(const std::string& tenant, const std::optional<TenantMaker>& maker) {
    Oid owner = registry::schema_owner(tenant);
    if (maker) {
        if (owner != maker->owner)
            throw core::Error(
                "42501",
                fmt::format("schema \"{}\" is owned by role \"{}\", not by \"{}\", the owner of table {}",
                            tenant, registry::role_name(owner), registry::role_name(maker->owner),
                            maker->qualified_name),
                "A managed table's tenants belong to the table's owner; a schema another role "
                "made is not adopted.",
                fmt::format("Drop or rename schema \"{}\", or give it to role \"{}\" if its contents "
                            "are that role's (ALTER SCHEMA ... OWNER TO), then try again.",
                            tenant, registry::role_name(maker->owner)));
        Oid other_table = registry::managed_by(tenant);
        if (OidIsValid(other_table) && other_table != maker->table) {
            const char* other = call_postgres([&] { return get_rel_name(other_table); });
            throw core::Error(
                "42501",
                fmt::format("tenant \"{}\" is managed by table \"{}\"", tenant, other ? other : "?"),
                fmt::format("Table {} cannot take over a tenant another managed table made.",
                            maker->qualified_name),
                "Call tenancy.unmanage_tenant() on the other table first, or use a template that "
                "renders other names.");
        }
        return;
    }
    if (!registry::may_act_as(owner))
        throw core::Error("42501",
                          fmt::format("permission denied to adopt schema \"{}\"", tenant),
                          fmt::format("The schema is owned by role \"{}\", and a tenant's migrations "
                                      "run as its schema's owner.",
                                      registry::role_name(owner)),
                          fmt::format("Adopt it as a role that may SET ROLE to \"{}\", or change the "
                                      "schema's owner first.",
                                      registry::role_name(owner)));
}

// Objects outside the schema that depend on objects in it, which DROP SCHEMA
// ... CASCADE would silently drop too (a view in public over a tenant table,
// a foreign key of a shared table, a trigger calling a tenant function...):
// one "X depends on Y" line each, at most max_lines of them.
std::vector<std::string> outside_dependents(const std::string& tenant, int max_lines) {
    // Catalogs of objects that live in a schema, and the column naming it.
    static const std::vector<std::pair<const char*, const char*>> namespaced = {
        {"pg_class", "relnamespace"},      {"pg_type", "typnamespace"},
        {"pg_proc", "pronamespace"},       {"pg_operator", "oprnamespace"},
        {"pg_collation", "collnamespace"}, {"pg_conversion", "connamespace"},
        {"pg_opclass", "opcnamespace"},    {"pg_opfamily", "opfnamespace"},
        {"pg_ts_config", "cfgnamespace"},  {"pg_ts_dict", "dictnamespace"},
        {"pg_ts_parser", "prsnamespace"},  {"pg_ts_template", "tmplnamespace"},
        {"pg_statistic_ext", "stxnamespace"}, {"pg_constraint", "connamespace"},
    };
    std::string members;
    std::string classes;
    for (const auto& [catalog, column] : namespaced) {
        std::string regclass = fmt::format(
            "CAST(CAST('pg_catalog.{}' AS pg_catalog.regclass) AS pg_catalog.oid)", catalog);
        members += fmt::format("{}SELECT {}, o.oid FROM pg_catalog.{} AS o, tenant "
                               "WHERE o.{} OPERATOR(pg_catalog.=) tenant.oid ",
                               members.empty() ? "" : "UNION ALL ", regclass, catalog, column);
        classes += (classes.empty() ? "" : ", ") + regclass;
    }
    // A dependent is inside the tenant when it is in the schema, when it is
    // an internal part of something in it (a view's rule, a table's TOAST
    // table), or when it lives in no schema and is an automatic part of
    // something in it (a trigger, a column default, a policy).
    std::string sql = fmt::format(
        "WITH tenant AS (SELECT n.oid FROM pg_catalog.pg_namespace AS n "
        "WHERE n.nspname OPERATOR(pg_catalog.=) $1), "
        "members (classid, objid) AS ({}), "
        "outside AS ("
        "SELECT COALESCE(owner.refclassid, d.classid) AS classid, COALESCE(owner.refobjid, d.objid) AS objid, "
        "pg_catalog.pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid) AS referenced "
        "FROM pg_catalog.pg_depend AS d "
        "JOIN members AS m ON m.classid OPERATOR(pg_catalog.=) d.refclassid "
        "AND m.objid OPERATOR(pg_catalog.=) d.refobjid "
        "LEFT JOIN LATERAL (SELECT p.refclassid, p.refobjid FROM pg_catalog.pg_depend AS p "
        "WHERE p.classid OPERATOR(pg_catalog.=) d.classid AND p.objid OPERATOR(pg_catalog.=) d.objid "
        "AND p.deptype OPERATOR(pg_catalog.=) 'i' LIMIT 1) AS owner ON true "
        "WHERE d.deptype OPERATOR(pg_catalog.<>) 'p' "
        "AND NOT EXISTS (SELECT FROM members AS inside WHERE inside.classid OPERATOR(pg_catalog.=) d.classid "
        "AND inside.objid OPERATOR(pg_catalog.=) d.objid) "
        "AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend AS p JOIN members AS parent "
        "ON parent.classid OPERATOR(pg_catalog.=) p.refclassid AND parent.objid OPERATOR(pg_catalog.=) p.refobjid "
        "WHERE p.classid OPERATOR(pg_catalog.=) d.classid AND p.objid OPERATOR(pg_catalog.=) d.objid "
        "AND (p.deptype OPERATOR(pg_catalog.=) 'i' OR (p.deptype OPERATOR(pg_catalog.=) 'a' "
        "AND d.classid OPERATOR(pg_catalog.<>) ALL (ARRAY[{}]))))) "
        "SELECT pg_catalog.pg_describe_object(classid, objid, 0) OPERATOR(pg_catalog.||) ' depends on ' "
        "OPERATOR(pg_catalog.||) pg_catalog.min(referenced) "
        "FROM outside GROUP BY classid, objid ORDER BY 1 LIMIT CAST($2 AS pg_catalog.int4)",
        members, classes);
    std::vector<std::string> lines;
    for (spi::Row& row : spi::query(sql, {tenant, std::to_string(max_lines)}))
        lines.push_back(std::move(*row[0]));
    return lines;
}

// DROP SCHEMA ... CASCADE drops everything that depends on the tenant's
// objects, wherever it is; a tenant's drop must not take objects outside it.
void refuse_outside_dependents(const std::string& tenant) {
    constexpr int shown = 20;
    std::vector<std::string> lines = outside_dependents(tenant, shown + 1);
    if (lines.empty()) return;
    std::string detail;
    for (std::size_t i = 0; i < lines.size() && i < shown; i++) detail += (i ? "\n" : "") + lines[i];
    if (lines.size() > shown) detail += "\nand more objects";
    throw core::Error("2BP01",
                      fmt::format("cannot drop tenant \"{}\" because objects outside it depend on it", tenant),
                      detail,
                      "Drop those objects (or their dependency on the tenant) first: dropping a "
                      "tenant drops only what is in its schema.");
}

}  // namespace

void check_tenant_name(std::optional<std::string_view> name) {
    PostgresNamePattern pattern;
    core::TenantNameRules rules(pattern, core::parse_reserved_names(reserved_names()));
    rules.check(name);
}

void create_or_adopt_tenant(const std::string& tenant, bool if_not_exists,
                            const std::optional<TenantMaker>& maker) {
    registry::lock_tenant(tenant);
    bool schema_exists = registry::schema_exists(tenant);
    if (schema_exists && !if_not_exists)
        throw_schema_exists(tenant, "Use if_not_exists => true to adopt an existing schema as a tenant.");

    if (schema_exists) {
        check_adoption(tenant, maker);
    } else if (!pool::take_spare(tenant, maker ? maker->owner : call_postgres([] { return GetUserId(); }),
                                 maker ? maker->table : InvalidOid)) {
        OwnDdlScope own_ddl;
        spi::execute("CREATE SCHEMA " + core::quote_identifier(tenant) +
                     (maker ? " AUTHORIZATION " + core::quote_identifier(registry::role_name(maker->owner)) : ""));
    }
    registry::add(tenant, maker ? std::optional<Oid>(maker->table) : std::nullopt);
    schema_migrations::ensure_table(tenant);
    // Outside OwnDdlScope: a migration that drops or renames some other
    // tenant's schema is DDL the event triggers must see.
    // A new tenant's tables are new and empty: an online migration runs inside
    // this transaction, its CONCURRENTLY forms as the plain ones.
    migrate_tenant(tenant, registered_migrations(), std::nullopt, OnlineMigrations::in_transaction);
    grant_declared_access(tenant);
}

void rename_registered_tenant(const std::string& tenant, const std::string& new_name) {
    // Both names are locked, in a fixed order so two opposite renames cannot deadlock.
    registry::lock_tenant(std::min(tenant, new_name));
    registry::lock_tenant(std::max(tenant, new_name));
    registry::require_registered(tenant);
    pool::refuse_spare(tenant, "rename tenant");
    if (registry::schema_exists(new_name))
        throw_schema_exists(new_name,
                            "To swap two tenants' names, rename one of them to a free name first.");

    OwnDdlScope own_ddl;
    spi::execute("ALTER SCHEMA " + core::quote_identifier(tenant) + " RENAME TO " +
                 core::quote_identifier(new_name));
    registry::rename(tenant, new_name);
}

void drop_registered_tenant(const std::string& tenant) {
    registry::lock_tenant(tenant);
    registry::require_registered(tenant);
    pool::refuse_spare(tenant, "drop tenant");
    refuse_outside_dependents(tenant);

    OwnDdlScope own_ddl;
    execute_quietly("DROP SCHEMA " + core::quote_identifier(tenant) + " CASCADE");
    registry::remove(tenant);
}

// The DROP command for a pg_class.relkind.
const char* drop_keyword(const std::string& relkind) {
    if (relkind == "v") return "VIEW";
    if (relkind == "m") return "MATERIALIZED VIEW";
    if (relkind == "S") return "SEQUENCE";
    if (relkind == "f") return "FOREIGN TABLE";
    return "TABLE";
}

// Drops the tenant's relations batch_size at a time, committing after each
// batch, then the tenant. A DROP SCHEMA ... CASCADE locks every relation in
// one transaction; a tenant of thousands of relations would exhaust the lock
// table (max_locks_per_transaction) at its default.
void drop_tenant_in_batches(const std::string& tenant, int batch_size, bool commit_each_batch) {
    registry::require_registered(tenant);
    pool::refuse_spare(tenant, "drop tenant");
    // Dropping the schema needs its ownership: checked before any batch, so
    // that a caller who owns some of its tables only drops nothing.
    bool owns_schema = call_postgres([&] {
        Oid schema = get_namespace_oid(tenant.c_str(), false);
#if PG_VERSION_NUM >= 160000
        return object_ownercheck(NamespaceRelationId, schema, GetUserId());
#else
        return pg_namespace_ownercheck(schema, GetUserId());
#endif
    });
    if (!owns_schema)
        throw core::Error("42501",
                          fmt::format("must be owner of schema {}", tenant));
    while (true) {
        registry::lock_tenant(tenant);
        refuse_outside_dependents(tenant);
        std::vector<spi::Row> batch = spi::query(
            "SELECT c.relkind, c.relname "
            "FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n "
            "ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
            "WHERE n.nspname OPERATOR(pg_catalog.=) $1 "
            "AND c.relkind OPERATOR(pg_catalog.=) ANY (CAST('{r,p,v,m,S,f}' AS pg_catalog.\"char\"[])) "
            "AND NOT c.relispartition "
            // schema_migrations goes last, with the schema: a drop interrupted
            // between batches leaves a tenant whose applied versions are all
            // still recorded, so migrate_all re-applies nothing into it.
            "AND c.relname OPERATOR(pg_catalog.<>) 'schema_migrations' "
            // Identity and serial sequences go with their table.
            "AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend AS d "
            "WHERE d.classid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_class' AS pg_catalog.regclass) "
            "AND d.objid OPERATOR(pg_catalog.=) c.oid "
            "AND d.deptype OPERATOR(pg_catalog.=) ANY (CAST('{i,a,e}' AS pg_catalog.\"char\"[]))) "
            "ORDER BY c.oid LIMIT CAST($2 AS pg_catalog.int4)",
            {tenant, std::to_string(batch_size)});
        if (batch.empty()) break;
        OwnDdlScope own_ddl;
        for (const spi::Row& relation : batch)
            execute_quietly(fmt::format("DROP {} IF EXISTS {}.{} CASCADE", drop_keyword(*relation[0]),
                                        core::quote_identifier(tenant),
                                        core::quote_identifier(*relation[1])));
        if (!commit_each_batch) continue;
        call_postgres([] { SPI_commit(); });
    }
    drop_registered_tenant(tenant);
}

}  // namespace tenancy::pg

using namespace tenancy::pg;

extern "C" {

PG_FUNCTION_INFO_V1(tenancy_create_tenant);
PG_FUNCTION_INFO_V1(tenancy_rename_tenant);
PG_FUNCTION_INFO_V1(tenancy_drop_tenant);
PG_FUNCTION_INFO_V1(tenancy_set_tenant);
PG_FUNCTION_INFO_V1(tenancy_drop_tenant_in_batches);

// tenancy.create_tenant(tenant text, if_not_exists boolean DEFAULT false) RETURNS text
Datum tenancy_create_tenant(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        std::optional<std::string> tenant = text_argument(fcinfo, 0);
        check_tenant_name(tenant);
        bool if_not_exists = required_bool_argument(fcinfo, 1, "if_not_exists");

        spi::connect();
        create_or_adopt_tenant(*tenant, if_not_exists);
        spi::finish();
        return text_datum(*tenant);
    });
}

// tenancy.rename_tenant(tenant text, new_name text) RETURNS text
Datum tenancy_rename_tenant(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        std::string tenant = required_text_argument(fcinfo, 0, "tenant");
        std::optional<std::string> new_name = text_argument(fcinfo, 1);
        check_tenant_name(new_name);

        spi::connect();
        rename_registered_tenant(tenant, *new_name);
        spi::finish();
        return text_datum(*new_name);
    });
}

// tenancy.drop_tenant(tenant text) RETURNS void
Datum tenancy_drop_tenant(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        std::string tenant = required_text_argument(fcinfo, 0, "tenant");
        spi::connect();
        drop_registered_tenant(tenant);
        spi::finish();
        return Datum(0);
    });
}

// CALL tenancy.drop_tenant_in_batches(tenant text, batch_size integer DEFAULT 200)
// Commits after each batch when CALLed outside a transaction block; inside
// one, it is drop_tenant with extra steps.
Datum tenancy_drop_tenant_in_batches(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        bool nonatomic = called_nonatomically(fcinfo);
        std::string tenant = required_text_argument(fcinfo, 0, "tenant");
        if (PG_ARGISNULL(1))
            throw tenancy::core::Error(tenancy::core::sqlstate::null_value_not_allowed,
                                       "batch_size must not be null");
        int batch_size = PG_GETARG_INT32(1);
        if (batch_size < 1)
            throw tenancy::core::Error(tenancy::core::sqlstate::invalid_parameter_value,
                                       fmt::format("batch_size must be at least 1, not {}", batch_size));
        spi::connect(nonatomic);
        drop_tenant_in_batches(tenant, batch_size, nonatomic);
        spi::finish();
        return Datum(0);
    });
}

// tenancy.set_tenant(tenant text, is_local boolean DEFAULT false) RETURNS text
//
// Has no SET clause (it would undo the very setting it makes), so its one
// query is fully schema-qualified instead.
Datum tenancy_set_tenant(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        std::string tenant = required_text_argument(fcinfo, 0, "tenant");
        bool is_local = required_bool_argument(fcinfo, 1, "is_local");

        spi::connect();
        registry::require_registered(tenant);
        spi::finish();

        // As SET LOCAL does: outside a transaction block the setting would
        // last one statement, which is never what the caller meant.
        if (is_local)
            call_postgres([] {
                if (!IsTransactionBlock())
                    ereport(WARNING,
                            (errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
                             errmsg("set_tenant with is_local => true can only be used in transaction blocks"),
                             errdetail("Outside a transaction block the search_path it sets lasts "
                                       "until the end of this statement only.")));
            });
        std::string search_path = tenant_search_path(tenant);
        call_postgres([&] {
            set_config_option("search_path", search_path.c_str(), PGC_USERSET, PGC_S_SESSION,
                              is_local ? GUC_ACTION_LOCAL : GUC_ACTION_SET, true, 0, false);
        });
        return text_datum(call_postgres([] { return GetConfigOption("search_path", false, false); }));
    });
}

}  // extern "C"
