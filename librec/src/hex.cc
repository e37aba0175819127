#include "tlog/hex.h"

#include <sys/random.h>

#include <cerrno>
#include <stdexcept>
#include <vector>

namespace tlog::hex {

std::string encode(const void* data, size_t n) {
    static const char digits[] = "0123456789abcdef";
    auto p = static_cast<const unsigned char*>(data);
    std::string s(2 * n, '0');
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[p[i] >> 4];
        s[2 * i + 1] = digits[p[i] & 15];
    }
    return s;
}

std::string random(size_t n) {
    std::vector<unsigned char> b(n);
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(b.data() + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error("no randomness for a recording id");
        }
        got += static_cast<size_t>(r);
    }
    return encode(b.data(), n);
}

}  // namespace tlog::hex
