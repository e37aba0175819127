#include "module.h"

#include <security/pam_ext.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit_record.h"
#include "decision.h"
#include "options.h"
#include "shells_file.h"
#include "tlog/conf_proof.h"
#include "tlog/hex.h"
#include "tlog/integrity.h"
#include "tlog/json.h"
#include "tlog/rec_marker.h"
#include "tlog/utf8.h"
#include "user_entry.h"

namespace pam_tlog {
namespace {

constexpr size_t kMaxItem = 1024;  // longer PAM items are refused as hostile
constexpr const char* kDataKey = "pam_tlog.session";
const char* const kOurVariables[] = {"TLOG_REC_SHELL", "TLOG_REC_CONF_TEXT", "TLOG_REC_CONF_PROOF"};

// A PAM string item, or "" when unset; throws when absurdly long.
std::string item(pam_handle_t* pamh, int type, const char* name) {
    const void* v = nullptr;
    if (pam_get_item(pamh, type, &v) != PAM_SUCCESS || !v) return "";
    const char* s = static_cast<const char*>(v);
    const size_t n = strnlen(s, kMaxItem + 1);
    if (n > kMaxItem) throw std::length_error(std::string(name) + " longer than 1024 bytes");
    return std::string(s, n);
}

struct Login {
    std::string user, service, ruser, rhost, tty;
};

bool has_control(const std::string& s) {
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f) return true;
    return false;
}

// rhost, tty and ruser go to logs and audit records, and ruser into the
// recorder's JSON settings too: control characters (a forged line break in
// the log) and bytes that are not UTF-8 (JSON the recorder would reject)
// become '?'.
std::string printable(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    const auto* p = reinterpret_cast<const uint8_t*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        const size_t n = tlog::utf8::valid_prefix(p, end);
        if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
            out += '?';
            ++p;
            continue;
        }
        out.append(reinterpret_cast<const char*>(p), n);
        p += n;
    }
    return out;
}

// PAM_USER and PAM_SERVICE must be set and sane; the others may be absent.
// Returns false (with *why) for a login pam_tlog cannot judge.
bool read_login(pam_handle_t* pamh, Login* l, const char** why) {
    l->user = item(pamh, PAM_USER, "PAM_USER");
    l->service = item(pamh, PAM_SERVICE, "PAM_SERVICE");
    // su, sudo and runuser name the invoking user; it goes into the logs,
    // the audit records and the recording's metadata, never into a decision.
    l->ruser = printable(item(pamh, PAM_RUSER, "PAM_RUSER"));
    l->rhost = printable(item(pamh, PAM_RHOST, "PAM_RHOST"));
    l->tty = printable(item(pamh, PAM_TTY, "PAM_TTY"));
    if (l->user.empty()) return *why = "PAM_USER is not set", false;
    if (l->user.size() > 256) return *why = "PAM_USER is longer than 256 bytes", false;
    if (has_control(l->user)) return *why = "PAM_USER contains control characters", false;
    if (l->service.empty()) return *why = "PAM_SERVICE is not set", false;
    if (has_control(l->service)) return *why = "PAM_SERVICE contains control characters", false;
    return true;
}

void log_unknown(pam_handle_t* pamh, const Options& o) {
    for (const auto& u : o.unknown) pam_syslog(pamh, LOG_ERR, "unknown or bad argument: %s", u.c_str());
}

