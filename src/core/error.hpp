// Errors raised by the pure C++ core.
//
// The core knows nothing of PostgreSQL, but its errors must reach users as
// PostgreSQL errors with the right SQLSTATE. So each carries the five-character
// SQLSTATE, and the message, detail and hint in PostgreSQL's style; the entry
// guard in src/pg turns it into ereport(ERROR) unchanged.
#pragma once

#include <stdexcept>
#include <string>

namespace tenancy::core {

// The SQLSTATEs the core raises, named as in PostgreSQL's errcodes.txt.
namespace sqlstate {
inline constexpr const char* null_value_not_allowed = "22004";
inline constexpr const char* invalid_parameter_value = "22023";
inline constexpr const char* name_too_long = "42622";
inline constexpr const char* invalid_name = "42602";
inline constexpr const char* reserved_name = "42939";
inline constexpr const char* undefined_column = "42703";
inline constexpr const char* duplicate_schema = "42P06";
inline constexpr const char* invalid_schema_name = "3F000";
inline constexpr const char* object_not_in_prerequisite_state = "55000";
inline constexpr const char* active_sql_transaction = "25001";
inline constexpr const char* internal_error = "XX000";
}  // namespace sqlstate

// Where an error was thrown: what PostgreSQL reports as its LOCATION. The
// default arguments below capture the throwing call site (GCC and Clang
// evaluate __builtin_FILE() and friends where the constructor is called), so
// a raised error names the code that refused, not the boundary that raised it.
struct ThrowSite {
    const char* file;
    int line;
    const char* function;
};

class Error : public std::runtime_error {
public:
    Error(const char* sqlstate, std::string message, std::string detail = {},
          std::string hint = {}, const char* file = __builtin_FILE(),
          int line = __builtin_LINE(), const char* function = __builtin_FUNCTION())
        : std::runtime_error(message),
          sqlstate_(sqlstate),
          detail_(std::move(detail)),
          hint_(std::move(hint)),
          site_{file, line, function} {}

    const char* sqlstate() const noexcept { return sqlstate_; }
    const std::string& detail() const noexcept { return detail_; }
    const std::string& hint() const noexcept { return hint_; }
    const ThrowSite& site() const noexcept { return site_; }

private:
    const char* sqlstate_;
    std::string detail_;
    std::string hint_;
    ThrowSite site_;  // string literals: valid for the life of the process
};

}  // namespace tenancy::core
