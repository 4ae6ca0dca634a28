// tenancy.load_migrations(path text DEFAULT NULL): registers every migration
// file of a server-side directory, all or nothing.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../core/error.hpp"
#include "../core/migration_files.hpp"
#include "arguments.hpp"
#include "error_boundary.hpp"
#include "migration_registry.hpp"
#include "settings.hpp"
#include "spi.hpp"

extern "C" {
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
// refuses NUL bytes).
std::string read_text_file(const std::string& path) {
    StringInfo contents = call_postgres([&] {
        FILE* file = AllocateFile(path.c_str(), PG_BINARY_R);
        if (file == nullptr)
            ereport(ERROR, (errcode_for_file_access(),
                            errmsg("could not open file \"%s\" for reading: %m", path.c_str())));
        StringInfo buffer = makeStringInfo();
        char chunk[65536];
        size_t read;
        while ((read = fread(chunk, 1, sizeof chunk, file)) > 0) {
            if (buffer->len + read >= MaxAllocSize / 2)
                ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                                errmsg("migration file \"%s\" is too large", path.c_str())));
            appendBinaryStringInfo(buffer, chunk, static_cast<int>(read));
        }
        if (ferror(file))
            ereport(ERROR, (errcode_for_file_access(),
                            errmsg("could not read file \"%s\": %m", path.c_str())));
        FreeFile(file);
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
