// The manage_tenant name template (SPEC "Tenants managed by a table"): a text[]
// whose elements starting with ':' name columns of the managed table and whose
// other elements are literal text. ARRAY['org_', ':id'] renders org_10 for a
// row whose id is 10.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tenancy::core {

struct TemplatePart {
    bool is_column = false;
    std::string text;  // the literal, or the column's name (without the ':')
};

class NameTemplate {
public:
    // Parses the template's elements; nullopt is a NULL element. Throws
    // core::Error: 22004 for a NULL element, 22023 for an empty template, an
    // element of just ':' or a template without any column (every row would
    // render the same name, so the second row could never get its tenant).
    static NameTemplate parse(const std::vector<std::optional<std::string>>& elements);

    const std::vector<TemplatePart>& parts() const { return parts_; }

    // The column names, in template order, each once.
    std::vector<std::string> columns() const;

    // The tenant name for one row. values holds each column's text (its type's
    // output function), in the order of columns(); nullopt is SQL NULL, which
    // throws core::Error 22004 naming the column.
    std::string render(const std::vector<std::optional<std::string>>& values) const;

private:
    std::vector<TemplatePart> parts_;
};

}  // namespace tenancy::core
