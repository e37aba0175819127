// Block-wise line splitting for for_each_line (decoder.h).
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "tlog/error.h"

namespace tlog {

// No message of any writer comes near this; a longer "line" is not a
// recording (or is an attack on the reader's memory).
constexpr size_t kMaxLine = size_t(64) << 20;

template <class Fn>
void for_each_line(int fd, Fn&& fn) {
    constexpr size_t kBlock = 1 << 20;
    std::vector<char> buf(kBlock);
    size_t have = 0;
    uint64_t line_no = 0;
    for (;;) {
        if (have == buf.size()) {  // a line longer than the buffer
            if (buf.size() >= kMaxLine)
                throw InputError({"", line_no + 1, 0, ""},
                                 "line longer than " + std::to_string(kMaxLine >> 20) + " MiB: not a recording");
            buf.resize(buf.size() * 2);
        }
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

}  // namespace tlog
