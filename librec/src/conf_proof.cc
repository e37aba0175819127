#include "tlog/conf_proof.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>

#include "tlog/sha256.h"
#include "tlog_build_config.h"

namespace tlog::rec {

uint32_t audit_session_id() {
    int fd = ::open("/proc/self/sessionid", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return kUnsetSession;
    char buf[32];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return kUnsetSession;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(buf, buf + n, v);
    if (ec != std::errc() || v > kUnsetSession) return kUnsetSession;
    return static_cast<uint32_t>(v);
}

namespace {

integrity::Mac compute(const integrity::Key& key, std::string_view user, uint32_t session, int64_t expires,
                       std::string_view text) {
    std::string m = "tlog-conf-proof-v1\n";
    m.append(user);
    m += "\n" + std::to_string(session) + "\n" + std::to_string(expires) + "\n";
    m.append(text);
    HmacSha256 hmac(key.secret);
    Sha256 inner = hmac.begin();
    inner.update(m);
    return hmac.finish(inner);
}

}  // namespace

std::string conf_proof_key_path() { return std::string(TLOG_SYSCONFDIR) + "/conf-proof.key"; }

std::string make_conf_proof(const integrity::Key& key, std::string_view user, uint32_t session, int64_t expires,
                            std::string_view conf_text) {
    return "v1:" + std::to_string(expires) + ":" + integrity::to_hex(compute(key, user, session, expires, conf_text));
}

bool verify_conf_proof(const integrity::Key& key, std::string_view proof, std::string_view user, uint32_t session,
                       int64_t now, std::string_view conf_text, std::string& why) {
    if (proof.substr(0, 3) != "v1:") {
        why = "unknown proof version";
        return false;
    }
    proof.remove_prefix(3);
    size_t colon = proof.find(':');
    if (colon == std::string_view::npos) {
        why = "malformed proof";
        return false;
    }
    int64_t expires = 0;
    auto [p, ec] = std::from_chars(proof.data(), proof.data() + colon, expires);
    if (ec != std::errc() || p != proof.data() + colon) {
        why = "malformed expiry";
        return false;
    }
    auto mac = integrity::from_hex(proof.substr(colon + 1));
    if (!mac) {
        why = "malformed MAC";
        return false;
    }
    if (!integrity::equal(*mac, compute(key, user, session, expires, conf_text))) {
        why = "MAC does not match (text, user or session differ, or forged)";
        return false;
    }
    if (now > expires) {
        why = "proof expired";
        return false;
    }
    return true;
}

}  // namespace tlog::rec
