#include <new>

#include "../core/error.hpp"
#include "error_boundary.hpp"

namespace tenancy::pg {

namespace {

void copy_text(char (&target)[1024], const char* text) noexcept {
    strlcpy(target, text ? text : "", sizeof target);
}

void set_sqlstate(PendingError& pending, const char* sqlstate) noexcept {
    strlcpy(pending.sqlstate, sqlstate, sizeof pending.sqlstate);
}

}  // namespace

void capture_current_exception(PendingError& pending) noexcept {
    try {
        throw;
    } catch (const PostgresError& e) {
        pending.postgres_error = e.error();
    } catch (const core::Error& e) {
        set_sqlstate(pending, e.sqlstate());
        copy_text(pending.message, e.what());
        copy_text(pending.detail, e.detail().c_str());
        copy_text(pending.hint, e.hint().c_str());
    } catch (const std::bad_alloc&) {
        set_sqlstate(pending, "53200");
        copy_text(pending.message, "out of memory");
        copy_text(pending.detail, "A C++ allocation in pg_tenancy failed.");
    } catch (const std::exception& e) {
        set_sqlstate(pending, "XX000");
        copy_text(pending.message, e.what());
        copy_text(pending.detail, "pg_tenancy raised an unexpected C++ exception.");
    } catch (...) {
        set_sqlstate(pending, "XX000");
        copy_text(pending.message, "unknown C++ exception in pg_tenancy");
    }
}

void raise_pending_error(const PendingError& pending) {
    if (pending.postgres_error) ReThrowError(pending.postgres_error);

    const char* s = pending.sqlstate;
    ereport(ERROR, (errcode(MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4])),
                    errmsg_internal("%s", pending.message),
                    pending.detail[0] ? errdetail_internal("%s", pending.detail) : 0,
                    pending.hint[0] ? errhint("%s", pending.hint) : 0));
    pg_unreachable();
}

}  // namespace tenancy::pg
