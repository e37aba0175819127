// Eight bytes at a time: the bulk of terminal output is printable ASCII that
// JSON copies unchanged, and testing a word at once keeps the codec's hot
// loops near memcpy speed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tlog::swar {

constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHigh = 0x8080808080808080ull;

inline uint64_t load8(const void* p) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
}

// Nonzero if some byte of w is zero.
constexpr uint64_t has_zero(uint64_t w) { return (w - kOnes) & ~w & kHigh; }
// Nonzero if some byte of w equals c.
constexpr uint64_t has_byte(uint64_t w, uint8_t c) { return has_zero(w ^ (kOnes * c)); }
// Nonzero if some byte of w is below n (n <= 128).
constexpr uint64_t has_less(uint64_t w, uint8_t n) { return (w - kOnes * n) & ~w & kHigh; }

// Masks: the lowest set bit marks the first byte of interest exactly (the
// borrows and carries of the tricks can only add bits above a true one), so
// first_marked() finds it.
// Bytes that are not printable ASCII (controls, DEL, >= 0x80): a byte
// >= 0x7f sets its high bit after adding 1 (or had it already).
inline uint64_t nonprintable_mask(uint64_t w) { return ((w | (w + kOnes)) & kHigh) | has_less(w, 0x20); }
inline uint64_t json_nonplain_mask(uint64_t w) { return nonprintable_mask(w) | has_byte(w, '"') | has_byte(w, '\\'); }
inline uint64_t json_special_mask(uint64_t w) { return has_less(w, 0x20) | has_byte(w, '"') | has_byte(w, '\\'); }
inline size_t first_marked(uint64_t mask) { return static_cast<size_t>(__builtin_ctzll(mask)) / 8; }

// True if all eight bytes are printable ASCII other than '"' and '\\': bytes
// a JSON string holds as they are.
inline bool all_json_plain(uint64_t w) {
    // A byte >= 0x7f sets its high bit after adding 1 (or had it already).
    uint64_t high = (w | (w + kOnes)) & kHigh;
    return !(high | has_less(w, 0x20) | has_byte(w, '"') | has_byte(w, '\\'));
}

// True if none of the eight bytes ends a JSON string run: '"', '\\' or a
// control byte. Bytes >= 0x80 (UTF-8) are fine here.
inline bool none_json_special(uint64_t w) {
    // has_less needs bytes < 0x80 to be exact; for bytes >= 0x80 the ~w term clears the flag.
    return !(has_less(w, 0x20) | has_byte(w, '"') | has_byte(w, '\\'));
}

}  // namespace tlog::swar
