// pam_tlog.so: the C ABI Linux-PAM calls (pam_tlog(8)). A thin layer: every
// entry point calls the C++ in module.cc and catches everything, so no
// exception ever unwinds into the login program (sshd, login, su, sudo).
#include <security/pam_modules.h>

#include <exception>
#include <new>

#include "module.h"

// The module is built with hidden visibility; only these five are exported
// (and the version script pam_tlog.map says the same).
#define TLOG_PAM_EXPORT __attribute__((visibility("default")))

namespace {

template <class F>
int guarded(pam_handle_t* pamh, int flags, int argc, const char** argv, int closed_code, const char* where, F f,
            int no_handle_code) {
    // libpam never passes a null handle; a broken caller might. Every PAM
    // call (pam_get_item, pam_syslog) requires one: answer without touching it.
    if (!pamh) return no_handle_code;
    try {
        return f(pamh, flags, argc, argv);
    } catch (const std::bad_alloc&) {
        return pam_tlog::on_exception(pamh, argc, argv, closed_code, where, "out of memory");
    } catch (const std::exception& e) {
        return pam_tlog::on_exception(pamh, argc, argv, closed_code, where, e.what());
    } catch (...) {
        return pam_tlog::on_exception(pamh, argc, argv, closed_code, where, "unknown exception");
    }
}

}  // namespace

extern "C" {

TLOG_PAM_EXPORT int pam_sm_open_session(pam_handle_t* pamh, int flags, int argc, const char** argv) {
    return guarded(pamh, flags, argc, argv, PAM_SESSION_ERR, "open_session", pam_tlog::open_session, PAM_SESSION_ERR);
}

TLOG_PAM_EXPORT int pam_sm_close_session(pam_handle_t* pamh, int flags, int argc, const char** argv) {
    return guarded(pamh, flags, argc, argv, PAM_SESSION_ERR, "close_session", pam_tlog::close_session, PAM_IGNORE);
}

TLOG_PAM_EXPORT int pam_sm_acct_mgmt(pam_handle_t* pamh, int flags, int argc, const char** argv) {
    return guarded(pamh, flags, argc, argv, PAM_PERM_DENIED, "account", pam_tlog::acct_mgmt, PAM_USER_UNKNOWN);
}

// pam_tlog authenticates nobody and holds no credentials: these exist so the
// module can be listed in any management group without an error.
TLOG_PAM_EXPORT int pam_sm_authenticate(pam_handle_t*, int, int, const char**) { return PAM_IGNORE; }
TLOG_PAM_EXPORT int pam_sm_setcred(pam_handle_t*, int, int, const char**) { return PAM_IGNORE; }

}  // extern "C"
