#include "registry.hpp"

#include <fmt/format.h>

#include "../core/error.hpp"
#include "error_boundary.hpp"
#include "spi.hpp"

extern "C" {
#include "catalog/pg_authid.h"
#include "common/hashfn.h"
#include "storage/lock.h"
#include "utils/acl.h"
}

namespace tenancy::pg::registry {

namespace {

// The tenant lock's locktag: an advisory lock (so it shows in pg_locks as
// one) in the current database, keyed by a 64-bit hash of the name, with a
// fourth field SQL never uses: pg_advisory_lock(bigint) and its kin use 1,
// the two-int4 forms 2. No SQL function PUBLIC can call reaches this key.
constexpr uint16 tenant_lock_field4 = 0x7e4a;
constexpr uint64 tenant_lock_seed = 0x74656e616e6379;  // "tenancy"

Oid registry_owner() {
    return call_postgres([] {
        Oid tenancy_schema = get_namespace_oid("tenancy", false);
        Oid registry = get_relname_relid("tenant_registry", tenancy_schema);
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(registry));
        if (!HeapTupleIsValid(tuple)) elog(ERROR, "cache lookup failed for tenancy.tenant_registry");
        Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
        ReleaseSysCache(tuple);
        return owner;
    });
}

// The schemas no tenant can be named (the name rules refuse them): a
// registry row naming one, however it got there, is ignored, so that no
// pg_tenancy function or trigger ever drops or renames them.
bool is_system_schema(const std::string& schema) {
    return schema == "public" || schema == "information_schema" || schema == "tenancy" ||
           schema.compare(0, 3, "pg_") == 0;
}

}  // namespace

namespace {

LOCKTAG tenant_locktag(const std::string& tenant) {
    uint64 key = hash_bytes_extended(reinterpret_cast<const unsigned char*>(tenant.data()),
                                     static_cast<int>(tenant.size()), tenant_lock_seed);
    LOCKTAG tag;
    SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, static_cast<uint32>(key >> 32),
                         static_cast<uint32>(key), tenant_lock_field4);
    return tag;
}

}  // namespace

void lock_tenant(const std::string& tenant) {
    call_postgres([&] {
        LOCKTAG tag = tenant_locktag(tenant);
        // Transaction-scoped (released at commit or abort, a subtransaction's
        // at its abort), waiting as long as lock_timeout allows.
        (void)LockAcquire(&tag, ExclusiveLock, false, false);
        // Whoever held the lock may have just committed a schema of this
        // name; unlike a relation lock, an advisory lock does not make the
        // catalog caches catch up, so do it here.
        AcceptInvalidationMessages();
    });
}

void lock_tenant_for_session(const std::string& tenant) {
    call_postgres([&] {
        LOCKTAG tag = tenant_locktag(tenant);
        (void)LockAcquire(&tag, ExclusiveLock, true, false);
        AcceptInvalidationMessages();
    });
}

void unlock_tenant_for_session(const std::string& tenant) noexcept {
    LOCKTAG tag = tenant_locktag(tenant);
    (void)LockRelease(&tag, ExclusiveLock, true);
}

