#!/usr/bin/env bash
# Runs a command against a throwaway cluster of the PostgreSQL that PG_CONFIG
# names (default: Debian's PostgreSQL 15), with pg_tenancy built and installed
# into a private copy of that PostgreSQL installation:
#
#   PG_CONFIG=/opt/pg/18/bin/pg_config scripts/with-cluster.sh psql -c 'SELECT 1'
#
# Nothing outside one fresh temporary directory is touched: the server's own
# library and extension directories stay as they were (the test-only module
# never lands there), another run on the same machine gets another directory,
# port and socket, and only the cluster this script started is ever stopped.
#
# Options (before the command):
#   --installed   use the installation as it is (pg_tenancy installed by its
#                 Debian package, say) instead of a private copy with a build
#   --keep        leave the cluster running and say how to reach it
#   --fsync       keep fsync on (benchmarks); tests run with it off
#
# The command runs in the copy of the source tree the extension was built in,
# with PGHOST, PGPORT, PGUSER, PGDATABASE and PATH set, and:
#   PG_CONFIG             the private installation's pg_config
#   TENANCY_PGDATA        the cluster's data directory
#   TENANCY_SERVER_LOG    the server's log file
#   TENANCY_RUN_DIR       the temporary directory of this run
#   TENANCY_CLUSTER       this script, to call as "$TENANCY_CLUSTER" ctl ARGS
#                         (pg_ctl as the cluster's owner: restart, stop -m immediate...)
#                         or "$TENANCY_CLUSTER" new-cluster NAME (another empty
#                         cluster of the same installation, for pg_upgrade tests)
set -euo pipefail

# The cluster's files belong to an unprivileged user: PostgreSQL refuses root.
cluster_user() {
    if [ "$(id -u)" != 0 ]; then
        id -un
    else
        id -u pg_tenancy_test >/dev/null 2>&1 ||
            useradd --system --no-create-home --shell /usr/sbin/nologin pg_tenancy_test
        echo pg_tenancy_test
    fi
}

as_cluster_user() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$TENANCY_CLUSTER_USER" -- "$@"
    else
        "$@"
    fi
}

# Sub-commands for the tests, run with the environment of a running cluster.
case "${1:-}" in
    ctl)
        shift
        exec_args=("$TENANCY_PG_BINDIR/pg_ctl" -D "$TENANCY_PGDATA" -l "$TENANCY_SERVER_LOG" -w "$@")
        if [ "$(id -u)" = 0 ]; then exec runuser -u "$TENANCY_CLUSTER_USER" -- "${exec_args[@]}"; fi
        exec "${exec_args[@]}"
        ;;
    new-cluster)
        # Prints the data directory of a new, stopped cluster.
        data="$TENANCY_RUN_DIR/$2"
        as_cluster_user "$TENANCY_PG_BINDIR/initdb" -D "$data" -U postgres --auth=trust \
            --no-sync >/dev/null
        echo "$data"
        exit 0
        ;;
esac

installed=false
keep=false
fsync=off
while [ $# -gt 0 ]; do
    case "$1" in
        --installed) installed=true; shift ;;
        --keep) keep=true; shift ;;
        --fsync) fsync=on; shift ;;
        --) shift; break ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--installed] [--keep] [--fsync] command..." >&2; exit 2; }

source_dir="$(cd "$(dirname "$0")/.." && pwd)"
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
[ -x "$PG_CONFIG" ] || PG_CONFIG=$(command -v "$PG_CONFIG") ||
    { echo "with-cluster: no pg_config at $PG_CONFIG" >&2; exit 2; }

run_dir=$(mktemp -d /tmp/pg_tenancy_run.XXXXXX)
chmod 755 "$run_dir"
export TENANCY_CLUSTER_USER
TENANCY_CLUSTER_USER=$(cluster_user)

bindir=$("$PG_CONFIG" --bindir)
data="$run_dir/data"
socket_dir="$run_dir/socket"
log="$run_dir/server.log"
started=false

