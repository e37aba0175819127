// Exports: asciicast v2/v3, raw output, rendered text.
#include <cstdio>

#include "tlog/json.h"
#include "tlog/play/convert.h"
#include "tlog/utf8.h"

namespace tlog::play {

namespace {

// asciicast strings are text: invalid bytes become U+FFFD.
std::string as_text(std::string_view data) {
    std::string s;
    s.reserve(data.size());
    auto p = reinterpret_cast<const uint8_t*>(data.data());
    auto end = p + data.size();
    while (p < end) {
        if (*p < 0x80) {
            s.push_back(static_cast<char>(*p++));
            continue;
        }
        size_t n = utf8::valid_prefix(p, end);
        if (n) {
            s.append(reinterpret_cast<const char*>(p), n);
            p += n;
        } else {
            s += utf8::kReplacement;
            p += utf8::invalid_length(p, end);
        }
    }
    return s;
}

std::string seconds(uint64_t ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%llu.%03llu", static_cast<unsigned long long>(ms / 1000),
                  static_cast<unsigned long long>(ms % 1000));
    return buf;
}

// Output (and input) events at the same time are written as one asciicast
// event: the decoder cuts output at message and timing-record boundaries,
// which mean nothing to an asciicast player. Merged bytes are converted to
// text together, so a character is never cut by the merge; a merged event
// is at most kMaxMerge bytes so memory stays bounded.
class AsciicastSink : public EventSink {
public:
    AsciicastSink(std::ostream& out, int version, bool input, uint16_t cols, uint16_t rows)
        : out_(out), v3_(version == 3), input_(input), cols_(cols), rows_(rows) {}
    void event(const Event& ev) override {
        switch (ev.type) {
            case Event::Type::Output: pend('o', ev.pos_ms, ev.data); return;
            case Event::Type::Input:
                if (input_) pend('i', ev.pos_ms, ev.data);
                return;
            case Event::Type::Window:
                // The header gives the first size.
                if (first_window_ && ev.width == cols_ && ev.height == rows_) {
                    first_window_ = false;
                    return;
                }
                first_window_ = false;
                flush();
                write('r', ev.pos_ms, std::to_string(ev.width) + "x" + std::to_string(ev.height));
                return;
        }
    }
    // Writes the event still held back.
    void flush() {
        if (!pending_code_) return;
        write(pending_code_, pending_ms_, as_text(pending_));
        pending_code_ = 0;
        pending_.clear();
    }

private:
    static constexpr size_t kMaxMerge = 64 * 1024;

    void pend(char code, uint64_t ms, std::string_view data) {
        if (pending_code_ && (pending_code_ != code || pending_ms_ != ms || pending_.size() + data.size() > kMaxMerge))
            flush();
        pending_code_ = code;
        pending_ms_ = ms;
        pending_.append(data);
    }
    void write(char code, uint64_t ms, const std::string& data) {
        uint64_t t = v3_ ? ms - last_ : ms;
        last_ = ms;
        line_ = "[" + seconds(t) + ", \"" + code + "\", " + json::quote(data) + "]\n";
        out_ << line_;
    }

    std::ostream& out_;
    bool v3_, input_;
    uint16_t cols_, rows_;
    bool first_window_ = true;
    uint64_t last_ = 0;
    std::string line_;
    char pending_code_ = 0;
    uint64_t pending_ms_ = 0;
    std::string pending_;
};

class RawSink : public EventSink {
public:
    explicit RawSink(std::ostream& out) : out_(out) {}
    void event(const Event& ev) override {
        if (ev.type == Event::Type::Output) out_.write(ev.data.data(), static_cast<std::streamsize>(ev.data.size()));
    }

private:
    std::ostream& out_;
};

}  // namespace

std::string format_ms(uint64_t ms) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%02llu:%02llu:%02llu.%03llu", static_cast<unsigned long long>(ms / 3600000),
                  static_cast<unsigned long long>(ms / 60000 % 60), static_cast<unsigned long long>(ms / 1000 % 60),
                  static_cast<unsigned long long>(ms % 1000));
    return buf;
}

void export_asciicast(const std::string& path, const RecordingIndex& idx, int version, const ExportOptions& opts,
                      std::ostream& out) {
    const auto& s = idx.summary;
    uint16_t cols = s.first_cols ? s.first_cols : 80, rows = s.first_rows ? s.first_rows : 24;
    json::Value h = json::Value::make_object();
    h.set("version", json::Value::make_number(std::to_string(version)));
    if (version == 3) {
        json::Value term = json::Value::make_object();
        term.set("cols", json::Value::make_number(std::to_string(cols)));
        term.set("rows", json::Value::make_number(std::to_string(rows)));
        term.set("type", json::Value::make_string(s.term));
        h.set("term", std::move(term));
    } else {
        h.set("width", json::Value::make_number(std::to_string(cols)));
        h.set("height", json::Value::make_number(std::to_string(rows)));
    }
    if (s.start_ms) h.set("timestamp", json::Value::make_number(std::to_string(s.start_ms / 1000)));
    if (version == 2) {
        json::Value env = json::Value::make_object();
        env.set("TERM", json::Value::make_string(s.term));
        h.set("env", std::move(env));
    }
    h.set("title", json::Value::make_string("tlog recording " + s.rec + " of " + s.user + "@" + s.host));
    out << json::dump(h) << "\n";
    AsciicastSink sink(out, version, opts.input, cols, rows);
    ReadOptions ro;
    ro.rec = s.rec;
    ro.decode.lax = true;
    decode_file(path, ro, sink);
    sink.flush();
}

void export_raw(const std::string& path, const RecordingIndex& idx, std::ostream& out) {
    RawSink sink(out);
    ReadOptions ro;
    ro.rec = idx.summary.rec;
    ro.decode.lax = true;
    decode_file(path, ro, sink);
}

void export_text(const std::string& path, const RecordingIndex& idx, const ExportOptions& opts, std::ostream& out) {
    Playback pb(path, idx);
    bool changed = false;
    pb.model().clear_dirty();
    auto print = [&](uint64_t at) {
        std::string text = pb.model().text();
        while (!text.empty() && text.back() == '\n') text.pop_back();
        out << "--- " << format_ms(at) << " ---\n" << text << "\n";
        pb.model().clear_dirty();
        changed = false;
    };
    // Withheld data is told at its place in the transcript, after the
    // screen as it was up to then; never the bytes, which are not recorded.
    pb.on_withheld = [&](const WithheldNotice& n) {
        if (changed || pb.model().any_dirty()) print(n.span.pos_ms);
        out << "--- " << format_ms(n.span.pos_ms) << " " << withheld::describe(n.input, n.span);
        if (!n.span.reason.empty()) out << " (" << n.span.reason << ")";
        out << " ---\n";
    };
    while (auto t = pb.next_time()) {
        pb.advance_to(*t);
        if (pb.model().any_dirty()) changed = true;
        auto next = pb.next_time();
        if (changed && (!next || *next - *t >= opts.text_pause_ms)) print(*t);
    }
    if (changed) print(pb.position());
}

}  // namespace tlog::play
