// Exports: asciicast v2/v3, raw output, rendered text.
#include <algorithm>
#include <cstdio>
#include <deque>
#include <unordered_map>
#include <vector>

#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/play/convert.h"
#include "tlog/utf8.h"
#include "tlog/withheld.h"

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

// The transcript: follows each line of the main screen by its identity
// (TermModel::line_id) and writes it once, when it is settled.
class TranscriptSink : public EventSink {
public:
    TranscriptSink(std::ostream& out, uint16_t rows, uint16_t cols) : out_(out), model_(rows, cols) { sample(); }

    void event(const Event& ev) override {
        if (ev.type == Event::Type::Window) {
            model_.resize(ev.height, ev.width);
            settle(ev.pos_ms);
            return;
        }
        tell_withheld(ev.pos_ms);
        if (ev.type != Event::Type::Output) return;
        // Fed up to each line feed, screen erase (ED) or reset at a time: a
        // chunk of output may scroll many lines through the screen, or erase
        // it and write anew, and each line must be seen before it goes.
        std::string_view d = ev.data;
        while (!d.empty()) {
            size_t n = settle_point(d);
            model_.feed(d.substr(0, n));
            d.remove_prefix(n);
            settle(ev.pos_ms);
        }
    }

    // Withheld data (hidden input, redacted output) is told on the line the
    // cursor was on when it happened, e.g. "Password: [input hidden: 9
    // bytes]"; a line already written gets the notice as a line of its own.
    void message(const MessageHeader& h) override {
        for (const auto& [name, raw] : h.extra) {
            const bool input = name == withheld::kInputField;
            if (!input && name != withheld::kOutputField) continue;
            try {
                for (auto& sp : withheld::parse(raw, std::string(name))) pending_.emplace_back(input, std::move(sp));
            } catch (const InputError&) {
                // Not shown; the integrity verdict says whether it was altered.
            }
        }
        std::stable_sort(pending_.begin(), pending_.end(),
                         [](const auto& a, const auto& b) { return a.second.pos_ms < b.second.pos_ms; });
    }

    void finish(uint64_t end_ms) {
        tell_withheld(UINT64_MAX);
        if (in_alt_) write_alt(end_ms);
        // The final screen, down to its last non-blank row.
        size_t last = rows_.size();
        while (last > 0 && rows_[last - 1].text.empty()) last--;
        for (size_t r = 0; r < last; r++) emit(rows_[r]);
        out_.flush();
    }

private:
    struct Row {
        uint64_t id = 0;
        std::string text;
    };

    // How many bytes of `d` to feed before looking at the screen again:
    // through the first line feed, ED (CSI ... J) or RIS (ESC c); up to a
    // DEC private mode change (CSI ? ... h/l: the alternate screen among
    // them), and through it when it comes first, so a program that enters,
    // draws and leaves in one write is still seen. A sequence cut by the end
    // of `d` is simply fed; the model keeps its state.
    static size_t settle_point(std::string_view d) {
        for (size_t i = 0; i < d.size(); i++) {
            char c = d[i];
            if (c == '\n' || c == '\v' || c == '\f') return i + 1;
            if (c != '\x1b' || i + 1 >= d.size()) continue;
            if (d[i + 1] == 'c') return i + 2;
            if (d[i + 1] != '[') continue;
            size_t j = i + 2;
            bool dec = j < d.size() && d[j] == '?';
            while (j < d.size() && ((d[j] >= '0' && d[j] <= '9') || d[j] == ';' || d[j] == '?')) j++;
            if (j >= d.size()) continue;
            if (d[j] == 'J') return j + 1;
            if (dec && (d[j] == 'h' || d[j] == 'l')) return i > 0 ? i : j + 1;
        }
        return d.size();
    }

    // Writes the line unless its text is what was last written of it.
    void emit(const Row& r) {
        auto& done = written_[r.id];
        auto note = notes_.find(r.id);
        if (done.has && done.text == r.text && note == notes_.end()) return;
        out_ << r.text;
        if (note != notes_.end()) {
            out_ << note->second;
            notes_.erase(note);
        }
        out_ << '\n';
        done.has = true;
        done.text = r.text;
    }

    // Spans that happened before `ms`, once the screen is as it was then
    // (a message carries its spans ahead of its events, or later than they
    // happened, when the span ended after a latency flush).
    void tell_withheld(uint64_t ms) {
        while (!pending_.empty() && pending_.front().second.pos_ms < ms) {
            const auto& [input, sp] = pending_.front();
            std::string note = withheld::describe(input, sp);
            if (!sp.reason.empty()) note += " (" + sp.reason + ")";
            const uint64_t id = line_at(sp.pos_ms);
            const bool on_screen =
                !in_alt_ && std::any_of(rows_.begin(), rows_.end(), [id](const Row& r) { return r.id == id; });
            if (on_screen)
                notes_[id] += " " + note;
            else
                out_ << "--- " << format_ms(sp.pos_ms) << " " << note << " ---\n";
            pending_.pop_front();
        }
    }

