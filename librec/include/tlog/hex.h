// Hexadecimal, the one way the suite writes MACs, digests, keys and ids.
#pragma once

#include <cstddef>
#include <string>

namespace tlog::hex {

// Value of a hex digit (either case), -1 if `c` is not one.
int digit_value(char c);
// Lowercase hex of `n` bytes.
std::string encode(const void* data, size_t n);
// `n` random bytes (getrandom) in hex: recording ids. Throws when the kernel
// has no randomness to give.
std::string random(size_t n);

}  // namespace tlog::hex
