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

const char* kind_name(Kind k) {
    switch (k) {
    case Kind::Interactive: return "interactive";
    case Kind::Command: return "command";
    case Kind::Unknown: return "interactive or command";
    }
    return "?";
}

Cache::Cache(const std::string& path) : path_(path) {
    if (const char* err = cache::map_file(path.c_str(), &m_))
        throw std::runtime_error("policy cache " + path + ": " + err);
}

Cache::~Cache() { cache::unmap(&m_); }

bool Cache::still_current() const { return cache::same_file(path_.c_str(), m_); }

uint32_t Cache::class_of(const std::string& service, unsigned kind_bit) const {
    // The class table lists the services the rules name, then "" for every
    // other service (cache_format.h); class = 3 * service index + kind bit.
    const cache::Header& h = m_.view.header();
    const auto* base = reinterpret_cast<const char*>(&h);
    const auto* services = reinterpret_cast<const uint32_t*>(base + h.class_services.offset);
    const uint32_t n = h.class_services.count;
    uint32_t other = n - 1;
    for (uint32_t i = 0; i < n; ++i) {
        const char* s = m_.view.str(services[i]);
        if (*s == '\0') other = i;
        else if (service == s) return 3 * i + kind_bit;
    }
    return 3 * other + kind_bit;
}

Decision Cache::decide(const char* user, uid_t uid, gid_t gid, const std::string& service, Kind kind) const {
    uint32_t best[cache::kMaxClasses];
    m_.view.decide(user, uid, gid, best);
    const bool default_record = m_.view.header().flags & cache::kDefaultRecord;
    auto one = [&](unsigned kind_bit) {
        const uint32_t c = class_of(service, kind_bit);
        Decision d;
        const uint32_t r = best[c];
        if (r == cache::kNone) {
            d.recorded = default_record;
            d.settings = "{}";
            d.reason = std::string(d.recorded ? "recorded" : "not recorded") + " by the default: no rule matches";
            return d;
        }
        const cache::Rule& rule = m_.view.rule(r);
        d.recorded = rule.action == 0;
        d.rule = m_.view.str(rule.name);
        d.settings = m_.view.str(rule.settings);
        d.retention = m_.view.str(rule.retention);
        d.audit = rule.audit;
        d.reason = std::string(d.recorded ? "recorded" : "not recorded") + " by rule '" + d.rule + "'";
        return d;
    };
    switch (kind) {
    case Kind::Interactive: return one(0);
    case Kind::Command: return one(1);
    case Kind::Unknown: break;
    }
    // Not known yet (sshd): recorded if any kind would be, with the first
    // recording kind's rule and settings; the per-kind answers go to the
    // recorder, which starts the session unrecorded for a kind the rules do
    // not record (pam_tlog(8) SESSION KIND).
    Decision k[3] = {one(0), one(1), one(2)};
    int first = 0;
    while (first < 3 && !k[first].recorded) ++first;
    Decision d = k[first < 3 ? first : 0];
    d.per_kind = true;
    for (int i = 0; i < 3; ++i) d.kind_recorded[i] = k[i].recorded;
    if (d.recorded && !(k[0].recorded && k[1].recorded && k[2].recorded))
        d.reason += std::string(" (kinds recorded:") + (k[0].recorded ? " interactive" : "") +
                    (k[1].recorded ? " command" : "") + (k[2].recorded ? " transfer" : "") + ")";
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

} // namespace pam_tlog
