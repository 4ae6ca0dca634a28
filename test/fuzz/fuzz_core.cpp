// libFuzzer target for the parsers and quoting of src/core (make fuzz).
//
// The first input byte picks the code under test (data[0] % 8); the rest is
// its input:
//   0 tenant-name rules, 1 quoting,
//   2 one migration file name, 3 a directory listing (names split on '\n'),
//   4 @tenant@ substitution (next byte % 16: length of the tenant name that
//     follows; the rest is the SQL text),
//   5 plan_migrate / plan_rollback (next byte: target, bit 7 meaning "no
//     target" for migrate; each further byte a version, bit 7 applied rather
//     than registered, bit 6 registered with a down_sql).
//   6 NameTemplate parse / columns / render (template elements split on '\n',
//     an element starting with '\x01' is NULL; after a '\0', the values, split
//     and NULL-marked the same way),
//   7 text_array_literal (elements each ended by '\0'), read back by a
//     reference text[] parser.
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
#include "../../src/core/name_template.hpp"
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

std::vector<SqlRegion> regions_of(std::string_view sql) {
    std::vector<SqlRegion> regions;
    for (const SqlStretch& stretch : split_sql(sql)) regions.push_back(stretch.region);
    return regions;
}

void fuzz_substitute_tenant(std::string_view input) {
    // First byte: length of the tenant name that follows; the rest is the text.
    std::size_t tenant_size = input.empty() ? 0 : static_cast<unsigned char>(input[0]) % 16;
    std::string_view rest = input.empty() ? input : input.substr(1);
    tenant_size = std::min(tenant_size, rest.size());
    std::string_view tenant = rest.substr(0, tenant_size);
    std::string_view sql = rest.substr(tenant_size);

    // The stretches cover the text in order.
    std::size_t covered = 0;
    for (const SqlStretch& stretch : split_sql(sql)) {
        check(stretch.begin == covered && stretch.end > stretch.begin && stretch.end <= sql.size());
        covered = stretch.end;
    }
    check(covered == sql.size());

    std::string out;
    try {
        out = substitute_tenant(sql, tenant);
    } catch (const Error& e) {
        // Only a name that could end a string nested in a function body.
        check(std::strcmp(e.sqlstate(), "42602") == 0);
        check(tenant.find_first_of("'\\$") != std::string_view::npos);
        return;
    }
    if (sql.find(tenant_placeholder) == std::string_view::npos) check(out == sql);
    // Injection-proof: whatever the name, the text splits into the same kinds
    // of stretches as with a harmless name.
    check(regions_of(out) == regions_of(substitute_tenant(sql, "t")));
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


// ---- manage_tenant name templates ------------------------------------------

// Lines of text; a line starting with '\x01' is NULL.
std::vector<std::optional<std::string>> split_nullable_lines(std::string_view input) {
    std::vector<std::optional<std::string>> elements;
    for (std::string& line : split_lines(input)) {
        if (!line.empty() && line.front() == '\x01')
            elements.emplace_back(std::nullopt);
        else
            elements.emplace_back(std::move(line));
    }
    return elements;
}

bool mentions(const Error& e, std::string_view text) {
    // what() ends at a NUL, so only NUL-free text can be looked for.
    return text.find('\0') != std::string_view::npos ||
           std::string_view(e.what()).find(text) != std::string_view::npos;
}

// The template written out by hand: the literal text and the column value
// joined in template order.
std::string reference_render(const std::vector<std::optional<std::string>>& elements,
                             const std::vector<std::string>& columns,
                             const std::vector<std::string>& values) {
    std::string out;
    for (const std::optional<std::string>& element : elements) {
        if (element->empty() || element->front() != ':') {
            out += *element;
            continue;
        }
        std::string name = element->substr(1);
        std::size_t index = static_cast<std::size_t>(
            std::find(columns.begin(), columns.end(), name) - columns.begin());
        out += values[index];
    }
    return out;
}

// Renders values, which have one entry per column and no NULL, and checks the
// result against the template.
void check_render(const NameTemplate& parsed,
                  const std::vector<std::optional<std::string>>& elements,
                  const std::vector<std::string>& columns,
                  const std::vector<std::string>& values) {
    std::vector<std::optional<std::string>> wrapped(values.begin(), values.end());
    std::string rendered = parsed.render(wrapped);
    // Length: every literal once, every column's value once per occurrence.
    std::size_t expected_size = 0;
    for (const TemplatePart& part : parsed.parts()) {
        if (!part.is_column) {
            expected_size += part.text.size();
        } else {
            auto it = std::find(columns.begin(), columns.end(), part.text);
            check(it != columns.end());
            expected_size += values[static_cast<std::size_t>(it - columns.begin())].size();
        }
    }
    check(rendered.size() == expected_size);
    check(rendered == reference_render(elements, columns, values));
    // Rendering is a pure function of the values.
    check(parsed.render(wrapped) == rendered);
}

void fuzz_name_template(std::string_view input) {
    std::size_t nul = input.find('\0');
    std::string_view template_text = input.substr(0, nul);
    std::optional<std::string_view> values_text;
    if (nul != std::string_view::npos) values_text = input.substr(nul + 1);

    // An empty input is the empty template; otherwise one element per line.
    std::vector<std::optional<std::string>> elements;
    if (!template_text.empty()) elements = split_nullable_lines(template_text);

    // What parse() should say, worked out element by element.
    bool has_null = false, has_lone_colon = false, has_column = false;
    for (const std::optional<std::string>& element : elements) {
        if (!element) {
            has_null = true;
        } else if (*element == ":") {
            has_lone_colon = true;
        } else if (!element->empty() && element->front() == ':') {
            has_column = true;
        }
    }
    bool should_parse = !elements.empty() && !has_null && !has_lone_colon && has_column;

    std::optional<NameTemplate> parsed;
    try {
        parsed = NameTemplate::parse(elements);
    } catch (const Error& e) {
        check(!should_parse);
        if (std::strcmp(e.sqlstate(), "22004") == 0) {
            check(has_null);
        } else {
            check(std::strcmp(e.sqlstate(), "22023") == 0);
            check(elements.empty() || has_lone_colon || !has_column);
        }
        return;
    }
    check(should_parse);

    // Parts mirror the elements: ':' and a name make a column, the rest is literal.
    check(parsed->parts().size() == elements.size());
    std::vector<std::string> expected_columns;
    for (std::size_t i = 0; i < elements.size(); i++) {
        const TemplatePart& part = parsed->parts()[i];
        const std::string& element = *elements[i];
        bool is_column = !element.empty() && element.front() == ':';
        check(part.is_column == is_column);
        if (!is_column) {
            check(part.text == element);
            continue;
        }
        check(part.text == element.substr(1));
        check(!part.text.empty());
        if (std::find(expected_columns.begin(), expected_columns.end(), part.text) ==
            expected_columns.end())
            expected_columns.push_back(part.text);
    }
    std::vector<std::string> columns = parsed->columns();
    check(columns == expected_columns);
    check(!columns.empty());

    // Values from the input when it has them, else each column's own name.
    std::vector<std::optional<std::string>> values;
    if (values_text) {
        if (!values_text->empty()) values = split_nullable_lines(*values_text);
    } else {
        values.assign(columns.begin(), columns.end());
    }

    std::optional<std::size_t> first_null;
    for (std::size_t i = 0; i < values.size() && !first_null; i++)
        if (!values[i]) first_null = i;
    try {
        std::string rendered = parsed->render(values);
        check(values.size() == columns.size());
        check(!first_null);
        std::vector<std::string> plain;
        for (const std::optional<std::string>& value : values) plain.push_back(*value);
        check(rendered == reference_render(elements, columns, plain));
    } catch (const Error& e) {
        if (std::strcmp(e.sqlstate(), "XX000") == 0) {
            check(values.size() != columns.size());
        } else {
            check(std::strcmp(e.sqlstate(), "22004") == 0);
            check(values.size() == columns.size());
            check(first_null.has_value());
            check(mentions(e, columns[*first_null]));
        }
    }

    // And always once with the right number of values and no NULL: the values
    // given, NULLs made empty, missing ones the column's name.
    std::vector<std::string> fixed;
    for (std::size_t i = 0; i < columns.size(); i++) {
        if (i < values.size())
            fixed.push_back(values[i].value_or(""));
        else
            fixed.push_back(columns[i]);
    }
    check_render(*parsed, elements, columns, fixed);
}

// ---- text[] literals -----------------------------------------------------

// Reads back the form text_array_literal() writes: {} or {"a","b"}, where a
// backslash inside quotes escapes the next byte. nullopt when the text is not
// of that form, including when a byte other than " or backslash is escaped.
std::optional<std::vector<std::string>> reference_parse_text_array(std::string_view text) {
    if (text.size() < 2 || text.front() != '{' || text.back() != '}') return std::nullopt;
    std::vector<std::string> elements;
    std::size_t i = 1;
    if (text[i] == '}') return i + 1 == text.size() ? std::optional(elements) : std::nullopt;
    while (true) {
        if (i >= text.size() || text[i] != '"') return std::nullopt;
        i++;
        std::string element;
        while (true) {
            if (i >= text.size()) return std::nullopt;
            char c = text[i++];
            if (c == '"') break;
            if (c == '\\') {
                if (i >= text.size()) return std::nullopt;
                char escaped = text[i++];
                if (escaped != '"' && escaped != '\\') return std::nullopt;
                element.push_back(escaped);
            } else {
                element.push_back(c);
            }
        }
        elements.push_back(std::move(element));
        if (i >= text.size()) return std::nullopt;
        if (text[i] == ',') {
            i++;
            continue;
        }
        if (text[i] == '}' && i + 1 == text.size()) return elements;
        return std::nullopt;
    }
}

void fuzz_text_array_literal(std::string_view input) {
    // Each element ends with a '\0'; a last one without it counts when not empty.
    std::vector<std::string> elements;
    std::size_t start = 0;
    while (start < input.size()) {
        std::size_t end = input.find('\0', start);
        if (end == std::string_view::npos) end = input.size();
        elements.emplace_back(input.substr(start, end - start));
        start = end + 1;
    }

    std::string literal = text_array_literal(elements);
    std::optional<std::vector<std::string>> parsed = reference_parse_text_array(literal);
    check(parsed.has_value());
    check(*parsed == elements);

    // Size: braces, commas, two quotes an element, one backslash per " or \.
    std::size_t expected_size = 2 + (elements.empty() ? 0 : elements.size() - 1);
    for (const std::string& element : elements) {
        expected_size += 2 + element.size();
        for (char c : element)
            if (c == '"' || c == '\\') expected_size++;
    }
    check(literal.size() == expected_size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 8) {
        case 0: fuzz_tenant_name(input); break;
        case 1: fuzz_quoting(input); break;
        case 2: fuzz_migration_file_name(input); break;
        case 3: fuzz_migration_files(input); break;
        case 4: fuzz_substitute_tenant(input); break;
        case 5: fuzz_migration_plan(input); break;
        case 6: fuzz_name_template(input); break;
        case 7: fuzz_text_array_literal(input); break;
    }
    return 0;
}
