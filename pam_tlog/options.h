// pam_tlog's module arguments (pam_tlog(8)), parsed once per call from the
// PAM configuration line. Plain data; parsing never throws for bad input:
// unknown or malformed arguments are collected so the caller can log them
// with pam_syslog and go on with the defaults, as Linux-PAM modules do.
#pragma once

#include <string>
#include <vector>

namespace pam_tlog {

enum class AuditMode { Off, Optional, Required };

struct Options {
    bool debug = false;
    std::string cache;  // compiled policy (cache= or config=); default kDefaultCachePath
    std::string key;    // conf-proof key file; default conf_proof_key_path()
    AuditMode audit = AuditMode::Optional;
    // audit_rules=session|off: kernel audit rules for the audit session of
    // a login the rules audit at level session, added at open_session and
    // removed at close_session (pam_tlog(8), "PER-SESSION AUDIT RULES").
    bool session_audit_rules = false;
    bool fail_closed = true;             // fail=closed|open: what a broken policy means
    bool shell_check = true;             // shell_check=yes|no: deny when NSS does not give the recorder
    int proof_lifetime = 60;             // proof_lifetime=SECONDS (1..3600)
    std::string rundir = "/run/tlog";    // rundir=DIR: where the recorder leaves its session markers
    std::string shells = "/etc/shells";  // shells=PATH: the list su consults before honouring -s
    std::vector<std::string> unknown;    // arguments not understood, for the log
};

Options parse_options(int argc, const char** argv);

const char* audit_mode_name(AuditMode m);

}  // namespace pam_tlog
