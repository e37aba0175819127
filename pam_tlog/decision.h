// The recording decision for one login, read from the compiled policy cache
// (the same file and the same View::decide() nss_tlog uses, so PAM and NSS
// can never disagree about who is recorded; see doc "why the cache").
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "tlog/policy/cache_reader.h"

namespace pam_tlog {

// What kind of session the login program is starting, from PAM_TTY.
enum class Kind {
    Interactive,   // a terminal: /dev/..., tty*, pts/*, :N (login, su on a tty)
    Command,       // explicitly no terminal (PAM_TTY unset for su -c without a tty)
    Unknown,       // sshd: PAM_TTY is "ssh" at open_session, before any pty exists
};
Kind session_kind(const char* tty);
const char* kind_name(Kind k);

struct Decision {
    bool recorded = false;
    std::string rule;        // the deciding rule's name; "" when the default decided
    std::string settings;    // the rule's recording settings, JSON object text
    std::string retention;
    int audit = 2;           // 0 none, 1 login, 2 session (the rule's audit level)
    std::string reason;      // one line for the log
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

    Decision decide(const char* user, uid_t uid, gid_t gid, const std::string& service, Kind kind) const;

private:
    uint32_t class_of(const std::string& service, unsigned kind_bit) const;
    tlog::policy::cache::Mapping m_{};
    std::string path_;
};

// The process-wide cache for `path`, mapped again when the file was
// replaced (tlog-policy compile renames a new one into place). Login
// programs open many sessions in one process (cron, a libpamtest loop):
// the mapping and its checksum are paid once. Thread-safe.
std::shared_ptr<const Cache> cache_for(const std::string& path);

} // namespace pam_tlog
