#include "citus.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>
#include <string_view>

#include <fmt/format.h>

#include "../core/error.hpp"
#include "../core/identifier.hpp"
#include "arguments.hpp"
#include "error_boundary.hpp"
#include "registry.hpp"
#include "schema_migrations.hpp"
#include "spi.hpp"

extern "C" {
#include "access/genam.h"
#include "access/skey.h"
#include "catalog/pg_depend.h"
#include "commands/extension.h"
#include "utils/fmgroids.h"
}

namespace tenancy::pg::citus {

namespace {

// The Citus major version whose C functions this code calls; the one it is
// tested with (13.2.2). Another major version may change them, and then a
// tenant's tables would silently stay local: refused instead.
constexpr int supported_major = 13;

const char* citus_version() { return GetConfigOption("citus.version", true, false); }

// Whether the citus extension is created in this database (Citus' catalog
// tables exist only then).
bool extension_created() { return loaded() && OidIsValid(get_extension_oid("citus", true)); }

Oid catalog_relation(const char* name) { return get_relname_relid(name, PG_CATALOG_NAMESPACE); }

// This node's group in Citus' metadata: 0 on the coordinator (and on a
// server that is no part of a cluster), a worker's own group elsewhere.
int32 local_group_id() {
    Oid table = catalog_relation("pg_dist_local_group");
    if (!OidIsValid(table)) return 0;
    Relation relation = table_open(table, AccessShareLock);
    TableScanDesc scan = table_beginscan_catalog(relation, 0, nullptr);
    HeapTuple tuple = heap_getnext(scan, ForwardScanDirection);
    int32 group = 0;
    if (HeapTupleIsValid(tuple)) {
        bool null = true;
        Datum value = heap_getattr(tuple, 1, RelationGetDescr(relation), &null);
        if (!null) group = DatumGetInt32(value);
    }
    table_endscan(scan);
    table_close(relation, AccessShareLock);
    return group;
}

// Citus' C functions, looked up once per backend.
struct Functions {
    bool (*is_tenant_schema)(Oid schema);
    void (*create_tenant_schema_table)(Oid relid);
    bool (*in_coordinated_transaction)();
};

// nullptr when Citus' version is not the supported one.
const Functions* functions() {
    static Functions found{};
    static bool looked = false;
    if (looked) return found.is_tenant_schema ? &found : nullptr;
    const char* version = citus_version();
    if (version == nullptr || std::atoi(version) != supported_major) {
        looked = true;
        return nullptr;
    }
    found.is_tenant_schema = reinterpret_cast<bool (*)(Oid)>(
        load_external_function("$libdir/citus", "IsTenantSchema", true, nullptr));
    found.create_tenant_schema_table = reinterpret_cast<void (*)(Oid)>(
        load_external_function("$libdir/citus", "CreateTenantSchemaTable", true, nullptr));
    found.in_coordinated_transaction = reinterpret_cast<bool (*)()>(
        load_external_function("$libdir/citus", "InCoordinatedTransaction", true, nullptr));
    looked = true;
    return found.is_tenant_schema ? &found : nullptr;
}

// Whether the schema is a Citus distributed schema, read from pg_dist_schema
// itself: what tells an unsupported Citus version that it has work it cannot do.
bool listed_in_dist_schema(Oid schema) {
    Oid table = catalog_relation("pg_dist_schema");
    if (!OidIsValid(table)) return false;
    Relation relation = table_open(table, AccessShareLock);
    TableScanDesc scan = table_beginscan_catalog(relation, 0, nullptr);
    bool found = false;
    HeapTuple tuple;
    while (!found && HeapTupleIsValid(tuple = heap_getnext(scan, ForwardScanDirection))) {
        bool null = true;
        Datum value = heap_getattr(tuple, 1, RelationGetDescr(relation), &null);
        found = !null && DatumGetObjectId(value) == schema;
    }
    table_endscan(scan);
    table_close(relation, AccessShareLock);
    return found;
}

// The tables (plain and partitioned, no partitions: they follow their
// parent) of the schema that are no Citus table: from pg_depend's index on
// the referenced object, so only the schema's own objects are read.
List* local_tables_of(Oid schema, bool partitions_too) {
    List* tables = NIL;
    Relation depend = table_open(DependRelationId, AccessShareLock);
    ScanKeyData keys[2];
    ScanKeyInit(&keys[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber, F_OIDEQ,
                ObjectIdGetDatum(NamespaceRelationId));
    ScanKeyInit(&keys[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber, F_OIDEQ,
                ObjectIdGetDatum(schema));
    SysScanDesc scan = systable_beginscan(depend, DependReferenceIndexId, true, nullptr, 2, keys);
    HeapTuple tuple;
    while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
        auto* row = reinterpret_cast<Form_pg_depend>(GETSTRUCT(tuple));
        if (row->classid != RelationRelationId || row->objsubid != 0) continue;
        char relkind = get_rel_relkind(row->objid);
        if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE) continue;
        if (!partitions_too && get_rel_relispartition(row->objid)) continue;
        if (table_kind(row->objid) != 'n') continue;
        tables = lappend_oid(tables, row->objid);
    }
    systable_endscan(scan);
    table_close(depend, AccessShareLock);
    return tables;
}

[[noreturn]] void refuse_table(const char* tenant, Oid relid, const char* why) {
    ereport(ERROR,
            (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
             errmsg("table \"%s\".\"%s\" cannot be distributed", tenant, get_rel_name(relid)),
             errdetail("%s", why),
             errhint("Every table of a tenant in a Citus distributed schema must become a "
                     "single-shard table of the schema: no inheritance, no foreign table, "
                     "foreign keys only to the tenant's own tables or to reference tables.")));
}

void distribute(const Functions* citus, const char* tenant, Oid relid) {
    MemoryContext caller_context = CurrentMemoryContext;
    ErrorData* volatile error = nullptr;
    PG_TRY();
    { citus->create_tenant_schema_table(relid); }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller_context);
        error = CopyErrorData();
        FlushErrorState();
    }
    PG_END_TRY();
    if (error) refuse_table(tenant, relid, psprintf("Citus: %s", error->message));
}

