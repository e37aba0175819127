#include "tlog/integrity.h"

#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "tlog/error.h"
#include "tlog/hex.h"
#include "tlog/sha256.h"

namespace tlog::integrity {

const char* alg_name(Alg a) { return a == Alg::Sha256 ? "sha256" : "hmac-sha256"; }

std::optional<Alg> alg_from_name(std::string_view name) {
    if (name == "sha256") return Alg::Sha256;
    if (name == "hmac-sha256") return Alg::HmacSha256;
    return std::nullopt;
}

const Key* Keyring::find(std::string_view id) const {
    for (const auto& k : keys_)
        if (k.id == id) return &k;
    return nullptr;
}

Key load_key_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw InputError({path, 0, 0, ""}, "cannot open integrity key file");
    Key k;
    auto slash = path.rfind('/');
    k.id = slash == std::string::npos ? path : path.substr(slash + 1);
    std::string line, hex;
    uint64_t lineno = 0;
    while (std::getline(in, line)) {
        lineno++;
        if (line.rfind("id:", 0) == 0 && lineno == 1) {
            k.id = line.substr(3);
            while (!k.id.empty() && k.id.front() == ' ') k.id.erase(0, 1);
            continue;
        }
        for (char c : line) {
            if (c == ' ' || c == '\t' || c == '\r') continue;
            if (hex::digit_value(c) < 0) throw InputError({path, lineno, 0, ""}, "key must be written in hexadecimal");
            hex.push_back(c);
        }
    }
    if (hex.size() % 2) throw InputError({path, 0, 0, ""}, "key has an odd number of hex digits");
    for (size_t i = 0; i < hex.size(); i += 2)
        k.secret.push_back(static_cast<char>(hex::digit_value(hex[i]) << 4 | hex::digit_value(hex[i + 1])));
    if (k.secret.size() < 32) throw InputError({path, 0, 0, ""}, "key is shorter than 32 bytes");
    if (k.id.empty()) throw InputError({path, 1, 0, ""}, "empty key id");
    return k;
}

namespace {
void put_u64(uint8_t* b, uint64_t v) {
    for (int i = 7; i >= 0; i--) {
        b[i] = static_cast<uint8_t>(v);
        v >>= 8;
    }
}

// Feeds the canonical message form (doc/format.md) into a digest.
struct Feed {
    Sha256& h;
    void lv(std::string_view s) {
        uint8_t b[8];
        put_u64(b, s.size());
        h.update(b, 8);
        h.update(s);
    }
    void u64(uint64_t v) {
        uint8_t b[8];
        put_u64(b, v);
        h.update(b, 8);
    }
};
}  // namespace

struct TLOG_LOCAL Chain::Impl {
    std::optional<HmacSha256> hmac;  // empty for the unkeyed chain
};

Chain::Chain(Alg alg, const Key* key) : alg_(alg), impl_(std::make_unique<Impl>()) {
    if (alg == Alg::HmacSha256) {
        if (!key) throw std::invalid_argument("hmac-sha256 chain needs a key");
        impl_->hmac.emplace(key->secret);
    }
}

Chain::~Chain() = default;

Mac Chain::compute(const Mac& prev, const Fields& f) {
    Sha256 h = impl_->hmac ? impl_->hmac->begin() : Sha256();
    static constexpr char kDomain[] = "tlog-chain-1";
    h.update(kDomain, sizeof kDomain);  // includes the NUL: a fixed 13-byte prefix
    h.update(prev.data(), prev.size());
    Feed s{h};
    s.lv(f.host);
    s.lv(f.rec);
    s.lv(f.user);
    s.lv(f.term);
    s.u64(f.session);
    s.u64(f.id);
    s.u64(f.pos);
    s.u64(f.time_ms);
    s.lv(f.timing);
    s.lv(f.in_txt);
    s.lv(f.in_bin);
    s.lv(f.out_txt);
    s.lv(f.out_bin);
    s.lv(f.end);
    s.lv(f.alg);
    s.lv(f.key_id);
    s.lv(f.ext);
    return impl_->hmac ? impl_->hmac->finish(h) : h.finish();
}

void append_ext(std::string& ext, std::string_view name, std::string_view canonical_json) {
    for (std::string_view part : {name, canonical_json}) {
        uint8_t b[8];
        put_u64(b, part.size());
        ext.append(reinterpret_cast<const char*>(b), 8);
        ext.append(part);
    }
}

std::string to_hex(const Mac& m) { return hex::encode(m.data(), m.size()); }

std::optional<Mac> from_hex(std::string_view s) {
    if (s.size() != kMacSize * 2) return std::nullopt;
    Mac m{};
    for (size_t i = 0; i < kMacSize; i++) {
        int hi = hex::digit_value(s[2 * i]), lo = hex::digit_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        m[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return m;
}

bool equal(const Mac& a, const Mac& b) {
    // Constant time: how much of a MAC matched must not show in timing.
    volatile uint8_t diff = 0;
    for (size_t i = 0; i < a.size(); i++) diff = diff | (a[i] ^ b[i]);
    return diff == 0;
}

}  // namespace tlog::integrity