// The recording configuration handed to the recorder: the rule's settings
// plus pam_tlog's decision ("pam": {"rec": ID, "record": BOOL}) and, for a
// recorded login, the login's service and invoking user, which the recorder
// writes into the recording (proven like the rest: the user cannot rename
// who ran sudo).
std::string conf_text(const std::string& settings, const std::string& rec, bool record,
                      const Decision* per_kind = nullptr, const Login* login = nullptr,
                      const std::optional<std::string>& nested = std::nullopt) {
    tlog::json::Value v = tlog::json::parse(settings.empty() ? "{}" : settings, "<rule settings>");
    if (!v.is_object()) throw std::runtime_error("rule settings are not a JSON object");
    tlog::json::Value pam = tlog::json::Value::make_object();
    if (!rec.empty()) pam.set("rec", tlog::json::Value::make_string(rec));
    pam.set("record", tlog::json::Value::make_bool(record));
    if (login) {
        pam.set("service", tlog::json::Value::make_string(login->service));
        if (!login->ruser.empty()) pam.set("ruser", tlog::json::Value::make_string(login->ruser));
    }
    if (nested) pam.set("nested", tlog::json::Value::make_string(*nested));
    if (per_kind && per_kind->per_kind) {
        pam.set("interactive", tlog::json::Value::make_bool(per_kind->kind_recorded[0]));
        pam.set("command", tlog::json::Value::make_bool(per_kind->kind_recorded[1]));
        pam.set("transfer", tlog::json::Value::make_bool(per_kind->kind_recorded[2]));
    }
    v.set("pam", std::move(pam));
    return tlog::json::dump(v);
}

void put(pam_handle_t* pamh, const char* name, const std::string& value) {
    const std::string nv = std::string(name) + "=" + value;
    const int rc = pam_putenv(pamh, nv.c_str());
    if (rc != PAM_SUCCESS) throw std::runtime_error(std::string("pam_putenv ") + name + ": " + pam_strerror(pamh, rc));
}

// Removes variables of ours that something earlier in the stack (pam_env
// reading a user file) may have set: only this module speaks for PAM.
void clear_ours(pam_handle_t* pamh) {
    for (const char* v : kOurVariables)
        if (pam_getenv(pamh, v)) pam_putenv(pamh, v);
}

// Exports the shell, the configuration and its proof. A missing key is not
// fatal: the recorder then ignores the weakening settings and records with
// the strict system configuration (the safe side), and we log why.
void export_for_recorder(pam_handle_t* pamh, const Options& o, const Login& l, const std::optional<std::string>& shell,
                         const std::string& recorder, const std::string& text) {
    if (shell && !shell->empty() && !same_program(*shell, recorder))
        put(pamh, "TLOG_REC_SHELL", *shell);
    else
        pam_syslog(pamh, LOG_WARNING,
                   "no real shell for %s from the NSS sources after tlog; the recorder uses its \"shell\" setting",
                   l.user.c_str());
    put(pamh, "TLOG_REC_CONF_TEXT", text);
    try {
        const tlog::integrity::Key key = tlog::integrity::load_key_file(o.key);
        const int64_t expires = time(nullptr) + o.proof_lifetime;
        put(pamh, "TLOG_REC_CONF_PROOF",
            tlog::rec::make_conf_proof(key, l.user, tlog::rec::audit_session_id(), expires, text));
    } catch (const std::exception& e) {
        pam_syslog(pamh, LOG_WARNING,
                   "no proof for the recording settings of %s (%s): the recorder will use its "
                   "system configuration",
                   l.user.c_str(), e.what());
    }
}

// What open_session remembers for close_session (pam_set_data).
struct SessionData {
    AuditFields audit;
    AuditMode mode;
    bool emit_end;
    std::optional<uint32_t> rules_ses;  // audit_rules=session: the audit session whose rules were added
};

// audit_rules=session, at open_session (add) or close_session: the rules
// never decide the login. A failure is logged and audited (res=failed,
// op=tlog-audit-rules) and the login goes on: the recording, its audit
// records and the rules loaded at boot are what auditing rests on; these
// rules add detail where the host allows it.
void session_rules(pam_handle_t* pamh, SessionData& data, uint32_t ses, bool add, const char* phase) {
    const std::string err = session_audit_rules(ses, add);
    if (err.empty()) return;
    pam_syslog(pamh, LOG_WARNING, "%s: audit rules of audit session %u not %s: %s", phase, ses,
               add ? "added" : "removed", err.c_str());
    AuditFields f = data.audit;
    f.op = "tlog-audit-rules";
    f.kinds.clear();
    f.reason = std::string(add ? "add" : "remove") + " failed: " + err;
    f.success = false;
    if (std::string e = send_audit(f, data.mode); !e.empty())
        pam_syslog(pamh, LOG_WARNING, "%s: %s: %s", phase, f.user.c_str(), e.c_str());
}