cleanup() {
    local status=$?
    if $started && ! $keep; then
        as_cluster_user "$pg_bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if ! $keep; then rm -rf "$run_dir"; fi
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if $installed; then
    pg_bindir=$bindir
    pg_config_private=$PG_CONFIG
    work_tree=$source_dir
else
    # A private installation: the server's bin, lib and share directories
    # copied under the run directory at their own paths. PostgreSQL finds its
    # directories relative to its binaries, so the copy uses its own lib and
    # share directories, where this run installs the extension.
    root="$run_dir/install"
    for dir in "$bindir" "$("$PG_CONFIG" --pkglibdir)" "$("$PG_CONFIG" --sharedir)"; do
        mkdir -p "$root$(dirname "$dir")"
        cp -a "$dir" "$root$dir"
    done
    pg_bindir="$root$bindir"
    pg_config_private="$pg_bindir/pg_config"

    # The build happens in a copy of the source tree, so that runs for
    # different PostgreSQL versions (or two runs at once) never share objects.
    work_tree="$run_dir/build"
    mkdir -p "$work_tree"
    tar -C "$source_dir" --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
        --exclude=./results --exclude=./log -cf - . | tar -C "$work_tree" -xf -
    echo "with-cluster: building pg_tenancy for $("$PG_CONFIG" --version)"
    make -s -C "$work_tree" PG_CONFIG="$PG_CONFIG" >"$run_dir/build.log" 2>&1 ||
        { cat "$run_dir/build.log"; exit 1; }
    make -s -C "$work_tree" PG_CONFIG="$PG_CONFIG" install DESTDIR="$root" >>"$run_dir/build.log" 2>&1 ||
        { cat "$run_dir/build.log"; exit 1; }
    make -s -C "$work_tree/test/boundary" PG_CONFIG="$PG_CONFIG" >>"$run_dir/build.log" 2>&1 &&
        make -s -C "$work_tree/test/boundary" PG_CONFIG="$PG_CONFIG" install DESTDIR="$root" \
            >>"$run_dir/build.log" 2>&1 ||
        { cat "$run_dir/build.log"; exit 1; }
fi

# A free port: nothing listening on it over TCP, and no socket file for it.
free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && [ ! -e "/tmp/.s.PGSQL.$port" ]; then
            echo "$port"
            return 0
        fi
    done
    echo "with-cluster: no free port found" >&2
    return 1
}

mkdir -p "$socket_dir"
chown "$TENANCY_CLUSTER_USER" "$run_dir" "$socket_dir"
as_cluster_user "$pg_bindir/initdb" -D "$data" -U postgres --auth=trust --no-sync \
    >"$run_dir/initdb.log" 2>&1 || { cat "$run_dir/initdb.log"; exit 1; }
port=$(free_port)
cat >>"$data/postgresql.conf" <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$socket_dir'
max_locks_per_transaction = 64
max_worker_processes = 16
fsync = $fsync
log_line_prefix = '%m [%p] '
EOF
as_cluster_user touch "$log"
as_cluster_user "$pg_bindir/pg_ctl" -D "$data" -l "$log" -w start >/dev/null
started=true

export PGHOST="$socket_dir" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
export PATH="$pg_bindir:$PATH"
export PG_CONFIG="$pg_config_private"
export TENANCY_PGDATA="$data" TENANCY_SERVER_LOG="$log" TENANCY_RUN_DIR="$run_dir"
export TENANCY_PG_BINDIR="$pg_bindir" TENANCY_CLUSTER="$source_dir/scripts/with-cluster.sh"
echo "with-cluster: $("$pg_bindir/postgres" --version) on port $port (socket $socket_dir)"

status=0
(cd "$work_tree" && "$@") || status=$?
if $keep; then
    echo "with-cluster: the cluster keeps running; to reach it:"
    echo "  PGHOST=$socket_dir PGPORT=$port PGUSER=postgres $pg_bindir/psql"
    echo "  stop it with: runuser -u $TENANCY_CLUSTER_USER -- $pg_bindir/pg_ctl -D $data stop; rm -rf $run_dir"
fi
exit $status
