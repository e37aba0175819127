// Commit points on disk: one small JSON file per source, replaced
// atomically so a crash leaves the old point or the new one, never half.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "internal.h"
#include "tlog/error.h"
#include "tlog/sha256.h"

namespace tlog::forward {

namespace {

struct Fd {
    int fd;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

[[noreturn]] void fail(const std::string& what, const std::string& path) {
    throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

std::string state_path(const std::string& state_dir, const std::string& kind, const std::string& identity) {
    Sha256 h;
    h.update(identity.data(), identity.size());
    std::string base = identity.substr(identity.rfind('/') + 1);
    for (char& ch : base) {
        if ((ch < 'a' || ch > 'z') && (ch < 'A' || ch > 'Z') && (ch < '0' || ch > '9') && ch != '.' && ch != '-') {
            ch = '_';
        }
    }
    return state_dir + "/" + kind + "-" + base.substr(0, 64) + "-" + h.hex_and_reset().substr(0, 16) + ".state";
}

std::unique_ptr<json::Value> read_state(const std::string& path) {
    Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (f.fd < 0) {
        if (errno == ENOENT) {
            return nullptr;
        }
        fail("cannot open", path);
    }
    std::string text;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(f.fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            fail("cannot read", path);
        }
        if (n == 0) {
            break;
        }
        text.append(buf, static_cast<size_t>(n));
    }
    auto v = std::make_unique<json::Value>(json::parse(text, path));
    if (!v->is_object()) {
        throw InputError({path, v->line, v->column, ""}, "expected a JSON object");
    }
    return v;
}

void write_state(const std::string& path, const json::Value& v) {
    std::string text = json::dump(v) + "\n";
    std::string tmp = path + ".tmp";
    {
        Fd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
        if (f.fd < 0) {
            fail("cannot create", tmp);
        }
        const char* p = text.data();
        size_t left = text.size();
        while (left > 0) {
            ssize_t n = ::write(f.fd, p, left);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                fail("cannot write", tmp);
            }
            p += n;
            left -= static_cast<size_t>(n);
        }
        if (::fsync(f.fd) != 0) {
            fail("cannot fsync", tmp);
        }
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        fail("cannot rename to", path);
    }
    // The rename itself must survive a power loss too.
    std::string dir = path.substr(0, path.rfind('/') == std::string::npos ? 1 : path.rfind('/'));
    Fd d(::open(dir.empty() ? "/" : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (d.fd < 0 || ::fsync(d.fd) != 0) {
        fail("cannot fsync", dir);
    }
}

}  // namespace tlog::forward