// pg_dist_partition's row of the table, if any.
bool dist_partition_row(Oid relid, char& partmethod, char& repmodel, int32& colocation) {
    Oid table = catalog_relation("pg_dist_partition");
    Oid index = catalog_relation("pg_dist_partition_logical_relid_index");
    if (!OidIsValid(table) || !OidIsValid(index)) return false;
    Relation relation = table_open(table, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
    SysScanDesc scan = systable_beginscan(relation, index, true, nullptr, 1, &key);
    HeapTuple tuple = systable_getnext(scan);
    bool found = HeapTupleIsValid(tuple);
    if (found) {
        TupleDesc descriptor = RelationGetDescr(relation);
        bool null = true;
        partmethod = DatumGetChar(heap_getattr(tuple, 2, descriptor, &null));
        colocation = DatumGetInt32(heap_getattr(tuple, 4, descriptor, &null));
        repmodel = DatumGetChar(heap_getattr(tuple, 5, descriptor, &null));
    }
    systable_endscan(scan);
    table_close(relation, AccessShareLock);
    return found;
}

// The Citus table whose shard relid is (named "<table>_<shardid>" in the
// table's schema), or InvalidOid.
Oid shell_of_shard(Oid relid) {
    const char* name = get_rel_name(relid);
    const char* underscore = name ? strrchr(name, '_') : nullptr;
    if (underscore == nullptr || underscore[1] == '\0') return InvalidOid;
    for (const char* c = underscore + 1; *c; c++)
        if (*c < '0' || *c > '9') return InvalidOid;
    int64 shard = strtoll(underscore + 1, nullptr, 10);
    Oid table = catalog_relation("pg_dist_shard");
    Oid index = catalog_relation("pg_dist_shard_shardid_index");
    if (!OidIsValid(table) || !OidIsValid(index)) return InvalidOid;
    Relation relation = table_open(table, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, 2, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(shard));
    SysScanDesc scan = systable_beginscan(relation, index, true, nullptr, 1, &key);
    HeapTuple tuple = systable_getnext(scan);
    Oid shell = InvalidOid;
    if (HeapTupleIsValid(tuple)) {
        bool null = true;
        Datum value = heap_getattr(tuple, 1, RelationGetDescr(relation), &null);
        if (!null) shell = DatumGetObjectId(value);
    }
    systable_endscan(scan);
    table_close(relation, AccessShareLock);
    if (OidIsValid(shell) && get_rel_namespace(shell) != get_rel_namespace(relid)) return InvalidOid;
    return shell;
}

bool extension_created_for_placement() { return extension_created(); }

// Applied versions read by the innermost PrefetchedVersions alive, per
// tenant; a transparent comparator, so a C string finds its tenant without
// allocating.
VersionsByTenant& prefetched() {
    static VersionsByTenant versions;
    return versions;
}

}  // namespace