void free_data(pam_handle_t*, void* data, int) { delete static_cast<SessionData*>(data); }

// An audit record about login `l` as the rules decided it (d).
AuditFields login_audit(const char* op, std::string rec, const Decision& d, const Login& l, std::string reason,
                        bool success) {
    return AuditFields{op,
                       std::move(rec),
                       d.rule.empty() ? "(default)" : d.rule,
                       l.service,
                       l.user,
                       l.ruser,
                       l.rhost,
                       l.tty,
                       "",
                       std::move(reason),
                       success};
}

// The shell check shared by account and session: the rules record this
// login, so the shell the login program will run must be the recorder.
bool shell_is_recorder(pam_handle_t* pamh, const Options& o, const Login& l, const UserEntry& u, const Decision& d,
                       const std::string& recorder, const char* phase) {
    if (same_program(u.shell, recorder)) return true;
    pam_syslog(pamh, LOG_ERR,
               "%s: denying %s (service %s): the rules record this login (%s) but NSS gives the shell \"%s\", "
               "not the recorder \"%s\"; check that tlog comes before the source of this user on the passwd line "
               "of nsswitch.conf and that the policy cache %s is current (tlog-policy compile)%s",
               phase, l.user.c_str(), l.service.c_str(), d.reason.c_str(), u.shell.c_str(), recorder.c_str(),
               o.cache.c_str(), o.shell_check ? "" : " [shell_check=no: allowed]");
    return !o.shell_check;
}

// The login programs that run a shell the caller names (-s) when the
// target's shell is in /etc/shells; runuser is root's, listed for
// completeness (root may choose any shell in any case).
bool honours_chosen_shell(const std::string& service) {
    return service == "su" || service == "su-l" || service == "runuser" || service == "runuser-l";
}

// The recorder listed in the shells file turns its "restricted shell" into
// an ordinary one: `su -s /bin/bash USER` then runs bash instead of the
// recorder. Returns false when the login must be refused: a service that
// honours the chosen shell, with fail=closed. For other services the
// listing is logged on every recorded login until it is removed.
bool shells_check(pam_handle_t* pamh, const Options& o, const Login& l, const Decision& d, const std::string& recorder,
                  const char* phase) {
    const ShellsListing s = find_in_shells(o.shells, recorder);
    if (s.line == 0 && s.error.empty()) return true;
    const bool deny = honours_chosen_shell(l.service) && o.fail_closed;
    const char* verdict = !honours_chosen_shell(l.service) ? "allowed: this service does not honour a chosen shell"
                                                           : (deny ? "denied" : "allowed: fail=open");
    std::string what;
    if (s.line > 0) {
        what = "the recorder " + recorder + " is listed in " + o.shells + " (line " + std::to_string(s.line) + ")";
        pam_syslog(pamh, LOG_ERR,
                   "%s: %s (service %s): %s, so su -s, runuser -s and chsh let a recorded user run another shell; "
                   "fix: remove-shell %s [%s]",
                   phase, l.user.c_str(), l.service.c_str(), what.c_str(), recorder.c_str(), verdict);
    } else {
        what = "cannot check " + o.shells + " for the recorder: " + s.error;
        pam_syslog(pamh, LOG_ERR, "%s: %s (service %s): %s [%s]", phase, l.user.c_str(), l.service.c_str(),
                   what.c_str(), verdict);
    }
    if (!deny) return true;
    const AuditMode mode = d.audit == 0 ? AuditMode::Off : o.audit;
    AuditFields a = login_audit("tlog-session-denied", "", d, l, what, false);
    if (std::string err = send_audit(a, mode); !err.empty())
        pam_syslog(pamh, LOG_WARNING, "%s: %s: %s", phase, l.user.c_str(), err.c_str());
    return false;
}

