# Helpers for the psql test scripts: each script gets its own database, runs
# SQL (procedures that COMMIT cannot run inside pgTAP's transaction), and
# checks results with `check`. Sourced, not run.
set -euo pipefail

TEST_DB=${TEST_DB:-tenancy_$(basename "$0" .sh)}
checks_passed=0
checks_failed=0

fresh_database() {
    psql -X -q -d postgres -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS \"$TEST_DB\"" -c "CREATE DATABASE \"$TEST_DB\""
    run_sql "CREATE EXTENSION pg_tenancy"
}

# Runs SQL in the test database; stops the script on error.
run_sql() {
    psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" -c "SET client_min_messages = warning" -c "$1" >/dev/null
}

# The single value a query returns.
value_of() {
    psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$TEST_DB" -c "$1"
}

# check DESCRIPTION EXPECTED QUERY: passes when QUERY returns EXPECTED.
check() {
    check_value "$1" "$2" "$(value_of "$3" 2>&1 || true)"
}

# check_value DESCRIPTION EXPECTED ACTUAL: passes when ACTUAL is EXPECTED.
check_value() {
    local description=$1 expected=$2 actual=$3
    if [ "$actual" = "$expected" ]; then
        checks_passed=$((checks_passed + 1))
        echo "     ok - $description"
    else
        checks_failed=$((checks_failed + 1))
        echo "     not ok - $description"
        echo "       expected: $expected"
        echo "       got:      $actual"
    fi
}

# check_output DESCRIPTION PATTERN TEXT: passes when TEXT matches the grep -E PATTERN.
check_output() {
    local description=$1 pattern=$2 text=$3
    if grep -qE -- "$pattern" <<<"$text"; then
        checks_passed=$((checks_passed + 1))
        echo "     ok - $description"
    else
        checks_failed=$((checks_failed + 1))
        echo "     not ok - $description"
        echo "       no line matching: $pattern"
        echo "$text" | head -20 | sed 's/^/       | /'
    fi
}

# wait_until QUERY [SECONDS]: polls until QUERY returns t, for at most SECONDS
# (default 60). Tests wait for a state this way, never for a fixed time, so a
# loaded machine only makes them slower. Returns 1 when the deadline passes.
wait_until() {
    local query=$1 deadline=$((SECONDS + ${2:-60}))
    until [ "$(value_of "$query" 2>/dev/null)" = t ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "     (gave up waiting for: $query)"
            return 1
        fi
        sleep 0.05
    done
}

finish_checks() {
    echo "     $(basename "$0"): $checks_passed passed, $checks_failed failed"
    [ "$checks_failed" -eq 0 ]
}
