#include "tlog/server/secret.h"

#include <cstdint>

#include "tlog/hex.h"
#include "tlog/sha256.h"

namespace tlog::server {

std::string new_secret() { return hex::random(32); }

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
