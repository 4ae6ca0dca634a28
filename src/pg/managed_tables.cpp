// Tenants managed by a table (SPEC "Tenants managed by a table"): manage_tenant,
// unmanage_tenant, and the row trigger that creates, renames and drops a
// row's tenant in the same transaction as the row's change.
//
// The trigger function is SECURITY DEFINER (owned by the extension's owner),
// so a role that may only INSERT, UPDATE or DELETE rows of the table still
// gets its tenants; a new tenant's schema belongs to the table's owner, and
// its migrations run as that owner.
#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../core/error.hpp"
#include "../core/identifier.hpp"
#include "../core/name_template.hpp"
#include "arguments.hpp"
#include "citus.hpp"
#include "error_boundary.hpp"
#include "pool.hpp"
#include "registry.hpp"
#include "spi.hpp"
#include "tenants.hpp"

extern "C" {
#include "catalog/objectaddress.h"
#include "catalog/partition.h"
#include "commands/trigger.h"
#include "utils/acl.h"
#include "utils/array.h"
}

namespace tenancy::pg {

namespace {

constexpr const char* insert_trigger = "tenancy_tenant_insert";
constexpr const char* update_trigger = "tenancy_tenant_update";
constexpr const char* delete_trigger = "tenancy_tenant_delete";

struct ManagedTable {
    Oid table = InvalidOid;  // the managed table (a partition's root for its rows)
    core::NameTemplate name_template;
    bool create_on_insert = true;
    bool drop_on_delete = false;
};

struct TableNames {
    std::string qualified;  // "schema"."table", quoted
    Oid owner = InvalidOid;  // the table's owner
};

TableNames names_of(Oid table) {
    TableNames names;
    const char* schema = call_postgres([&] { return get_namespace_name(get_rel_namespace(table)); });
    const char* relation = call_postgres([&] { return get_rel_name(table); });
    if (schema == nullptr || relation == nullptr)
        throw core::Error("42P01", fmt::format("relation with OID {} does not exist", table));
    names.qualified = core::quote_identifier(schema) + "." + core::quote_identifier(relation);
    names.owner = call_postgres([&] {
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(table));
        if (!HeapTupleIsValid(tuple)) elog(ERROR, "cache lookup failed for relation %u", table);
        Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
        ReleaseSysCache(tuple);
        return owner;
    });
    return names;
}

// The settings that govern a table's rows; nullopt when it is not managed.
// A row trigger on a partitioned table fires on the partition that holds the
// row, so the partition's ancestors are looked up too, nearest first.
std::optional<ManagedTable> load_managed_table(Oid table) {
    std::vector<Oid> candidates{table};
    call_postgres([&] {
        if (!get_rel_relispartition(table)) return;
        List* ancestors = get_partition_ancestors(table);
        ListCell* cell;
        foreach (cell, ancestors) candidates.push_back(lfirst_oid(cell));
        list_free(ancestors);
    });
    for (Oid candidate : candidates) {
        std::vector<spi::Row> rows = spi::query(
            "SELECT element, m.on_delete, m.on_create FROM tenancy.managed_tables AS m "
            "CROSS JOIN LATERAL pg_catalog.unnest(m.template) WITH ORDINALITY AS e(element, n) "
            "WHERE CAST(m.tbl AS pg_catalog.oid) OPERATOR(pg_catalog.=) CAST($1 AS pg_catalog.oid) "
            "ORDER BY e.n",
            {std::to_string(candidate)});
        if (rows.empty()) continue;
        std::vector<std::optional<std::string>> elements;
        for (spi::Row& row : rows) elements.push_back(std::move(row[0]));
        return ManagedTable{candidate, core::NameTemplate::parse(elements), *rows.front()[2] == "t",
                            *rows.front()[1] == "drop"};
    }
    return std::nullopt;
}

// Column numbers of the template's columns, in NameTemplate::columns() order.
std::vector<AttrNumber> template_columns(Oid table, const core::NameTemplate& name_template) {
    std::vector<AttrNumber> numbers;
    for (const std::string& column : name_template.columns()) {
        AttrNumber number = call_postgres([&] { return get_attnum(table, column.c_str()); });
        if (number == InvalidAttrNumber) {
            const char* relation = call_postgres([&] { return get_rel_name(table); });
            throw core::Error(core::sqlstate::undefined_column,
                              fmt::format("column \"{}\" of relation \"{}\" does not exist", column,
                                          relation ? relation : "?"),
                              "", "Template elements starting with ':' name columns of the table.");
        }
        if (number < 0)
            throw core::Error(core::sqlstate::invalid_parameter_value,
                              fmt::format("template column \"{}\" is a system column", column));
#ifdef ATTRIBUTE_GENERATED_VIRTUAL
        // A virtual generated column has no value in the row an AFTER
        // trigger sees: its tenant name would be undefined.
        char generated = call_postgres([&] {
            HeapTuple tuple = SearchSysCacheAttNum(table, number);
            if (!HeapTupleIsValid(tuple)) elog(ERROR, "cache lookup failed for column %d", number);
            char kind = reinterpret_cast<Form_pg_attribute>(GETSTRUCT(tuple))->attgenerated;
            ReleaseSysCache(tuple);
            return kind;
        });
        if (generated == ATTRIBUTE_GENERATED_VIRTUAL)
            throw core::Error("0A000",
                              fmt::format("template column \"{}\" is a virtual generated column", column),
                              "Row triggers do not see the values of virtual generated columns.",
                              "Use a stored generated column (GENERATED ALWAYS AS (...) STORED), or "
                              "the columns it is computed from.");
#endif
        numbers.push_back(number);
    }
    return numbers;
}

// The tenant name of one row: each template column's text from its type's
// output function, as SQL would print it (the trigger and manage_tenant pin
// DateStyle, TimeZone and the other settings that change that text). A NULL
// in a template column raises 22004.
std::string render_row(Relation relation, HeapTuple row, const core::NameTemplate& name_template) {
    std::vector<AttrNumber> columns = template_columns(RelationGetRelid(relation), name_template);
    std::vector<std::optional<std::string>> values;
    for (AttrNumber column : columns) {
        char* text = call_postgres([&]() -> char* {
            bool is_null = false;
            Datum value = heap_getattr(row, column, RelationGetDescr(relation), &is_null);
            if (is_null) return nullptr;
            Oid output_function;
            bool is_varlena;
            getTypeOutputInfo(TupleDescAttr(RelationGetDescr(relation), column - 1)->atttypid,
                              &output_function, &is_varlena);
            return OidOutputFunctionCall(output_function, value);
        });
        if (text == nullptr) {
            values.emplace_back(std::nullopt);
        } else {
            values.emplace_back(std::string(text));
            call_postgres([&] { pfree(text); });
        }
    }
    return name_template.render(values);
}

// The name a row renders, or nullopt when a template column is NULL: such a
// row names no tenant.
std::optional<std::string> rendered_name(Relation relation, HeapTuple row,
                                         const ManagedTable& managed) {
    try {
        return render_row(relation, row, managed.name_template);
    } catch (const core::Error& e) {
        if (std::string(e.sqlstate()) == core::sqlstate::null_value_not_allowed) return std::nullopt;
        throw;
    }
}

// Whether the tenant of that name is this table's, under the tenant's lock:
// registered as made by this table's rows, and its schema owned by the
// table's owner. Only those does the table rename or drop: a row cannot
// rename or drop some other tenant by taking its name, and a registry row
// naming another schema (public, say) cannot steer the trigger, which runs
// as the extension's owner.
bool belongs_to_table(const std::string& tenant, const ManagedTable& managed) {
    registry::lock_tenant(tenant);
    if (registry::managed_by(tenant) != managed.table) return false;
    Oid owner = registry::schema_owner(tenant);
    return OidIsValid(owner) && owner == names_of(managed.table).owner;
}

void create_row_tenant(const std::string& tenant, Oid table, bool if_not_exists) {
    check_tenant_name(tenant);
    TableNames names = names_of(table);
    create_or_adopt_tenant(tenant, if_not_exists, TenantMaker{table, names.owner, names.qualified});
}

void on_insert(Relation relation, HeapTuple row, const ManagedTable& managed) {
    create_row_tenant(render_row(relation, row, managed.name_template), managed.table, false);
}

// Does nothing unless the rendered name changes, which most updates do not.
// Renames the old name's tenant if this table's rows made it; otherwise (the
// row predates manage_tenant, without backfill) creates its tenant, if the
// table creates tenants at all.
void on_update(Relation relation, HeapTuple old_row, HeapTuple new_row, const ManagedTable& managed) {
    std::optional<std::string> old_name = rendered_name(relation, old_row, managed);
    std::optional<std::string> new_name = rendered_name(relation, new_row, managed);
    if (old_name == new_name) return;
    if (!new_name) render_row(relation, new_row, managed.name_template);  // raises 22004
    check_tenant_name(*new_name);
    if (old_name) {
        // The order rename_tenant takes them in, so that this rename and an
        // opposite one cannot deadlock.
        registry::lock_tenant(std::min(*old_name, *new_name));
        registry::lock_tenant(std::max(*old_name, *new_name));
    }
    if (old_name && belongs_to_table(*old_name, managed))
        rename_registered_tenant(*old_name, *new_name);
    else if (managed.create_on_insert)
        create_row_tenant(*new_name, managed.table, false);
}

// An UPDATE that moves a row to another partition arrives as a DELETE and an
// INSERT; run as such, it would drop (or orphan) the tenant and make another.
void refuse_partition_move(HeapTuple row) {
    if (!ItemPointerIndicatesMovedPartitions(&row->t_self) &&
        !HeapTupleHeaderIndicatesMovedPartitions(row->t_data))
        return;
    throw core::Error("0A000", "a row of a managed table cannot move to another partition",
                      "Its tenant would be dropped or left behind, and a new one made.",
                      "Delete the row and insert it again, or keep the partition key unchanged.");
}

void on_delete(Relation relation, HeapTuple row, const ManagedTable& managed) {
    refuse_partition_move(row);
    if (!managed.drop_on_delete) return;
    std::optional<std::string> tenant = rendered_name(relation, row, managed);
    if (tenant && belongs_to_table(*tenant, managed)) drop_registered_tenant(*tenant);
}

void drop_triggers(Oid table, const std::string& qualified_name) {
    for (const char* trigger : {insert_trigger, update_trigger, delete_trigger}) {
        bool exists = call_postgres([&] { return OidIsValid(get_trigger_oid(table, trigger, true)); });
        if (exists) spi::execute(fmt::format("DROP TRIGGER {} ON {}", trigger, qualified_name));
    }
}

void create_trigger(const char* name, const char* event, const std::string& table) {
    spi::execute(fmt::format("CREATE TRIGGER {} AFTER {} ON {} FOR EACH ROW "
                             "EXECUTE FUNCTION tenancy._managed_row_trigger()",
                             name, event, table));
}

// Creates (or adopts) the tenant of every row already in the table.
int backfill(Oid table, const TableNames& names, const core::NameTemplate& name_template) {
    std::string select = "SELECT ";
    std::vector<std::string> column_names = name_template.columns();
    for (std::size_t i = 0; i < column_names.size(); i++)
        select += (i ? ", " : "") + core::quote_identifier(column_names[i]);
    select += " FROM " + names.qualified;
    // spi::query prints every value with its type's output function, as the trigger does.
    std::vector<spi::Row> rows = spi::query(select);
    for (spi::Row& row : rows) create_row_tenant(name_template.render(row), table, true);
    return static_cast<int>(rows.size());
}

// Locks the table as CREATE TRIGGER does (no concurrent writes while the
// triggers change), after checking that the caller owns it: no role can make
// another's table wait by calling manage_tenant or unmanage_tenant on it.
// Checked again once locked, in case the owner changed meanwhile.
char lock_owned_table(Oid table) {
    auto check_owner = [table] {
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(table));
        if (!HeapTupleIsValid(tuple))
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                            errmsg("relation with OID %u does not exist", table)));
        auto* form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
        char relkind = form->relkind;
        Oid owner = form->relowner;
        ReleaseSysCache(tuple);
        if (!has_privs_of_role(GetUserId(), owner))
            aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(relkind), get_rel_name(table));
        return relkind;
    };
    return call_postgres([&] {
        check_owner();
        LockRelationOid(table, ShareRowExclusiveLock);
        return check_owner();
    });
}

