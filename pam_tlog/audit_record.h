// The audit records pam_tlog writes for a recorded login (libaudit,
// user-space type AUDIT_TRUSTED_APP): "op=tlog-session-start" at
// open_session; at close_session one record per session the recorder
// reported, "op=tlog-session-end" (recorded) or "op=tlog-session-unrecorded"
// (res=failed, with reason=); "op=tlog-session-denied" when a login is
// refused because the recorder is listed in /etc/shells; "op=tlog-audit-rules"
// (res=failed) when audit_rules=session cannot add or remove the session's
// kernel audit rules. Each carries the
// recording id, rule, service, target user (acct=) and invoking user
// (ruser=, when the login program names one), remote host and tty, so `ausearch -m
// TRUSTED_APP` finds the recording and the recording's id finds the login.
#pragma once

#include <cstdint>
#include <string>

#include "options.h"

namespace pam_tlog {

struct AuditFields {
    std::string op;   // tlog-session-start | -end | -unrecorded | -denied
    std::string rec;  // recording id (shared with the recorder)
    std::string rule;
    std::string service;
    std::string user;   // the target: the identity the session runs as (PAM_USER)
    std::string ruser;  // who asked for it (PAM_RUSER: su, sudo, runuser); "" when the login program sets none
    std::string rhost;
    std::string tty;
    std::string kinds;   // sshd: the session kinds recorded when not all are ("" = all or known)
    std::string reason;  // why not recorded, or how it ended ("" = none); written by the recorder
    bool success = true;
};

// The message text (without the fields libaudit adds), values encoded with
// audit_encode_nv_string so a rule name with spaces cannot forge fields.
std::string audit_message(const AuditFields& f);

// Sends the record. Returns "" when it was sent, or when the kernel has no
// audit and the mode is optional; else the reason, which the caller turns
// into an error only for audit=required.
std::string send_audit(const AuditFields& f, AuditMode mode);

// Adds (add) or removes the kernel audit rules of level "session"
// (tlog/audit_session_rules.h) for audit session `ses`, as
// `auditctl -a always,exit ... -F sessionid=SES -k KEY` would. Every rule
// is tried; returns "" or what failed (EPERM: the rules are locked with
// auditctl -e 2). libaudit waits for the kernel's answer, which the kernel
// gives at once (no daemon is involved).
std::string session_audit_rules(uint32_t ses, bool add);

}  // namespace pam_tlog
