#include "migration_files.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "error.hpp"
#include "pure_cpp.hpp"

namespace tenancy::core {

namespace {

constexpr std::string_view sql_suffix = ".sql";
constexpr std::string_view up_suffix = ".up.sql";
constexpr std::string_view down_suffix = ".down.sql";

bool ends_with(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_char(char c) {
    return is_ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

[[noreturn]] void throw_bad_file_name(std::string_view file_name, std::string_view why) {
    throw Error(sqlstate::invalid_parameter_value,
                fmt::format("invalid migration file name \"{}\"", file_name), std::string(why),
                "Migration files are named <version>_<name>.sql, <version>_<name>.up.sql or "
                "<version>_<name>.down.sql, with a version of digits and a name of letters, "
                "digits and underscores.");
}

}  // namespace

MigrationFileName parse_migration_file_name(std::string_view file_name) {
    MigrationFileName parsed;
    if (!ends_with(file_name, sql_suffix)) return parsed;

    std::string_view stem;
    if (ends_with(file_name, down_suffix)) {
        parsed.kind = MigrationFileKind::down;
        stem = file_name.substr(0, file_name.size() - down_suffix.size());
    } else if (ends_with(file_name, up_suffix)) {
        parsed.kind = MigrationFileKind::up;
        stem = file_name.substr(0, file_name.size() - up_suffix.size());
    } else {
        parsed.kind = MigrationFileKind::up;
        stem = file_name.substr(0, file_name.size() - sql_suffix.size());
    }

    std::size_t digits = 0;
    while (digits < stem.size() && is_ascii_digit(stem[digits])) digits++;
    if (digits == 0) throw_bad_file_name(file_name, "The name does not start with a version.");
    if (digits == stem.size() || stem[digits] != '_')
        throw_bad_file_name(file_name, "The version is not followed by \"_\" and a name.");
    std::string_view name = stem.substr(digits + 1);
    if (name.empty()) throw_bad_file_name(file_name, "The migration has no name.");
    if (!std::all_of(name.begin(), name.end(), is_name_char))
        throw_bad_file_name(file_name,
                            "A migration name holds only letters, digits and underscores.");

    // The version must be a positive bigint.
    std::string_view version = stem.substr(0, digits);
    std::int64_t value = 0;
    for (char c : version) {
        int digit = c - '0';
        if (value > (INT64_MAX - digit) / 10)
            throw_bad_file_name(file_name, "The version does not fit in a bigint.");
        value = value * 10 + digit;
    }
    if (value == 0) throw_bad_file_name(file_name, "Migration versions are positive.");

    parsed.version = value;
    parsed.name = std::string(name);
    return parsed;
}

std::vector<MigrationFiles> plan_migration_files(const std::vector<std::string>& file_names) {
    struct Found {
        std::optional<std::pair<std::string, std::string>> up;    // file, name
        std::optional<std::pair<std::string, std::string>> down;  // file, name
    };
    std::map<std::int64_t, Found> by_version;

    // Sorted, so which of two clashing files is named first never depends on
    // the order the directory lists them in.
    std::vector<std::string> sorted = file_names;
    std::sort(sorted.begin(), sorted.end());

    for (const std::string& file : sorted) {
        MigrationFileName parsed = parse_migration_file_name(file);
        if (parsed.kind == MigrationFileKind::ignored) continue;
        Found& found = by_version[parsed.version];
        auto& slot = parsed.kind == MigrationFileKind::up ? found.up : found.down;
        if (slot)
            throw Error(sqlstate::invalid_parameter_value,
                        fmt::format("two migration files for version {}", parsed.version),
                        fmt::format("Both \"{}\" and \"{}\" are {} files of version {}.",
                                    slot->first, file,
                                    parsed.kind == MigrationFileKind::up ? "up" : "down",
                                    parsed.version));
        slot.emplace(file, parsed.name);
    }

    std::vector<MigrationFiles> migrations;
    for (auto& [version, found] : by_version) {
        if (!found.up)
            throw Error(sqlstate::invalid_parameter_value,
                        fmt::format("migration file \"{}\" has no up file", found.down->first),
                        fmt::format("A down file needs the up file of version {} beside it.",
                                    version));
        if (found.down && found.down->second != found.up->second)
            throw Error(sqlstate::invalid_parameter_value,
                        fmt::format("migration files \"{}\" and \"{}\" name version {} differently",
                                    found.up->first, found.down->first, version));
        MigrationFiles migration;
        migration.version = version;
        migration.name = found.up->second;
        migration.up_file = found.up->first;
        if (found.down) migration.down_file = found.down->first;
        migrations.push_back(std::move(migration));
    }
    return migrations;
}

bool declares_no_transaction(std::string_view text) {
    constexpr std::string_view byte_order_mark = "\xEF\xBB\xBF";
    if (text.substr(0, byte_order_mark.size()) == byte_order_mark)
        text.remove_prefix(byte_order_mark.size());
    if (text.substr(0, no_transaction_marker.size()) != no_transaction_marker) return false;
    for (char c : text.substr(no_transaction_marker.size())) {
        if (c == '\n') return true;
        if (c != ' ' && c != '\t' && c != '\r') return false;
    }
    return true;
}

}  // namespace tenancy::core
