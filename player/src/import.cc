// Imports: asciicast v2/v3 and script(1) typescripts into tlog messages.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string_view>
#include <system_error>

#include "tlog/decoder.h"
#include "tlog/json.h"
#include "tlog/play/convert.h"

namespace tlog::play {

namespace {

struct Fd {
    int fd = -1;
    explicit Fd(const std::string& path) {
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + path);
    }
    ~Fd() { ::close(fd); }
};

// Seconds (as asciicast and script write them) to nanoseconds, refusing
// what no recording holds.
int64_t to_ns(double s, const Location& where) {
    if (!std::isfinite(s) || s < 0 || s > 1e9) throw InputError(where, "time out of range");
    return static_cast<int64_t>(std::llround(s * 1e9));
}

bool parse_size(const std::string& s, unsigned& cols, unsigned& rows) {
    char x = 0;
    return std::sscanf(s.c_str(), "%u%c%u", &cols, &x, &rows) == 3 && x == 'x' && cols && rows && cols <= 0xffff &&
           rows <= 0xffff;
}

// asciicast v1 is one JSON document, so it is parsed whole: files larger
// than this are refused rather than exhausting memory.
constexpr uint64_t kMaxV1Bytes = 256u << 20;

// The first line, if it is at most `max` bytes long (a v2/v3 header);
// nullopt if it is longer (a v1 document on one line, or not asciicast).
std::optional<std::string> first_line(const std::string& path, size_t max) {
    Fd f(path);
    std::string line;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(f.fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "cannot read " + path);
        }
        if (n == 0) return line;
        std::string_view chunk(buf, static_cast<size_t>(n));
        size_t nl = chunk.find('\n');
        line.append(chunk.substr(0, nl));
        if (line.size() > max) return std::nullopt;
        if (nl != std::string_view::npos) return line;
    }
}

// What the first line says the version is: 1, 2 or 3; 0 when the first
// line is not a whole JSON object (a pretty-printed v1 document).
int header_version(const std::string& path) {
    auto line = first_line(path, 1u << 20);
    if (!line) return 0;
    json::Value v;
    try {
        v = json::parse(*line, path);
    } catch (const InputError&) {
        return 0;
    }
    Location where{path, 1, 0, "version"};
    if (!v.is_object())
        throw InputError(Location{path, 1, 0, {}}, "the first line must be the asciicast header object");
    const json::Value* ver = v.find("version");
    auto n = ver && ver->is_number() ? ver->as_int() : std::nullopt;
    if (!n || *n < 1 || *n > 3) throw InputError(where, "asciicast version 1, 2 or 3 is read");
    return static_cast<int>(*n);
}

// asciicast v1: {"version": 1, "width", "height", "duration", "command",
// "title", "env": {...}, "stdout": [[DELAY, "DATA"], ...]}, each DELAY in
// seconds since the previous frame. Output only.
uint64_t import_asciicast_v1(const std::string& path, const ImportOptions& opts, MessageSink& out) {
    Fd f(path);
    std::string text;
    char buf[1 << 16];
    for (;;) {
        ssize_t n = ::read(f.fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "cannot read " + path);
        }
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > kMaxV1Bytes)
            throw InputError(Location{path, 0, 0, {}}, "asciicast v1 file larger than 256 MiB (it is read whole)");
    }
    if (text.find_first_not_of(" \t\r\n") == std::string::npos)
        throw InputError(Location{path, 0, 0, {}}, "empty file: no asciicast header");
    json::Value doc = json::parse(text, path);
    auto at = [&](const json::Value& v, std::string field) {
        return Location{path, v.line, v.column, std::move(field)};
    };
    if (!doc.is_object()) throw InputError(at(doc, {}), "an asciicast v1 file is one JSON object");
    const json::Value* ver = doc.find("version");
    auto vn = ver && ver->is_number() ? ver->as_int() : std::nullopt;
    if (!vn || *vn != 1) throw InputError(at(ver ? *ver : doc, "version"), "asciicast version 1, 2 or 3 is read");
    auto size = [&](const char* name) {
        const json::Value* v = doc.find(name);
        if (!v) throw InputError(at(doc, name), "missing");
        auto n = v->is_number() ? v->as_uint() : std::nullopt;
        if (!n || *n == 0 || *n > 0xffff) throw InputError(at(*v, name), "must be a whole number from 1 to 65535");
        return static_cast<uint16_t>(*n);
    };
    uint16_t cols = size("width"), rows = size("height");
    std::optional<double> duration;
    if (const json::Value* d = doc.find("duration")) {
        duration = d->is_number() ? d->as_double() : std::nullopt;
        if (!duration) throw InputError(at(*d, "duration"), "must be a number of seconds");
        to_ns(*duration, at(*d, "duration"));
    }
    const json::Value* frames = doc.find("stdout");
    if (!frames) throw InputError(at(doc, "stdout"), "missing");
    if (!frames->is_array()) throw InputError(at(*frames, "stdout"), "must be an array of [delay, data] frames");
    RecordingInfo info = opts.info;
    if (const json::Value* env = doc.find("env"); env && env->is_object() && info.term.empty())
        if (const json::Value* term = env->find("TERM"); term && term->is_string()) info.term = term->as_string();
    if (info.term.empty()) info.term = "xterm";
    Encoder enc(info, opts.encoder, out, 0, 0);
    enc.window(0, cols, rows);
    int64_t t = 0;
    uint64_t events = 0;
    for (size_t i = 0; i < frames->items().size(); i++) {
        const json::Value& fr = frames->items()[i];
        std::string field = "stdout[" + std::to_string(i) + "]";
        if (!fr.is_array() || fr.items().size() < 2) throw InputError(at(fr, field), "a frame must be [delay, data]");
        const json::Value& delay = fr.items()[0];
        const json::Value& data = fr.items()[1];
        auto secs = delay.is_number() ? delay.as_double() : std::nullopt;
        if (!secs) throw InputError(at(delay, field + "[0]"), "the delay must be a number of seconds");
        if (!data.is_string()) throw InputError(at(data, field + "[1]"), "the data must be a string");
        int64_t ns = to_ns(*secs, at(delay, field + "[0]"));
        if (t > INT64_MAX / 2 - ns) throw InputError(at(delay, field + "[0]"), "time out of range");
        t += ns;
        enc.output(t, data.as_string());
        events++;
    }
    // The recording lasts as long as the header says, if that is longer
    // than its frames (a pause before the exit).
    if (duration) t = std::max(t, to_ns(*duration, Location{path, 0, 0, "duration"}));
    enc.finish(t, "exit");
    return events;
}

}  // namespace

