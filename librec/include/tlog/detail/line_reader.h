// Block-wise line splitting for for_each_line (decoder.h).
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

namespace tlog {

template <class Fn>
void for_each_line(int fd, Fn&& fn) {
    constexpr size_t kBlock = 1 << 20;
    std::vector<char> buf(kBlock);
    size_t have = 0;
    uint64_t line_no = 0;
    for (;;) {
        if (have == buf.size()) buf.resize(buf.size() * 2);  // a line longer than the buffer
        ssize_t n = ::read(fd, buf.data() + have, buf.size() - have);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "read");
        }
        if (n == 0) break;
        size_t end = have + static_cast<size_t>(n);
        size_t start = 0;
        for (;;) {
            auto nl = static_cast<const char*>(std::memchr(buf.data() + start, '\n', end - start));
            if (!nl) break;
            size_t len = static_cast<size_t>(nl - (buf.data() + start));
            fn(std::string_view(buf.data() + start, len), ++line_no);
            start += len + 1;
        }
        std::memmove(buf.data(), buf.data() + start, end - start);
        have = end - start;
    }
    if (have) fn(std::string_view(buf.data(), have), ++line_no);
}

} // namespace tlog
