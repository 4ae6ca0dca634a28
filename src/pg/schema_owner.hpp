// Running a tenant's migrations as the owner of its schema.
//
// Migrations create objects in the tenant; run as the schema's owner, those
// objects belong to that owner, not to whoever called migrate (a superuser,
// or the extension's owner behind a managed table's trigger). It also keeps a
// schema owner's own objects (a trigger on its schema_migrations, say) from
// ever running with the caller's privileges.
#pragma once

#include <string>

#include "postgres_headers.hpp"

namespace tenancy::pg {

class ActAsSchemaOwner {
public:
    explicit ActAsSchemaOwner(const std::string& schema);
    ~ActAsSchemaOwner();
    ActAsSchemaOwner(const ActAsSchemaOwner&) = delete;
    ActAsSchemaOwner& operator=(const ActAsSchemaOwner&) = delete;

private:
    Oid saved_user_ = InvalidOid;
    int saved_security_context_ = 0;
};

}  // namespace tenancy::pg