uint64_t import_asciicast(const std::string& path, const ImportOptions& opts, MessageSink& out) {
    if (header_version(path) <= 1) return import_asciicast_v1(path, opts, out);
    Fd f(path);
    std::unique_ptr<Encoder> enc;
    int version = 0;
    int64_t t = 0;
    uint64_t events = 0;
    for_each_line(f.fd, [&](std::string_view line, uint64_t no) {
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;
        Location where{path, no, 0, {}};
        json::Value v = json::parse(line, path);
        if (!enc) {
            if (!v.is_object()) throw InputError(where, "the first line must be the asciicast header object");
            const json::Value* ver = v.find("version");
            auto n = ver && ver->is_number() ? ver->as_int() : std::nullopt;
            if (!n || (*n != 2 && *n != 3)) {
                where.field = "version";
                throw InputError(where, "asciicast version 2 or 3 is read (version 1 is a single JSON document)");
            }
            version = static_cast<int>(*n);
            unsigned cols = 80, rows = 24;
            int64_t start_real = 0;
            RecordingInfo info = opts.info;
            const json::Value* sizes = version == 3 ? v.find("term") : &v;
            if (sizes && sizes->is_object()) {
                const json::Value* w = sizes->find(version == 3 ? "cols" : "width");
                const json::Value* h = sizes->find(version == 3 ? "rows" : "height");
                if (w && w->as_uint() && *w->as_uint() > 0 && *w->as_uint() <= 0xffff)
                    cols = static_cast<unsigned>(*w->as_uint());
                if (h && h->as_uint() && *h->as_uint() > 0 && *h->as_uint() <= 0xffff)
                    rows = static_cast<unsigned>(*h->as_uint());
                const json::Value* type = version == 3 ? sizes->find("type") : nullptr;
                if (type && type->is_string() && info.term.empty()) info.term = type->as_string();
            }
            if (const json::Value* env = v.find("env"); env && env->is_object() && info.term.empty())
                if (const json::Value* term = env->find("TERM"); term && term->is_string())
                    info.term = term->as_string();
            if (info.term.empty()) info.term = "xterm";
            if (const json::Value* ts = v.find("timestamp"); ts && ts->as_int() && *ts->as_int() > 0)
                start_real = *ts->as_int() * 1000000000LL;
            enc = std::make_unique<Encoder>(info, opts.encoder, out, 0, start_real);
            enc->window(0, static_cast<uint16_t>(cols), static_cast<uint16_t>(rows));
            return;
        }
        if (!v.is_array() || v.items().size() < 3 || !v.items()[0].is_number() || !v.items()[1].is_string() ||
            !v.items()[2].is_string())
            throw InputError(where, "an event must be [time, code, data]");
        auto secs = v.items()[0].as_double();
        if (!secs) throw InputError(where, "bad event time");
        int64_t ns = to_ns(*secs, where);
        // v2 times are from the start, v3 times from the previous event.
        if (version == 3 && t > INT64_MAX / 2 - ns) throw InputError(where, "time out of range");
        int64_t at = version == 3 ? t + ns : std::max(t, ns);
        t = at;
        const std::string& code = v.items()[1].as_string();
        const std::string& data = v.items()[2].as_string();
        if (code == "o")
            enc->output(at, data);
        else if (code == "i")
            enc->input(at, data);
        else if (code == "r") {
            unsigned cols, rows;
            if (!parse_size(data, cols, rows)) throw InputError(where, "resize event must be \"COLSxROWS\"");
            enc->window(at, static_cast<uint16_t>(cols), static_cast<uint16_t>(rows));
        } else {
            return;  // markers ("m"), exit ("x"): nothing in tlog's format
        }
        events++;
    });
    if (!enc) throw InputError(Location{path, 0, 0, {}}, "empty file: no asciicast header");
    enc->finish(t, "exit");
    return events;
}

