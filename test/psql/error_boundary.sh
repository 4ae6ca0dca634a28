#!/usr/bin/env bash
# The error boundary as a client sees it: errors pg_tenancy raises itself
# report their throw site as LOCATION, and a text too long for the boundary's
# buffers is clipped at a character boundary, so a client in another encoding
# still gets the real error.
source "$(dirname "$0")/lib.sh"
fresh_database

verbose_error() {
    PGCLIENTENCODING=${2:-UTF8} psql -X -q -v VERBOSITY=verbose -d "$TEST_DB" -c "$1" 2>&1 || true
}

output=$(verbose_error "SELECT tenancy.create_tenant('pg_reserved')")
check_output "a core error reports where it was thrown, not the boundary" \
    'LOCATION: +[A-Za-z_:]*check[A-Za-z_]*, .*tenant_name\.cpp:[0-9]+' "$output"
output=$(verbose_error "SELECT tenancy.drop_tenant('nobody')")
check_output "an error of the PostgreSQL side reports its own file" \
    'LOCATION: +require_registered, registry\.cpp:[0-9]+' "$output"
check_output "and never the boundary" '^ERROR:  3F000' "$output"
if grep -q 'error_boundary' <<<"$output"; then
    check "the boundary is not named as the location" "absent" "SELECT 'present'"
fi

# 2,000 two-byte characters: the message quoting the name is longer than the
# boundary's buffer. Clipped mid-character, the LATIN1 client would get 22021.
output=$(verbose_error "SELECT tenancy.create_tenant(repeat('é', 2000))" LATIN1)
check_output "a clipped message still converts to the client's encoding (42622, not 22021)" \
    '^ERROR:  42622: tenant name' "$output"
output=$(verbose_error "SELECT tenancy.create_tenant(repeat('é', 2000))")
clipped=$(grep -o '^ERROR:  42622: .*' <<<"$output" | head -1)
check "and the clipped UTF-8 message is valid: it ends on a whole character" "t" \
    "SELECT length(convert_to(\$m\$$clipped\$m\$, 'UTF8')) > 3000"
finish_checks
