#include "tlog/play/journal_source.h"

#include <fcntl.h>
#include <pwd.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>

#include "tlog/recording_select.h"
#include "write_all.h"

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

// The value of `field` in the current entry; false when it has none.
bool field(sd_journal* j, const char* name, std::string_view& value) {
    const void* data;
    size_t len;
    if (sd_journal_get_data(j, name, &data, &len) < 0) return false;
    std::string_view v(static_cast<const char*>(data), len);
    size_t eq = v.find('=');
    if (eq == std::string_view::npos) return false;
    value = v.substr(eq + 1);
    return true;
}

}  // namespace

std::vector<uid_t> recorder_uids_default() {
    std::vector<uid_t> uids{0};
    struct passwd pw;
    struct passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (getpwnam_r("tlog", &pw, buf.data(), buf.size(), &found) == 0 && found && found->pw_uid != 0)
        uids.push_back(found->pw_uid);
    return uids;
}

uid_t parse_recorder_user(const std::string& s) {
    if (s.empty()) throw std::invalid_argument("empty --recorder-user");
    if (s.find_first_not_of("0123456789") == std::string::npos) {
        errno = 0;
        unsigned long long v = std::strtoull(s.c_str(), nullptr, 10);
        if (errno || v >= static_cast<unsigned long long>(static_cast<uid_t>(-1)))
            throw std::invalid_argument("bad --recorder-user uid: " + s);
        return static_cast<uid_t>(v);
    }
    struct passwd pw;
    struct passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (getpwnam_r(s.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found)
        throw std::invalid_argument("--recorder-user: no such user: " + s);
    return found->pw_uid;
}

std::string journal_entry_name(sd_journal* j) {
    std::string name = "journal entry ";
    char* cursor = nullptr;
    if (sd_journal_get_cursor(j, &cursor) >= 0 && cursor) {
        name += cursor;
        std::free(cursor);
    } else {
        name += "(no cursor)";
    }
    uint64_t t = 0;
    if (sd_journal_get_realtime_usec(j, &t) >= 0) {
        auto secs = static_cast<time_t>(t / 1000000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        char buf[64];
        size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
        std::snprintf(buf + n, sizeof buf - n, ".%06lluZ", static_cast<unsigned long long>(t % 1000000));
        name += " (" + std::string(buf) + ")";
    }
    return name;
}

void JournalEntries::add_line(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    names_.push_back(name);
}

void JournalEntries::add_forged(ForgedEntry f) {
    std::lock_guard<std::mutex> lock(mu_);
    forged_.push_back(std::move(f));
}

std::vector<ForgedEntry> JournalEntries::forged() const {
    std::lock_guard<std::mutex> lock(mu_);
    return forged_;
}

std::vector<ForgedEntry> JournalEntries::take_forged() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(forged_, {});
}

std::string JournalEntries::name(uint64_t line) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (line == 0 || line > names_.size()) return "journal entry (unknown, line " + std::to_string(line) + ")";
    return names_[line - 1];
}

std::string JournalEntries::rewrite(std::string_view text) const {
    std::string out;
    size_t i = 0;
    for (;;) {
        size_t at = copy_path_.empty() ? std::string_view::npos : text.find(copy_path_, i);
        if (at == std::string_view::npos) break;
        out.append(text.substr(i, at - i));
        size_t p = at + copy_path_.size();
        if (p + 1 < text.size() && text[p] == ':' && text[p + 1] >= '0' && text[p + 1] <= '9') {
            uint64_t line = 0;
            size_t q = p + 1;
            while (q < text.size() && text[q] >= '0' && text[q] <= '9' && line < (uint64_t(1) << 60))
                line = line * 10 + static_cast<uint64_t>(text[q++] - '0');
            // A column after the line means nothing to the auditor here.
            if (q + 1 < text.size() && text[q] == ':' && text[q + 1] >= '0' && text[q + 1] <= '9') {
                q++;
                while (q < text.size() && text[q] >= '0' && text[q] <= '9') q++;
            }
            out += name(line);
            i = q;
        } else {
            out += source_;
            i = p;
        }
    }
    out.append(text.substr(i));
    return out;
}

uint64_t parse_epoch_seconds(const std::string& s) {
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end || !std::isfinite(v) || v < 0 || v > 1e11)
        throw std::invalid_argument("bad time in seconds since the epoch: " + s);
    return static_cast<uint64_t>(v * 1e6);
}

void sd_journal_deleter::operator()(sd_journal* j) const { sd_journal_close(j); }

JournalReader::JournalReader(const JournalQuery& q, std::shared_ptr<JournalEntries> entries)
    : since_us_(q.since_us),
      until_us_(q.until_us),
      uids_(q.recorder_uids.empty() ? recorder_uids_default() : q.recorder_uids),
      entries_(std::move(entries)) {
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
    if (!q.after_cursor.empty()) {
        seek_after(q.after_cursor);
    } else if (since_us_) {
        if ((r = sd_journal_seek_realtime_usec(j_.get(), since_us_)) < 0) fail("seek", r);
    } else if ((r = sd_journal_seek_head(j_.get())) < 0) {
        fail("seek", r);
    }
}