bool loaded() { return citus_version() != nullptr; }

void refuse_off_citus(FunctionCallInfo fcinfo) {
    if (loaded() && call_postgres([] { return extension_created(); })) return;
    const char* function =
        call_postgres([&] { return fcinfo->flinfo ? get_func_name(fcinfo->flinfo->fn_oid) : nullptr; });
    throw core::Error("0A000",
                      fmt::format("tenancy.{}() runs only on a Citus node",
                                  function ? function : "_shard_applied_versions"),
                      "The coordinator calls it on the nodes that hold tenants' shards.");
}

void refuse_on_worker(FunctionCallInfo fcinfo) {
    if (!loaded()) return;
    const char* function = call_postgres([&]() -> const char* {
        if (!extension_created() || local_group_id() == 0) return nullptr;
        return fcinfo->flinfo ? get_func_name(fcinfo->flinfo->fn_oid) : nullptr;
    });
    if (function == nullptr) return;
    throw core::Error("0A000",
                      fmt::format("tenancy.{}() cannot run on a Citus worker node", function),
                      "Tenants, their registry and their migrations live on the coordinator; "
                      "a worker holds shards of tenant tables only.",
                      "Run it on the coordinator.");
}

void distribute_new_tables(const char* tenant) {
    if (!loaded() || !extension_created()) return;
    Oid schema = get_namespace_oid(tenant, true);
    if (!OidIsValid(schema)) return;
    const Functions* citus = functions();
    if (citus == nullptr) {
        if (listed_in_dist_schema(schema))
            ereport(ERROR,
                    (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                     errmsg("pg_tenancy cannot distribute the tables of tenant \"%s\" with Citus %s",
                            tenant, citus_version()),
                     errdetail("pg_tenancy distributes a tenant's tables with Citus %d.x only.",
                               supported_major)));
        return;
    }
    if (!citus->is_tenant_schema(schema)) return;
    ListCell* cell;
    foreach (cell, local_tables_of(schema, false))
        distribute(citus, tenant, lfirst_oid(cell));
    // A partition whose parent could not take it along is left over.
    List* left = local_tables_of(schema, true);
    if (left != NIL)
        refuse_table(tenant, linitial_oid(left),
                     "Citus left it a local table when it distributed the tables around it.");
}

char table_kind(Oid relid) {
    if (!loaded()) return 'n';
    char partmethod = 0, repmodel = 0;
    int32 colocation = 0;
    if (!dist_partition_row(relid, partmethod, repmodel, colocation)) return 'n';
    if (partmethod == 'n' && repmodel == 't') return 'r';
    if (partmethod == 'n' && colocation == 0) return 'l';
    return 'd';
}

bool distributed_table(Oid relid) { return table_kind(relid) != 'n'; }

Oid managed_table_of(Oid relid) {
    if (!loaded()) return relid;
    Oid shell = call_postgres([&] {
        if (!extension_created()) return InvalidOid;
        Oid table = shell_of_shard(relid);
        if (!OidIsValid(table)) table = relid;
        return table_kind(table) == 'l' ? table : InvalidOid;
    });
    if (!OidIsValid(shell)) return relid;
    // Settings made before Citus converted the table name its shard now.
    std::string shards =
        "SELECT CAST(pg_catalog.to_regclass(pg_catalog.shard_name(s.logicalrelid, s.shardid)) "
        "AS pg_catalog.oid) FROM pg_catalog.pg_dist_shard AS s "
        "WHERE s.logicalrelid OPERATOR(pg_catalog.=) CAST(CAST($1 AS pg_catalog.oid) AS pg_catalog.regclass)";
    std::string shell_regclass = "CAST(CAST($1 AS pg_catalog.oid) AS pg_catalog.regclass)";
    spi::connect();
    {
        registry::AsRegistryOwner as_owner;
        spi::execute("UPDATE tenancy.managed_tables SET tbl = " + shell_regclass +
                         " WHERE CAST(tbl AS pg_catalog.oid) IN (" + shards + ")",
                     {std::to_string(shell)});
        spi::execute("UPDATE tenancy.tenant_registry SET managed_by = " + shell_regclass +
                         " WHERE CAST(managed_by AS pg_catalog.oid) IN (" + shards + ")",
                     {std::to_string(shell)});
        spi::execute("UPDATE tenancy.tenant_pools SET managed_table = " + shell_regclass +
                         " WHERE CAST(managed_table AS pg_catalog.oid) IN (" + shards + ")",
                     {std::to_string(shell)});
    }
    spi::finish();
    return shell;
}

