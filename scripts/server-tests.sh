#!/usr/bin/env bash
# The tests that need a server; run by scripts/test.sh inside a throwaway
# cluster (scripts/with-cluster.sh sets PGHOST, PGPORT, PGUSER...).
set -euo pipefail
cd "$(dirname "$0")/.."

failed=0
passed_suites=0
skipped_suites=0

run_suite() {
    local name=$1
    shift
    echo "-- $name"
    if "$@"; then
        passed_suites=$((passed_suites + 1))
    else
        echo "FAILED: $name"
        note_failure "FAILED: $name"
        failed=$((failed + 1))
    fi
}

# pg_regress (sql/, expected/) and the isolation tester (specs/, expected/).
regress() {
    if ! make -s installcheck; then
        for diffs in regression.diffs output_iso/regression.diffs; do
            [ -f "$diffs" ] && head -200 "$diffs"
        done
        return 1
    fi
}

pgtap() {
    psql -X -q -c "DROP DATABASE IF EXISTS pg_tenancy_tap" -c "CREATE DATABASE pg_tenancy_tap"
    pg_prove --ext .sql -d pg_tenancy_tap test/pgtap/
}

# Failing checks are also appended to $TENANCY_FAILURES (when set), so that
# scripts/test.sh can repeat them at the end of a long log.
note_failure() {
    [ -n "${TENANCY_FAILURES:-}" ] && echo "$*" >>"$TENANCY_FAILURES"
    return 0
}

psql_suites() {
    local status=0 output
    for script in test/psql/*.sh; do
        [ -e "$script" ] || continue
        echo "   $script"
        output=$(mktemp)
        if ! bash "$script" 2>&1 | tee "$output"; then
            status=1
            note_failure "$script:"
            grep -E "not ok|ERROR|FATAL" "$output" | head -20 | sed 's/^/    /' >>"${TENANCY_FAILURES:-/dev/null}" || true
        fi
        rm -f "$output"
    done
    return $status
}

# test/citus/: each starts its own Citus coordinator and workers (clusters of
# this installation), or says it skipped when Citus is not installed.
citus_suites() {
    local status=0 output
    for script in test/citus/*.sh; do
        [ "$(basename "$script")" != lib.sh ] || continue
        echo "   $script"
        output=$(mktemp)
        if ! bash "$script" 2>&1 | tee "$output"; then
            status=1
            note_failure "$script:"
            grep -E "not ok|ERROR|FATAL" "$output" | head -20 | sed 's/^/    /' >>"${TENANCY_FAILURES:-/dev/null}" || true
        fi
        grep -q "skipped: Citus is not installed" "$output" && citus_skipped=true
        rm -f "$output"
    done
    return $status
}

no_backend_crash() {
    # A C++ exception escaping into PostgreSQL, or a longjmp through C++ gone
    # wrong, shows up here as a backend terminated by a signal.
    # Signal 9 is the crash test's own kill -9; any other signal is a crash.
    if grep -E "terminated by signal|was terminated by exception" "$TENANCY_SERVER_LOG" |
        grep -v "terminated by signal 9: Killed"; then
        echo "the server log shows a crashed backend"
        return 1
    fi
    echo "   no backend crash in $TENANCY_SERVER_LOG"
}

run_suite "pg_regress and isolation" regress
run_suite "pgTAP" pgtap
run_suite "psql scripts" psql_suites
citus_skipped=false
echo "-- Citus"
if citus_suites; then
    if $citus_skipped; then
        skipped_suites=$((skipped_suites + 1))
    else
        passed_suites=$((passed_suites + 1))
    fi
else
    echo "FAILED: Citus"
    note_failure "FAILED: Citus"
    failed=$((failed + 1))
fi
run_suite "server log" no_backend_crash

echo "suites: $passed_suites passed, $failed failed, $skipped_suites skipped"
[ "$failed" -eq 0 ]
