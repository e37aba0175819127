// Reading audit text: files, rotated sets, a followed file, a stream.
#include "tlog/audit/input.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <thread>

namespace tlog::audit {

namespace {

constexpr size_t kChunk = 1 << 20;

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    Fd& operator=(Fd&& o) noexcept {
        std::swap(fd_, o.fd_);
        return *this;
    }
    int get() const { return fd_; }

private:
    int fd_;
};

[[noreturn]] void fail(const std::string& name, const char* what) {
    throw std::runtime_error(name + ": " + what + ": " + std::strerror(errno));
}

Fd open_or_throw(const std::string& path) {
    Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) fail(path, "cannot open");
    return fd;
}

// A buffer for read(2): not cleared first (a megabyte of memset).
struct Chunk {
    std::unique_ptr<char[]> data = std::make_unique_for_overwrite<char[]>(kChunk);
    static constexpr size_t size() { return kChunk; }
};

// Reads what is there now; false at end of file.
bool drain(int fd, const std::string& name, Converter& c, Chunk& buf) {
    for (;;) {
        const ssize_t n = read(fd, buf.data.get(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return true;
            fail(name, "read error");
        }
        if (n == 0) return false;
        c.feed(std::string_view(buf.data.get(), static_cast<size_t>(n)));
    }
}

}  // namespace

std::vector<std::string> rotated_set(const std::string& path) {
    std::vector<std::string> files;
    struct stat st {};
    for (int i = 1;; ++i) {
        std::string p = path + "." + std::to_string(i);
        if (stat(p.c_str(), &st) != 0) break;
        files.insert(files.begin(), std::move(p));
    }
    files.push_back(path);
    return files;
}

void read_file(const std::string& path, Converter& c) {
    Fd fd = open_or_throw(path);
    Chunk buf;
    drain(fd.get(), path, c, buf);
}

void read_stream(int fd, const std::string& name, Converter& c, const std::atomic<bool>& stop) {
    std::string buf(64 * 1024, '\0');
    while (!stop) {
        struct pollfd p {
            fd, POLLIN, 0
        };
        const int r = poll(&p, 1, 250);
        if (r < 0) {
            if (errno == EINTR) continue;
            fail(name, "poll");
        }
        if (r == 0) {
            c.age();
            continue;
        }
        const ssize_t n = read(fd, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            fail(name, "read error");
        }
        if (n == 0) return;
        c.feed(std::string_view(buf.data(), static_cast<size_t>(n)));
    }
}

void follow_file(const std::string& path, Converter& c, const std::atomic<bool>& stop) {
    Fd fd = open_or_throw(path);
    Chunk buf;
    while (!stop) {
        drain(fd.get(), path, c, buf);
        struct stat now {
        }, cur{};
        if (stat(path.c_str(), &now) == 0 && fstat(fd.get(), &cur) == 0 &&
            (now.st_ino != cur.st_ino || now.st_dev != cur.st_dev)) {
            // Rotated: finish the old file (auditd may have written after
            // our last read), then go on with the new one.
            drain(fd.get(), path, c, buf);
            Fd next(open(path.c_str(), O_RDONLY | O_CLOEXEC));
            if (next.get() >= 0) fd = std::move(next);
            continue;
        }
        c.age();
        // A plain poll: inotify would save little at a quarter second.
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    drain(fd.get(), path, c, buf);
}

}  // namespace tlog::audit
