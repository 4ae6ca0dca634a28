// Migration files in a directory (SPEC "load_migrations"):
//   <version>_<name>.sql or <version>_<name>.up.sql, and optionally
//   <version>_<name>.down.sql; <version> digits, <name> letters, digits, _.
// Files not ending in ".sql" are ignored. Everything else is an error, and
// one bad file means nothing in the directory is registered.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tenancy::core {

enum class MigrationFileKind { ignored, up, down };

struct MigrationFileName {
    MigrationFileKind kind = MigrationFileKind::ignored;
    std::int64_t version = 0;
    std::string name;
};

// Parses one file name. Throws core::Error (22023) for a ".sql" file whose
// name does not follow the pattern, or whose version is 0 or too large.
MigrationFileName parse_migration_file_name(std::string_view file_name);

// One migration as the directory holds it: which files to read.
struct MigrationFiles {
    std::int64_t version = 0;
    std::string name;
    std::string up_file;
    std::optional<std::string> down_file;
};

// Pairs the files of a directory listing into migrations, sorted by version.
// Throws core::Error (22023) for a bad name, two files for one version, or a
// down file without its up file.
std::vector<MigrationFiles> plan_migration_files(const std::vector<std::string>& file_names);

// The first line that declares a migration file non-transactional.
inline constexpr std::string_view no_transaction_marker = "-- tenancy:no-transaction";

// Whether the file's text begins with the marker line: the marker, then the
// end of the line (trailing spaces, tabs and a CR are allowed; a UTF-8 byte
// order mark before it too). Anywhere else it is an ordinary comment.
bool declares_no_transaction(std::string_view text);

}  // namespace tenancy::core
