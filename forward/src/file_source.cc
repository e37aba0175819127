// The file writer's files as a source: NAME and its rotated NAME.1,
// NAME.2, ... each followed by device and inode from its last acknowledged
// offset. A recorder keeps appending to the file it opened (rotation only
// renames, dist/logrotate.conf), so every file of the set is followed, not
// only the newest.
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "internal.h"
#include "tlog/error.h"
#include "tlog/hex.h"
#include "tlog/play/line_source.h"
#include "tlog/sha256.h"

namespace tlog::forward {

namespace {

// The first bytes of a file tell it from a later file that got the same
// inode number once the first was deleted.
constexpr size_t kPrint = 512;
constexpr size_t kMaxRotated = 10000;

struct Tracked {
    uint64_t dev = 0, ino = 0;
    uint64_t offset = 0;   // acknowledged up to here
    uint64_t pending = 0;  // read up to here (the batch in flight)
    uint64_t size = 0;     // last seen
    std::string name;      // last seen as
    uint64_t print_len = 0;
    std::string print;  // sha256 hex of the first print_len bytes
    bool present = false;
    bool reported = false;  // an unreadable file is logged once
};

struct Seen {
    std::string name;
    struct stat st;
};

bool blank(std::string_view l) {
    if (!l.empty() && l.back() == '\r') {
        l.remove_suffix(1);
    }
    return l.find_first_not_of(" \t") == std::string_view::npos;
}

std::string fingerprint(int fd, uint64_t len) {
    std::string buf(len, '\0');
    size_t got = 0;
    while (got < len) {
        ssize_t n = ::pread(fd, buf.data() + got, len - got, static_cast<off_t>(got));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return "";
        }
        got += static_cast<size_t>(n);
    }
    Sha256 h;
    h.update(buf);
    return h.hex_and_reset();
}

class FileSource final : public Source {
public:
    FileSource(std::string path, const std::string& state_dir, FileKind kind)
        : path_(std::move(path)),
          kind_(kind),
          name_(std::string(kind_word()) + ":" + path_),
          state_(state_path(state_dir, kind_word(), path_)) {
        auto v = read_state(state_);
        if (!v) {
            return;
        }
        const auto* files = v->find("files");
        if (files == nullptr || !files->is_array()) {
            throw InputError({state_, v->line, v->column, "files"}, "expected an array");
        }
        for (const auto& f : files->items()) {
            Tracked t;
            auto num = [&](const char* k) {
                const auto* x = f.is_object() ? f.find(k) : nullptr;
                auto u = x != nullptr && x->is_number() ? x->as_uint() : std::nullopt;
                if (!u) {
                    throw InputError({state_, f.line, f.column, k}, "expected an unsigned integer");
                }
                return *u;
            };
            auto str = [&](const char* k) {
                const auto* x = f.is_object() ? f.find(k) : nullptr;
                if (x == nullptr || !x->is_string()) {
                    throw InputError({state_, f.line, f.column, k}, "expected a string");
                }
                return x->as_string();
            };
            t.dev = num("dev");
            t.ino = num("ino");
            t.offset = t.pending = num("offset");
            t.size = num("size");
            t.print_len = num("print_len");
            t.print = str("print");
            t.name = str("name");
            files_.push_back(std::move(t));
        }
    }

    const std::string& name() const override { return name_; }
    const char* endpoint() const override { return kind_ == FileKind::Audit ? "/api/v1/audit" : "/api/v1/ingest"; }

    bool read(Batch& b, size_t max_lines, size_t max_bytes) override {
        scan();
        for (auto& t : files_) {
            t.pending = t.offset;
        }
        for (auto& t : files_) {
            if (!t.present || t.size <= t.offset) {
                continue;
            }
            if (!read_file(t, b, max_lines, max_bytes)) {
                break;
            }
        }
        return !b.empty();
    }

