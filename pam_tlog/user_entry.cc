#include "user_entry.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstring>

#include <stdexcept>
#include <vector>

#include "next_sources.h"

namespace pam_tlog {
namespace {

constexpr size_t kMaxBuffer = 1 << 20;  // a passwd entry larger than 1 MiB is an attack

}  // namespace

std::optional<UserEntry> nss_user(const char* name) {
    std::vector<char> buf(1024);
    for (;;) {
        struct passwd pw;
        struct passwd* res = nullptr;
        const int e = getpwnam_r(name, &pw, buf.data(), buf.size(), &res);
        if (e == ERANGE && buf.size() < kMaxBuffer) {
            buf.resize(buf.size() * 4);
            continue;
        }
        if (res) return UserEntry{pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_shell ? pw.pw_shell : ""};
        if (e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM) return std::nullopt;
        throw std::runtime_error(std::string("user lookup failed: ") + strerror(e));
    }
}

std::optional<std::string> real_shell(const char* name) {
    int n = 0;
    const nss_tlog::Source* sources = nss_tlog::next_sources(&n);
    std::vector<char> buf(4096);
    for (int i = 0; i < n; ++i) {
        if (!sources[i].getpwnam) continue;
        for (;;) {
            struct passwd pw;
            int err = 0;
            const enum nss_status st = sources[i].getpwnam(name, &pw, buf.data(), buf.size(), &err);
            if (st == NSS_STATUS_TRYAGAIN && err == ERANGE && buf.size() < kMaxBuffer) {
                buf.resize(buf.size() * 4);
                continue;
            }
            if (st == NSS_STATUS_SUCCESS) return std::string(pw.pw_shell ? pw.pw_shell : "");
            break;  // NOTFOUND, UNAVAIL, TRYAGAIN: glibc would go on too
        }
    }
    return std::nullopt;
}

bool same_program(const std::string& a, const std::string& b) {
    if (a == b) return true;
    struct stat sa, sb;
    if (stat(a.c_str(), &sa) != 0 || stat(b.c_str(), &sb) != 0) return false;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace pam_tlog
