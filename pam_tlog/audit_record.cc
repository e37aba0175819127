#include "audit_record.h"

#include <errno.h>
#include <libaudit.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>

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

}  // namespace pam_tlog
