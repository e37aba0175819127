#include "shells_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string_view>

namespace pam_tlog {
namespace {

std::string real_path(const std::string& p) {
    std::unique_ptr<char, decltype(&free)> r(realpath(p.c_str(), nullptr), &free);
    return r ? std::string(r.get()) : std::string();
}

bool read_bounded(const std::string& path, std::string& out, std::string& err, bool& missing) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        missing = errno == ENOENT;
        err = path + ": " + strerror(errno);
        return false;
    }
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        err = path + ": not a regular file";
        return false;
    }
    out.resize(kMaxShellsFile + 1);
    size_t got = 0;
    while (got < out.size()) {
        const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            err = path + ": " + strerror(errno);
            ::close(fd);
            return false;
        }
        if (n == 0) break;
        got += static_cast<size_t>(n);
    }
    ::close(fd);
    if (got > kMaxShellsFile) {
        err = path + ": larger than " + std::to_string(kMaxShellsFile / 1024) + " KiB";
        return false;
    }
    out.resize(got);
    return true;
}

}  // namespace

ShellsListing find_in_shells(const std::string& path, const std::string& recorder) {
    ShellsListing r;
    std::string text;
    bool missing = false;
    if (!read_bounded(path, text, r.error, missing)) {
        if (missing) r.error.clear();
        return r;
    }
    const std::string rec_real = real_path(recorder);
    int lineno = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        ++lineno;
        const std::string_view line(text.data() + pos, end - pos);
        pos = end + 1;
        const size_t start = line.find_first_of("#/");
        if (start == std::string_view::npos || line[start] == '#') continue;
        const size_t stop = line.find_first_of(" \t\r\v\f#", start);
        const std::string entry(line.substr(start, stop == std::string_view::npos ? line.npos : stop - start));
        if (entry == recorder || (!rec_real.empty() && real_path(entry) == rec_real)) {
            r.line = lineno;
            return r;
        }
    }
    return r;
}

}  // namespace pam_tlog
