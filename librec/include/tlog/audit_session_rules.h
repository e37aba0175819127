// The kernel audit rules that implement audit level "session": every exec,
// every file change and every connection of the audited processes. One
// table for the two users of it: `tlog-policy audit-rules` (auditctl text,
// per auid, for rules loaded at boot) and pam_tlog's audit_rules=session
// (libaudit, per audit session, at login). Header only: pam_tlog must not
// link the policy library.
#pragma once

namespace tlog::audit_rules {

struct SessionRule {
    const char* arch;      // auditctl's arch= value: b64 or b32
    const char* syscalls;  // comma-separated names, "" when the rule selects by perm
    const char* perm;      // auditctl's perm= value, "" when the rule selects by syscalls
    const char* key;       // the key the events carry
};

// i386 has no plain accept (socketcall(2) carries it), only accept4.
inline constexpr SessionRule kSessionRules[] = {
    {"b64", "execve,execveat", "", "tlog-exec"},
    {"b64", "", "wa", "tlog-file"},
    {"b64", "connect,bind,accept,accept4", "", "tlog-net"},
    {"b32", "execve,execveat", "", "tlog-exec"},
    {"b32", "", "wa", "tlog-file"},
    {"b32", "connect,bind,accept4", "", "tlog-net"},
};

}  // namespace tlog::audit_rules
