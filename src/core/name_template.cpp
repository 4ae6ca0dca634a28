#include "name_template.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "error.hpp"
#include "pure_cpp.hpp"

namespace tenancy::core {

NameTemplate NameTemplate::parse(const std::vector<std::optional<std::string>>& elements) {
    if (elements.empty())
        throw Error(sqlstate::invalid_parameter_value, "template must not be empty",
                    "", "A template such as ARRAY['org_', ':id'] names at least one column.");
    NameTemplate parsed;
    bool has_column = false;
    for (std::size_t i = 0; i < elements.size(); i++) {
        const std::optional<std::string>& element = elements[i];
        if (!element)
            throw Error(sqlstate::null_value_not_allowed,
                        fmt::format("template element {} is null", i + 1));
        TemplatePart part;
        if (!element->empty() && element->front() == ':') {
            part.is_column = true;
            part.text = element->substr(1);
            if (part.text.empty())
                throw Error(sqlstate::invalid_parameter_value,
                            fmt::format("template element {} (\":\") names no column", i + 1),
                            "", "Write the column after the colon, as in ':id'.");
            has_column = true;
        } else {
            part.text = *element;
        }
        parsed.parts_.push_back(std::move(part));
    }
    if (!has_column)
        throw Error(sqlstate::invalid_parameter_value, "template names no column",
                    "Every row would get the same tenant name.",
                    "Name a column with a leading colon, as in ARRAY['org_', ':id'].");
    return parsed;
}

std::vector<std::string> NameTemplate::columns() const {
    std::vector<std::string> names;
    for (const TemplatePart& part : parts_)
        if (part.is_column && std::find(names.begin(), names.end(), part.text) == names.end())
            names.push_back(part.text);
    return names;
}

std::string NameTemplate::render(const std::vector<std::optional<std::string>>& values) const {
    std::vector<std::string> names = columns();
    if (values.size() != names.size())
        throw Error(sqlstate::internal_error,
                    fmt::format("template needs {} column values, got {}", names.size(),
                                values.size()));
    std::string rendered;
    for (const TemplatePart& part : parts_) {
        if (!part.is_column) {
            rendered += part.text;
            continue;
        }
        std::size_t index = static_cast<std::size_t>(
            std::find(names.begin(), names.end(), part.text) - names.begin());
        if (!values[index])
            throw Error(sqlstate::null_value_not_allowed,
                        fmt::format("column \"{}\" of the tenant name template is null", part.text),
                        "A row needs a value in every template column to name its tenant.");
        rendered += *values[index];
    }
    return rendered;
}

}  // namespace tenancy::core