void check_on_delete(const std::string& on_delete) {
    if (on_delete != "keep" && on_delete != "drop")
        throw core::Error(core::sqlstate::invalid_parameter_value,
                          fmt::format("invalid on_delete value \"{}\"", on_delete), "",
                          "on_delete is 'keep' or 'drop'.");
}

}  // namespace

}  // namespace tenancy::pg

using namespace tenancy::pg;

extern "C" {

PG_FUNCTION_INFO_V1(tenancy_manage_tenant);
PG_FUNCTION_INFO_V1(tenancy_unmanage_tenant);
PG_FUNCTION_INFO_V1(tenancy_managed_row_trigger);

// tenancy.manage_tenant(tbl regclass, template text[], "create" boolean DEFAULT true,
//     "update" boolean DEFAULT true, on_delete text DEFAULT 'keep', backfill boolean DEFAULT false,
//     pool integer DEFAULT NULL)
Datum tenancy_manage_tenant(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        if (PG_ARGISNULL(0))
            throw tenancy::core::Error(tenancy::core::sqlstate::null_value_not_allowed,
                                       "tbl must not be null");
        Oid table = citus::managed_table_of(PG_GETARG_OID(0));
        if (PG_ARGISNULL(1))
            throw tenancy::core::Error(tenancy::core::sqlstate::null_value_not_allowed,
                                       "template must not be null");
        std::vector<std::optional<std::string>> elements = text_array_argument(fcinfo, 1, "template");
        bool on_create = required_bool_argument(fcinfo, 2, "create");
        bool on_update = required_bool_argument(fcinfo, 3, "update");
        std::string on_delete = required_text_argument(fcinfo, 4, "on_delete");
        bool fill = required_bool_argument(fcinfo, 5, "backfill");
        check_on_delete(on_delete);

        char relkind = lock_owned_table(table);
        if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
            throw tenancy::core::Error("42809", "manage_tenant needs a table", "",
                                       "Only ordinary and partitioned tables can manage tenants.");
        // A temporary table vanishes at session end without a DROP that the
        // event triggers would see, leaving its settings behind.
        char persistence = call_postgres([&] { return get_rel_persistence(table); });
        if (persistence == RELPERSISTENCE_TEMP)
            throw tenancy::core::Error("0A000", "manage_tenant cannot manage a temporary table");
        tenancy::core::NameTemplate name_template = tenancy::core::NameTemplate::parse(elements);
        template_columns(table, name_template);  // every column must exist
        TableNames names = names_of(table);
        citus::refuse_distributed_managed_table(table, names.qualified);

        spi::connect();
        drop_triggers(table, names.qualified);
        if (on_create) create_trigger(insert_trigger, "INSERT", names.qualified);
        if (on_update) create_trigger(update_trigger, "UPDATE", names.qualified);
        // Always: besides on_delete => 'drop', it refuses moves between partitions.
        create_trigger(delete_trigger, "DELETE", names.qualified);
        std::vector<std::string> template_elements;
        for (const std::optional<std::string>& element : elements) template_elements.push_back(*element);
        {
            registry::AsRegistryOwner as_owner;
            spi::execute(
                "INSERT INTO tenancy.managed_tables (tbl, template, on_create, on_update, on_delete) "
                "VALUES (CAST(CAST($1 AS pg_catalog.oid) AS pg_catalog.regclass), "
                "CAST($2 AS pg_catalog.text[]), CAST($3 AS pg_catalog.bool), "
                "CAST($4 AS pg_catalog.bool), $5) "
                "ON CONFLICT (tbl) DO UPDATE SET template = EXCLUDED.template, "
                "on_create = EXCLUDED.on_create, on_update = EXCLUDED.on_update, "
                "on_delete = EXCLUDED.on_delete",
                {std::to_string(table), tenancy::core::text_array_literal(template_elements), on_create ? "true" : "false",
                 on_update ? "true" : "false", on_delete});
        }
        // 0.1.0's declaration has no pool argument.
        if (PG_NARGS() > 6 && !PG_ARGISNULL(6)) pool::set_managed_pool(table, PG_GETARG_INT32(6));
        int backfilled = fill ? backfill(table, names, name_template) : 0;
        spi::finish();
        return Int32GetDatum(backfilled);
    });
}