void refuse_distributed_managed_table(Oid relid, const std::string& qualified_name) {
    if (!loaded()) return;
    char kind = call_postgres([&] { return table_kind(relid); });
    if (kind != 'd' && kind != 'r') return;
    throw core::Error(
        "0A000",
        fmt::format("manage_tenant cannot manage {} {}",
                    kind == 'r' ? "the reference table" : "the distributed table", qualified_name),
        "Its rows live on Citus worker nodes, where pg_tenancy creates no tenant.",
        "Manage tenants from a table on the coordinator: a plain table or a Citus local table.");
}

bool read_through_citus(const std::string& tenant, bool peek, const VersionFilter* keep,
                        std::vector<AppliedMigration>& rows, TenantTable& result) {
    if (!loaded()) return false;
    // Prefetched: the table was distributed when its node was read, and a
    // peek is only a hint (a tenant with work is locked and read again).
    auto found = peek ? prefetched().find(tenant) : prefetched().end();
    if (found != prefetched().end()) {
        rows.clear();
        result = TenantTable::present;
        for (const AppliedMigration& row : found->second)
            if (keeps(keep, row.version)) rows.push_back(AppliedMigration{row.version, false, 0});
        return true;
    }
    Oid table = call_postgres([&] {
        Oid schema = get_namespace_oid(tenant.c_str(), true);
        if (!OidIsValid(schema)) return InvalidOid;
        Oid relid = get_relname_relid(schema_migrations::table_name(), schema);
        return OidIsValid(relid) && distributed_table(relid) ? relid : InvalidOid;
    });
    if (!OidIsValid(table)) return false;
    rows.clear();
    result = TenantTable::present;
    // inserted_at as a PostgreSQL Timestamp: microseconds since 2000-01-01.
    spi::connect();
    std::vector<spi::Row> read = spi::query(
        "SELECT version, CAST(EXTRACT(EPOCH FROM inserted_at OPERATOR(pg_catalog.-) "
        "CAST('2000-01-01' AS pg_catalog.timestamp)) OPERATOR(pg_catalog.*) 1000000 "
        "AS pg_catalog.int8) FROM " + schema_migrations::qualified_name(tenant) +
        " WHERE version IS NOT NULL");
    spi::finish();
    for (const spi::Row& row : read) {
        std::int64_t version = std::stoll(*row[0]);
        if (!keeps(keep, version)) continue;
        AppliedMigration applied{version, row[1].has_value(), row[1] ? std::stoll(*row[1]) : 0};
        rows.push_back(applied);
    }
    return true;
}

