#!/usr/bin/env bash
# tenancy.load_migrations(): migration files in a server-side directory,
# registered all or nothing. The server reads the files, so the fixtures are
# made world-readable under a fresh temporary directory.
source "$(dirname "$0")/lib.sh"
fresh_database

root=$(mktemp -d /tmp/pg_tenancy_migrations.XXXXXX)
trap 'chmod -R u+rwx "$root"; rm -rf "$root"' EXIT
chmod 755 "$root"

# make_dir NAME FILE=CONTENT...: a directory of migration files.
make_dir() {
    local dir="$root/$1"
    shift
    mkdir -p "$dir"
    for spec in "$@"; do printf '%s\n' "${spec#*=}" >"$dir/${spec%%=*}"; done
    chmod -R a+rX "$dir"
    echo "$dir"
}

good=$(make_dir good \
    "20240101000001_create_users.sql=CREATE TABLE users (id int PRIMARY KEY);" \
    "20240101000002_add_email.up.sql=ALTER TABLE users ADD email text;" \
    "20240101000002_add_email.down.sql=ALTER TABLE users DROP email;" \
    "README.md=not a migration" \
    "notes.txt=ignored too")

check "load_migrations registers every migration of the directory" "2" "SELECT tenancy.load_migrations('$good')"
check "loading the same directory again registers nothing" "0" "SELECT tenancy.load_migrations('$good')"
check "names, versions and down files are kept" "20240101000001 create_users false|20240101000002 add_email true" \
    "SELECT string_agg(version || ' ' || name || ' ' || (down_sql IS NOT NULL), '|' ORDER BY version) FROM tenancy.migration_registry"
run_sql "SELECT tenancy.create_tenant('acme')"
check "the loaded migrations apply to a new tenant" "20240101000002 0" \
    "SELECT version || ' ' || pending FROM tenancy.tenants WHERE tenant = 'acme'"

# The GUC gives the default path.
check "a NULL path uses tenancy.tenant_migrations_path" "0" \
    "SET tenancy.tenant_migrations_path = '$good'; SELECT tenancy.load_migrations()"
output=$(psql -X -q -v VERBOSITY=verbose -d "$TEST_DB" -c "SELECT tenancy.load_migrations()" 2>&1 || true)
check_output "no path and no setting is an error" "ERROR:  22023: no migrations directory given" "$output"

# Bad directories: a clear error, and nothing registered.
count_before=$(value_of "SELECT count(*) FROM tenancy.migration_registry")
bad_name=$(make_dir bad_name \
    "20240201000001_fine.sql=CREATE TABLE fine (id int);" \
    "create_things.sql=CREATE TABLE things (id int);")
two_files=$(make_dir two_files \
    "20240201000001_one.sql=CREATE TABLE one (id int);" \
    "20240201000001_one.up.sql=CREATE TABLE one (id int);")
two_names=$(make_dir two_names \
    "20240201000001_one.sql=CREATE TABLE one (id int);" \
    "20240201000001_other.sql=CREATE TABLE other (id int);")
lonely_down=$(make_dir lonely_down \
    "20240201000001_fine.sql=CREATE TABLE fine (id int);" \
    "20240201000002_gone.down.sql=DROP TABLE gone;")
commits=$(make_dir commits \
    "20240201000001_fine.sql=CREATE TABLE fine (id int);" \
    "20240201000002_commits.sql=CREATE TABLE c (id int); COMMIT;")
bad_encoding=$(make_dir bad_encoding "20240201000001_latin1.sql=SELECT 'caf$(printf '\351')';")
unreadable=$(make_dir unreadable "20240201000001_fine.sql=CREATE TABLE fine (id int);")
chmod 000 "$unreadable"