uint64_t import_script(const std::string& typescript, const std::string& timing, const ImportOptions& opts,
                       MessageSink& out) {
    std::ifstream data(typescript, std::ios::binary);
    if (!data) throw std::system_error(errno, std::generic_category(), "cannot open " + typescript);
    std::ifstream tim(timing);
    if (!tim) throw std::system_error(errno, std::generic_category(), "cannot open " + timing);
    unsigned cols = opts.cols ? opts.cols : 80, rows = opts.rows ? opts.rows : 24;
    // script writes a header line first: "Script started on DATE [TERM=... COLUMNS="80" LINES="24"]".
    std::string header;
    if (data.peek() == 'S') {
        std::getline(data, header);
        if (header.rfind("Script started on ", 0) != 0) {
            data.clear();
            data.seekg(0);
            header.clear();
        }
    }
    if (!opts.cols) {
        if (auto p = header.find("COLUMNS=\""); p != std::string::npos)
            cols = static_cast<unsigned>(std::atoi(header.c_str() + p + 9));
        if (auto p = header.find("LINES=\""); p != std::string::npos)
            rows = static_cast<unsigned>(std::atoi(header.c_str() + p + 7));
        if (!cols || cols > 0xffff) cols = 80;
        if (!rows || rows > 0xffff) rows = 24;
    }
    RecordingInfo info = opts.info;
    if (info.term.empty()) info.term = "xterm";
    Encoder enc(info, opts.encoder, out, 0, 0);
    enc.window(0, static_cast<uint16_t>(cols), static_cast<uint16_t>(rows));
    std::string line, buf;
    int64_t t = 0;
    uint64_t no = 0, events = 0;
    while (std::getline(tim, line)) {
        no++;
        if (line.empty()) continue;
        Location where{timing, no, 0, {}};
        char kind = 'O';
        double delay = 0;
        unsigned long long n = 0;
        char word[64] = {0};
        if (std::sscanf(line.c_str(), "%lf %llu", &delay, &n) == 2 && line[0] != 'O') {
            // classic: "DELAY BYTES", output only
        } else if (std::sscanf(line.c_str(), "%c %lf %63s", &kind, &delay, word) == 3) {
            if (kind == 'H') continue;  // header information
            if (kind == 'S') {          // "S DELAY SIGWINCH ROWS=x COLS=y"
                t += to_ns(delay, where);
                unsigned r = 0, c = 0;
                const char* rp = std::strstr(line.c_str(), "ROWS=");
                const char* cp = std::strstr(line.c_str(), "COLS=");
                if (rp && cp && (r = static_cast<unsigned>(std::atoi(rp + 5))) &&
                    (c = static_cast<unsigned>(std::atoi(cp + 5))) && r <= 0xffff && c <= 0xffff)
                    enc.window(t, static_cast<uint16_t>(c), static_cast<uint16_t>(r));
                continue;
            }
            if (kind != 'O' && kind != 'I') throw InputError(where, "unknown timing entry type");
            n = std::strtoull(word, nullptr, 10);
        } else {
            throw InputError(where, "expected \"DELAY BYTES\" or \"TYPE DELAY BYTES\"");
        }
        t += to_ns(delay, where);
        if (n > (1u << 30)) throw InputError(where, "byte count out of range");
        buf.resize(n);
        data.read(buf.data(), static_cast<std::streamsize>(n));
        buf.resize(static_cast<size_t>(data.gcount()));
        // In advanced format both streams share the typescript only with -B;
        // with -I/-O separate files the input is not in this one.
        if (kind == 'I')
            enc.input(t, buf);
        else
            enc.output(t, buf);
        events++;
        if (buf.size() < n) break;  // typescript shorter than the timing says
    }
    enc.finish(t, "exit");
    return events;
}

}  // namespace tlog::play
