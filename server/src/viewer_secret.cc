#include "viewer_secret.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "tlog/sha256.h"

namespace tlog::server {

std::string random_hex(size_t bytes) {
    std::vector<uint8_t> buf(bytes);
    size_t got = 0;
    while (got < bytes) {
        ssize_t n = getrandom(buf.data() + got, bytes - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error("getrandom failed: no random bytes for a secret");
        got += static_cast<size_t>(n);
    }
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes * 2);
    for (uint8_t b : buf) {
        out += digits[b >> 4U];
        out += digits[b & 15U];
    }
    return out;
}

std::string new_secret() { return random_hex(32); }

std::string secret_hash(std::string_view secret) { return Sha256::hex(Sha256::of(secret)); }

bool same_hash(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;  // both hex SHA-256: the length is no secret
    unsigned diff = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        diff |= static_cast<unsigned>(static_cast<uint8_t>(a[i]) ^ static_cast<uint8_t>(b[i]));
    }
    return diff == 0;
}

}  // namespace tlog::server
