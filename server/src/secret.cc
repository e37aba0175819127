#include "tlog/server/secret.h"

#include <strings.h>

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

namespace {

// RFC 4648 base64, strictly: nullopt for anything else.
std::optional<std::string> base64_decode(std::string_view in) {
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    if (in.size() % 4 != 0) return std::nullopt;
    std::string out;
    for (size_t i = 0; i < in.size(); i += 4) {
        unsigned acc = 0;
        int pad = 0;
        for (size_t j = 0; j < 4; ++j) {
            char c = in[i + j];
            if (c == '=' && i + 4 == in.size() && j >= 2) {
                ++pad;
                acc <<= 6U;
                continue;
            }
            int v = val(c);
            if (v < 0 || pad > 0) return std::nullopt;
            acc = (acc << 6U) | static_cast<unsigned>(v);
        }
        out += static_cast<char>((acc >> 16U) & 0xffU);
        if (pad < 2) out += static_cast<char>((acc >> 8U) & 0xffU);
        if (pad < 1) out += static_cast<char>(acc & 0xffU);
    }
    return out;
}

std::string_view trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

}  // namespace

std::optional<Credentials> authorization_credentials(std::string_view header) {
    auto v = trim(header);
    auto scheme_end = v.find(' ');
    if (scheme_end == std::string_view::npos) return std::nullopt;
    auto scheme = v.substr(0, scheme_end);
    auto rest = trim(v.substr(scheme_end + 1));
    if (scheme.size() == 6 && strncasecmp(scheme.data(), "Bearer", 6) == 0) {
        return Credentials{"", std::string(rest), false};
    }
    if (scheme.size() == 5 && strncasecmp(scheme.data(), "Basic", 5) == 0) {
        auto decoded = base64_decode(rest);
        if (!decoded) return std::nullopt;
        auto colon = decoded->find(':');
        if (colon == std::string::npos) return std::nullopt;
        return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1), true};
    }
    return std::nullopt;
}

}  // namespace tlog::server
