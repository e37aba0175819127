#include "audit_record.h"

#include <errno.h>
#include <libaudit.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

#include "tlog/audit_session_rules.h"

namespace pam_tlog {
namespace {

// The audit netlink socket, closed on every path.
class AuditFd {
public:
    AuditFd() : fd_(audit_open()) { saved_errno_ = errno; }
    ~AuditFd() {
        if (fd_ >= 0) audit_close(fd_);
    }
    AuditFd(const AuditFd&) = delete;
    AuditFd& operator=(const AuditFd&) = delete;
    int fd() const { return fd_; }
    int error() const { return saved_errno_; }

private:
    int fd_;
    int saved_errno_ = 0;
};

void add(std::string& out, const char* name, const std::string& value) {
    if (!out.empty()) out += ' ';
    std::unique_ptr<char, decltype(&free)> nv(audit_encode_nv_string(name, value.empty() ? "?" : value.c_str(), 0),
                                              &free);
    if (nv)
        out += nv.get();
    else
        out += std::string(name) + "=?";
}

// One rule of the table for audit session `ses`, added or removed. The
// syscall numbers are set here, not with audit_rule_syscallbyname_data:
// that one leaves state in libaudit (a later arch= field then fails), and
// this code runs in other people's long-lived processes.
std::string one_session_rule(int fd, const tlog::audit_rules::SessionRule& r, uint32_t ses, bool add) {
    const std::string what = std::string(r.key) + " (" + r.arch + ")";
    std::unique_ptr<audit_rule_data, decltype(&audit_rule_free_data)> rule(audit_rule_create_data(),
                                                                           &audit_rule_free_data);
    if (!rule) return what + ": out of memory";
    // libaudit may reallocate the rule to append a string field (the key).
    auto field = [&](const std::string& pair) {
        audit_rule_data* p = rule.release();
        const int rc = audit_rule_fieldpair_data(&p, pair.c_str(), AUDIT_FILTER_EXIT);
        rule.reset(p);
        return rc;
    };
    if (field(std::string("arch=") + r.arch) < 0) return what + ": arch not supported";
    if (*r.syscalls) {
        const int machine = audit_determine_machine(r.arch);
        if (machine < 0) return what + ": arch not supported";
        std::string_view names(r.syscalls);
        while (!names.empty()) {
            const size_t comma = names.find(',');
            const std::string name(names.substr(0, comma));
            names = comma == std::string_view::npos ? std::string_view() : names.substr(comma + 1);
            const int nr = audit_name_to_syscall(name.c_str(), machine);
            if (nr < 0 || nr >= AUDIT_BITMASK_SIZE * 32) return what + ": unknown syscall " + name;
            rule->mask[nr / 32] |= 1U << (nr % 32);
        }
    }
    if (*r.perm) {
        if (field(std::string("perm=") + r.perm) < 0) return what + ": perm not supported";
        // perm= filters the syscalls the rule selects: all of them, as
        // auditctl does for a rule without -S.
        for (unsigned& m : rule->mask) m = ~0U;
    }
    if (field("sessionid=" + std::to_string(ses)) < 0) return what + ": sessionid not supported";
    // The key by hand too: libaudit accepts key= only after its own
    // syscall or perm calls, which it remembers in process-wide state.
    const size_t klen = std::strlen(r.key);
    if (rule->field_count >= AUDIT_MAX_FIELDS) return what + ": too many fields";
    audit_rule_data* p = rule.release();
    // libaudit allocates rules with malloc and grows them with realloc (buf[] is a flexible array).
    auto* grown = static_cast<audit_rule_data*>(realloc(p, sizeof(audit_rule_data) + p->buflen + klen));  // NOLINT
    rule.reset(grown ? grown : p);
    if (!grown) return what + ": out of memory";
    const uint32_t n = rule->field_count++;
    rule->fields[n] = AUDIT_FILTERKEY;
    rule->fieldflags[n] = AUDIT_EQUAL;
    rule->values[n] = static_cast<uint32_t>(klen);
    std::memcpy(rule->buf + rule->buflen, r.key, klen);  // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
    rule->buflen += static_cast<uint32_t>(klen);
    const int rc = add ? audit_add_rule_data(fd, rule.get(), AUDIT_FILTER_EXIT, AUDIT_ALWAYS)
                       : audit_delete_rule_data(fd, rule.get(), AUDIT_FILTER_EXIT, AUDIT_ALWAYS);
    // Removing a rule that is not there (never added, or removed by hand) is
    // what removing wants.
    if (rc < 0 && !(!add && rc == -ENOENT)) return what + ": " + strerror(-rc);
    return "";
}

bool no_kernel_audit(int e) { return e == EINVAL || e == EPROTONOSUPPORT || e == EAFNOSUPPORT || e == ECONNREFUSED; }

}  // namespace

std::string audit_message(const AuditFields& f) {
    std::string m = "op=" + f.op;  // op is ours, never user data
    add(m, "rec", f.rec);
    add(m, "rule", f.rule);
    add(m, "service", f.service);
    add(m, "acct", f.user);
    if (!f.ruser.empty()) add(m, "ruser", f.ruser);
    add(m, "rhost", f.rhost);
    add(m, "tty", f.tty);
    if (!f.kinds.empty()) add(m, "kinds", f.kinds);
    if (!f.reason.empty()) add(m, "reason", f.reason);
    return m;
}

std::string send_audit(const AuditFields& f, AuditMode mode) {
    if (mode == AuditMode::Off) return "";
    AuditFd a;
    if (a.fd() < 0) {
        if (no_kernel_audit(a.error()) && mode == AuditMode::Optional) return "";
        return std::string("cannot open the audit socket: ") + strerror(a.error());
    }
    if (mode == AuditMode::Required && audit_is_enabled(a.fd()) <= 0)
        return "kernel auditing is not enabled (audit=required)";
    const std::string msg = audit_message(f);
    // hostname/addr: the remote host goes into the message (it may be a
    // name or an address); tty lets ausearch --terminal find the record.
    const int rc =
        audit_log_user_message(a.fd(), AUDIT_TRUSTED_APP, msg.c_str(), f.rhost.empty() ? nullptr : f.rhost.c_str(),
                               nullptr, f.tty.empty() ? nullptr : f.tty.c_str(), f.success ? 1 : 0);
    if (rc <= 0) {
        const int e = errno;
        if (mode == AuditMode::Optional && (no_kernel_audit(e) || e == EPERM)) return "";
        return std::string("audit record not sent: ") + strerror(e);
    }
    return "";
}

std::string session_audit_rules(uint32_t ses, bool add) {
    AuditFd a;
    if (a.fd() < 0) return std::string("cannot open the audit socket: ") + strerror(a.error());
    std::string failed;
    for (const auto& r : tlog::audit_rules::kSessionRules) {
        if (std::string err = one_session_rule(a.fd(), r, ses, add); !err.empty())
            failed += (failed.empty() ? "" : "; ") + err;
    }
    return failed;
}

}  // namespace pam_tlog