// Text the recorder wrote, for a log line: one line, bounded, cut on a
// UTF-8 character boundary.
std::string from_marker(const std::string& s) {
    constexpr size_t kMax = 512;
    std::string t = printable(s);
    if (t.size() > kMax) {
        size_t n = kMax;
        while (n > 0 && (static_cast<unsigned char>(t[n]) & 0xC0) == 0x80) --n;
        t.resize(n);
        t += "...";
    }
    return t;
}

struct Report {
    int priority;
    std::string line;
    AuditFields audit;
};

// What close_session says about one session of the login, from the
// marker the recorder left for it.
Report report_of(const tlog::marker::State& s, const AuditFields& login) {
    Report r{LOG_INFO, "rec " + s.rec + ": ", login};
    r.audit.rec = s.rec;
    r.audit.kinds.clear();
    const std::string detail = from_marker(s.detail);
    if (s.state == "ended") {
        r.line += "recorded, ended (" + (detail.empty() ? std::string("no reason given") : detail) + ")";
        r.audit.op = "tlog-session-end";
        r.audit.reason = detail;
        r.audit.success = true;
    } else if (s.state == "unrecorded") {
        r.priority = LOG_WARNING;
        r.line += "NOT recorded: " + (detail.empty() ? std::string("no reason given") : detail);
        r.audit.op = "tlog-session-unrecorded";
        r.audit.reason = detail.empty() ? "no reason given" : detail;
        r.audit.success = false;
    } else if (s.state == "starting" || s.state == "recording") {
        const std::string why =
            "recording did not end cleanly (state " + s.state + ", recorder pid " + std::to_string(s.pid) + ")";
        r.priority = LOG_ERR;
        r.line += why;
        r.audit.op = "tlog-session-end";
        r.audit.reason = why;
        r.audit.success = false;
    } else {
        const std::string why = s.state == "unreadable"
                                    ? "the recording marker is unreadable: " + detail
                                    : "the recording marker has the unknown state \"" + from_marker(s.state) + "\"";
        r.priority = LOG_ERR;
        r.line += why;
        r.audit.op = "tlog-session-end";
        r.audit.reason = why;
        r.audit.success = false;
    }
    return r;
}

// Every recorded login announces a recording; when the recorder never ran
// (sshd's internal-sftp, a ForceCommand or subsystem that bypasses the
// login shell), this is the only trace that nothing was recorded.
Report never_started(const AuditFields& login) {
    Report r{LOG_ERR,
             "rec " + login.rec +
                 ": the announced recording never started: the login program did not run the recorder "
                 "(internal-sftp, ForceCommand, a subsystem, or a shell other than the recorder)",
             login};
    r.audit.op = "tlog-session-unrecorded";
    r.audit.reason = "the login program did not run the recorder";
    r.audit.success = false;
    return r;
}

}  // namespace

int on_exception(pam_handle_t* pamh, int argc, const char** argv, int closed_code, const char* where,
                 const char* what) noexcept {
    bool closed = true;
    try {
        closed = parse_options(argc, argv).fail_closed;
    } catch (...) {}
    pam_syslog(pamh, LOG_ERR, "%s: %s (fail=%s)", where, what ? what : "unknown error", closed ? "closed" : "open");
    return closed ? closed_code : PAM_IGNORE;
}

