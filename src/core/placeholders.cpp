#include "placeholders.hpp"

#include "pure_cpp.hpp"

namespace tenancy::core {

namespace {

// Characters that continue an identifier in PostgreSQL, plus @ (so that
// @@tenant@ or @tenant@@ are not taken for the placeholder either); bytes of
// multibyte characters count as identifier characters, as in the lexer.
bool continues_word(char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '$' || c == '@' || u >= 0x80;
}

}  // namespace

std::string substitute_tenant(std::string_view sql, std::string_view quoted_tenant) {
    std::string result;
    result.reserve(sql.size());
    std::size_t copied = 0;
    std::size_t at = sql.find(tenant_placeholder);
    while (at != std::string_view::npos) {
        std::size_t end = at + tenant_placeholder.size();
        bool starts_word = at == 0 || !continues_word(sql[at - 1]);
        bool ends_word = end == sql.size() || !continues_word(sql[end]);
        if (starts_word && ends_word) {
            result.append(sql.substr(copied, at - copied));
            result.append(quoted_tenant);
            copied = end;
        }
        at = sql.find(tenant_placeholder, at + 1);
    }
    result.append(sql.substr(copied));
    return result;
}

}  // namespace tenancy::core
