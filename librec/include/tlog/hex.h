// Hexadecimal, the one way the suite writes MACs, digests, keys and ids.
#pragma once

#include <cstddef>
#include <string>

#include "tlog/api.h"

namespace tlog::hex {

// Value of a hex digit (either case), -1 if `c` is not one. Inline: the
// JSON decoder calls it for every \u escape of terminal output.
constexpr int digit_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
// Lowercase hex of `n` bytes.
TLOG_API std::string encode(const void* data, size_t n);
// `n` random bytes (getrandom) in hex: recording ids. Throws when the kernel
// has no randomness to give.
TLOG_API std::string random(size_t n);

}  // namespace tlog::hex
