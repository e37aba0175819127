// UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates, nothing
// above U+10FFFF. Used by the encoder to decide what goes into a text field
// and what into a binary one, and by the readers to validate text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tlog/detail/swar.h"

namespace tlog::utf8 {

// Expected sequence length from a lead byte, 0 if it cannot start one.
constexpr size_t lead_length(uint8_t b) {
    if (b < 0x80) return 1;
    if (b < 0xc2) return 0;  // continuation byte or overlong 2-byte lead
    if (b < 0xe0) return 2;
    if (b < 0xf0) return 3;
    if (b < 0xf5) return 4;
    return 0;
}

// Whether `b` may follow the lead byte `lead` as the second byte (the range
// depends on the lead byte to exclude overlongs, surrogates and > U+10FFFF).
constexpr bool second_ok(uint8_t lead, uint8_t b) {
    switch (lead) {
        case 0xe0: return b >= 0xa0 && b <= 0xbf;
        case 0xed: return b >= 0x80 && b <= 0x9f;
        case 0xf0: return b >= 0x90 && b <= 0xbf;
        case 0xf4: return b >= 0x80 && b <= 0x8f;
        default: return b >= 0x80 && b <= 0xbf;
    }
}

constexpr bool is_continuation(uint8_t b) { return (b & 0xc0) == 0x80; }

// Length of the valid sequence at the start of [p, end): 0 if invalid, or if
// it is cut by `end` (then *incomplete is set).
inline size_t valid_prefix(const uint8_t* p, const uint8_t* end, bool* incomplete = nullptr) {
    if (incomplete) *incomplete = false;
    size_t n = lead_length(p[0]);
    if (n <= 1) return n;
    for (size_t i = 1; i < n; i++) {
        if (p + i >= end) {
            if (incomplete) *incomplete = true;
            return 0;
        }
        bool ok = i == 1 ? second_ok(p[0], p[1]) : is_continuation(p[i]);
        if (!ok) return 0;
    }
    return n;
}

// Length of the longest prefix of an invalid position that forms one
// "maximal subpart" (Unicode's rule for how many bytes one U+FFFD replaces):
// a lead byte plus the continuation bytes that were valid so far.
inline size_t invalid_length(const uint8_t* p, const uint8_t* end) {
    size_t n = lead_length(p[0]);
    if (n <= 1) return 1;
    size_t i = 1;
    for (; i < n && p + i < end; i++) {
        bool ok = i == 1 ? second_ok(p[0], p[i]) : is_continuation(p[i]);
        if (!ok) break;
    }
    return i;
}

inline bool is_valid(std::string_view s) {
    auto p = reinterpret_cast<const uint8_t*>(s.data());
    auto end = p + s.size();
    while (p < end) {
        // Eight ASCII bytes at a time: most terminal text.
        if (end - p >= 8 && !(swar::load8(p) & swar::kHigh)) {
            p += 8;
            continue;
        }
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t n = valid_prefix(p, end);
        if (!n) return false;
        p += n;
    }
    return true;
}

// Writes the UTF-8 form of `cp` (< 0x110000) to `out`; returns its length (1-4).
inline size_t encode(uint32_t cp, char* out) {
    if (cp < 0x80) {
        out[0] = static_cast<char>(cp);
        return 1;
    }
    if (cp < 0x800) {
        out[0] = static_cast<char>(0xc0 | cp >> 6);
        out[1] = static_cast<char>(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = static_cast<char>(0xe0 | cp >> 12);
        out[1] = static_cast<char>(0x80 | (cp >> 6 & 0x3f));
        out[2] = static_cast<char>(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = static_cast<char>(0xf0 | cp >> 18);
    out[1] = static_cast<char>(0x80 | (cp >> 12 & 0x3f));
    out[2] = static_cast<char>(0x80 | (cp >> 6 & 0x3f));
    out[3] = static_cast<char>(0x80 | (cp & 0x3f));
    return 4;
}

inline void append(std::string& out, uint32_t cp) {
    char buf[4];
    out.append(buf, encode(cp, buf));
}

inline constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD

}  // namespace tlog::utf8
