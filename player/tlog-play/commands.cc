#include "commands.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "tlog/play/convert.h"
#include "tlog/play/playback.h"
#include "tlog/play/recording_list.h"
#include "tlog/play/screen_search.h"

namespace tlog::play::cli {

namespace {

std::string wall(uint64_t ms) {
    if (!ms) return "-";
    time_t t = static_cast<time_t>(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[40];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// Output file or stdout, for exports and imports.
class Output {
public:
    explicit Output(const std::string& path) {
        if (path != "-") {
            file_ = std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::trunc);
            if (!*file_) throw std::runtime_error("cannot create " + path);
        }
    }
    std::ostream& stream() { return file_ ? *file_ : std::cout; }
    void close() {
        stream().flush();
        if (!stream()) throw std::runtime_error("write failed");
    }

private:
    std::unique_ptr<std::ofstream> file_;
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

int list_command(const Options& o, const integrity::Keyring& keys) {
    auto recs = list_recordings(o.path, &keys);
    std::printf("%-36s %-12s %-20s %10s %-20s %-20s %12s %12s %s\n", "REC", "USER", "HOST", "SESSION", "START", "END",
                "DURATION", "SIZE", "INTEGRITY");
    for (const auto& r : recs) {
        std::printf("%-36s %-12s %-20s %10llu %-20s %-20s %12s %12llu %s\n", json_printable(r.rec).c_str(),
                    json_printable(r.user).c_str(), json_printable(r.host).c_str(),
                    static_cast<unsigned long long>(r.session), wall(r.start_ms).c_str(),
                    wall(r.start_ms ? r.start_ms + r.duration_ms : 0).c_str(), format_ms(r.duration_ms).c_str(),
                    static_cast<unsigned long long>(r.log_bytes), IntegrityReport::name(r.verdict));
    }
    return 0;
}

int verify_command(const Options& o, const integrity::Keyring& keys) {
    // Always decodes the file afresh: a verdict is never taken from a cache.
    IndexOptions io;
    io.rec = o.match;
    io.lax = true;  // report the first broken message, do not stop at it
    io.keys = &keys;
    io.every_bytes = ~uint64_t(0);
    io.every_ms = ~uint64_t(0);
    RecordingIndex idx = build_index(o.path, io);
    const auto& s = idx.summary;
    if (s.messages == 0)
        throw std::runtime_error(o.match.empty() ? "no messages in " + o.path
                                                 : "no recording \"" + o.match + "\" in " + o.path);
    std::printf("recording %s: %s\n", json_printable(s.rec).c_str(), json_printable(s.integrity).c_str());
    if (s.verdict == IntegrityReport::Verdict::Broken)
        std::printf("first broken message: id %llu, line %llu\n", static_cast<unsigned long long>(s.first_bad_id),
                    static_cast<unsigned long long>(s.first_bad_line));
    for (const auto& g : s.gaps)
        std::printf("gap: messages %llu..%llu missing at %s\n", static_cast<unsigned long long>(g.first_id),
                    static_cast<unsigned long long>(g.last_id), format_ms(g.pos_ms).c_str());
    for (const auto& p : s.problems) std::printf("problem: %s\n", json_printable(p).c_str());
    return s.verdict == IntegrityReport::Verdict::Intact ? 0 : 1;
}

int search_command(const Options& o, const RecordingIndex& idx) {
    Regex re(o.search, o.ignore_case, o.fixed_string);
    Playback pb(o.path, idx);
    uint64_t from = 0;
    if (!o.go.empty()) from = parse_time(o.go).value_or(idx.summary.duration_ms);
    uint64_t n = search_screen(pb, re, from, [](const SearchHit& h) {
        std::printf("%s row %d: %s\n", format_ms(h.pos_ms).c_str(), h.row + 1, json_printable(h.text).c_str());
        return true;
    });
    std::fflush(stdout);
    return n ? 0 : 1;
}

int export_command(const Options& o, const RecordingIndex& idx) {
    Output out(o.output);
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
    else if (f == "raw")
        export_raw(o.path, idx, out.stream());
    else
        throw std::invalid_argument("unknown export format: " + f + " (asciicast, asciicast3, text, raw)");
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
    char host[256] = "localhost";
    ::gethostname(host, sizeof host - 1);
    io.info.host = o.host.empty() ? host : o.host;
    const char* user = std::getenv("USER");
    io.info.user = !o.user.empty() ? o.user : (user && *user ? user : "imported");
    io.info.session = 4294967295u;  // what tlog writes when there is no audit session
    if (!o.rec_id.empty()) {
        io.info.rec = o.rec_id;
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        io.info.rec = "import-" + std::to_string(ts.tv_sec) + "-" + std::to_string(::getpid());
    }
    io.encoder.log_input = true;
    Output out(o.output);
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
