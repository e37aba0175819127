#include "commands.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <streambuf>
#include <system_error>

#include "tlog/play/convert.h"
#include "tlog/play/line_source.h"
#include "tlog/play/playback.h"
#include "tlog/play/screen_search.h"
#include "tlog/recording_select.h"

namespace tlog::play::cli {

namespace {

// Output file or stdout, for exports and imports. An existing file is
// never replaced unless forced (O_EXCL), and a symbolic link at the target
// is never followed (O_NOFOLLOW): an export or import must not overwrite
// evidence.
class FdBuf : public std::streambuf {
public:
    explicit FdBuf(int fd) : fd_(fd) { setp(buf_, buf_ + sizeof buf_); }
    ~FdBuf() override { ::close(fd_); }
    bool failed() const { return failed_; }

protected:
    int overflow(int c) override {
        if (sync() != 0) return traits_type::eof();
        if (c != traits_type::eof()) {
            *pptr() = static_cast<char>(c);
            pbump(1);
        }
        return traits_type::not_eof(c);
    }
    int sync() override {
        const char* p = pbase();
        while (p < pptr()) {
            ssize_t n = ::write(fd_, p, static_cast<size_t>(pptr() - p));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                failed_ = true;
                return -1;
            }
            p += n;
        }
        setp(buf_, buf_ + sizeof buf_);
        return 0;
    }

private:
    int fd_;
    bool failed_ = false;
    char buf_[1 << 16];
};

class Output {
public:
    Output(const std::string& path, bool force) {
        if (path != "-") {
            int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
            int fd = ::open(path.c_str(), flags, 0600);
            if (fd < 0 && errno == EEXIST)
                throw std::runtime_error(path + " exists: not overwritten (--force replaces it)");
            if (fd < 0 && errno == ELOOP)
                throw std::runtime_error(path + " is a symbolic link: not followed, not overwritten");
            if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot create " + path);
            buf_ = std::make_unique<FdBuf>(fd);
            file_ = std::make_unique<std::ostream>(buf_.get());
        }
    }
    std::ostream& stream() { return file_ ? *file_ : std::cout; }
    void close() {
        stream().flush();
        if (!stream() || (buf_ && buf_->failed())) throw std::runtime_error("write failed");
    }

private:
    std::unique_ptr<FdBuf> buf_;
    std::unique_ptr<std::ostream> file_;
};

class FdSink : public MessageSink {
public:
    explicit FdSink(std::ostream& out) : out_(out) {}
    void write(const EncodedMessage& m) override {
        out_.write(m.line.data(), static_cast<std::streamsize>(m.line.size()));
        if (!out_) throw std::runtime_error("write failed");
    }

private:
    std::ostream& out_;
};

std::string json_printable(const std::string& s) {
    // Fields the recorded user may influence are printed on the auditor's
    // terminal: no control characters.
    std::string out;
    for (unsigned char c : s) out.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
    return out;
}

}  // namespace

std::vector<std::string> recording_ids(const std::string& path) {
    std::vector<std::string> ids;
    std::set<std::string> seen;
    LineSource src(path);
    std::string_view line;
    uint64_t off, no;
    std::string rec;
    while (src.next(line, off, no))
        if (line_recording(line, rec) == LineRecording::Id && !rec.empty() && seen.insert(rec).second)
            ids.push_back(rec);
    return ids;
}

void refuse_several(const Options& o, const std::vector<std::string>& ids, const char* what) {
    std::string names;
    for (const auto& id : ids) names += (names.empty() ? "" : ", ") + json_printable(id);
    throw std::runtime_error(o.path + " holds " + std::to_string(ids.size()) + " recordings (" + names + "): " + what +
                             " one at a time; pick it with -m REC (--file-match=REC)");
}

namespace {

// One recording's verdict; `prefix` starts the lines after the first (the
// recording's name when the file holds several).
bool verify_one(const Options& o, const std::string& rec, const integrity::Keyring& keys, const std::string& prefix) {
    // Always decodes the file afresh: a verdict is never taken from a cache.
    IndexOptions io;
    io.rec = rec;
    io.lax = true;  // report the first broken message, do not stop at it
    io.keys = &keys;
    io.every_bytes = ~uint64_t(0);
    io.every_ms = ~uint64_t(0);
    RecordingIndex idx = build_index(o.path, io);
    const auto& s = idx.summary;
    if (s.messages == 0)
        throw std::runtime_error(rec.empty() ? "no messages in " + o.path
                                             : "no recording \"" + rec + "\" in " + o.path);
    const char* p = prefix.c_str();
    std::printf("recording %s: %s\n", json_printable(s.rec).c_str(), json_printable(s.integrity).c_str());
    if (s.verdict == IntegrityReport::Verdict::Broken)
        std::printf("%sfirst broken message: id %llu, line %llu\n", p, static_cast<unsigned long long>(s.first_bad_id),
                    static_cast<unsigned long long>(s.first_bad_line));
    for (const auto& g : s.gaps)
        std::printf("%sgap: messages %llu..%llu missing at %s\n", p, static_cast<unsigned long long>(g.first_id),
                    static_cast<unsigned long long>(g.last_id), format_ms(g.pos_ms).c_str());
    for (const auto& pr : s.problems) std::printf("%sproblem: %s\n", p, json_printable(pr).c_str());
    return s.verdict == IntegrityReport::Verdict::Intact;
}

}  // namespace

