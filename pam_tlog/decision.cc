#include "decision.h"

#include <cstring>
#include <mutex>
#include <stdexcept>

namespace pam_tlog {

namespace cache = tlog::policy::cache;

Kind session_kind(const char* tty) {
    if (!tty || !*tty) return Kind::Command;
    // sshd sets PAM_TTY to "ssh" before it knows whether a pty will be
    // requested; only the recorder can tell later (it runs -c or not).
    if (std::strcmp(tty, "ssh") == 0) return Kind::Unknown;
    if (tty[0] == '/' || std::strncmp(tty, "tty", 3) == 0 || std::strncmp(tty, "pts/", 4) == 0 || tty[0] == ':')
        return Kind::Interactive;
    return Kind::Unknown;
}

Cache::Cache(const std::string& path) : path_(path) {
    if (const char* err = cache::map_file(path.c_str(), &m_))
        throw std::runtime_error("policy cache " + path + ": " + err);
}

Cache::~Cache() { cache::unmap(&m_); }

bool Cache::still_current() const { return cache::same_file(path_.c_str(), m_); }

Decision Cache::decide(const char* user, uid_t uid, gid_t gid, const std::string& service, Kind kind) const {
    const cache::Decision c = m_.view.decision(user, uid, gid, service.c_str(), kind);
    Decision d;
    d.recorded = c.recorded;
    d.rule = c.rule;
    d.settings = c.settings;
    d.retention = c.retention;
    d.audit = c.audit;
    d.reason.resize(c.reason(nullptr, 0));
    c.reason(d.reason.data(), d.reason.size() + 1);
    d.per_kind = c.per_kind;
    for (int i = 0; i < 3; ++i) d.kind_recorded[i] = c.kind_recorded[i];
    return d;
}

std::shared_ptr<const Cache> cache_for(const std::string& path) {
    static std::mutex mu;
    static std::shared_ptr<const Cache> current;
    std::lock_guard<std::mutex> lock(mu);
    if (current && current->path() == path && current->still_current()) return current;
    current = std::make_shared<const Cache>(path);
    return current;
}

}  // namespace pam_tlog
