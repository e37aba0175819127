#include "tlog/rec/terminal_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <utility>

#include "tlog/rec_marker.h"

namespace tlog::rec {

namespace {

// The owner takes the lock with retries rather than blocking: a checker
// (another tlog-rec-session, which its user can stop with SIGSTOP while it
// holds the lock for an instant) must not be able to hang a new recording.
bool lock_with_retries(int fd) {
    for (int i = 0; i < 100; ++i) {
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return true;
        if (errno != EWOULDBLOCK && errno != EINTR) return false;
        timespec ts{0, 10000000};
        nanosleep(&ts, nullptr);
    }
    errno = EWOULDBLOCK;
    return false;
}

bool char_device(int fd, dev_t& rdev) {
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode)) return false;
    rdev = st.st_rdev;
    return true;
}

}  // namespace

TerminalLock::TerminalLock(int tty_fd, const std::string& rec, const std::string& dir) {
    dev_t rdev = 0;
    if (!char_device(tty_fd, rdev)) throw std::runtime_error("the recorded program's terminal is not a device");
    std::string path = marker::terminal_lock_path(dir, rdev);
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd < 0) throw std::runtime_error("cannot open the terminal lock " + path + ": " + strerror(errno));
    if (!lock_with_retries(fd)) {
        int e = errno;
        ::close(fd);
        throw std::runtime_error("cannot lock " + path + ": " + strerror(e));
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, rec.data(), rec.size(), 0) != static_cast<ssize_t>(rec.size())) {
        int e = errno;
        ::close(fd);
        throw std::runtime_error("cannot write " + path + ": " + strerror(e));
    }
    fd_ = fd;
    path_ = std::move(path);
}

TerminalLock::~TerminalLock() {
    if (fd_ < 0) return;
    // Emptied before the lock goes: a stale file never names a recording.
    (void)!ftruncate(fd_, 0);
    ::close(fd_);
}

TerminalLock::TerminalLock(TerminalLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)) {}

TerminalLock& TerminalLock::operator=(TerminalLock&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(o.fd_, -1);
        path_ = std::move(o.path_);
    }
    return *this;
}

ExclusiveTerminal::ExclusiveTerminal(int fd) {
    // TIOCEXCL: every later open() of the device fails with EBUSY (but for
    // CAP_SYS_ADMIN); descriptors already open are not affected.
    if (isatty(fd) && ioctl(fd, TIOCEXCL) == 0) fd_ = fd;
}

ExclusiveTerminal::~ExclusiveTerminal() { release(); }

void ExclusiveTerminal::release() {
    if (fd_ >= 0) ioctl(fd_, TIOCNXCL);
    fd_ = -1;
}

}  // namespace tlog::rec
