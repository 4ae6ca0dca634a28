// Running SQL through SPI from C++ frames.
//
// Every call goes through call_postgres(), so a failing statement becomes a
// PostgresError carrying PostgreSQL's whole error. Parameters and results are
// text: the extension's internal SQL casts where it needs another type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tenancy::pg::spi {

using Value = std::optional<std::string>;  // std::nullopt is SQL NULL
using Row = std::vector<Value>;

// Connects to SPI; nonatomic lets a CALLed procedure commit (SPI_OPT_NONATOMIC).
void connect(bool nonatomic = false);
void finish();

// Runs a statement with text parameters $1..$n; returns the rows it processed.
std::uint64_t execute(const std::string& sql, const std::vector<Value>& args = {});

// Runs a query and copies its rows out, every column as text.
std::vector<Row> query(const std::string& sql, const std::vector<Value>& args = {});

// The first column of the first row, or nullopt when there is no row or it is NULL.
Value query_value(const std::string& sql, const std::vector<Value>& args = {});

}  // namespace tenancy::pg::spi