namespace {

// Each distributed schema_migrations of the listed tenants (of every tenant
// schema without a list): its shard's name and the node holding it, primary
// nodes and active placements only. A shard is named "<table>_<shardid>" in
// its table's schema; a name too long for that is shortened by Citus with a
// hash, and left NULL here (that tenant is not read on its node).
std::string shards_query(bool listed) {
    return std::string(
               "SELECT CAST(ns.nspname AS pg_catalog.text), "
               "  CASE WHEN pg_catalog.octet_length(CAST(c.relname AS pg_catalog.text)) "
               "    OPERATOR(pg_catalog.+) 1 OPERATOR(pg_catalog.+) "
               "    pg_catalog.octet_length(CAST(s.shardid AS pg_catalog.text)) "
               "    OPERATOR(pg_catalog.<) 64 "
               "  THEN CAST(c.relname AS pg_catalog.text) OPERATOR(pg_catalog.||) '_' "
               "    OPERATOR(pg_catalog.||) CAST(s.shardid AS pg_catalog.text) END, "
               "  n.nodename, CAST(n.nodeport AS pg_catalog.text) "
               "FROM pg_catalog.pg_class AS c "
               "JOIN pg_catalog.pg_namespace AS ns ON ns.oid OPERATOR(pg_catalog.=) c.relnamespace ") +
           // A join, not "= ANY": the list is read once, and matched by hashing.
           (listed ? "JOIN pg_catalog.unnest(CAST($2 AS pg_catalog.text[])) AS r(tenant) "
                     "  ON ns.nspname OPERATOR(pg_catalog.=) r.tenant "
                   : "") +
           "JOIN pg_catalog.pg_dist_partition AS d "
           "  ON d.logicalrelid OPERATOR(pg_catalog.=) CAST(c.oid AS pg_catalog.regclass) "
           " AND d.partmethod OPERATOR(pg_catalog.=) 'n' AND d.colocationid OPERATOR(pg_catalog.<>) 0 "
           " AND d.repmodel OPERATOR(pg_catalog.<>) 't' "
           "JOIN pg_catalog.pg_dist_shard AS s ON s.logicalrelid OPERATOR(pg_catalog.=) d.logicalrelid "
           "JOIN pg_catalog.pg_dist_placement AS p ON p.shardid OPERATOR(pg_catalog.=) s.shardid "
           " AND p.shardstate OPERATOR(pg_catalog.=) 1 "
           "JOIN pg_catalog.pg_dist_node AS n ON n.groupid OPERATOR(pg_catalog.=) p.groupid "
           " AND n.isactive AND n.noderole OPERATOR(pg_catalog.=) 'primary' "
           "WHERE c.relname OPERATOR(pg_catalog.=) CAST($1 AS pg_catalog.name)";
}

// One node's tenants, and their shards' names there.
struct NodeRead {
    std::vector<std::string> tenants;
    std::vector<std::string> shards;
};

// What the node runs. The arguments come from a fenced subquery (OFFSET 0),
// never constants the planner could fold a function over, and the call
// happens only where pg_tenancy is installed: on a node without it, a
// function someone else put under that name never runs as the caller.
std::string node_command(const NodeRead& node) {
    return "SELECT tenancy._shard_applied_versions(a.schemas, a.tables) FROM (SELECT CAST(" +
           core::quote_literal(core::text_array_literal(node.tenants)) + " AS pg_catalog.text[]) AS schemas, CAST(" +
           core::quote_literal(core::text_array_literal(node.shards)) +
           " AS pg_catalog.text[]) AS tables OFFSET 0) AS a WHERE EXISTS (SELECT FROM "
           "pg_catalog.pg_extension AS e WHERE e.extname OPERATOR(pg_catalog.=) 'pg_tenancy')";
}

bool parse_int(std::string_view text, std::int64_t& value) {
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc() && end == text.data() + text.size();
}

// Takes one node's answer (citus_shard_reader.cpp's lines) into read; false,
// with nothing taken, when it is not such an answer.
bool take_answer(const NodeRead& node, std::string_view answer, VersionsByTenant& read) {
    VersionsByTenant taken;
    while (!answer.empty()) {
        std::size_t end = answer.find('\n');
        std::string_view line = answer.substr(0, end);
        answer = end == std::string_view::npos ? std::string_view() : answer.substr(end + 1);
        std::size_t space = line.find(' ');
        std::int64_t position = 0;
        if (!parse_int(line.substr(0, space), position) || position < 1 ||
            position > static_cast<std::int64_t>(node.tenants.size()))
            return false;
        std::string_view rest = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
        if (rest == "-") continue;  // not read
        std::vector<AppliedMigration>& rows = taken[node.tenants[position - 1]];
        while (!rest.empty()) {
            std::size_t next = rest.find(' ');
            std::string_view token = rest.substr(0, next);
            rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
            std::size_t sign = token.find('@');
            AppliedMigration row;
            if (!parse_int(token.substr(0, sign), row.version)) return false;
            row.has_inserted_at = sign != std::string_view::npos;
            if (row.has_inserted_at && !parse_int(token.substr(sign + 1), row.inserted_at))
                return false;
            rows.push_back(row);
        }
    }
    for (auto& [tenant, rows] : taken) read[tenant] = std::move(rows);
    return true;
}

void warn_unread_node(const char* name, const char* port, const char* why) {
    ereport(WARNING,
            (errmsg("pg_tenancy could not read applied versions on Citus node %s:%s", name, port),
             errdetail("%s", why),
             errhint("Citus connects to the node as the calling role, which must be able to log "
                     "in there; pg_tenancy must be installed there at the coordinator's version. "
                     "Meanwhile migrate_all reads the node's tenants one by one, and the status "
                     "views show them as unknown.")));
}

// Whether the nodes may be asked on their own connections: not once this
// transaction has work open on them (its own changes, which new connections
// would not see). Without Citus' answer, not inside a transaction block.
bool nodes_may_be_asked() {
    const Functions* citus = functions();
    if (citus != nullptr && citus->in_coordinated_transaction != nullptr)
        return !citus->in_coordinated_transaction();
    return !IsTransactionBlock();
}

}  // namespace

