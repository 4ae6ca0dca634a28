// Marks DDL the extension runs itself, so its event triggers leave it alone:
// create_tenant, rename_tenant and drop_tenant keep the registry in step on
// their own, and the triggers are there only for DDL typed by hand.
#pragma once

namespace tenancy::pg {

class OwnDdlScope {
public:
    OwnDdlScope();
    ~OwnDdlScope();
    OwnDdlScope(const OwnDdlScope&) = delete;
    OwnDdlScope& operator=(const OwnDdlScope&) = delete;
};

bool own_ddl_running();

// Called at transaction abort: a longjmp past a scope must not leave it set.
void reset_own_ddl();

}  // namespace tenancy::pg
