// tenancy.load_migrations(path text DEFAULT NULL): registers every migration
// file of a server-side directory, all or nothing.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../core/error.hpp"
#include "../core/migration_files.hpp"
#include "arguments.hpp"
#include "citus.hpp"
#include "error_boundary.hpp"
#include "migration_registry.hpp"
#include "settings.hpp"
#include "spi.hpp"

extern "C" {
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_authid.h"
#include "storage/fd.h"
#include "utils/acl.h"
}

namespace tenancy::pg {

namespace {

// Reading server files is what pg_read_server_files is for, as with COPY FROM a file.
void require_file_reader() {
    bool allowed = call_postgres(
        [] { return has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES); });
    if (!allowed)
        throw core::Error("42501", "permission denied to load migrations from the server's files",
                          "", "Only superusers and members of pg_read_server_files may call "
                              "tenancy.load_migrations().");
}

std::vector<std::string> list_directory(const std::string& path) {
    std::vector<std::string> names;
    call_postgres([&] {
        DIR* directory = AllocateDir(path.c_str());
        struct dirent* entry;
        // ReadDir raises the open or read error with its SQLSTATE.
        while ((entry = ReadDir(directory, path.c_str())) != nullptr) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
            names.emplace_back(entry->d_name);
        }
        FreeDir(directory);
    });
    return names;
}

// The file's text, checked to be valid in the server encoding (which also
// refuses NUL bytes). Only a regular file is read: the file is opened
// without blocking and checked on the open descriptor, so a FIFO (which
// would wait for a writer beyond cancel and terminate), a device or a
// directory named like a migration is refused, whatever the name pointed at
// when the directory was listed.
std::string read_text_file(const std::string& path) {
    StringInfo contents = call_postgres([&] {
        int fd = OpenTransientFile(path.c_str(), O_RDONLY | O_NONBLOCK | PG_BINARY);
        if (fd < 0)
            ereport(ERROR, (errcode_for_file_access(),
                            errmsg("could not open file \"%s\" for reading: %m", path.c_str())));
        struct stat status;
        if (fstat(fd, &status) != 0)
            ereport(ERROR, (errcode_for_file_access(),
                            errmsg("could not stat file \"%s\": %m", path.c_str())));
        if (!S_ISREG(status.st_mode))
            ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                            errmsg("migration file \"%s\" is not a regular file", path.c_str()),
                            errhint("Migration directories hold regular files (or symbolic links to "
                                    "them); remove or rename the others.")));
        StringInfo buffer = makeStringInfo();
        char chunk[65536];
        while (true) {
            CHECK_FOR_INTERRUPTS();
            ssize_t read_bytes = read(fd, chunk, sizeof chunk);
            if (read_bytes < 0) {
                if (errno == EINTR) continue;
                ereport(ERROR, (errcode_for_file_access(),
                                errmsg("could not read file \"%s\": %m", path.c_str())));
            }
            if (read_bytes == 0) break;
            if (static_cast<size_t>(buffer->len) + static_cast<size_t>(read_bytes) >= MaxAllocSize / 2)
                ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                                errmsg("migration file \"%s\" is too large", path.c_str())));
            appendBinaryStringInfo(buffer, chunk, static_cast<int>(read_bytes));
        }
        CloseTransientFile(fd);
        pg_verifymbstr(buffer->data, buffer->len, false);
        return buffer;
    });
    std::string text(contents->data, contents->len);
    call_postgres([&] {
        pfree(contents->data);
        pfree(contents);
    });
    return text;
}

}  // namespace

}  // namespace tenancy::pg

using namespace tenancy::pg;

extern "C" {

PG_FUNCTION_INFO_V1(tenancy_load_migrations);

// tenancy.load_migrations(path text DEFAULT NULL) RETURNS integer
Datum tenancy_load_migrations(PG_FUNCTION_ARGS) {
    return guard_entry([&] {
        citus::refuse_on_worker(fcinfo);
        require_file_reader();
        std::string directory = text_argument(fcinfo, 0).value_or(tenant_migrations_path());
        if (directory.empty())
            throw tenancy::core::Error(
                tenancy::core::sqlstate::invalid_parameter_value, "no migrations directory given",
                "", "Pass a path, or set tenancy.tenant_migrations_path.");

        // Every file is read and checked before anything is registered.
        std::vector<Migration> migrations;
        for (const tenancy::core::MigrationFiles& files :
             tenancy::core::plan_migration_files(list_directory(directory))) {
            Migration migration;
            migration.version = files.version;
            migration.name = files.name;
            migration.up_sql = read_text_file(directory + "/" + files.up_file);
            if (files.down_file) migration.down_sql = read_text_file(directory + "/" + *files.down_file);
            // The up file's first line decides, for both texts.
            migration.transactional = !tenancy::core::declares_no_transaction(migration.up_sql);
            if (migration.transactional && migration.down_sql &&
                tenancy::core::declares_no_transaction(*migration.down_sql))
                throw tenancy::core::Error(
                    tenancy::core::sqlstate::invalid_parameter_value,
                    fmt::format("migration file \"{}\" declares {} but its up file does not",
                                *files.down_file, tenancy::core::no_transaction_marker),
                    "Whether a migration is non-transactional is declared by the first line of its up file.",
                    fmt::format("Begin \"{}\" with the line {}.", files.up_file,
                                tenancy::core::no_transaction_marker));
            check_migration(migration);
            migrations.push_back(std::move(migration));
        }

        int new_or_changed = 0;
        spi::connect();
        for (const Migration& migration : migrations)
            if (register_migration(migration) != Registration::unchanged) new_or_changed++;
        spi::finish();
        return Int32GetDatum(new_or_changed);
    });
}

}  // extern "C"