// tenancy.unmanage_tenant(tbl regclass) RETURNS void
Datum tenancy_unmanage_tenant(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        if (PG_ARGISNULL(0))
            throw tenancy::core::Error(tenancy::core::sqlstate::null_value_not_allowed,
                                       "tbl must not be null");
        Oid table = citus::managed_table_of(PG_GETARG_OID(0));
        lock_owned_table(table);
        TableNames names = names_of(table);

        spi::connect();
        {
            registry::AsRegistryOwner as_owner;
            std::uint64_t removed = spi::execute(
                "DELETE FROM tenancy.managed_tables "
                "WHERE tbl OPERATOR(pg_catalog.=) CAST(CAST($1 AS pg_catalog.oid) AS pg_catalog.regclass)",
                {std::to_string(table)});
            if (removed == 0)
                throw tenancy::core::Error(
                    tenancy::core::sqlstate::object_not_in_prerequisite_state,
                    fmt::format("table {} does not manage tenants", names.qualified));
            spi::execute(
                "UPDATE tenancy.tenant_registry SET managed_by = NULL "
                "WHERE CAST(managed_by AS pg_catalog.oid) OPERATOR(pg_catalog.=) CAST($1 AS pg_catalog.oid)",
                {std::to_string(table)});
        }
        drop_triggers(table, names.qualified);
        spi::finish();
        return Datum(0);
    });
}

