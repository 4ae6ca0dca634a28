// The tenant registry (tenancy.tenant_registry) and the locks that guard it.
// Callers are connected to SPI.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "postgres_headers.hpp"

namespace tenancy::pg::registry {

// Serializes everything done to one tenant name (create, rename, drop,
// migrate, the managed tables' row triggers) with a transaction-scoped lock
// keyed by the name. It is a lock of the advisory kind on a key no SQL
// function can take (pg_advisory_lock() and its kin use other keys), so no
// role can hold a tenant's lock except through pg_tenancy.
void lock_tenant(const std::string& tenant);
// The same lock if it is free now; false (and nothing held) if someone has it.
bool try_lock_tenant(const std::string& tenant);
// The same lock held by the session, across transactions, until
// unlock_tenant_for_session() or the session's end: a non-transactional
// migration holds it over the transactions of its statements.
void lock_tenant_for_session(const std::string& tenant);
void unlock_tenant_for_session(const std::string& tenant) noexcept;

// Runs the registry writes of its lifetime as the owner of the registry
// tables (the extension's owner). Roles that administer tenants need EXECUTE
// on pg_tenancy's functions, never write access to the registry: what they
// register is what those functions checked.
class AsRegistryOwner {
public:
    AsRegistryOwner();
    ~AsRegistryOwner();
    AsRegistryOwner(const AsRegistryOwner&) = delete;
    AsRegistryOwner& operator=(const AsRegistryOwner&) = delete;

private:
    Oid saved_user_ = InvalidOid;
    int saved_security_context_ = 0;
};

bool is_registered(const std::string& tenant);
// Raises 3F000 unless the tenant is registered.
void require_registered(const std::string& tenant);

// Registers the tenant; managed_by names the managed table whose row made
// (or adopted) it. An existing registration keeps its managed_by unless a
// new one is given.
void add(const std::string& tenant, std::optional<Oid> managed_by = std::nullopt);

// The managed table recorded as having made the tenant (InvalidOid: none, or
// the tenant is not registered).
Oid managed_by(const std::string& tenant);
void remove(const std::string& tenant);
void rename(const std::string& tenant, const std::string& new_name);
// Records (or, with nullopt, clears) the outcome of the last migrate_all or
// rollback_all attempt on the tenant.
void set_last_error(const std::string& tenant, const std::optional<std::string>& error);

// Every registered tenant, in name (byte) order.
// The pool's spares are registered too (migrate_all keeps them current);
// what users are shown of "the tenants" leaves them out.
enum class Spares { include, exclude };
std::vector<std::string> all_tenants(Spares spares = Spares::include);

bool schema_exists(const std::string& schema);
// The owner of the schema; InvalidOid when there is no such schema.
Oid schema_owner(const std::string& schema);

// Whether the current user may act as the role: CREATE SCHEMA ...
// AUTHORIZATION's rule (PostgreSQL 16+: membership with the SET option;
// before: membership). Superusers may act as anyone.
bool may_act_as(Oid role);

// A role's name for messages ("?" when it is gone).
std::string role_name(Oid role);

// False while the extension is being dropped: event triggers then have nothing to keep.
bool registry_exists();

}  // namespace tenancy::pg::registry
