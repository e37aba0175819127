// The recording decision for one login: a thin wrapper over the policy cache
// reader. The decision itself (classes, rules, the default, the per-kind
// answer, the reason) is View::decision() in policy/, the same function
// nss_tlog calls, so PAM and NSS can never disagree about who is recorded.
// This file maps PAM_TTY to a session kind, keeps the checked mapping alive
// (RAII, one per process), and copies the answer into strings for the module.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "tlog/policy/cache_reader.h"

namespace pam_tlog {

using Kind = tlog::policy::cache::Kind;
using tlog::policy::cache::kind_name;

// The session kind from PAM_TTY: a device, tty*, pts/* or :N is
// interactive, unset is command, anything else (sshd's "ssh", set before it
// knows whether a pty will be allocated) is unknown.
Kind session_kind(const char* tty);

// tlog::policy::cache::Decision with its strings copied (the module keeps
// them past the mapping's lifetime).
struct Decision {
    bool recorded = false;
    std::string rule;      // the deciding rule's name; "" when the default decided
    std::string settings;  // the rule's recording settings, JSON object text
    std::string retention;
    int audit = 2;       // 0 none, 1 login, 2 session (the rule's audit level)
    std::string reason;  // one line for the log
    // Kind::Unknown only: the decision per kind (interactive, command,
    // transfer), handed to the recorder, which knows the kind when it starts.
    bool per_kind = false;
    bool kind_recorded[3] = {false, false, false};
};

// A checked, read-only mapping of the cache; RAII over cache::Mapping.
class Cache {
public:
    // Throws std::runtime_error naming the path and what is wrong.
    explicit Cache(const std::string& path);
    ~Cache();
    Cache(const Cache&) = delete;
    Cache& operator=(const Cache&) = delete;

    const tlog::policy::cache::View& view() const { return m_.view; }
    const std::string& path() const { return path_; }
    bool still_current() const;
    std::string recorder() const { return m_.view.recorder(); }

    // View::decision() for the login's service and kind.
    Decision decide(const char* user, uid_t uid, gid_t gid, const std::string& service, Kind kind) const;

private:
    tlog::policy::cache::Mapping m_{};
    std::string path_;
};

// The process-wide cache for `path`, mapped again when the file was
// replaced (tlog-policy compile renames a new one into place). Login
// programs open many sessions in one process (cron, a libpamtest loop):
// the mapping and its checksum are paid once. Thread-safe.
std::shared_ptr<const Cache> cache_for(const std::string& path);

}  // namespace pam_tlog