expect_error() {  # DESCRIPTION SQLSTATE DIRECTORY
    local output
    output=$(psql -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$TEST_DB" \
        -c "SELECT tenancy.load_migrations('$3')" 2>&1 || true)
    check_output "$1 ($2)" "ERROR:  $2" "$output"
}
expect_error "a .sql file of another name" 22023 "$bad_name"
expect_error "two files for one version" 22023 "$two_files"
expect_error "two names for one version" 22023 "$two_names"
expect_error "a down file without its up file" 22023 "$lonely_down"
expect_error "a migration holding COMMIT" 2D000 "$commits"
expect_error "a file not valid in the server encoding" 22021 "$bad_encoding"
expect_error "an unreadable directory" 42501 "$unreadable"
expect_error "a missing directory" 58P01 "$root/missing"
# A FIFO named like a migration would block the read until a writer came,
# beyond cancel and terminate: refused without opening it for a blocking read.
fifo=$(make_dir fifo "20240201000001_fine.sql=CREATE TABLE fine (id int);")
mkfifo -m 644 "$fifo/20240201000002_waits.sql"
output=$(PGOPTIONS='-c statement_timeout=20s' psql -X -q -v VERBOSITY=verbose -d "$TEST_DB" \
    -c "SELECT tenancy.load_migrations('$fifo')" 2>&1 || true)
check_output "a FIFO named like a migration is refused at once, not waited on (42809)" \
    'ERROR:  42809: migration file ".*20240201000002_waits.sql" is not a regular file' "$output"
mkdir "$root/directory_file" && mkdir "$root/directory_file/20240201000001_dir.sql" && chmod -R a+rX "$root/directory_file"
expect_error "a directory named like a migration" 42809 "$root/directory_file"
check "no bad directory registered anything" "$count_before" "SELECT count(*) FROM tenancy.migration_registry"

# A never-applied version may change on disk: it counts as changed.
run_sql "SELECT tenancy.register_migration(20240301000001, 'later', 'CREATE TABLE later (id int)')"
run_sql "DELETE FROM tenancy.migration_registry WHERE version = 20240301000001"
changed=$(make_dir changed \
    "20240101000001_create_users.sql=CREATE TABLE users (id int PRIMARY KEY);" \
    "20240101000002_add_email.up.sql=ALTER TABLE users ADD email text;" \
    "20240101000002_add_email.down.sql=ALTER TABLE users DROP email;" \
    "20240301000001_later.sql=CREATE TABLE later (id int);")
check "a new file in a loaded directory is the one registration" "1" "SELECT tenancy.load_migrations('$changed')"
printf 'CREATE TABLE later (id bigint);\n' >"$changed/20240301000001_later.sql"
check "a never-applied migration changed on disk registers as changed" "1" "SELECT tenancy.load_migrations('$changed')"
printf 'CREATE TABLE users (id bigint);\n' >"$changed/20240101000001_create_users.sql"
expect_error "an applied migration changed on disk" 55000 "$changed"

# Who may read the server's files.
run_sql "CREATE ROLE tenancy_loader; GRANT USAGE ON SCHEMA tenancy TO tenancy_loader;
         GRANT EXECUTE ON FUNCTION tenancy.load_migrations(text) TO tenancy_loader"
output=$(psql -X -q -v VERBOSITY=verbose -d "$TEST_DB" -c "SET ROLE tenancy_loader" \
    -c "SELECT tenancy.load_migrations('$good')" 2>&1 || true)
check_output "a role without pg_read_server_files may not load files" "ERROR:  42501: permission denied to load migrations" "$output"
run_sql "GRANT pg_read_server_files TO tenancy_loader; GRANT SELECT, INSERT, UPDATE ON tenancy.migration_registry TO tenancy_loader"
output=$(psql -X -q -A -t -d "$TEST_DB" -c "SET ROLE tenancy_loader" -c "SELECT tenancy.load_migrations('$good')" 2>&1 || true)
check_output "a member of pg_read_server_files may" "^0$" "$output"
run_sql "DROP OWNED BY tenancy_loader; DROP ROLE tenancy_loader"
finish_checks