    void commit() override {
        for (auto& t : files_) {
            t.offset = t.pending;
        }
        save();
    }

    void wait(double seconds) override {
        // The file writer's files give no event to wait on that survives
        // rotation; polling a stat() per file is cheap.
        struct timespec ts {};
        ts.tv_sec = static_cast<time_t>(seconds);
        ts.tv_nsec = static_cast<long>((seconds - static_cast<double>(ts.tv_sec)) * 1e9);
        nanosleep(&ts, nullptr);
    }

private:
    // NAME.N ... NAME.1, NAME: the oldest first.
    std::vector<Seen> list() const {
        std::vector<Seen> out;
        for (size_t i = 1; i <= kMaxRotated; ++i) {
            Seen s{path_ + "." + std::to_string(i), {}};
            if (::stat(s.name.c_str(), &s.st) != 0 || !S_ISREG(s.st.st_mode)) {
                break;
            }
            out.push_back(std::move(s));
        }
        std::reverse(out.begin(), out.end());
        Seen s{path_, {}};
        if (::stat(s.name.c_str(), &s.st) == 0 && S_ISREG(s.st.st_mode)) {
            out.push_back(std::move(s));
        }
        return out;
    }

    void lose(Tracked& t, const std::string& why) {
        uint64_t lost = t.size > t.offset ? t.size - t.offset : 0;
        if (lost > 0) {
            counters.lost_bytes += lost;
            log("warning", name_,
                "skipped data that was never delivered: " + why +
                    "; it is not on this host any more and cannot be sent",
                {{"file", t.name},
                 {"inode", std::to_string(t.ino)},
                 {"delivered_to", std::to_string(t.offset)},
                 {"skipped_bytes_at_least", std::to_string(lost)},
                 {"lost_bytes_total", std::to_string(counters.lost_bytes.load())}});
        }
    }

    // Matches the files on disk with the tracked ones: new files from
    // their start, gone ones forgotten (logged when not all delivered),
    // truncated ones read again from the start.
    void scan() {
        auto seen = list();
        bool changed = false;
        for (auto& t : files_) {
            t.present = false;  // until claimed by a file on disk
        }
        std::vector<Tracked> next;
        for (auto& s : seen) {
            auto dev = static_cast<uint64_t>(s.st.st_dev);
            auto ino = static_cast<uint64_t>(s.st.st_ino);
            auto size = static_cast<uint64_t>(s.st.st_size);
            auto it = std::find_if(files_.begin(), files_.end(),
                                   [&](const Tracked& t) { return t.dev == dev && t.ino == ino && !t.present; });
            Tracked t;
            if (it != files_.end()) {
                t = *it;
                it->present = true;  // claimed
                if (!same_file(t, s.name)) {
                    lose(t, "file " + t.name + " was deleted and its inode reused by " + s.name);
                    t = Tracked{};
                    changed = true;
                } else if (size < t.offset) {
                    counters.lost_bytes += t.offset - size;
                    log("warning", name_,
                        "file was truncated; reading it again from its start (the server keeps each message once)",
                        {{"file", s.name},
                         {"size", std::to_string(size)},
                         {"delivered_to", std::to_string(t.offset)},
                         {"lost_bytes_total", std::to_string(counters.lost_bytes.load())}});
                    t.offset = 0;
                    t.print_len = 0;
                    changed = true;
                }
            } else {
                changed = true;
            }
            t.dev = dev;
            t.ino = ino;
            t.size = size;
            // Taken now, so the state file has it even before a delivery.
            if (t.print_len < std::min<uint64_t>(kPrint, size) && take_print(t, s.name)) {
                changed = true;
            }
            changed = changed || t.name != s.name;
            t.name = s.name;
            t.pending = t.offset;
            t.present = true;
            next.push_back(std::move(t));
        }
        for (auto& t : files_) {
            if (!t.present) {
                lose(t, "file " + t.name + " was rotated away or deleted");
                changed = true;
            }
        }
        files_ = std::move(next);
        for (auto& t : files_) {
            t.present = true;
        }
        if (changed) {
            save();
        }
    }

