// The extension's GUCs (SPEC "GUCs"), defined when the library loads.
#pragma once

namespace tenancy::pg {

void define_settings();

// Current values; never NULL once define_settings() has run.
const char* tenant_name_pattern();
const char* reserved_names();
const char* tenant_migrations_path();
bool allow_writable_shared_schemas();
// tenancy.shared_schemas as set; src/pg/shared_schemas.cpp reads it.
const char* tenancy_shared_schemas();
// tenancy.pool_refill_worker: whether a take starts the pool's background refill.
bool pool_refill_worker();

}  // namespace tenancy::pg