bool try_lock_tenant(const std::string& tenant) {
    return call_postgres([&] {
        LOCKTAG tag = tenant_locktag(tenant);
        if (LockAcquire(&tag, ExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL) return false;
        AcceptInvalidationMessages();
        return true;
    });
}

AsRegistryOwner::AsRegistryOwner() {
    Oid owner = registry_owner();
    call_postgres([&] {
        GetUserIdAndSecContext(&saved_user_, &saved_security_context_);
        // As a SECURITY DEFINER function does; an error restores the user
        // with the (sub)transaction's abort, the destructor on every other path.
        SetUserIdAndSecContext(owner, saved_security_context_ | SECURITY_LOCAL_USERID_CHANGE);
    });
}

AsRegistryOwner::~AsRegistryOwner() { SetUserIdAndSecContext(saved_user_, saved_security_context_); }

bool is_registered(const std::string& tenant) {
    if (is_system_schema(tenant)) return false;
    return spi::query_value(
               "SELECT 1 FROM tenancy.tenant_registry WHERE tenant OPERATOR(pg_catalog.=) $1",
               {tenant})
        .has_value();
}

void require_registered(const std::string& tenant) {
    if (!is_registered(tenant))
        throw core::Error(core::sqlstate::invalid_schema_name,
                          fmt::format("tenant \"{}\" does not exist", tenant),
                          "", "tenancy.all_tenants() lists the registered tenants.");
}

void add(const std::string& tenant, std::optional<Oid> managed_by) {
    AsRegistryOwner as_owner;
    spi::execute(
        "INSERT INTO tenancy.tenant_registry AS registered (tenant, managed_by) "
        "VALUES ($1, CAST(CAST($2 AS pg_catalog.oid) AS pg_catalog.regclass)) "
        "ON CONFLICT (tenant) DO UPDATE "
        "SET managed_by = COALESCE(EXCLUDED.managed_by, registered.managed_by)",
        {tenant, managed_by ? spi::Value(std::to_string(*managed_by)) : std::nullopt});
}

Oid managed_by(const std::string& tenant) {
    if (is_system_schema(tenant)) return InvalidOid;
    spi::Value table = spi::query_value(
        "SELECT CAST(CAST(managed_by AS pg_catalog.oid) AS pg_catalog.text) "
        "FROM tenancy.tenant_registry WHERE tenant OPERATOR(pg_catalog.=) $1",
        {tenant});
    return table ? static_cast<Oid>(std::stoul(*table)) : InvalidOid;
}

void remove(const std::string& tenant) {
    AsRegistryOwner as_owner;
    spi::execute("DELETE FROM tenancy.tenant_registry WHERE tenant OPERATOR(pg_catalog.=) $1",
                 {tenant});
}

void rename(const std::string& tenant, const std::string& new_name) {
    AsRegistryOwner as_owner;
    spi::execute(
        "UPDATE tenancy.tenant_registry SET tenant = $2 WHERE tenant OPERATOR(pg_catalog.=) $1",
        {tenant, new_name});
}

void set_last_error(const std::string& tenant, const std::optional<std::string>& error) {
    AsRegistryOwner as_owner;
    spi::execute("UPDATE tenancy.tenant_registry SET last_error = $2 "
                 "WHERE tenant OPERATOR(pg_catalog.=) $1",
                 {tenant, error});
}

std::vector<std::string> all_tenants(Spares spares) {
    std::vector<std::string> tenants;
    for (spi::Row& row : spi::query(spares == Spares::include
                                        ? "SELECT tenant FROM tenancy.tenant_registry "
                                          "ORDER BY tenant COLLATE pg_catalog.\"C\""
                                        : "SELECT tenant FROM tenancy.tenant_registry WHERE NOT spare "
                                          "ORDER BY tenant COLLATE pg_catalog.\"C\""))
        tenants.push_back(std::move(*row[0]));
    return tenants;
}

bool schema_exists(const std::string& schema) {
    return call_postgres([&] { return OidIsValid(get_namespace_oid(schema.c_str(), true)); });
}

Oid schema_owner(const std::string& schema) {
    return call_postgres([&] {
        HeapTuple tuple = SearchSysCache1(NAMESPACENAME, CStringGetDatum(schema.c_str()));
        if (!HeapTupleIsValid(tuple)) return InvalidOid;
        Oid owner = reinterpret_cast<Form_pg_namespace>(GETSTRUCT(tuple))->nspowner;
        ReleaseSysCache(tuple);
        return owner;
    });
}

bool may_act_as(Oid role) {
    return call_postgres([&] {
#if PG_VERSION_NUM >= 160000
        return member_can_set_role(GetUserId(), role);
#else
        return is_member_of_role(GetUserId(), role);
#endif
    });
}

std::string role_name(Oid role) {
    const char* name = call_postgres([&] { return GetUserNameFromId(role, true); });
    return name ? name : "?";
}

bool registry_exists() {
    return call_postgres([] {
        Oid tenancy_schema = get_namespace_oid("tenancy", true);
        return OidIsValid(tenancy_schema) &&
               OidIsValid(get_relname_relid("tenant_registry", tenancy_schema));
    });
}

}  // namespace tenancy::pg::registry
