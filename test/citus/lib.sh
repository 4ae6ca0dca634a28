# Helpers for the Citus suites: a coordinator and two workers on loopback,
# each its own cluster of the installation scripts/with-cluster.sh made,
# started as the cluster's owner with shared_preload_libraries = citus.
# Sourced after test/psql/lib.sh, inside scripts/with-cluster.sh.
#
#   citus_installed || { echo "skipped: Citus is not installed"; exit 0; }
#   start_citus_nodes          # coordinator + worker1 + worker2, database $TEST_DB
#   on coordinator "SQL"       # psql on one node (coordinator, worker1, worker2)
#
# The nodes are stopped when the script exits, whatever happens.

citus_installed() {
    [ -f "$(pg_config --pkglibdir)/citus.so" ] &&
        [ -f "$(pg_config --sharedir)/extension/citus.control" ]
}

declare -A citus_port citus_data
citus_nodes=(coordinator worker1 worker2)
citus_socket_dir="$TENANCY_RUN_DIR/socket"

as_cluster_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u "$TENANCY_CLUSTER_USER" -- "$@"; else "$@"; fi
}

stop_citus_nodes() {
    local node
    for node in "${citus_nodes[@]}"; do
        [ -n "${citus_data[$node]:-}" ] || continue
        as_cluster_owner "$TENANCY_PG_BINDIR/pg_ctl" -D "${citus_data[$node]}" -m immediate -w stop \
            >/dev/null 2>&1 || true
        rm -rf "${citus_data[$node]}"
    done
}

# A port nothing listens on, neither over TCP nor as a socket file.
citus_free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
            [ ! -e "$citus_socket_dir/.s.PGSQL.$port" ] && [ ! -e "/tmp/.s.PGSQL.$port" ]; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# psql on one node: on NODE SQL [psql options...]
on() {
    local node=$1 sql=$2
    shift 2
    psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$citus_socket_dir" -p "${citus_port[$node]}" \
        -d "$TEST_DB" "$@" -c "SET client_min_messages = warning" -c "$sql"
}

start_citus_nodes() {
    trap stop_citus_nodes EXIT
    local node
    for node in "${citus_nodes[@]}"; do
        citus_data[$node]=$("$TENANCY_CLUSTER" new-cluster "citus_$node")
        citus_port[$node]=$(citus_free_port)
        cat >>"${citus_data[$node]}/postgresql.conf" <<CONF
port = ${citus_port[$node]}
listen_addresses = '127.0.0.1'
unix_socket_directories = '$citus_socket_dir'
shared_preload_libraries = 'citus'
citus.node_conninfo = 'sslmode=disable'
max_worker_processes = 16
max_connections = 60
fsync = off
synchronous_commit = off
log_line_prefix = '%m [%p] '
CONF
        as_cluster_owner "$TENANCY_PG_BINDIR/pg_ctl" -D "${citus_data[$node]}" \
            -l "${citus_data[$node]}/server.log" -w start >/dev/null
    done
    for node in "${citus_nodes[@]}"; do
        psql -X -q -h "$citus_socket_dir" -p "${citus_port[$node]}" -d postgres \
            -c "CREATE DATABASE \"$TEST_DB\"" >/dev/null
        on "$node" "CREATE EXTENSION citus" >/dev/null
    done
    on coordinator "SELECT pg_catalog.citus_set_coordinator_host('127.0.0.1', ${citus_port[coordinator]});
                    SELECT pg_catalog.citus_add_node('127.0.0.1', ${citus_port[worker1]});
                    SELECT pg_catalog.citus_add_node('127.0.0.1', ${citus_port[worker2]});
                    ALTER DATABASE \"$TEST_DB\" SET citus.enable_schema_based_sharding = on;" >/dev/null
}