    bool same_file(Tracked& t, const std::string& name) const {
        if (t.print_len == 0) {
            return true;
        }
        int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
            return true;  // gone since the stat: the next scan sees it
        }
        struct stat st {};
        bool shorter = ::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) < t.print_len;
        std::string p = shorter ? "" : fingerprint(fd, t.print_len);
        ::close(fd);
        // Shorter than its first bytes were: another file (or truncated,
        // which loses the same data).
        return !shorter && (p.empty() || p == t.print);
    }

    bool take_print(Tracked& t, const std::string& name) const {
        int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
            return false;
        }
        struct stat st {};
        bool ok = ::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_dev) == t.dev &&
                  static_cast<uint64_t>(st.st_ino) == t.ino;
        if (ok) {
            uint64_t len = std::min<uint64_t>(kPrint, static_cast<uint64_t>(st.st_size));
            std::string p = fingerprint(fd, len);
            ok = !p.empty();
            if (ok) {
                t.print_len = len;
                t.print = p;
            }
        }
        ::close(fd);
        return ok;
    }

    // Adds lines of `t` from t.pending; false when the batch is full.
    bool read_file(Tracked& t, Batch& b, size_t max_lines, size_t max_bytes) {
        try {
            play::LineSource src(t.name);
            struct stat st {};
            if (::fstat(src.fd(), &st) != 0 || static_cast<uint64_t>(st.st_dev) != t.dev ||
                static_cast<uint64_t>(st.st_ino) != t.ino) {
                return true;  // renamed under us: the next scan finds it
            }
            src.seek(t.pending, 0);
            std::string_view line;
            uint64_t off = 0;
            uint64_t no = 0;
            while (src.next(line, off, no, true)) {
                if (!blank(line)) {
                    if (b.where.size() >= max_lines || (!b.empty() && b.body.size() + line.size() + 1 > max_bytes)) {
                        return false;
                    }
                    b.body.append(line);
                    b.body.push_back('\n');
                    b.where.push_back(t.name + " offset " + std::to_string(off));
                }
                t.pending = off + line.size() + 1;
            }
            t.reported = false;
        } catch (const std::exception& e) {
            if (!t.reported) {
                log("error", name_, std::string("cannot read: ") + e.what() + "; trying again at each poll",
                    {{"file", t.name}, {"offset", std::to_string(t.pending)}});
                t.reported = true;
            }
        }
        return true;
    }

    void save() {
        auto files = json::Value::make_array();
        for (const auto& t : files_) {
            auto o = json::Value::make_object();
            o.set("name", json::Value::make_string(t.name));
            o.set("dev", json::Value::make_uint(t.dev));
            o.set("ino", json::Value::make_uint(t.ino));
            o.set("offset", json::Value::make_uint(t.offset));
            o.set("size", json::Value::make_uint(t.size));
            o.set("print_len", json::Value::make_uint(t.print_len));
            o.set("print", json::Value::make_string(t.print));
            files.items().push_back(std::move(o));
        }
        auto v = json::Value::make_object();
        v.set("path", json::Value::make_string(path_));
        v.set("files", std::move(files));
        write_state(state_, v);
    }

    // The kind's word in the source's name and state file: an audit file
    // and a recording file of the same path keep apart commit points.
    const char* kind_word() const { return kind_ == FileKind::Audit ? "audit-file" : "file"; }

    std::string path_;
    FileKind kind_;
    std::string name_, state_;
    std::vector<Tracked> files_;  // the oldest first
};

}  // namespace

std::unique_ptr<Source> make_file_source(const std::string& path, const std::string& state_dir, FileKind kind) {
    return std::make_unique<FileSource>(path, state_dir, kind);
}

}  // namespace tlog::forward
