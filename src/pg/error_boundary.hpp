// The boundary between C++ and PostgreSQL's error handling.
//
// PostgreSQL raises errors with longjmp, which skips C++ destructors; a C++
// exception that unwinds into PostgreSQL's C frames kills the backend. So:
//
//  - every extern "C" entry point runs its C++ body through guard_entry(),
//    which catches everything and raises it as a PostgreSQL ERROR only after
//    the catch block has ended, when no C++ object is alive;
//  - every call into PostgreSQL made from a frame holding C++ objects goes
//    through call_postgres(), which catches the PostgreSQL error, keeps the
//    whole ErrorData (SQLSTATE, message, detail, hint, context) and throws it
//    as a PostgresError; guard_entry() re-raises it unchanged.
#pragma once

#include <cstring>
#include <exception>
#include <type_traits>

#include "postgres_headers.hpp"

namespace tenancy::pg {

// Copies text into a fixed buffer, clipped at a character boundary: a
// character cut in half would make a message unconvertible to the client's
// encoding (22021) and hide the real error. NULL copies as "".
template <std::size_t size>
void copy_clipped(char (&target)[size], const char* text) noexcept {
    if (text == nullptr) text = "";
    int length = static_cast<int>(strnlen(text, size));
    if (static_cast<std::size_t>(length) >= size)
        length = pg_mbcliplen(text, length, static_cast<int>(size) - 1);
    memcpy(target, text, length);
    target[length] = '\0';
}

// A PostgreSQL error caught under a C++ frame, on its way back to PostgreSQL.
class PostgresError : public std::exception {
public:
    explicit PostgresError(ErrorData* error) : error_(error) {}
    ErrorData* error() const noexcept { return error_; }
    const char* what() const noexcept override {
        return error_->message ? error_->message : "PostgreSQL error";
    }

private:
    ErrorData* error_;  // palloc'd in the memory context of the failing call
};

// Runs fn, which calls PostgreSQL, and turns a PostgreSQL error into a thrown
// PostgresError. fn may itself throw C++ exceptions: they are carried past the
// PG_TRY frame and rethrown after it, so PostgreSQL's exception stack is always
// restored. fn's result must be trivially destructible (a Datum, a pointer, a
// number): a longjmp may abandon it half-made.
template <typename Fn>
auto call_postgres(Fn&& fn) -> decltype(fn()) {
    using Result = decltype(fn());
    static_assert(std::is_void_v<Result> || std::is_trivially_destructible_v<Result>,
                  "call_postgres() results must survive a longjmp");

    MemoryContext caller_context = CurrentMemoryContext;
    ErrorData* volatile postgres_error = nullptr;
    std::exception_ptr cpp_exception;
    // volatile: assigned between sigsetjmp and a possible longjmp.
    volatile std::conditional_t<std::is_void_v<Result>, int, Result> result{};

    PG_TRY();
    {
        try {
            if constexpr (std::is_void_v<Result>)
                fn();
            else
                result = fn();
        } catch (...) {
            cpp_exception = std::current_exception();
        }
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller_context);
        postgres_error = CopyErrorData();
        FlushErrorState();
    }
    PG_END_TRY();

    if (postgres_error) throw PostgresError(postgres_error);
    if (cpp_exception) std::rethrow_exception(cpp_exception);
    if constexpr (!std::is_void_v<Result>) return result;
}

// Where an entry point's caught exception is kept until it can be raised.
// Fixed buffers, because nothing may allocate (and so longjmp) while the
// exception is being handled; a longer text is clipped at a character
// boundary of the database encoding, never inside a character.
struct PendingError {
    ErrorData* postgres_error = nullptr;
    char sqlstate[6] = "XX000";
    char message[4096] = "";
    char detail[4096] = "";
    char hint[1024] = "";
    // The throw site of an error pg_tenancy raised itself; the boundary's
    // own when the exception carries none (std::bad_alloc and the like).
    const char* file = nullptr;
    int line = 0;
    const char* function = nullptr;
};

// Fills the pending error from the exception being handled. Called only from
// inside a catch block; allocates nothing.
void capture_current_exception(PendingError& pending) noexcept;

// Raises the pending error as a PostgreSQL ERROR. Never returns.
[[noreturn]] void raise_pending_error(const PendingError& pending);

// Runs an entry point's C++ body. Nothing thrown gets past it: exceptions are
// raised as PostgreSQL errors once the catch block has ended.
template <typename Body>
Datum guard_entry(Body&& body) {
    PendingError pending;
    try {
        return body();
    } catch (...) {
        capture_current_exception(pending);
    }
    raise_pending_error(pending);
}

}  // namespace tenancy::pg
