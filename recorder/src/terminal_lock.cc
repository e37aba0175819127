#include "tlog/rec/terminal_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <utility>

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

std::string terminal_lock_path(const std::string& dir, dev_t rdev) {
    return dir + "/pty." + std::to_string(major(rdev)) + "." + std::to_string(minor(rdev)) + ".lock";
}

TerminalLock::TerminalLock(int tty_fd, const std::string& rec, const std::string& dir) {
    dev_t rdev = 0;
    if (!char_device(tty_fd, rdev)) throw std::runtime_error("the recorded program's terminal is not a device");
    std::string path = terminal_lock_path(dir, rdev);
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

std::optional<std::string> recording_of_terminal(const std::string& dir) {
    dev_t in = 0, out = 0, err = 0;
    if (!char_device(0, in) || !char_device(1, out) || !char_device(2, err) || in != out || in != err)
        return std::nullopt;
    // A controlling terminal elsewhere is a way out of the recording
    // (/dev/tty): it must be that terminal too, or none at all (su -c).
    if (tcgetsid(0) < 0) {
        int tty = ::open("/dev/tty", O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (tty >= 0) {
            ::close(tty);
            return std::nullopt;
        }
    }
    const std::string path = terminal_lock_path(dir, in);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0) return std::nullopt;
    std::optional<std::string> rec;
    if (::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        char buf[128];
        ssize_t n = pread(fd, buf, sizeof buf, 0);
        rec = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("(unknown)");
    }
    ::close(fd);  // a shared lock taken on a stale file goes with it
    return rec;
}

}  // namespace tlog::rec
