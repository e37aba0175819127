// pam_tlog's logic behind the C ABI (pam_tlog.cc). These functions may throw;
// the ABI layer catches everything and maps it to a PAM return code.
#pragma once

#include <security/pam_modules.h>

namespace pam_tlog {

int open_session(pam_handle_t* pamh, int flags, int argc, const char** argv);
int close_session(pam_handle_t* pamh, int flags, int argc, const char** argv);
int acct_mgmt(pam_handle_t* pamh, int flags, int argc, const char** argv);

// What to return when an exception escaped: fail=closed denies, fail=open
// ignores. Never throws (argument parsing does not allocate on failure paths
// the caller cannot survive: a bad_alloc here yields the closed answer).
int on_exception(pam_handle_t* pamh, int argc, const char** argv, int closed_code, const char* where,
                 const char* what) noexcept;

}  // namespace pam_tlog
