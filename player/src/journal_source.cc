#include "tlog/play/journal_source.h"

#include <fcntl.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace tlog::play {

namespace {

[[noreturn]] void fail(const std::string& what, int r) {
    throw std::runtime_error("journal: " + what + ": " + std::strerror(-r));
}

struct OutFile {
    int fd;
    explicit OutFile(const std::string& path)
        : fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) {
        if (fd < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
    }
    ~OutFile() { ::close(fd); }
    void write(const char* p, size_t n) {
        while (n) {
            ssize_t w = ::write(fd, p, n);
            if (w < 0) {
                if (errno == EINTR) continue;
                throw std::runtime_error(std::string("write: ") + std::strerror(errno));
            }
            p += w;
            n -= static_cast<size_t>(w);
        }
    }
};

}  // namespace

uint64_t parse_epoch_seconds(const std::string& s) {
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end || !std::isfinite(v) || v < 0 || v > 1e11)
        throw std::invalid_argument("bad time in seconds since the epoch: " + s);
    return static_cast<uint64_t>(v * 1e6);
}

void sd_journal_deleter::operator()(sd_journal* j) const { sd_journal_close(j); }

JournalReader::JournalReader(const JournalQuery& q) : since_us_(q.since_us), until_us_(q.until_us) {
    sd_journal* raw = nullptr;
    int r;
    if (!q.ns.empty() && !q.files.empty())
        throw std::invalid_argument("a journal namespace and journal files do not go together");
    if (!q.ns.empty()) {
        std::string ns = q.ns;
        int flags = SD_JOURNAL_LOCAL_ONLY;
        if (ns == "*") {
            flags |= SD_JOURNAL_ALL_NAMESPACES;
        } else if (ns[0] == '+') {
            flags |= SD_JOURNAL_INCLUDE_DEFAULT_NAMESPACE;
            ns.erase(0, 1);
        }
        if (ns != "*" && (ns.empty() || ns.find('/') != std::string::npos))
            throw std::invalid_argument("bad journal namespace: " + q.ns);
        r = sd_journal_open_namespace(&raw, ns == "*" ? nullptr : ns.c_str(), flags);
        if (r < 0) fail("cannot open namespace \"" + q.ns + "\"", r);
    } else if (q.files.empty()) {
        r = sd_journal_open(&raw, SD_JOURNAL_LOCAL_ONLY);
    } else {
        std::vector<const char*> paths;
        for (const auto& f : q.files) paths.push_back(f.c_str());
        paths.push_back(nullptr);
        r = sd_journal_open_files(&raw, paths.data(), 0);
    }
    if (r < 0) fail("cannot open", r);
    j_.reset(raw);
    std::vector<std::string> matches = q.matches;
    if (!q.rec.empty()) matches.push_back("TLOG_REC=" + q.rec);
    for (const auto& m : matches) {
        if (m.find('=') == std::string::npos) throw std::invalid_argument("journal match must be FIELD=VALUE: " + m);
        if ((r = sd_journal_add_match(j_.get(), m.data(), m.size())) < 0) fail("bad match \"" + m + "\"", r);
    }
    if (since_us_) {
        if ((r = sd_journal_seek_realtime_usec(j_.get(), since_us_)) < 0) fail("seek", r);
    } else if ((r = sd_journal_seek_head(j_.get())) < 0) {
        fail("seek", r);
    }
}

uint64_t JournalReader::copy_new(int fd) {
    uint64_t n = 0;
    std::string buf;
    auto flush = [&] {
        // One write per batch of whole lines: a reader following the file
        // never acts on half a message (it holds back an unfinished line).
        const char* p = buf.data();
        size_t left = buf.size();
        while (left) {
            ssize_t w = ::write(fd, p, left);
            if (w < 0) {
                if (errno == EINTR) continue;
                throw std::runtime_error(std::string("write: ") + std::strerror(errno));
            }
            p += w;
            left -= static_cast<size_t>(w);
        }
        buf.clear();
    };
    int r = 0;
    while (!past_until_ && (r = sd_journal_next(j_.get())) > 0) {
        uint64_t t = 0;
        if (sd_journal_get_realtime_usec(j_.get(), &t) >= 0) {
            if (since_us_ && t < since_us_) continue;
            if (until_us_ && t > until_us_) {
                past_until_ = true;
                break;
            }
        }
        const void* data;
        size_t len;
        if (sd_journal_get_data(j_.get(), "MESSAGE", &data, &len) < 0) continue;
        std::string_view msg(static_cast<const char*>(data), len);
        msg.remove_prefix(8);  // "MESSAGE="
        // A message is one JSON object: a newline inside would split it.
        if (msg.empty() || msg.find('\n') != std::string_view::npos) continue;
        buf.append(msg);
        buf.push_back('\n');
        n++;
        if (buf.size() > (1 << 20)) flush();
    }
    if (!past_until_ && r < 0) fail("read", r);
    flush();
    return n;
}

void JournalReader::wait(uint64_t timeout_us) {
    int r = sd_journal_wait(j_.get(), timeout_us);
    if (r < 0) fail("wait", r);
}

uint64_t journal_to_file(const JournalQuery& q, const std::string& out_path) {
    JournalReader reader(q);
    OutFile out(out_path);
    return reader.copy_new(out.fd);
}

}  // namespace tlog::play
