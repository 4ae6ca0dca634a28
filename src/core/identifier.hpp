// Quoting identifiers and literals for SQL text the extension builds.
//
// Every tenant name reaches SQL through quote_identifier(): always quoted, so a
// name is never case-folded and never read as a keyword.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tenancy::core {

// The longest identifier PostgreSQL keeps (NAMEDATALEN - 1), in bytes.
inline constexpr std::size_t max_identifier_bytes = 63;

// "name" with every " doubled. Always quotes, unlike PostgreSQL's
// quote_identifier(), so the result never depends on the keyword list.
std::string quote_identifier(std::string_view name);

// 'text' with every ' doubled, prefixed with E and backslashes doubled when the
// text holds one, so the result is right whatever standard_conforming_strings is.
std::string quote_literal(std::string_view text);

// The text of a PostgreSQL text[] value: {"a","b\"c"}, every element quoted,
// with " and \ escaped by a backslash. Cast it with CAST(... AS text[]).
std::string text_array_literal(const std::vector<std::string>& elements);

}  // namespace tenancy::core
