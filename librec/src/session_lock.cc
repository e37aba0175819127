#include "tlog/session_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

namespace tlog::rec {

uint32_t audit_session_id() {
    int fd = ::open("/proc/self/sessionid", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return kUnsetSession;
    char buf[32];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return kUnsetSession;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(buf, buf + n, v);
    if (ec != std::errc() || v > kUnsetSession) return kUnsetSession;
    return static_cast<uint32_t>(v);
}

SessionLock::SessionLock(uint32_t session, const std::string& dir) {
    if (session == kUnsetSession) {
        state_ = State::Unset;
        return;
    }
    std::string path = dir + "/session." + std::to_string(session) + ".lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd_ < 0) {
        state_ = State::Failed;
        error_ = "cannot open session lock " + path + ": " + strerror(errno);
        return;
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) {
        state_ = State::Acquired;
        return;
    }
    int e = errno;
    ::close(fd_);
    fd_ = -1;
    if (e == EWOULDBLOCK) {
        state_ = State::Busy;
    } else {
        state_ = State::Failed;
        error_ = "cannot lock " + path + ": " + strerror(e);
    }
}

SessionLock::~SessionLock() {
    if (fd_ >= 0) ::close(fd_);
}

} // namespace tlog::rec
