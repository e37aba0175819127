// Writing a whole buffer to a file descriptor: the readers that copy a
// journal or a server's messages into the player's private file.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <system_error>

namespace tlog::play {

// One write per call where the kernel takes it all, so a reader following
// the file never sees half of a batch of whole lines. Throws
// std::system_error on a write error.
inline void write_all(int fd, std::string_view buf) {
    while (!buf.empty()) {
        const ssize_t w = ::write(fd, buf.data(), buf.size());
        if (w < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "write");
        }
        buf.remove_prefix(static_cast<size_t>(w));
    }
}

}  // namespace tlog::play