void JournalReader::seek_after(const std::string& cursor) {
    int r = sd_journal_seek_cursor(j_.get(), cursor.c_str());
    if (r < 0) fail("bad cursor \"" + cursor + "\"", r);
    // seek_cursor lands on the entry, or on the nearest one when it is gone:
    // only test_cursor tells which.
    r = sd_journal_next(j_.get());
    if (r < 0) fail("read", r);
    if (r > 0 && sd_journal_test_cursor(j_.get(), cursor.c_str()) > 0) return;
    // Vacuumed (or rotated away): say from when to when, then read the
    // entry we landed on first.
    auto when = [](uint64_t us) {
        auto secs = static_cast<time_t>(us / 1000000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        char buf[32];
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return std::string(buf);
    };
    uint64_t from = 0;
    size_t t = cursor.find(";t=");
    if (t != std::string::npos) from = std::strtoull(cursor.c_str() + t + 3, nullptr, 16);
    uint64_t to = 0;
    if (r > 0 && sd_journal_get_realtime_usec(j_.get(), &to) >= 0) {
        lost_ = "entries after " + when(from) + " and before " + when(to) + " (" +
                std::to_string(to > from ? (to - from) / 1000000 : 0) + " s)";
        if ((r = sd_journal_previous(j_.get())) < 0) fail("seek", r);
    } else {
        lost_ = "entries after " + when(from) + " (none is left)";
        if ((r = sd_journal_seek_head(j_.get())) < 0) fail("seek", r);
    }
}

bool JournalReader::next_entry(std::string_view& msg) {
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
        if (!field(j_.get(), "MESSAGE", msg)) continue;
        // Only entries that carry a recording: TLOG_REC (the recorder's
        // journal writer adds it unless told not to) or a message that is
        // one of its lines.
        // Other programs' entries are not part of any recording.
        std::string_view tlog_rec;
        std::string msg_rec;
        bool has_tlog_rec = field(j_.get(), "TLOG_REC", tlog_rec);
        // tlog's writers (ours and Debian's) put "ver" first.
        bool is_message = msg.substr(0, 7) == R"({"ver":)" && line_recording(msg, msg_rec) == LineRecording::Id;
        if (!has_tlog_rec && !is_message) continue;
        // The trusted _UID (journald sets it from the sender's credentials)
        // says who wrote the entry; anyone may write the other fields.
        std::string_view uid_text;
        bool has_uid = field(j_.get(), "_UID", uid_text);
        bool trusted = false;
        if (has_uid && !uid_text.empty() && uid_text.size() < 11 &&
            uid_text.find_first_not_of("0123456789") == std::string_view::npos) {
            auto uid = static_cast<uid_t>(std::strtoull(std::string(uid_text).c_str(), nullptr, 10));
            trusted = std::find(uids_.begin(), uids_.end(), uid) != uids_.end();
        }
        if (!trusted) {
            if (entries_)
                entries_->add_forged({journal_entry_name(j_.get()), has_uid ? std::string(uid_text) : std::string(),
                                      has_tlog_rec ? std::string(tlog_rec) : msg_rec});
            continue;
        }
        return true;
    }
    if (!past_until_ && r < 0) fail("read", r);
    return false;
}

// A message is one JSON object on one line: a newline inside would split
// it. It becomes a byte JSON allows nowhere, so the decoder reports the
// entry as damaged, by its name, instead of it vanishing.
static void append_line(std::string& buf, std::string_view msg) {
    size_t at = buf.size();
    buf.append(msg);
    std::replace(buf.begin() + static_cast<std::ptrdiff_t>(at), buf.end(), '\n', '\x01');
    buf.push_back('\n');
}

bool JournalReader::next(std::string& message, std::string& cursor) {
    std::string_view msg;
    if (!next_entry(msg)) return false;
    char* c = nullptr;
    int r = sd_journal_get_cursor(j_.get(), &c);
    if (r < 0 || !c) fail("cursor", r < 0 ? r : -EIO);
    cursor = c;
    std::free(c);
    message.clear();
    append_line(message, msg);
    message.pop_back();
    return true;
}

uint64_t JournalReader::copy_new(int fd) {
    uint64_t n = 0;
    std::string buf;
    auto flush = [&] {
        // One write per batch of whole lines: a reader following the file
        // never acts on half a message (it holds back an unfinished line).
        write_all(fd, buf);
        buf.clear();
    };
    std::string_view msg;
    while (next_entry(msg)) {
        append_line(buf, msg);
        if (entries_) entries_->add_line(journal_entry_name(j_.get()));
        n++;
        if (buf.size() > (1 << 20)) flush();
    }
    flush();
    return n;
}

void JournalReader::wait(uint64_t timeout_us) {
    int r = sd_journal_wait(j_.get(), timeout_us);
    if (r < 0) fail("wait", r);
}

uint64_t journal_to_file(const JournalQuery& q, const std::string& out_path, std::shared_ptr<JournalEntries> entries) {
    JournalReader reader(q, std::move(entries));
    OutFile out(out_path);
    return reader.copy_new(out.fd);
}

}  // namespace tlog::play
