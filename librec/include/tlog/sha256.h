// SHA-256 (FIPS 180-4), with the x86 SHA extensions when the CPU has them.
// Ours rather than libcrypto's: the recorder runs once per login and must stay
// small (libcrypto's initialisation alone touches about 2.6 MB), and the
// integrity chain and the drop records need nothing else from it. Tested
// against OpenSSL and the NIST vectors (tests/librec/test_sha256.cc).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tlog/api.h"

namespace tlog {

class TLOG_API Sha256 {
public:
    using Digest = std::array<uint8_t, 32>;

    Sha256();
    void update(const void* data, size_t len);
    void update(std::string_view s) { update(s.data(), s.size()); }
    // The digest of everything given so far. The object must not be updated after.
    Digest finish();

    // The digest in hex, and the object ready for new data.
    std::string hex_and_reset() {
        std::string h = hex(finish());
        *this = Sha256();
        return h;
    }

    static Digest of(std::string_view s);
    static std::string hex(const Digest& d);

private:
    uint32_t h_[8];
    uint8_t buf_[64];
    size_t buf_len_ = 0;
    uint64_t total_ = 0;
};

// HMAC-SHA256 (RFC 2104) with the key schedule done once: each message costs
// two copies of prepared states.
class TLOG_API HmacSha256 {
public:
    explicit HmacSha256(std::string_view key);
    // A fresh MAC computation for one message.
    Sha256 begin() const { return inner_; }
    Sha256::Digest finish(Sha256& inner) const;

private:
    Sha256 inner_, outer_;
};

}  // namespace tlog
