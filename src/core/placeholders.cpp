#include "placeholders.hpp"

#include <fmt/format.h>

#include "error.hpp"
#include "identifier.hpp"
#include "pure_cpp.hpp"

namespace tenancy::core {

namespace {

bool is_high(char c) { return static_cast<unsigned char>(c) >= 0x80; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || is_high(c); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Characters that continue an identifier in PostgreSQL.
bool continues_identifier(char c) { return is_letter(c) || is_digit(c) || c == '$'; }

// The same, plus @ (so that @@tenant@ or @tenant@@ are not taken for the
// placeholder either); bytes of multibyte characters count, as in the lexer.
bool continues_word(char c) { return continues_identifier(c) || c == '@'; }

bool standalone_at(std::string_view sql, std::size_t at) {
    std::size_t end = at + tenant_placeholder.size();
    return sql.compare(at, tenant_placeholder.size(), tenant_placeholder) == 0 &&
           (at == 0 || !continues_word(sql[at - 1])) && (end == sql.size() || !continues_word(sql[end]));
}

// The end of a string or identifier opened at open (the offset of its quote).
std::size_t end_of_quoted(std::string_view sql, std::size_t open, char quote, bool backslash_escapes) {
    std::size_t i = open + 1;
    while (i < sql.size()) {
        char c = sql[i];
        if (backslash_escapes && c == '\\') {
            i += 2;
        } else if (c == quote) {
            if (i + 1 < sql.size() && sql[i + 1] == quote)
                i += 2;
            else
                return i + 1;
        } else {
            i++;
        }
    }
    return sql.size();
}

std::size_t end_of_block_comment(std::string_view sql, std::size_t open) {
    int depth = 0;
    std::size_t i = open;
    while (i + 1 < sql.size()) {
        if (sql[i] == '/' && sql[i + 1] == '*') {
            depth++;
            i += 2;
        } else if (sql[i] == '*' && sql[i + 1] == '/') {
            depth--;
            i += 2;
            if (depth == 0) return i;
        } else {
            i++;
        }
    }
    return sql.size();
}

// The length of the dollar-quote tag ($$ or $name$) at i, or 0.
std::size_t dollar_tag_at(std::string_view sql, std::size_t i) {
    std::size_t j = i + 1;
    if (j < sql.size() && sql[j] == '$') return 2;
    if (j >= sql.size() || !is_letter(sql[j])) return 0;
    while (j < sql.size() && (is_letter(sql[j]) || is_digit(sql[j]))) j++;
    return j < sql.size() && sql[j] == '$' ? j - i + 1 : 0;
}

// Whether the string whose quote is at quote is an E'' or U&'' string: its
// prefix must begin a token.
bool escape_prefix(std::string_view sql, std::size_t quote) {
    auto token_starts = [&](std::size_t at) { return at == 0 || !continues_identifier(sql[at - 1]); };
    if (quote >= 1 && (sql[quote - 1] == 'E' || sql[quote - 1] == 'e') && token_starts(quote - 1))
        return true;
    return quote >= 2 && sql[quote - 1] == '&' && (sql[quote - 2] == 'U' || sql[quote - 2] == 'u') &&
           token_starts(quote - 2);
}

std::string doubled(std::string_view text, char c) {
    std::string out;
    for (char t : text) {
        out.push_back(t);
        if (t == c) out.push_back(c);
    }
    return out;
}

// The replacement of a standalone placeholder in a region.
std::string replacement(SqlRegion region, std::string_view tenant) {
    std::string quoted = quote_identifier(tenant);
    switch (region) {
        case SqlRegion::code: return quoted;
        case SqlRegion::string: return doubled(quoted, '\'');
        case SqlRegion::escape_string: return doubled(doubled(quoted, '\\'), '\'');
        case SqlRegion::quoted_identifier: return doubled(tenant, '"');
        case SqlRegion::dollar_quoted:
            if (quoted.find_first_of("'\\$") != std::string::npos)
                throw Error(sqlstate::invalid_name,
                            fmt::format("tenant name {} cannot stand for @tenant@ in a dollar-quoted string",
                                        quoted),
                            "A ', a backslash or a $ in the name could end a string nested in the "
                            "function body, or the body itself.",
                            "Rename the schema, or write the body as a string literal.");
            return quoted;
        case SqlRegion::comment: break;
    }
    return std::string(tenant_placeholder);
}

}  // namespace

std::vector<SqlStretch> split_sql(std::string_view sql) {
    std::vector<SqlStretch> stretches;
    std::size_t code_begin = 0;
    auto add = [&](SqlRegion region, std::size_t begin, std::size_t end) {
        if (begin > code_begin) stretches.push_back({SqlRegion::code, code_begin, begin});
        stretches.push_back({region, begin, end});
        code_begin = end;
    };
    std::size_t i = 0;
    while (i < sql.size()) {
        char c = sql[i];
        char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
        if (c == '-' && next == '-') {
            std::size_t end = sql.find_first_of("\n\r", i);
            end = end == std::string_view::npos ? sql.size() : end;
            add(SqlRegion::comment, i, end);
            i = end;
        } else if (c == '/' && next == '*') {
            std::size_t end = end_of_block_comment(sql, i);
            add(SqlRegion::comment, i, end);
            i = end;
        } else if (c == '\'') {
            bool escapes = escape_prefix(sql, i);
            bool backslash_escapes = escapes && (sql[i - 1] == 'E' || sql[i - 1] == 'e');
            std::size_t end = end_of_quoted(sql, i, '\'', backslash_escapes);
            add(escapes ? SqlRegion::escape_string : SqlRegion::string, i, end);
            i = end;
        } else if (c == '"') {
            std::size_t end = end_of_quoted(sql, i, '"', false);
            add(SqlRegion::quoted_identifier, i, end);
            i = end;
        } else if (c == '$' && (i == 0 || !continues_identifier(sql[i - 1])) && dollar_tag_at(sql, i)) {
            std::string_view tag = sql.substr(i, dollar_tag_at(sql, i));
            std::size_t close = sql.find(tag, i + tag.size());
            std::size_t end = close == std::string_view::npos ? sql.size() : close + tag.size();
            add(SqlRegion::dollar_quoted, i, end);
            i = end;
        } else {
            i++;
        }
    }
    if (code_begin < sql.size()) stretches.push_back({SqlRegion::code, code_begin, sql.size()});
    return stretches;
}

std::string substitute_tenant(std::string_view sql, std::string_view tenant) {
    std::string result;
    result.reserve(sql.size());
    for (const SqlStretch& stretch : split_sql(sql)) {
        std::size_t copied = stretch.begin;
        if (stretch.region != SqlRegion::comment) {
            std::size_t at = sql.find(tenant_placeholder, stretch.begin);
            while (at != std::string_view::npos && at + tenant_placeholder.size() <= stretch.end) {
                if (standalone_at(sql, at)) {
                    result.append(sql.substr(copied, at - copied));
                    result.append(replacement(stretch.region, tenant));
                    copied = at + tenant_placeholder.size();
                }
                at = sql.find(tenant_placeholder, at + 1);
            }
        }
        result.append(sql.substr(copied, stretch.end - copied));
    }
    return result;
}

}  // namespace tenancy::core
