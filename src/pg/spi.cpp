#include "spi.hpp"

#include "error_boundary.hpp"

namespace tenancy::pg::spi {

namespace {

// Runs sql with its text parameters. Called inside call_postgres() only.
//
// SPI leaves CurrentMemoryContext at its procedure context after every call;
// the caller's context is put back, so that what callers allocate between
// statements goes where they meant it to (migrate_all frees a context after
// each tenant; the procedure context lives as long as the whole CALL).
void run_with_text_args(const std::string& sql, const std::vector<Value>& args) {
    MemoryContext caller_context = CurrentMemoryContext;
    int nargs = static_cast<int>(args.size());
    Oid* types = nargs ? static_cast<Oid*>(palloc(sizeof(Oid) * nargs)) : nullptr;
    Datum* values = nargs ? static_cast<Datum*>(palloc(sizeof(Datum) * nargs)) : nullptr;
    char* nulls = nargs ? static_cast<char*>(palloc(nargs)) : nullptr;
    for (int i = 0; i < nargs; i++) {
        types[i] = TEXTOID;
        const Value& arg = args[i];
        values[i] = arg ? PointerGetDatum(cstring_to_text_with_len(arg->data(),
                                                                   static_cast<int>(arg->size())))
                        : Datum(0);
        nulls[i] = arg ? ' ' : 'n';
    }
    int rc = SPI_execute_with_args(sql.c_str(), nargs, types, values, nulls, false, 0);
    if (rc < 0) elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));

    MemoryContextSwitchTo(caller_context);
    for (int i = 0; i < nargs; i++)
        if (nulls[i] == ' ') pfree(DatumGetPointer(values[i]));
    if (nargs) {
        pfree(types);
        pfree(values);
        pfree(nulls);
    }
}

}  // namespace

void connect(bool nonatomic) {
    call_postgres([&] {
        int rc = SPI_connect_ext(nonatomic ? SPI_OPT_NONATOMIC : 0);
        if (rc != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
    });
}

void finish() {
    call_postgres([] {
        int rc = SPI_finish();
        if (rc != SPI_OK_FINISH) elog(ERROR, "SPI_finish failed: %s", SPI_result_code_string(rc));
    });
}

std::uint64_t execute(const std::string& sql, const std::vector<Value>& args) {
    return call_postgres([&] {
        run_with_text_args(sql, args);
        uint64 processed = SPI_processed;
        SPI_freetuptable(SPI_tuptable);
        return processed;
    });
}

std::vector<Row> query(const std::string& sql, const std::vector<Value>& args) {
    call_postgres([&] { run_with_text_args(sql, args); });
    SPITupleTable* table = SPI_tuptable;
    uint64 row_count = SPI_processed;
    std::vector<Row> rows;
    if (table == nullptr) return rows;

    int column_count = table->tupdesc->natts;
    rows.reserve(row_count);
    for (uint64 r = 0; r < row_count; r++) {
        Row row;
        row.reserve(column_count);
        for (int c = 1; c <= column_count; c++) {
            char* text = call_postgres([&] { return SPI_getvalue(table->vals[r], table->tupdesc, c); });
            if (text == nullptr) {
                row.emplace_back(std::nullopt);
            } else {
                row.emplace_back(std::string(text));
                call_postgres([&] { pfree(text); });
            }
        }
        rows.push_back(std::move(row));
    }
    call_postgres([&] { SPI_freetuptable(table); });
    return rows;
}

Value query_value(const std::string& sql, const std::vector<Value>& args) {
    std::vector<Row> rows = query(sql, args);
    if (rows.empty() || rows.front().empty()) return std::nullopt;
    return rows.front().front();
}

}  // namespace tenancy::pg::spi
