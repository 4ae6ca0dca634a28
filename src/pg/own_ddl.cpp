#include "own_ddl.hpp"

namespace tenancy::pg {

namespace {
int own_ddl_depth = 0;
}

OwnDdlScope::OwnDdlScope() { ++own_ddl_depth; }
OwnDdlScope::~OwnDdlScope() { --own_ddl_depth; }
bool own_ddl_running() { return own_ddl_depth > 0; }
void reset_own_ddl() { own_ddl_depth = 0; }

}  // namespace tenancy::pg
