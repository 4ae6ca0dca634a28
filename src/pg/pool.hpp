// Pools of ready tenants (tenancy.tenant_pools): spares made and migrated
// ahead of time, handed out by create_tenant and the managed tables' row
// triggers by renaming one. Callers are connected to SPI.
#pragma once

#include <optional>
#include <string>

#include "postgres_headers.hpp"

namespace tenancy::pg::pool {

// Whether the registered tenant is a spare.
bool is_spare(const std::string& tenant);
// Raises 55000 when the tenant is a spare: drop_tenant and rename_tenant
// leave spares to refill_tenant_pool.
void refuse_spare(const std::string& tenant, const char* action);

// Why the pool of (owner, managed_table) cannot hand out spares now, or
// nullopt when it can. managed_table is InvalidOid for create_tenant's pools.
std::optional<std::string> unusable_reason(Oid owner, Oid managed_table);

// Takes a ready spare of the pool (owner, managed_table) and renames it to
// tenant, in the caller's transaction; false when there is none (or the pool
// is unusable). The caller holds tenant's lock and knows no schema has its name.
bool take_spare(const std::string& tenant, Oid owner, Oid managed_table);

// Sets the current role's pool, for its create_tenant calls (22023 when negative).
void set_own_pool(int target);

// Sets the pool of a managed table (NULL pool argument: leave it as it is).
void set_managed_pool(Oid managed_table, int target);

// Makes or drops one spare of the first pool the current user may act for
// that is below or above its target. Returns whether it did anything.
bool refill_one();

// A migration was rolled back in the tenant: if it is a spare, its name is
// checked again when it is taken, even once it is back at the version it was
// checked at (the migration may come back with another text).
void forget_name_check(const std::string& tenant);

// A schema was renamed by hand to new_name (the registry follows it): a spare
// given a name outside the spares' prefix is a tenant from then on, not a
// spare to hand out under yet another name.
void spare_renamed_by_hand(const std::string& new_name);

// Asks for a background refill once the current transaction commits.
void request_refill();

}  // namespace tenancy::pg::pool

namespace tenancy::pg {
// Starts the pool worker for a refill requested in the transaction that just
// committed; called by the module's transaction callback.
void start_requested_pool_worker(bool committed);
}  // namespace tenancy::pg
