// The compiled policy cache (/var/lib/tlog/policy.cache): what `tlog-policy
// compile` writes and nss_tlog maps. Specified in doc/policy-cache.md.
//
// Design: one file, read-only, mmap-able, native byte order (it is compiled on
// the host that reads it), fixed-size records at 8-byte aligned offsets, and
// nothing a reader has to allocate for. Every offset and count is checked
// against the file size before use, and a 64-bit FNV-1a checksum of the whole
// file catches truncation and stray writes. Host matching is already done by the
// compiler: the file only holds the rules that apply to the host it names.
#pragma once

#include <cstdint>

namespace tlog::policy::cache {

constexpr char kMagic[8] = {'T', 'L', 'O', 'G', 'P', 'O', 'L', '\0'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kByteOrderMark = 0x01020304;
constexpr uint32_t kNone = 0xffffffffu;  // "no rule" in per-class tables
constexpr uint32_t kMaxClasses = 64;     // one bit per class in Rule::class_mask

// A section is an array of fixed-size records (or bytes, for strings).
struct Section {
    uint32_t offset;  // from the start of the file, 8-byte aligned
    uint32_t count;   // number of records (bytes for the string section)
};

enum Flags : uint32_t {
    kDefaultRecord = 1u << 0,     // no matching rule means "record"
    kAnswerUnrecorded = 1u << 1,  // nss_tlog answers unrecorded users unchanged instead of NOTFOUND
};

struct Header {
    char magic[8];
    uint32_t version;
    uint32_t byte_order;   // kByteOrderMark as written by the compiler
    uint32_t header_size;  // sizeof(Header) of the writer
    uint32_t flags;
    uint64_t file_size;
    uint64_t checksum;       // file_checksum(): FNV-1a 64 of the whole file, this field as zero
    uint64_t created;        // seconds since the epoch
    uint32_t nclasses;       // (named services + 1) * 3 session kinds, <= 64
    uint32_t recorder;       // string: the shell nss_tlog substitutes
    uint32_t host;           // string: host the rules were resolved for
    uint32_t source;         // string: rules file
    Section strings;         // NUL-terminated strings; offsets below are into it
    Section rules;           // Rule, in evaluation order (index = rank)
    Section names;           // Key sorted by strcmp of the name: user names and group members
    Section uids;            // Key sorted by id: exact uids
    Section gids;            // Key sorted by id: primary gids of the rules' groups
    Section uid_ranges;      // Range
    Section all_users;       // uint32_t rule indices of users: all rules
    Section lists;           // uint32_t rule indices referenced by Key::list
    Section class_services;  // uint32_t string offsets: service of class 3*i..3*i+2 ("" = any other)
};

struct Rule {
    uint64_t class_mask;  // bit c set: the rule applies to class c
    uint32_t name;        // string
    uint32_t settings;    // string: recorder settings JSON
    uint32_t retention;   // string
    uint8_t action;       // 0 record, 1 exclude
    uint8_t audit;        // 0 none, 1 login, 2 session
    uint16_t reserved;
};

struct Key {
    uint32_t key;    // string offset (names) or id (uids, gids)
    uint32_t list;   // index of the first entry in the lists section
    uint32_t count;  // entries
};

struct Range {
    uint32_t lo, hi;  // inclusive uid range
    uint32_t rule;
};

static_assert(sizeof(Section) == 8);
static_assert(sizeof(Header) == 136);
static_assert(sizeof(Rule) == 24);
static_assert(sizeof(Key) == 12);
static_assert(sizeof(Range) == 12);

// The checksum of a whole cache file, its checksum field counted as zeros, so
// that any change to any byte (header included) is noticed.
inline uint64_t file_checksum(const unsigned char* p, uint64_t n) {
    constexpr uint64_t at = __builtin_offsetof(Header, checksum);
    static const unsigned char zeros[8] = {};
    uint64_t h = 0xcbf29ce484222325ull;
    auto feed = [&h](const unsigned char* q, uint64_t m) {
        for (uint64_t i = 0; i < m; ++i) {
            h ^= q[i];
            h *= 0x100000001b3ull;
        }
    };
    feed(p, at);
    feed(zeros, 8);
    feed(p + at + 8, n - at - 8);
    return h;
}

}  // namespace tlog::policy::cache