    // The identity of the line the cursor was on at `ms` (the last settled
    // position at or before it).
    uint64_t line_at(uint64_t ms) const {
        auto it = std::upper_bound(cursor_.begin(), cursor_.end(), ms,
                                   [](uint64_t t, const std::pair<uint64_t, uint64_t>& c) { return t < c.first; });
        if (it == cursor_.begin()) return model_.line_id(model_.cursor_row());
        return std::prev(it)->second;
    }

    void note_cursor(uint64_t ms) {
        const uint64_t id = model_.line_id(model_.cursor_row());
        if (!cursor_.empty() && cursor_.back().second == id) return;
        cursor_.emplace_back(ms, id);
        // Spans arrive at most a few latency periods after they happen.
        if (cursor_.size() > kCursorHistory) cursor_.pop_front();
    }

    void sample() {
        rows_.clear();
        for (int r = 0; r < model_.rows(); r++) rows_.push_back({model_.line_id(r), model_.row_text(r)});
        model_.clear_dirty();
    }

    void write_alt(uint64_t end_ms) {
        std::string text = alt_text_;
        while (!text.empty() && (text.back() == '\n')) text.pop_back();
        out_ << "--- full-screen program, " << format_ms(alt_start_ms_) << " to " << format_ms(end_ms)
             << ", its last screen: ---\n"
             << text << "\n--- end of full-screen program ---\n";
        in_alt_ = false;
    }

    void settle(uint64_t ms) {
        if (model_.alt_screen()) {
            if (!in_alt_) {
                // What preceded the program on the main screen comes first.
                size_t last = rows_.size();
                while (last > 0 && rows_[last - 1].text.empty()) last--;
                for (size_t r = 0; r < last; r++) emit(rows_[r]);
                in_alt_ = true;
                alt_start_ms_ = ms;
            }
            if (model_.any_dirty()) alt_text_ = model_.text();
            model_.clear_dirty();
            return;
        }
        if (in_alt_) {
            write_alt(ms);
            // The main screen as restored: its lines were written on the
            // way in. Their identities may have moved with the program's
            // scrolling, so they are taken as written under the new ones.
            sample();
            written_.clear();
            for (const auto& r : rows_) written_[r.id] = {true, r.text};
            return;
        }
        // Lines of the last sample that left the screen, and lines erased
        // (blank now, text before): written with everything above them,
        // so the order on screen is kept.
        std::unordered_map<uint64_t, int> now;
        std::vector<Row> next;
        next.reserve(static_cast<size_t>(model_.rows()));
        const auto& dirty = model_.dirty();
        for (int r = 0; r < model_.rows(); r++) {
            uint64_t id = model_.line_id(r);
            now[id] = r;
            std::string text;
            auto prev = std::find_if(rows_.begin(), rows_.end(), [id](const Row& x) { return x.id == id; });
            if (prev == rows_.end() || (static_cast<size_t>(r) < dirty.size() && dirty[static_cast<size_t>(r)]))
                text = model_.row_text(r);
            else
                text = prev->text;
            next.push_back({id, std::move(text)});
        }
        int settle_to = -1;
        for (size_t r = 0; r < rows_.size(); r++) {
            auto it = now.find(rows_[r].id);
            bool left = it == now.end();
            bool erased = !left && !rows_[r].text.empty() && next[static_cast<size_t>(it->second)].text.empty();
            if (left || erased) settle_to = static_cast<int>(r);
        }
        // A line still shown with other text is being edited (a shell's
        // command line): it is written when it settles, not now.
        for (int r = 0; r <= settle_to; r++) {
            const Row& old = rows_[static_cast<size_t>(r)];
            auto it = now.find(old.id);
            if (it == now.end()) {
                emit(old);
                written_.erase(old.id);
                continue;
            }
            const std::string& text = next[static_cast<size_t>(it->second)].text;
            if (text.empty() || text == old.text) emit(old);
        }
        rows_ = std::move(next);
        model_.clear_dirty();
        note_cursor(ms);
    }

    struct Written {
        bool has = false;
        std::string text;
    };

    std::ostream& out_;
    TermModel model_;
    std::vector<Row> rows_;
    std::unordered_map<uint64_t, Written> written_;
    bool in_alt_ = false;
    uint64_t alt_start_ms_ = 0;
    std::string alt_text_;
    static constexpr size_t kCursorHistory = 4096;
    std::deque<std::pair<uint64_t, uint64_t>> cursor_;     // (ms, line id), in time order
    std::unordered_map<uint64_t, std::string> notes_;      // line id -> withheld notices
    std::deque<std::pair<bool, withheld::Span>> pending_;  // (input?, span), in time order
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

void export_transcript(const std::string& path, const RecordingIndex& idx, std::ostream& out) {
    const auto& s = idx.summary;
    TranscriptSink sink(out, s.first_rows ? s.first_rows : 24, s.first_cols ? s.first_cols : 80);
    ReadOptions ro;
    ro.rec = s.rec;
    ro.decode.lax = true;  // strict mode was settled by the index
    decode_file(path, ro, sink);
    sink.finish(s.duration_ms);
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