PrefetchedVersions::PrefetchedVersions(const std::vector<std::string>* tenants) {
    // What this object read replaces the outer one's only once complete: an
    // error on the way leaves the outer one's as they were.
    VersionsByTenant read;
    auto install = [&] {
        outer_ = std::move(prefetched());
        prefetched() = std::move(read);
    };
    if (!loaded() || (tenants != nullptr && tenants->empty()) ||
        !call_postgres([] { return extension_created() && nodes_may_be_asked(); })) {
        install();
        return;
    }
    spi::connect();
    std::vector<spi::Value> arguments{std::string(schema_migrations::table_name())};
    if (tenants != nullptr) arguments.push_back(core::text_array_literal(*tenants));
    std::vector<spi::Row> shards = spi::query(shards_query(tenants != nullptr), arguments);
    std::map<std::pair<std::string, std::string>, NodeRead> nodes;
    std::map<std::string, int> answering_nodes;  // per tenant: more than one, and it is not read
    for (spi::Row& shard : shards) {
        if (!shard[1]) continue;
        NodeRead& node = nodes[{*shard[2], *shard[3]}];
        answering_nodes[*shard[0]]++;
        node.tenants.push_back(std::move(*shard[0]));
        node.shards.push_back(std::move(*shard[1]));
    }
    if (nodes.empty()) {
        spi::finish();
        install();
        return;
    }
    std::vector<std::string> names, ports, commands;
    for (auto& [address, node] : nodes) {
        names.push_back(address.first);
        ports.push_back(address.second);
        commands.push_back(node_command(node));
    }
    std::vector<spi::Row> answers = spi::query(
        "SELECT node_name, CAST(node_port AS pg_catalog.text), success, result "
        "FROM pg_catalog.master_run_on_worker(CAST($1 AS pg_catalog.text[]), "
        "CAST($2 AS pg_catalog.int4[]), CAST($3 AS pg_catalog.text[]), true)",
        {core::text_array_literal(names), core::text_array_literal(ports), core::text_array_literal(commands)});
    spi::finish();
    for (const spi::Row& answer : answers) {
        std::string name = answer[0].value_or(""), port = answer[1].value_or("");
        auto node = nodes.find({name, port});
        std::string why;
        if (node == nodes.end())
            why = "It answered a question it was not asked.";
        else if (answer[2] != spi::Value("t"))
            why = answer[3].value_or("no answer");
        else if (!answer[3])
            why = "pg_tenancy is not installed there.";
        else if (!take_answer(node->second, *answer[3], read))
            why = "Its answer is not one this version of pg_tenancy reads.";
        if (!why.empty())
            call_postgres([&] { warn_unread_node(name.c_str(), port.c_str(), why.c_str()); });
    }
    for (const auto& [tenant, count] : answering_nodes)
        if (count > 1) read.erase(tenant);
    install();
}

PrefetchedVersions::~PrefetchedVersions() { prefetched() = std::move(outer_); }

bool prefetched_versions(const char* tenant, const AppliedMigration*& rows,
                         std::size_t& count) noexcept {
    auto found = prefetched().find(std::string_view(tenant));
    if (found == prefetched().end()) return false;
    rows = found->second.data();
    count = found->second.size();
    return true;
}

}  // namespace tenancy::pg::citus

// ---------------------------------------------------------------------------
// Placement: where each tenant lives, and moving it.

using namespace tenancy::pg;
using namespace tenancy::pg::citus;
namespace core = tenancy::core;

