// libFuzzer target for the parsers and quoting of src/core (make fuzz).
//
// The first input byte picks the code under test (data[0] % 6); the rest is
// its input:
//   0 tenant-name rules, 1 quoting,
//   2 one migration file name, 3 a directory listing (names split on '\n'),
//   4 @tenant@ substitution (next byte % 16: length of the tenant name that
//     follows; the rest is the SQL text),
//   5 plan_migrate / plan_rollback (next byte: target, bit 7 meaning "no
//     target" for migrate; each further byte a version, bit 7 applied rather
//     than registered, bit 6 registered with a down_sql).
// Besides "no crash", it checks properties each function promises.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "../../src/core/error.hpp"
#include "../../src/core/identifier.hpp"
#include "../../src/core/migration_files.hpp"
#include "../../src/core/migration_plan.hpp"
#include "../../src/core/placeholders.hpp"
#include "../../src/core/tenant_name.hpp"

using namespace tenancy::core;

namespace {

// Accepts what the default pattern ^[A-Za-z0-9_-]+$ accepts, without a regex
// engine, so the fuzzer spends its time in the rules.
class DefaultPattern final : public NamePattern {
public:
    bool matches(std::string_view name) const override {
        if (name.empty()) return false;
        for (unsigned char c : name)
            if (!(std::isalnum(c) || c == '_' || c == '-')) return false;
        return true;
    }
};

void check(bool property) {
    if (!property) std::abort();
}

void fuzz_tenant_name(std::string_view input) {
    DefaultPattern pattern;
    std::vector<std::string> reserved = parse_reserved_names(input);
    for (const std::string& name : reserved) check(!name.empty());
    TenantNameRules rules(pattern, reserved);
    try {
        rules.check(input);
        // Accepted names are 1..63 bytes, NUL-free and not reserved.
        check(!input.empty() && input.size() <= max_identifier_bytes);
        check(input.find('\0') == std::string_view::npos);
        check(!rules.is_reserved(input));
    } catch (const Error& e) {
        check(std::string_view(e.sqlstate()).size() == 5);
    }
}

void fuzz_quoting(std::string_view input) {
    std::string quoted = quote_identifier(input);
    // Unquoting gives the input back.
    check(quoted.size() >= 2 && quoted.front() == '"' && quoted.back() == '"');
    std::string unquoted;
    for (std::size_t i = 1; i + 1 < quoted.size(); i++) {
        unquoted.push_back(quoted[i]);
        if (quoted[i] == '"') {
            check(quoted[i + 1] == '"');
            i++;
        }
    }
    check(unquoted == input);

    std::string literal = quote_literal(input);
    check(literal.back() == '\'');
}

// ---- migration file names ----------------------------------------------------

bool ends_with(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool is_name_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

// Whether a run of digits is a version 1..INT64_MAX, compared as text so it
// shares no arithmetic with the parser.
bool digits_fit_a_version(std::string_view digits) {
    std::size_t first = digits.find_first_not_of('0');
    if (first == std::string_view::npos) return false;  // all zeros
    std::string_view significant = digits.substr(first);
    constexpr std::string_view max = "9223372036854775807";
    if (significant.size() != max.size()) return significant.size() < max.size();
    return significant <= max;
}

// The rules of SPEC load_migrations, written out independently of the parser:
// whether file_name is <digits>_<name>{.sql,.up.sql,.down.sql} with a version
// that fits.
bool reference_valid_sql_name(std::string_view file_name) {
    for (std::string_view suffix : {".sql", ".up.sql", ".down.sql"}) {
        if (!ends_with(file_name, suffix)) continue;
        std::string_view stem = file_name.substr(0, file_name.size() - suffix.size());
        std::size_t underscore = stem.find('_');
        if (underscore == 0 || underscore == std::string_view::npos) continue;
        std::string_view digits = stem.substr(0, underscore);
        std::string_view name = stem.substr(underscore + 1);
        if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
            continue;
        if (name.empty() || !std::all_of(name.begin(), name.end(), is_name_char)) continue;
        if (digits_fit_a_version(digits)) return true;
    }
    return false;
}

// Checks a parse the parser accepted: the file name is rebuilt from it.
void check_parsed(std::string_view file_name, const MigrationFileName& parsed) {
    check(parsed.kind != MigrationFileKind::ignored);
    check(parsed.version > 0);
    check(!parsed.name.empty());
    check(std::all_of(parsed.name.begin(), parsed.name.end(), is_name_char));
    std::string_view suffix = parsed.kind == MigrationFileKind::down ? ".down.sql"
                              : ends_with(file_name, ".up.sql")      ? ".up.sql"
                                                                      : ".sql";
    check(ends_with(file_name, "_" + parsed.name + std::string(suffix)));
    std::string_view digits =
        file_name.substr(0, file_name.size() - suffix.size() - parsed.name.size() - 1);
    std::size_t first = digits.find_first_not_of('0');
    check(first != std::string_view::npos);
    check(digits.substr(first) == std::to_string(parsed.version));
}

void fuzz_migration_file_name(std::string_view input) {
    bool valid = reference_valid_sql_name(input);
    try {
        MigrationFileName parsed = parse_migration_file_name(input);
        if (!ends_with(input, ".sql")) {
            // Not a .sql file: ignored, whatever else it holds.
            check(parsed.kind == MigrationFileKind::ignored);
            check(parsed.version == 0 && parsed.name.empty());
        } else {
            check(valid);
            check_parsed(input, parsed);
        }
    } catch (const Error& e) {
        check(std::strcmp(e.sqlstate(), "22023") == 0);
        check(ends_with(input, ".sql"));
        check(!valid);
    }
}

std::vector<std::string> split_lines(std::string_view input) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (true) {
        std::size_t end = input.find('\n', start);
        if (end == std::string_view::npos) {
            lines.emplace_back(input.substr(start));
            return lines;
        }
        lines.emplace_back(input.substr(start, end - start));
        start = end + 1;
    }
}

// The plan, or nullopt when plan_migration_files() raised (always 22023).
std::optional<std::vector<MigrationFiles>> try_plan_files(const std::vector<std::string>& names) {
    try {
        return plan_migration_files(names);
    } catch (const Error& e) {
        check(std::strcmp(e.sqlstate(), "22023") == 0);
        return std::nullopt;
    }
}

void fuzz_migration_files(std::string_view input) {
    std::vector<std::string> names = split_lines(input);
    std::optional<std::vector<MigrationFiles>> plan = try_plan_files(names);

    // What the directory should give, worked out name by name.
    bool should_fail = false;
    std::size_t sql_files = 0;
    std::map<std::int64_t, std::string> up_names, down_names;
    for (const std::string& name : names) {
        MigrationFileName parsed;
        try {
            parsed = parse_migration_file_name(name);
        } catch (const Error&) {
            should_fail = true;  // one bad name refuses the whole directory
            continue;
        }
        if (parsed.kind == MigrationFileKind::ignored) continue;
        sql_files++;
        auto& slot = parsed.kind == MigrationFileKind::up ? up_names : down_names;
        if (!slot.emplace(parsed.version, parsed.name).second) should_fail = true;  // clash
    }
    for (const auto& [version, name] : down_names) {
        auto up = up_names.find(version);
        if (up == up_names.end() || up->second != name) should_fail = true;
    }
    check(plan.has_value() == !should_fail);
    if (!plan) return;

    // Sorted by version, each file used once, each file's parse matching.
    check(plan->size() == up_names.size());
    std::size_t files = 0;
    for (std::size_t i = 0; i < plan->size(); i++) {
        const MigrationFiles& m = (*plan)[i];
        if (i > 0) check((*plan)[i - 1].version < m.version);
        MigrationFileName up = parse_migration_file_name(m.up_file);
        check(up.kind == MigrationFileKind::up && up.version == m.version && up.name == m.name);
        check(std::find(names.begin(), names.end(), m.up_file) != names.end());
        files++;
        if (m.down_file) {
            MigrationFileName down = parse_migration_file_name(*m.down_file);
            check(down.kind == MigrationFileKind::down && down.version == m.version &&
                  down.name == m.name);
            check(std::find(names.begin(), names.end(), *m.down_file) != names.end());
            files++;
        }
        check(m.down_file.has_value() == (down_names.count(m.version) == 1));
    }
    check(files == sql_files);

    // The listing's order does not matter.
    std::vector<std::string> reversed(names.rbegin(), names.rend());
    std::optional<std::vector<MigrationFiles>> again = try_plan_files(reversed);
    check(again.has_value() && again->size() == plan->size());
    for (std::size_t i = 0; i < plan->size(); i++) {
        check((*again)[i].version == (*plan)[i].version);
        check((*again)[i].up_file == (*plan)[i].up_file);
        check((*again)[i].down_file == (*plan)[i].down_file);
    }
}

// ---- @tenant@ ----------------------------------------------------------------

bool continues_word(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || c == '@' ||
           static_cast<unsigned char>(c) >= 0x80;
}

bool standalone_at(std::string_view text, std::size_t at) {
    std::size_t end = at + tenant_placeholder.size();
    return text.substr(at, tenant_placeholder.size()) == tenant_placeholder &&
           (at == 0 || !continues_word(text[at - 1])) &&
           (end == text.size() || !continues_word(text[end]));
}

// A plain left-to-right rewrite of the placeholder rule, to compare against.
std::string reference_substitute(std::string_view sql, std::string_view quoted) {
    std::string out;
    for (std::size_t i = 0; i < sql.size();) {
        if (standalone_at(sql, i)) {
            out.append(quoted);
            i += tenant_placeholder.size();
        } else {
            out.push_back(sql[i++]);
        }
    }
    return out;
}

void fuzz_substitute_tenant(std::string_view input) {
    // First byte: length of the tenant name that follows; the rest is the text.
    std::size_t tenant_size = input.empty() ? 0 : static_cast<unsigned char>(input[0]) % 16;
    std::string_view rest = input.empty() ? input : input.substr(1);
    tenant_size = std::min(tenant_size, rest.size());
    std::string_view tenant = rest.substr(0, tenant_size);
    std::string_view sql = rest.substr(tenant_size);
    std::string quoted = quote_identifier(tenant);

    std::string out = substitute_tenant(sql, quoted);
    if (sql.find(tenant_placeholder) == std::string_view::npos) check(out == sql);
    check(out == reference_substitute(sql, quoted));
    // Replacing the placeholder by itself changes nothing.
    check(substitute_tenant(sql, tenant_placeholder) == sql);
    // With a tenant that cannot spell it, no standalone placeholder is left.
    if (tenant.find('@') == std::string_view::npos)
        for (std::size_t i = 0; i < out.size(); i++) check(!standalone_at(out, i));
}

// ---- migrate / rollback plans ---------------------------------------------

// A byte as a version: mostly small, so that versions collide, sometimes extreme.
std::int64_t decode_version(std::uint8_t b) {
    switch (b & 0x3f) {
        case 60: return INT64_MAX;
        case 61: return INT64_MAX - 1;
        case 62: return -1;
        case 63: return INT64_MIN;
        default: return b & 0x3f;
    }
}

void fuzz_migration_plan(std::string_view input) {
    if (input.empty()) return;
    std::uint8_t target_byte = static_cast<std::uint8_t>(input[0]);
    std::int64_t target = decode_version(target_byte);
    std::optional<std::int64_t> migrate_target;
    if (!(target_byte & 0x80)) migrate_target = target;

    // Each further byte: bit 7 applied (else registered), bit 6 has a down.
    std::vector<RegisteredVersion> registered;
    std::map<std::int64_t, bool> has_down;  // registered versions, unique as in the registry
    std::set<std::int64_t> applied;
    for (char c : input.substr(1)) {
        std::uint8_t b = static_cast<std::uint8_t>(c);
        std::int64_t version = decode_version(b);
        if (b & 0x80) {
            applied.insert(version);
        } else if (has_down.emplace(version, (b & 0x40) != 0).second) {
            registered.push_back({version, (b & 0x40) != 0});
        }
    }

    std::vector<std::int64_t> pending = plan_migrate(registered, applied, migrate_target);
    check(std::is_sorted(pending.begin(), pending.end()));
    check(std::adjacent_find(pending.begin(), pending.end()) == pending.end());
    std::size_t expected_pending = 0;
    for (const RegisteredVersion& r : registered)
        if (applied.count(r.version) == 0 && (!migrate_target || r.version <= *migrate_target))
            expected_pending++;
    check(pending.size() == expected_pending);
    for (std::int64_t version : pending) {
        check(has_down.count(version) == 1);  // subset of registered
        check(applied.count(version) == 0);   // disjoint from applied
        if (migrate_target) check(version <= *migrate_target);
    }

    std::vector<std::int64_t> expected_undo;
    bool refused = false;
    for (auto it = applied.rbegin(); it != applied.rend(); ++it) {
        if (*it <= target) continue;
        auto found = has_down.find(*it);
        if (found == has_down.end() || !found->second) refused = true;
        expected_undo.push_back(*it);
    }
    try {
        std::vector<std::int64_t> undo = plan_rollback(registered, applied, target);
        check(!refused);
        check(undo == expected_undo);
    } catch (const Error& e) {
        check(std::strcmp(e.sqlstate(), "55000") == 0);
        check(refused);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 6) {
        case 0: fuzz_tenant_name(input); break;
        case 1: fuzz_quoting(input); break;
        case 2: fuzz_migration_file_name(input); break;
        case 3: fuzz_migration_files(input); break;
        case 4: fuzz_substitute_tenant(input); break;
        case 5: fuzz_migration_plan(input); break;
    }
    return 0;
}
