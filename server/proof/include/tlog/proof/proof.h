// tlog-server's signed checkpoints and evidence, the part a verifier
// without the server needs (doc/server.md, "Integrity"): a recording's
// hash over its stored messages, the canonical checkpoint entry, the
// Merkle tree over a checkpoint's entries (RFC 6962's, SHA-256), the
// signed statement, and the Ed25519 key (OpenSSL's libcrypto).
// libtlog-proof: librec and libcrypto only, so that tlog-evidence-verify
// needs neither the server's library nor a database.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tlog/sha256.h"

namespace tlog::proof {

using Digest = Sha256::Digest;

// A recording's hash over its messages in id order:
// h_0 = 32 zero bytes, h_i = SHA-256(h_{i-1} || U64(id) || U64(len) || json),
// U64 big-endian; so a later checkpoint extends it with the new messages.
class RecordingHash {
public:
    RecordingHash() = default;
    RecordingHash(const Digest& h, uint64_t count, uint64_t last_id) : h_(h), count_(count), last_id_(last_id) {}
    void add(uint64_t id, std::string_view json);
    const Digest& digest() const { return h_; }
    uint64_t count() const { return count_; }
    uint64_t last_id() const { return last_id_; }

private:
    Digest h_{};
    uint64_t count_ = 0, last_id_ = 0;
};

// One recording's state in a checkpoint: its messages with id <= last_id,
// `covered` of them, hashed (RecordingHash).
struct Entry {
    std::string host, rec;
    uint64_t covered = 0, last_id = 0;
    Digest hash{};
    // "tlog-checkpoint-entry-1\0" || LV(host) || LV(rec) || U64(covered) ||
    // U64(last_id) || hash, LV(s) = U64(length) || s.
    std::string canonical() const;
};

// RFC 6962: leaf = H(0x00 || data), node = H(0x01 || left || right), the
// left subtree the largest power of two below n. Empty: H("").
Digest leaf_hash(std::string_view data);
Digest merkle_root(const std::vector<Digest>& leaves);
// The audit path of leaf `index` (RFC 6962 2.1.1), and its check.
std::vector<Digest> merkle_proof(const std::vector<Digest>& leaves, size_t index);
Digest root_from_proof(const Digest& leaf, size_t index, size_t size, const std::vector<Digest>& proof);

// A signed checkpoint.
struct Checkpoint {
    uint64_t seq = 0, time_ms = 0, entries = 0;
    Digest prev{}, root{};  // prev: the previous checkpoint's hash (zeros for the first)
    std::string key_id;     // the key's fingerprint (hex)
    std::string signature;  // Ed25519 over statement(), 64 bytes
    // What is signed, as text:
    // "tlog-server checkpoint 1\nseq S\ntime_ms T\nprev HEX\nroot HEX\nentries N\nkey FP\n".
    std::string statement() const;
    // SHA-256 of the statement: the next checkpoint's prev.
    Digest hash() const;
};

// What a retention run signs for each recording it purges or archives
// (its tombstone, doc/server.md "Retention"), so that verify can tell a
// purge by the key's holder from a deletion by someone with the database
// only. Every field of the stored tombstone but its row number.
struct TombstoneStatement {
    std::string host, rec, user, who, account, class_name, reason, action, archive_file;
    uint64_t run_ms = 0, purged_ms = 0, first_ms = 0, last_ms = 0, messages = 0, bytes = 0;
    std::string sha256, archive_sha256;  // hex ('' when not archived)
    Digest hash{};                       // RecordingHash over its messages at purge time
    uint64_t count = 0;                  // RecordingHash's count
    std::string key_id;                  // the signing key's fingerprint (hex)
    // What is signed, as text, strings as JSON strings (so no value can
    // add a line):
    // "tlog-server tombstone 1\nhost \"H\"\nrec \"R\"\nuser \"U\"\n"
    // "first_ms F\nlast_ms L\nmessages N\nbytes B\nsha256 \"HEX\"\nhash HEX\n"
    // "count C\nrun_ms R\npurged_ms P\nwho \"W\"\naccount \"A\"\nclass \"C\"\n"
    // "reason \"R\"\naction \"A\"\narchive_file \"F\"\narchive_sha256 \"HEX\"\n"
    // "key FP\n"; FP the key's fingerprint, HEX lower case.
    std::string statement() const;
};

std::string hex(const Digest& d);
// Throws std::runtime_error naming `what` unless `text` is 64 hex digits.
Digest digest_from_hex(std::string_view text, const std::string& what);
std::string to_hex(std::string_view bytes);
std::string from_hex(std::string_view text, const std::string& what);

// An Ed25519 key (private, or public only) through OpenSSL's EVP.
class Key {
public:
    ~Key();
    Key(Key&&) noexcept;
    Key& operator=(Key&&) noexcept;
    Key(const Key&) = delete;
    Key& operator=(const Key&) = delete;

    // Writes a new key: `path` (PKCS#8 PEM, created with mode 0600, not
    // overwritten) and path + ".pub" (SubjectPublicKeyInfo PEM). Throws
    // naming the file.
    static void generate(const std::string& path);
    // A private key file; refused unless its mode gives nothing to group
    // and others (0600 or stricter), and unless it is Ed25519.
    static Key load_private(const std::string& path);
    static Key load_public(const std::string& path);

    bool has_private() const { return private_; }
    std::string sign(std::string_view message) const;  // 64 bytes
    bool verify(std::string_view message, std::string_view signature) const;
    // SHA-256 of the raw 32-byte public key, hex.
    std::string fingerprint() const;
    std::string public_pem() const;

private:
    struct Pkey;
    Key(std::unique_ptr<Pkey> p, bool priv);
    std::unique_ptr<Pkey> key_;
    bool private_ = false;
};

}  // namespace tlog::proof