int acct_mgmt(pam_handle_t* pamh, int, int argc, const char** argv) {
    const Options o = parse_options(argc, argv);
    log_unknown(pamh, o);
    Login l;
    const char* why = nullptr;
    if (!read_login(pamh, &l, &why)) {
        pam_syslog(pamh, LOG_ERR, "account: %s", why);
        return PAM_USER_UNKNOWN;
    }
    const auto u = nss_user(l.user.c_str());
    if (!u) {
        if (o.debug) pam_syslog(pamh, LOG_DEBUG, "account: user %s unknown to NSS", l.user.c_str());
        return PAM_USER_UNKNOWN;
    }
    const auto cache = cache_for(o.cache);
    const Decision d = cache->decide(u->name.c_str(), u->uid, u->gid, l.service, session_kind(l.tty.c_str()));
    if (o.debug)
        pam_syslog(pamh, LOG_DEBUG, "account: %s, service %s, %s: %s", l.user.c_str(), l.service.c_str(),
                   kind_name(session_kind(l.tty.c_str())), d.reason.c_str());
    if (!d.recorded) return PAM_IGNORE;
    const std::string recorder = cache->recorder();
    if (!shell_is_recorder(pamh, o, l, *u, d, recorder, "account")) return PAM_PERM_DENIED;
    // Other services are checked (and logged) once, at open_session.
    if (honours_chosen_shell(l.service) && !shells_check(pamh, o, l, d, recorder, "account")) return PAM_PERM_DENIED;
    return PAM_SUCCESS;
}

int open_session(pam_handle_t* pamh, int, int argc, const char** argv) {
    const Options o = parse_options(argc, argv);
    log_unknown(pamh, o);
    Login l;
    const char* why = nullptr;
    if (!read_login(pamh, &l, &why)) {
        pam_syslog(pamh, LOG_ERR, "open_session: %s", why);
        return o.fail_closed ? PAM_SESSION_ERR : PAM_IGNORE;
    }
    clear_ours(pamh);
    const auto u = nss_user(l.user.c_str());
    if (!u) {
        pam_syslog(pamh, LOG_ERR, "open_session: user %s unknown to NSS", l.user.c_str());
        return o.fail_closed ? PAM_SESSION_ERR : PAM_IGNORE;
    }
    const auto cache = cache_for(o.cache);
    const std::string recorder = cache->recorder();
    const Kind kind = session_kind(l.tty.c_str());
    const Decision d = cache->decide(u->name.c_str(), u->uid, u->gid, l.service, kind);
    if (o.debug)
        pam_syslog(pamh, LOG_DEBUG, "open_session: %s, service %s, tty %s (%s): %s", l.user.c_str(), l.service.c_str(),
                   l.tty.c_str(), kind_name(kind), d.reason.c_str());

    if (!d.recorded) {
        // Recorded for another service, so NSS gives the recorder as shell:
        // tell it (with a proof) that this login is not recorded.
        if (same_program(u->shell, recorder))
            export_for_recorder(pamh, o, l, real_shell(l.user.c_str()), recorder, conf_text("{}", "", false));
        return PAM_IGNORE;
    }
    if (!shell_is_recorder(pamh, o, l, *u, d, recorder, "open_session")) return PAM_SESSION_ERR;
    if (!shells_check(pamh, o, l, d, recorder, "open_session")) return PAM_SESSION_ERR;

    auto data = std::make_unique<SessionData>();
    data->mode = d.audit == 0 ? AuditMode::Off : o.audit;
    data->audit =
        login_audit("tlog-session-start", tlog::hex::random(8) + "-" + std::to_string(tlog::rec::audit_session_id()), d,
                    l, "", true);
    if (d.per_kind && !(d.kind_recorded[0] && d.kind_recorded[1] && d.kind_recorded[2])) {
        // The recorder starts unrecorded for the other kinds: say so, so an
        // auditor does not look for a recording that was never made.
        const char* names[3] = {"interactive", "command", "transfer"};
        for (int i = 0; i < 3; ++i)
            if (d.kind_recorded[i]) data->audit.kinds += (data->audit.kinds.empty() ? "" : ",") + std::string(names[i]);
    }
    // The login program's own terminal is a live recording's (sudo -i in a
    // recorded session). A program that gives the shell a terminal of its
    // own relays it to that one (sudo's use_pty, su --pty), where the
    // recording sees it all: the recorder cannot find that recording from
    // the new terminal, so it is named here (the recorder then logs the
    // session as not recorded and why; without a terminal of its own the
    // recorder finds the recording itself).
    const std::optional<std::string> nested = tlog::marker::recording_of_terminal(o.rundir);
    export_for_recorder(pamh, o, l, real_shell(l.user.c_str()), recorder,
                        conf_text(d.settings, data->audit.rec, true, &d, &l, nested));
    if (std::string err = send_audit(data->audit, data->mode); !err.empty()) {
        pam_syslog(pamh, data->mode == AuditMode::Required ? LOG_ERR : LOG_WARNING, "open_session: %s: %s",
                   l.user.c_str(), err.c_str());
        if (data->mode == AuditMode::Required) {
            clear_ours(pamh);
            return PAM_SESSION_ERR;
        }
    }
    if (o.session_audit_rules && d.audit == 2) {
        const uint32_t ses = tlog::rec::audit_session_id();
        if (ses == tlog::rec::kUnsetSession) {
            pam_syslog(pamh, LOG_WARNING,
                       "open_session: %s: no audit session (pam_loginuid must come before pam_tlog): no audit rules",
                       l.user.c_str());
        } else {
            // Even when some failed: close_session removes what is there.
            data->rules_ses = ses;
            session_rules(pamh, *data, ses, true, "open_session");
        }
    }
    pam_syslog(pamh, LOG_INFO, "recording %s (service %s, ruser %s, rhost %s, tty %s): rec %s, %s", l.user.c_str(),
               l.service.c_str(), l.ruser.empty() ? "-" : l.ruser.c_str(), l.rhost.empty() ? "-" : l.rhost.c_str(),
               l.tty.empty() ? "-" : l.tty.c_str(), data->audit.rec.c_str(), d.reason.c_str());
    data->emit_end = true;
    // PAM owns the data from here and frees it with free_data at pam_end.
    const int rc = pam_set_data(pamh, kDataKey, data.get(), free_data);
    if (rc == PAM_SUCCESS) {
        (void)data.release();
    } else {
        pam_syslog(pamh, LOG_WARNING, "pam_set_data: %s: no end record at close_session", pam_strerror(pamh, rc));
        // close_session would not know them: no rules outlive the session.
        if (data->rules_ses) session_rules(pamh, *data, *data->rules_ses, false, "open_session");
    }
    return PAM_SUCCESS;
}

