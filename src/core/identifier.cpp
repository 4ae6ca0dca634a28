#include "identifier.hpp"
#include "pure_cpp.hpp"

namespace tenancy::core {

std::string quote_identifier(std::string_view name) {
    std::string quoted;
    quoted.reserve(name.size() + 2);
    quoted.push_back('"');
    for (char c : name) {
        if (c == '"') quoted.push_back('"');
        quoted.push_back(c);
    }
    quoted.push_back('"');
    return quoted;
}

std::string quote_literal(std::string_view text) {
    std::string quoted;
    quoted.reserve(text.size() + 3);
    if (text.find('\\') != std::string_view::npos) quoted.push_back('E');
    quoted.push_back('\'');
    for (char c : text) {
        if (c == '\'' || c == '\\') quoted.push_back(c);
        quoted.push_back(c);
    }
    quoted.push_back('\'');
    return quoted;
}

std::string text_array_literal(const std::vector<std::string>& elements) {
    std::string literal = "{";
    for (std::size_t i = 0; i < elements.size(); i++) {
        if (i) literal.push_back(',');
        literal.push_back('"');
        for (char c : elements[i]) {
            if (c == '"' || c == '\\') literal.push_back('\\');
            literal.push_back(c);
        }
        literal.push_back('"');
    }
    literal.push_back('}');
    return literal;
}

}  // namespace tenancy::core
