#include "schema_owner.hpp"

#include "error_boundary.hpp"

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
    GetUserIdAndSecContext(&saved_user_, &saved_security_context_);
    // As SECURITY DEFINER functions do; an error restores the user with the
    // (sub)transaction's abort, the destructor on every other path.
    SetUserIdAndSecContext(owner, saved_security_context_ | SECURITY_LOCAL_USERID_CHANGE);
}

ActAsSchemaOwner::~ActAsSchemaOwner() { SetUserIdAndSecContext(saved_user_, saved_security_context_); }

}  // namespace tenancy::pg