// The AFTER ... FOR EACH ROW trigger manage_tenant installs.
Datum tenancy_managed_row_trigger(PG_FUNCTION_ARGS) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("tenancy._managed_row_trigger() must be called as a trigger")));
    auto* trigger = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (!TRIGGER_FIRED_AFTER(trigger->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigger->tg_event))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("tenancy._managed_row_trigger() must run AFTER ... FOR EACH ROW")));

    return guard_entry([&] {
        Relation relation = trigger->tg_relation;
        spi::connect();
        // Settings removed behind the triggers' back: nothing to manage.
        // On Citus, a Citus local table's trigger fires on its shard.
        std::optional<ManagedTable> managed =
            load_managed_table(citus::managed_table_of(RelationGetRelid(relation)));
        if (managed) {
            if (TRIGGER_FIRED_BY_INSERT(trigger->tg_event))
                on_insert(relation, trigger->tg_trigtuple, *managed);
            else if (TRIGGER_FIRED_BY_UPDATE(trigger->tg_event))
                on_update(relation, trigger->tg_trigtuple, trigger->tg_newtuple, *managed);
            else if (TRIGGER_FIRED_BY_DELETE(trigger->tg_event))
                on_delete(relation, trigger->tg_trigtuple, *managed);
        }
        spi::finish();
        return (Datum) 0;  // an AFTER trigger's result is ignored
    });
}

}  // extern "C"
