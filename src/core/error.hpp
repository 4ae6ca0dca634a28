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
inline constexpr const char* internal_error = "XX000";
}  // namespace sqlstate

class Error : public std::runtime_error {
public:
    Error(const char* sqlstate, std::string message, std::string detail = {},
          std::string hint = {})
        : std::runtime_error(message),
          sqlstate_(sqlstate),
          detail_(std::move(detail)),
          hint_(std::move(hint)) {}

    const char* sqlstate() const noexcept { return sqlstate_; }
    const std::string& detail() const noexcept { return detail_; }
    const std::string& hint() const noexcept { return hint_; }

private:
    const char* sqlstate_;
    std::string detail_;
    std::string hint_;
};

}  // namespace tenancy::core
