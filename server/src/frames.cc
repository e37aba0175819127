// The web player's frames (frames.h): the recording replayed from a
// keyframe as the indexer replays it (every event of one position applied
// before the screen is looked at), the rows that changed sent as styled
// runs.
#include "tlog/server/frames.h"

#include <algorithm>

#include "tlog/decoder.h"
#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/play/snapshot.h"
#include "tlog/server/index.h"

namespace tlog::server {

namespace {

constexpr uint64_t kMaxWindowMs = 600000;
constexpr size_t kPage = 500;

void append_color(std::string& out, const char* key, const play::RunColor& c) {
    if (c.kind == play::RunColor::Kind::Default) return;
    out += ",\"";
    out += key;
    out += "\":";
    if (c.kind == play::RunColor::Kind::Palette) {
        out += std::to_string(c.value);
        return;
    }
    static constexpr char hex[] = "0123456789abcdef";
    out += "\"#";
    for (int shift = 20; shift >= 0; shift -= 4) out += hex[(c.value >> shift) & 0xf];
    out += '"';
}

std::string cursor_json(const play::TermModel& m) {
    return "{\"row\":" + std::to_string(m.cursor_row()) + ",\"col\":" + std::to_string(m.cursor_col()) +
           ",\"visible\":" + (m.cursor_visible() ? "true" : "false") + "}";
}

// Replays messages and writes the answer as it goes.
class Builder final : public EventSink {
public:
    Builder(const FramesRequest& req, std::string& out) : req_(req), out_(out) {}

    play::TermModel model;
    bool stopped = false;
    std::optional<uint64_t> next;  // where the next request starts (stopped)

    void event(const Event& ev) override {
        if (stopped) return;
        if (!header_sent_) {
            if (ev.pos_ms <= req_.from) {
                apply(ev);
                return;
            }
            header();
        } else if (ev.pos_ms != pos_ && pos_ > req_.from) {
            // Every event of position pos_ is applied: the screen at pos_
            // is a rendering, the last of its interval when the new event
            // falls in another (or past the window, or the work's cap).
            if (ev.pos_ms > req_.until) {
                frame();
                stop(req_.until);
                return;
            }
            if (bytes_ >= req_.max_bytes || frames_ >= req_.max_frames) {
                frame();
                stop(pos_);
                return;
            }
            if (bin(ev.pos_ms) != bin(pos_)) frame();
        }
        if (ev.pos_ms > req_.until) {
            stop(req_.until);
            return;
        }
        apply(ev);
        if (ev.type == Event::Type::Output) bytes_ += ev.data.size();
    }

    // The messages ran out (or a gap): what was applied is the last
    // rendering.
    void finish() {
        if (stopped) return;
        if (!header_sent_) header();
        if (pos_ > req_.from) frame();
    }

    void header_line(const std::string& host, const std::string& rec, const FramesInfo& info) {
        prefix_ = "{\"rec\":" + json::quote(rec) + ",\"host\":" + json::quote(host) +
                  ",\"from\":" + std::to_string(req_.from);
        end_ = ",\"start_ms\":" + (info.start_ms ? std::to_string(*info.start_ms) : std::string("null")) +
               ",\"end_ms\":" + (info.end_ms ? std::to_string(*info.end_ms) : std::string("null")) +
               ",\"ended\":" + (info.ended ? "true" : "false");
    }

private:
    void apply(const Event& ev) {
        pos_ = std::max(pos_, ev.pos_ms);
        switch (ev.type) {
            case Event::Type::Window: model.resize(ev.height, ev.width); break;
            case Event::Type::Output: model.feed(ev.data); break;
            case Event::Type::Input: break;
        }
    }

    uint64_t bin(uint64_t pos) const { return (pos - req_.from - 1) / req_.interval; }

    void header() {
        header_sent_ = true;
        pos_ = std::max(pos_, req_.from);
        rows_ = model.rows();
        cols_ = model.cols();
        sent_.assign(rows_, std::string());
        out_ += prefix_;
        out_ += ",\"rows\":" + std::to_string(rows_) + ",\"cols\":" + std::to_string(cols_);
        out_ += end_;
        out_ += ",\"screen\":[";
        for (int r = 0; r < rows_; r++) {
            sent_[static_cast<size_t>(r)] = runs_json(model.row_runs(r));
            if (r) out_ += ',';
            out_ += sent_[static_cast<size_t>(r)];
        }
        cursor_ = cursor_json(model);
        out_ += "],\"cursor\":" + cursor_ + "}\n";
        model.clear_dirty();
    }

    void frame() {
        bool resized = model.rows() != rows_ || model.cols() != cols_;
        if (!resized && !model.any_dirty() && cursor_json(model) == cursor_) return;
        std::string line = "{\"t\":" + std::to_string(pos_);
        if (resized) {
            rows_ = model.rows();
            cols_ = model.cols();
            sent_.assign(rows_, std::string());
            line += ",\"size\":[" + std::to_string(rows_) + "," + std::to_string(cols_) + "]";
        }
        std::string rows;
        const std::vector<bool>& dirty = model.dirty();
        for (int r = 0; r < rows_; r++) {
            auto i = static_cast<size_t>(r);
            if (!resized && (i >= dirty.size() || !dirty[i])) continue;
            std::string runs = runs_json(model.row_runs(r));
            if (!resized && runs == sent_[i]) continue;  // written again as it was
            rows += rows.empty() ? "{\"" : ",\"";
            rows += std::to_string(r) + "\":" + runs;
            sent_[i] = std::move(runs);
        }
        model.clear_dirty();
        std::string cursor = cursor_json(model);
        bool moved = cursor != cursor_;
        if (rows.empty() && !moved && !resized) return;
        if (!rows.empty()) line += ",\"rows\":" + rows + "}";
        if (moved) line += ",\"cursor\":" + cursor;
        cursor_ = std::move(cursor);
        out_ += line + "}\n";
        frames_++;
    }

