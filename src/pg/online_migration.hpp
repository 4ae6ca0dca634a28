// Non-transactional (online) migrations: register_migration(...,
// transactional => false), or a migration file whose first line is
// "-- tenancy:no-transaction" (README "Non-transactional migrations").
//
// In an existing tenant each statement runs as a top-level statement, in a
// transaction of its own, in order, as the tenant's owner under the
// migration settings; that is what CREATE INDEX CONCURRENTLY, DROP INDEX
// CONCURRENTLY and REINDEX ... CONCURRENTLY need, and only a process outside
// any transaction can do it: a background worker. The version is recorded
// only after the last statement succeeded; the tenant's lock is held by the
// worker's session for the whole run. A rerun starts again at the first
// statement; an invalid index a failed CONCURRENTLY build left under the name
// a CREATE INDEX CONCURRENTLY gives is dropped (DROP INDEX CONCURRENTLY) and
// built again, not skipped by IF NOT EXISTS.
//
// In a new tenant (create_tenant, the managed tables' row trigger, a pool's
// spare) and in a rollback, the migration runs inside the caller's
// transaction like any other (run_migration()), its CONCURRENTLY forms run as
// their plain forms (ConcurrentlyDropped).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tenancy::pg {

// While one lives, CREATE INDEX, DROP INDEX and REINDEX run without
// CONCURRENTLY: their parse trees are copied and the option dropped before
// PostgreSQL sees them, whatever runs them (a DO block's EXECUTE included).
class ConcurrentlyDropped {
public:
    ConcurrentlyDropped();
    ~ConcurrentlyDropped();
    ConcurrentlyDropped(const ConcurrentlyDropped&) = delete;
    ConcurrentlyDropped& operator=(const ConcurrentlyDropped&) = delete;
};

// Runs the non-transactional migration of version in the tenant, statement
// by statement, each in a transaction of its own, then records the version.
// Called between transactions (none is open) in a background worker
// connected as the role that migrates. Nothing when the tenant has applied
// it already. A failure is thrown (PostgresError or core::Error, allocated in
// the memory context current at the call), its message naming the statement
// that failed (number and start of its text); the statements before it stay
// done.
void run_nontransactional_migration(const std::string& tenant, std::int64_t version);

// The tenant's pending migrations up to target, between transactions: the
// transactional ones between two non-transactional ones together in one
// transaction, each non-transactional one by run_nontransactional_migration().
void migrate_tenant_between_transactions(const std::string& tenant,
                                         std::optional<std::int64_t> target);

// For CALL migrate_all outside a transaction block, connected to SPI
// nonatomically, once the tenant's transactional migrations before its first
// non-transactional one are done: commits, then runs the rest of the tenant
// (migrate_tenant_between_transactions()) in a background worker and waits
// for it. A cancel of the caller stops the worker; the worker's error is
// thrown here as it was raised there.
void migrate_rest_in_worker(const std::string& tenant, std::optional<std::int64_t> target);

// Installs the hook that drops CONCURRENTLY and keeps a worker's statements
// in the sandbox's rules, and the transaction callback that stops a worker
// whose caller's transaction aborts; called once from _PG_init.
void install_online_migrations();

}  // namespace tenancy::pg
