#include <new>

#include "../core/error.hpp"
#include "error_boundary.hpp"

namespace tenancy::pg {

namespace {

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
        copy_clipped(pending.message, e.what());
        copy_clipped(pending.detail, e.detail().c_str());
        copy_clipped(pending.hint, e.hint().c_str());
        pending.file = e.site().file;
        pending.line = e.site().line;
        pending.function = e.site().function;
    } catch (const std::bad_alloc&) {
        set_sqlstate(pending, "53200");
        copy_clipped(pending.message, "out of memory");
        copy_clipped(pending.detail, "A C++ allocation in pg_tenancy failed.");
    } catch (const std::exception& e) {
        set_sqlstate(pending, "XX000");
        copy_clipped(pending.message, e.what());
        copy_clipped(pending.detail, "pg_tenancy raised an unexpected C++ exception.");
    } catch (...) {
        set_sqlstate(pending, "XX000");
        copy_clipped(pending.message, "unknown C++ exception in pg_tenancy");
    }
}

void raise_pending_error(const PendingError& pending) {
    if (pending.postgres_error) ReThrowError(pending.postgres_error);

    const char* s = pending.sqlstate;
    if (pending.file == nullptr) {
        ereport(ERROR, (errcode(MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4])),
                        errmsg_internal("%s", pending.message),
                        pending.detail[0] ? errdetail_internal("%s", pending.detail) : 0,
                        pending.hint[0] ? errhint("%s", pending.hint) : 0));
    } else if (errstart(ERROR, TEXTDOMAIN)) {
        // ereport() with the throw site as the error's LOCATION.
        errcode(MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]));
        errmsg_internal("%s", pending.message);
        if (pending.detail[0]) errdetail_internal("%s", pending.detail);
        if (pending.hint[0]) errhint("%s", pending.hint);
        errfinish(pending.file, pending.line, pending.function);
    }
    pg_unreachable();
}

}  // namespace tenancy::pg