    void stop(uint64_t next) {
        stopped = true;
        this->next = next;
    }

    const FramesRequest& req_;
    std::string& out_;
    std::string prefix_, end_;
    bool header_sent_ = false;
    uint64_t pos_ = 0;    // the position of the events applied last
    uint64_t bytes_ = 0;  // output replayed after `from`
    size_t frames_ = 0;
    uint16_t rows_ = 0, cols_ = 0;  // the size sent last
    std::vector<std::string> sent_;
    std::string cursor_;
};

}  // namespace

FramesRequest frames_request(std::optional<uint64_t> from, std::optional<uint64_t> until,
                             std::optional<uint64_t> interval) {
    FramesRequest r;
    r.from = from.value_or(0);
    if (r.from > UINT64_MAX / 2) throw InputError({"", 0, 0, "from"}, "out of range");
    r.until = until.value_or(r.from + 60000);
    if (r.until < r.from || r.until > r.from + kMaxWindowMs) {
        throw InputError({"", 0, 0, "until"},
                         "must lie between from and from+" + std::to_string(kMaxWindowMs) + " (milliseconds)");
    }
    r.interval = interval.value_or(40);
    if (r.interval < 10 || r.interval > 10000) {
        throw InputError({"", 0, 0, "interval"}, "must be 10 to 10000 ms");
    }
    return r;
}

FramesInfo frames_info(Store& store, const std::string& host, const std::string& rec) {
    FramesInfo info;
    SessionQuery q;
    q.hosts = {host};
    q.limit = 1;
    q.conditions.push_back({"s.rec = ?", {SqlValue::str(rec)}, "", {}});
    auto found = store.sessions(q);
    if (found.empty() || found.front().last_id == 0) return info;
    const Session& s = found.front();
    info.ended = s.state == "ended";
    if (s.start_ms) info.start_ms = s.start_ms;
    // The last message's last event: decoded alone, its chain unchecked
    // (the position is all that is read).
    auto last = store.messages(rec, host, s.last_id - 1, 1);
    if (last.empty()) return info;
    struct Last final : EventSink {
        uint64_t pos = 0;
        void event(const Event& ev) override { pos = std::max(pos, ev.pos_ms); }
        void message(const MessageHeader& h) override { pos = std::max(pos, h.pos); }
    } sink;
    DecodeOptions o;
    o.lax = true;
    o.first_id = s.last_id;
    Decoder dec(o);
    dec.feed(last.front(), s.last_id, sink);
    info.end_ms = sink.pos;
    return info;
}

std::string frames_ndjson(const StoredKeyframe& kf, const MessagePages& pages, const FramesRequest& req,
                          const std::string& host, const std::string& rec, const FramesInfo& info) {
    std::string out;
    Builder b(req, out);
    b.header_line(host, rec, info);
    play::Snapshot snap;
    if (!play::Snapshot::deserialize(kf.snapshot, snap)) {
        throw std::runtime_error(host + "/" + rec + ": a stored keyframe does not load");
    }
    b.model.restore(snap);
    b.model.clear_dirty();
    // As seek() reads them: from the keyframe's message on, as long as
    // the ids follow each other.
    DecodeOptions o;
    o.lax = true;  // the verdict is the index's; the screen plays through problems
    o.first_id = kf.msg_id;
    Decoder dec(o);
    uint64_t after = kf.msg_id - 1;
    bool exhausted = false;
    while (!b.stopped && !exhausted) {
        auto page = pages(after, kPage);
        if (page.empty()) exhausted = true;
        for (const auto& msg : page) {
            auto id = peek_uint(msg, "id");
            if (!id || *id != after + 1) {
                exhausted = true;  // a gap: what follows cannot be played yet
                break;
            }
            dec.feed(msg, *id, b);
            after = *id;
            if (b.stopped) break;
        }
        if (page.size() < kPage) exhausted = true;
    }
    b.finish();
    out += "{\"next\":" + (b.next ? std::to_string(*b.next) : std::string("null")) +
           ",\"more\":" + (b.next ? "true" : "false") + "}\n";
    return out;
}

std::string runs_json(const std::vector<play::StyledRun>& runs) {
    using R = play::StyledRun;
    static constexpr struct {
        uint16_t bit;
        const char* key;
    } kAttrs[] = {{R::Bold, ",\"b\":true"},
                  {R::Dim, ",\"d\":true"},
                  {R::Italic, ",\"i\":true"},
                  {R::Underline, ",\"u\":true"},
                  {R::DoubleUnderline, ",\"uu\":true"},
                  {R::Blink, ",\"k\":true"},
                  {R::Inverse, ",\"r\":true"},
                  {R::Invisible, ",\"h\":true"},
                  {R::Strike, ",\"s\":true"},
                  {R::Overline, ",\"o\":true"}};
    std::string out = "[";
    for (size_t i = 0; i < runs.size(); i++) {
        const R& r = runs[i];
        if (i) out += ',';
        out += "{\"t\":" + json::quote(r.text) + ",\"w\":" + std::to_string(r.width);
        append_color(out, "fg", r.fg);
        append_color(out, "bg", r.bg);
        for (const auto& a : kAttrs)
            if (r.attrs & a.bit) out += a.key;
        out += '}';
    }
    out += ']';
    return out;
}

}  // namespace tlog::server