namespace {

// Each tenant and the node of its distributed schema's shards (NULL for a
// tenant whose schema is not distributed, and everywhere without Citus).
std::vector<spi::Row> tenant_nodes() {
    bool with_citus = call_postgres([] { return extension_created_for_placement(); });
    if (!with_citus)
        return spi::query(
            "SELECT tenant, NULL, NULL FROM tenancy.tenant_registry WHERE NOT spare "
            "ORDER BY tenant COLLATE pg_catalog.\"C\"");
    return spi::query(
        "SELECT r.tenant, node.nodename, CAST(node.nodeport AS pg_catalog.text) "
        "FROM tenancy.tenant_registry AS r "
        "LEFT JOIN pg_catalog.pg_namespace AS ns ON ns.nspname OPERATOR(pg_catalog.=) r.tenant "
        "LEFT JOIN pg_catalog.pg_dist_schema AS ds ON ds.schemaid OPERATOR(pg_catalog.=) ns.oid "
        "LEFT JOIN LATERAL ("
        "  SELECT n.nodename, n.nodeport FROM pg_catalog.pg_dist_partition AS p "
        "  JOIN pg_catalog.pg_dist_shard AS s ON s.logicalrelid OPERATOR(pg_catalog.=) p.logicalrelid "
        "  JOIN pg_catalog.pg_dist_placement AS pl ON pl.shardid OPERATOR(pg_catalog.=) s.shardid "
        "  JOIN pg_catalog.pg_dist_node AS n ON n.groupid OPERATOR(pg_catalog.=) pl.groupid "
        "  WHERE p.colocationid OPERATOR(pg_catalog.=) ds.colocationid LIMIT 1) AS node ON true "
        "WHERE NOT r.spare ORDER BY r.tenant COLLATE pg_catalog.\"C\"");
}

}  // namespace

extern "C" {

PG_FUNCTION_INFO_V1(tenancy_tenant_nodes);
PG_FUNCTION_INFO_V1(tenancy_move_tenant);

// tenancy._tenant_nodes() RETURNS TABLE(tenant text, node_name text, node_port integer)
Datum tenancy_tenant_nodes(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        spi::connect();
        std::vector<spi::Row> rows = tenant_nodes();
        spi::finish();
        call_postgres([&] {
            begin_materialized_result(fcinfo);
            auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
            for (const spi::Row& row : rows) {
                Datum values[3] = {CStringGetTextDatum(row[0]->c_str()), 0, 0};
                bool nulls[3] = {false, !row[1], !row[2]};
                if (row[1]) values[1] = CStringGetTextDatum(row[1]->c_str());
                if (row[2]) values[2] = Int32GetDatum(pg_strtoint32(row[2]->c_str()));
                tuplestore_putvalues(result->setResult, result->setDesc, values, nulls);
            }
        });
        return Datum(0);
    });
}

// tenancy.move_tenant(tenant text, node_name text, node_port integer,
//                     shard_transfer_mode text DEFAULT 'auto') RETURNS void
// citus_schema_move() of the tenant's schema, under the tenant's lock, so no
// migration of pg_tenancy runs in it meanwhile.
Datum tenancy_move_tenant(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        std::string tenant = required_text_argument(fcinfo, 0, "tenant");
        std::string node_name = required_text_argument(fcinfo, 1, "node_name");
        if (PG_ARGISNULL(2))
            throw core::Error(core::sqlstate::null_value_not_allowed, "node_port must not be null");
        int32 node_port = PG_GETARG_INT32(2);
        std::string mode = required_text_argument(fcinfo, 3, "shard_transfer_mode");
        spi::connect();
        registry::require_registered(tenant);
        registry::lock_tenant(tenant);
        Oid schema = call_postgres([&] {
            if (!extension_created_for_placement()) return InvalidOid;
            Oid found = get_namespace_oid(tenant.c_str(), true);
            return OidIsValid(found) && listed_in_dist_schema(found) ? found : InvalidOid;
        });
        if (!OidIsValid(schema))
            throw core::Error("0A000",
                              fmt::format("tenant {} is not in a Citus distributed schema",
                                          core::quote_identifier(tenant)),
                              "Only a tenant created while citus.enable_schema_based_sharding "
                              "was on, on a Citus coordinator, lives on a worker node.",
                              "Distribute its schema first with citus_schema_distribute().");
        spi::execute(
            "SELECT pg_catalog.citus_schema_move(CAST(CAST($1 AS pg_catalog.oid) AS "
            "pg_catalog.regnamespace), $2, CAST($3 AS pg_catalog.int4), "
            "CAST($4 AS citus.shard_transfer_mode))",
            {std::to_string(schema), node_name, std::to_string(node_port), mode});
        spi::finish();
        return Datum(0);
    });
}

}  // extern "C"
