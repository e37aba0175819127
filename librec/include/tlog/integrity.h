// The integrity chain: an extension of tlog's format carried in new fields
// ("mac", "mac_alg", "mac_key", "end") that old readers ignore. Each message
// carries a MAC over its content and the previous message's MAC, so removed,
// altered, reordered or forged messages, and a missing clean end, are found.
// The exact construction is specified in doc/format.md.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tlog/api.h"

namespace tlog::integrity {

constexpr size_t kMacSize = 32;
using Mac = std::array<uint8_t, kMacSize>;

enum class Alg {
    Sha256,      // "sha256": unkeyed; detects damage and tampering by anyone who
                 // cannot recompute the whole chain (doc/format.md says when that is)
    HmacSha256,  // "hmac-sha256": keyed with a key the recorded user cannot read
};
TLOG_API const char* alg_name(Alg a);
TLOG_API std::optional<Alg> alg_from_name(std::string_view name);

struct TLOG_API Key {
    std::string id;      // written as "mac_key" so verifiers can pick the key
    std::string secret;  // raw key bytes
};

// Reads a key file: the key id is the file's base name unless the file has
// "id:" on its first line; the secret is the rest (hex, at least 32 bytes
// once decoded). Throws InputError naming the file.
TLOG_API Key load_key_file(const std::string& path);

class TLOG_API Keyring {
public:
    void add(Key k) { keys_.push_back(std::move(k)); }
    const Key* find(std::string_view id) const;
    bool empty() const { return keys_.empty(); }

private:
    std::vector<Key> keys_;
};

// The message content a MAC covers, as decoded values (so a reader that
// re-serializes the JSON differently does not break the chain).
struct TLOG_API Fields {
    std::string_view host, rec, user, term;
    uint64_t session = 0, id = 0, pos = 0, time_ms = 0;
    std::string_view timing, in_txt, in_bin, out_txt, out_bin;
    std::string_view end;     // "" unless this is the last message
    std::string_view alg;     // "sha256" / "hmac-sha256"
    std::string_view key_id;  // "" when unkeyed
    std::string_view ext;     // the fields "mac_fields" names, as append_ext() builds them
};

// Appends one extension field to Fields::ext: its name and its value as
// compact JSON in the form json::dump() writes (so re-serialized JSON still verifies).
TLOG_API void append_ext(std::string& ext, std::string_view name, std::string_view canonical_json);

// Computes MACs of successive messages. Cheap to reuse: the key schedule is
// prepared once.
class TLOG_API Chain {
public:
    Chain(Alg alg, const Key* key);  // key required for HmacSha256
    ~Chain();
    Chain(const Chain&) = delete;
    Chain& operator=(const Chain&) = delete;

    Mac compute(const Mac& prev, const Fields& f);
    Alg alg() const { return alg_; }

private:
    struct Impl;
    Alg alg_;
    std::unique_ptr<Impl> impl_;
};

TLOG_API std::string to_hex(const Mac& m);
TLOG_API std::optional<Mac> from_hex(std::string_view s);
inline Mac zero_mac() { return Mac{}; }

// Constant-time comparison.
TLOG_API bool equal(const Mac& a, const Mac& b);

}  // namespace tlog::integrity