int close_session(pam_handle_t* pamh, int, int argc, const char** argv) {
    const Options o = parse_options(argc, argv);
    const void* p = nullptr;
    if (pam_get_data(pamh, kDataKey, &p) != PAM_SUCCESS || !p) return PAM_IGNORE;  // not a recorded session
    auto* data = static_cast<SessionData*>(const_cast<void*>(p));
    if (!data->emit_end) return PAM_IGNORE;
    data->emit_end = false;  // close_session twice reports once
    // The session is over: its rules go before its end records, so an
    // end record means the rules are gone (or that removing them failed,
    // which is audited before it).
    if (data->rules_ses) session_rules(pamh, *data, *data->rules_ses, false, "close_session");
    const std::string& rec = data->audit.rec;
    std::vector<Report> reports;
    for (const auto& s : tlog::marker::read_all(o.rundir, rec)) reports.push_back(report_of(s, data->audit));
    if (reports.empty()) reports.push_back(never_started(data->audit));
    bool audit_failed = false;
    for (const Report& r : reports) {
        pam_syslog(pamh, r.priority, "%s", r.line.c_str());
        if (std::string err = send_audit(r.audit, data->mode); !err.empty()) {
            pam_syslog(pamh, data->mode == AuditMode::Required ? LOG_ERR : LOG_WARNING, "close_session: %s: %s",
                       r.audit.user.c_str(), err.c_str());
            audit_failed = audit_failed || data->mode == AuditMode::Required;
        }
    }
    // The markers are in the log and the audit trail now; left behind they
    // would only fill the run directory (one login, one set of files).
    tlog::marker::remove_all(o.rundir, rec);
    if (o.debug)
        pam_syslog(pamh, LOG_DEBUG, "close_session: rec %s: %zu session(s) reported", rec.c_str(), reports.size());
    return audit_failed ? PAM_SESSION_ERR : PAM_SUCCESS;
}

}  // namespace pam_tlog
