#include "schema_owner.hpp"

#include <fmt/format.h>

#include "../core/error.hpp"
#include "error_boundary.hpp"

extern "C" {
#include "utils/acl.h"
}

namespace tenancy::pg {

ActAsSchemaOwner::ActAsSchemaOwner(const std::string& schema) {
    Oid owner = call_postgres([&] {
        HeapTuple tuple = SearchSysCache1(NAMESPACEOID,
                                          ObjectIdGetDatum(get_namespace_oid(schema.c_str(), false)));
        if (!HeapTupleIsValid(tuple)) elog(ERROR, "cache lookup failed for schema \"%s\"", schema.c_str());
        Oid nspowner = reinterpret_cast<Form_pg_namespace>(GETSTRUCT(tuple))->nspowner;
        ReleaseSysCache(tuple);
        return nspowner;
    });
    // Whoever runs a tenant's migrations must be able to act as its owner
    // anyway: otherwise migrate would be a way to run SQL as someone else.
    bool may_act_as_owner = call_postgres([&] { return has_privs_of_role(GetUserId(), owner); });
    if (!may_act_as_owner)
        throw core::Error("42501",
                          fmt::format("permission denied to migrate tenant \"{}\"", schema),
                          "Migrations run as the owner of the tenant's schema.",
                          "Grant the owner's role to the role that migrates, or run it as a superuser.");

    GetUserIdAndSecContext(&saved_user_, &saved_security_context_);
    // As SECURITY DEFINER functions do. Not a security-restricted operation
    // (as REFRESH MATERIALIZED VIEW is): that forbids deferred constraints,
    // which migrations that move data need; and the caller may act as the
    // owner anyway. An error restores the user with the (sub)transaction's
    // abort, the destructor on every other path.
    SetUserIdAndSecContext(owner, saved_security_context_ | SECURITY_LOCAL_USERID_CHANGE);
}

ActAsSchemaOwner::~ActAsSchemaOwner() { SetUserIdAndSecContext(saved_user_, saved_security_context_); }

}  // namespace tenancy::pg
