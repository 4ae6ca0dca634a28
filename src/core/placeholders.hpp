// The @tenant@ placeholder of migration texts (as @extschema@ is in extension
// scripts): replaced by the tenant's name before a migration runs, quoted for
// the place of the text it stands in, so no tenant name can change what the
// text means beyond naming the tenant (README "How a migration runs").
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tenancy::core {

inline constexpr std::string_view tenant_placeholder = "@tenant@";

// Where a stretch of SQL text is, as PostgreSQL's lexer sees it (with
// standard_conforming_strings on, which migrations run under).
enum class SqlRegion {
    code,
    string,             // '...', B'...', X'...', N'...'
    escape_string,      // E'...' and U&'...': a backslash is special
    quoted_identifier,  // "..." and U&"..."
    dollar_quoted,      // $$...$$, $tag$...$tag$
    comment,            // -- to the end of the line, /* nested */
};

struct SqlStretch {
    SqlRegion region;
    std::size_t begin;  // offsets into the text, delimiters included
    std::size_t end;
};

// Splits the text into stretches, in order, covering it whole. An unclosed
// literal or comment runs to the end of the text.
std::vector<SqlStretch> split_sql(std::string_view sql);

// Replaces every @tenant@ that stands on its own; one that is part of a
// longer word (@tenant@x, x@tenant@, @tenant@_id, $$@tenant@$$) is left alone.
// By where it stands:
//  - in code: the quoted identifier ("org_1", every " doubled);
//  - in a string literal: the quoted identifier, with every ' doubled (and
//    every backslash doubled in E'' and U&'' strings);
//  - in a quoted identifier: the bare name with every " doubled;
//  - in a dollar-quoted string (a function body): the quoted identifier, if
//    it holds no ', backslash or $, which could end a string nested in the
//    body or the dollar quote itself; otherwise 42602 is thrown;
//  - in a comment: nothing is replaced.
// The rest of the text is copied byte for byte.
std::string substitute_tenant(std::string_view sql, std::string_view tenant);

}  // namespace tenancy::core
