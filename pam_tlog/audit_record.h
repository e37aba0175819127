// The audit records pam_tlog writes for a recorded session (libaudit,
// user-space type AUDIT_TRUSTED_APP): "op=tlog-session-start" at
// open_session and "op=tlog-session-end" at close_session, with the
// recording id, rule, service, remote host and tty, so `ausearch -m
// TRUSTED_APP` finds the recording and the recording's id finds the login.
#pragma once

#include <string>

#include "options.h"

namespace pam_tlog {

struct AuditFields {
    std::string op;        // tlog-session-start | tlog-session-end
    std::string rec;       // recording id (shared with the recorder)
    std::string rule;
    std::string service;
    std::string user;
    std::string rhost;
    std::string tty;
    std::string kinds;     // sshd: the session kinds recorded when not all are ("" = all or known)
    bool success = true;
};

// The message text (without the fields libaudit adds), values encoded with
// audit_encode_nv_string so a rule name with spaces cannot forge fields.
std::string audit_message(const AuditFields& f);

// Sends the record. Returns "" when it was sent, or when the kernel has no
// audit and the mode is optional; else the reason, which the caller turns
// into an error only for audit=required.
std::string send_audit(const AuditFields& f, AuditMode mode);

} // namespace pam_tlog
