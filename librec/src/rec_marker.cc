#include "tlog/rec_marker.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "tlog/json.h"

namespace tlog::marker {

namespace {

bool char_device(int fd, dev_t& rdev) {
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode)) return false;
    rdev = st.st_rdev;
    return true;
}

std::string id_of(const std::string& pam_rec, int n) { return n == 1 ? pam_rec : pam_rec + "-" + std::to_string(n); }

std::string path_of(const std::string& dir, const std::string& rec) { return dir + "/rec." + rec; }

std::string text_of(const std::string& rec, const std::string& state, const std::string& detail) {
    json::Value v = json::Value::make_object();
    v.set("rec", json::Value::make_string(rec));
    v.set("state", json::Value::make_string(state));
    v.set("detail", json::Value::make_string(detail));
    v.set("pid", json::Value::make_number(std::to_string(getpid())));
    return json::dump(v) + "\n";
}

void write_fd(int fd, const std::string& text, const std::string& path) {
    size_t off = 0;
    while (off < text.size()) {
        ssize_t w = ::write(fd, text.data() + off, text.size() - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) throw std::runtime_error("cannot write " + path + ": " + strerror(w < 0 ? errno : EIO));
        off += static_cast<size_t>(w);
    }
}

// Small and ours: refuses anything but a regular file of at most 4 KiB.
bool read_small(const std::string& path, std::string& out, std::string& err) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        err = strerror(errno);
        return false;
    }
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > 4096) {
        ::close(fd);
        err = "not a small regular file";
        return false;
    }
    char buf[4097];
    ssize_t n;
    do n = ::read(fd, buf, sizeof buf - 1);
    while (n < 0 && errno == EINTR);
    ::close(fd);
    if (n < 0) {
        err = strerror(errno);
        return false;
    }
    out.assign(buf, static_cast<size_t>(n));
    return true;
}

}  // namespace

Marker Marker::claim(const std::string& dir, const std::string& pam_rec) {
    for (int n = 1; n <= kMaxSessions; ++n) {
        std::string rec = id_of(pam_rec, n);
        std::string path = path_of(dir, rec);
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0 && errno == EEXIST) continue;
        if (fd < 0) throw std::runtime_error("cannot create the recording marker " + path + ": " + strerror(errno));
        Marker m;
        m.path_ = path;
        m.rec_ = rec;
        m.dir_ = dir;
        try {
            write_fd(fd, text_of(rec, "starting", ""), path);
        } catch (...) {
            ::close(fd);
            throw;
        }
        ::close(fd);
        return m;
    }
    throw std::runtime_error("more than " + std::to_string(kMaxSessions) + " sessions for recording " + pam_rec +
                             " in " + dir);
}

void Marker::set(const std::string& state, const std::string& detail) const {
    if (path_.empty()) return;
    // Gone: pam_tlog's close_session has reported this session already (the
    // login ended while the recorder still ran); a new file would be stale.
    if (::access(path_.c_str(), F_OK) != 0 && errno == ENOENT) return;
    // A rename keeps the file whole for a reader at every instant.
    std::string tmp = dir_ + "/.rec." + rec_ + "." + std::to_string(getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) throw std::runtime_error("cannot write the recording marker " + tmp + ": " + strerror(errno));
    try {
        write_fd(fd, text_of(rec_, state, detail), tmp);
    } catch (...) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path_.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        throw std::runtime_error("cannot replace the recording marker " + path_ + ": " + strerror(e));
    }
}

std::vector<State> read_all(const std::string& dir, const std::string& pam_rec) {
    std::vector<State> out;
    for (int n = 1; n <= kMaxSessions; ++n) {
        State s;
        s.rec = id_of(pam_rec, n);
        const std::string path = path_of(dir, s.rec);
        std::string text, err;
        if (!read_small(path, text, err)) {
            if (err == strerror(ENOENT)) break;
            s.state = "unreadable";
            s.detail = path + ": " + err;
            out.push_back(std::move(s));
            continue;
        }
        try {
            json::Value v = json::parse(text, path);
            const json::Value* st = v.find("state");
            const json::Value* de = v.find("detail");
            const json::Value* pid = v.find("pid");
            if (!st || !st->is_string()) throw std::runtime_error("no \"state\"");
            s.state = st->as_string();
            if (de && de->is_string()) s.detail = de->as_string();
            if (pid) {
                if (auto u = pid->as_uint()) s.pid = static_cast<pid_t>(*u);
            }
        } catch (const std::exception& e) {
            s.state = "unreadable";
            s.detail = path + ": " + e.what();
        }
        out.push_back(std::move(s));
    }
    return out;
}

void remove_all(const std::string& dir, const std::string& pam_rec) {
    for (int n = 1; n <= kMaxSessions; ++n)
        if (::unlink(path_of(dir, id_of(pam_rec, n)).c_str()) != 0 && errno == ENOENT) break;
}

std::string terminal_lock_path(const std::string& dir, dev_t rdev) {
    return dir + "/pty." + std::to_string(major(rdev)) + "." + std::to_string(minor(rdev)) + ".lock";
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

}  // namespace tlog::marker