int verify_command(const Options& o, const integrity::Keyring& keys) {
    std::vector<std::string> ids;
    if (o.match.empty()) ids = recording_ids(o.path);
    if (ids.size() <= 1) return verify_one(o, o.match, keys, "") ? 0 : 1;
    // Several recordings: each is verified, each line names its recording,
    // and the status says whether any of them is not intact.
    std::vector<std::string> bad;
    for (const auto& id : ids)
        if (!verify_one(o, id, keys, "recording " + json_printable(id) + ": ")) bad.push_back(json_printable(id));
    std::string names;
    for (const auto& b : bad) names += (names.empty() ? "" : ", ") + b;
    if (bad.empty())
        std::printf("%zu recordings: all intact\n", ids.size());
    else
        std::printf("%zu recordings: %zu not intact: %s\n", ids.size(), bad.size(), names.c_str());
    return bad.empty() ? 0 : 1;
}

int search_command(const Options& o, const RecordingIndex& idx, const std::string& prefix) {
    Regex re(o.search, o.ignore_case, o.fixed_string);
    Playback pb(o.path, idx);
    uint64_t from = 0;
    if (!o.go.empty()) from = parse_time(o.go).value_or(idx.summary.duration_ms);
    uint64_t n = search_screen(pb, re, from, [&prefix](const SearchHit& h) {
        std::printf("%s%s row %d: %s\n", prefix.c_str(), format_ms(h.pos_ms).c_str(), h.row + 1,
                    json_printable(h.text).c_str());
        return true;
    });
    std::fflush(stdout);
    return n ? 0 : 1;
}

int export_command(const Options& o, const RecordingIndex& idx) {
    Output out(o.output, o.force);
    ExportOptions eo;
    eo.rec = idx.summary.rec;
    eo.input = o.export_input;
    const std::string& f = o.export_format;
    if (f == "asciicast" || f == "asciicast2" || f == "asciicast-v2")
        export_asciicast(o.path, idx, 2, eo, out.stream());
    else if (f == "asciicast3" || f == "asciicast-v3")
        export_asciicast(o.path, idx, 3, eo, out.stream());
    else if (f == "text")
        export_text(o.path, idx, eo, out.stream());
    else if (f == "transcript")
        export_transcript(o.path, idx, out.stream());
    else if (f == "raw")
        export_raw(o.path, idx, out.stream());
    else
        throw std::invalid_argument("unknown export format: " + f + " (asciicast, asciicast3, text, transcript, raw)");
    out.close();
    return 0;
}

int import_command(const Options& o) {
    std::string fmt = o.import_format;
    if (fmt.empty()) {
        // asciicast files start with their JSON header; typescripts do not.
        std::ifstream in(o.import, std::ios::binary);
        if (!in) throw std::runtime_error("cannot open " + o.import);
        int c = in.peek();
        fmt = c == '{' ? "asciicast" : "script";
    }
    ImportOptions io;
    // An imported recording was not recorded here: no host or user of this
    // machine, only what the command line gives.
    io.info.host = o.host;
    io.info.user = o.user;
    io.info.session = 4294967295u;  // what tlog writes when there is no audit session
    if (!o.rec_id.empty()) {
        io.info.rec = o.rec_id;
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        io.info.rec = "import-" + std::to_string(ts.tv_sec) + "-" + std::to_string(::getpid());
    }
    io.encoder.log_input = true;
    Output out(o.output, o.force);
    FdSink sink(out.stream());
    uint64_t n;
    if (fmt == "asciicast")
        n = import_asciicast(o.import, io, sink);
    else if (fmt == "script") {
        if (o.timing.empty()) throw std::invalid_argument("--import of a typescript needs --timing=FILE");
        n = import_script(o.import, o.timing, io, sink);
    } else {
        throw std::invalid_argument("unknown import format: " + fmt + " (asciicast, script)");
    }
    out.close();
    std::fprintf(stderr, "tlog-play: imported %llu events as recording %s\n", static_cast<unsigned long long>(n),
                 io.info.rec.c_str());
    return 0;
}

}  // namespace tlog::play::cli
