// libFuzzer target for the parsers and quoting of src/core (make fuzz).
//
// The first input byte picks the code under test; the rest is its input.
// Besides "no crash", it checks properties each function promises.
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "../../src/core/error.hpp"
#include "../../src/core/identifier.hpp"
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 2) {
        case 0: fuzz_tenant_name(input); break;
        case 1: fuzz_quoting(input); break;
    }
    return 0;
}
