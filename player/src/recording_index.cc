#include "tlog/play/recording_index.h"

#include <algorithm>
#include <stdexcept>

#include "decode_stage.h"
#include "event_batch.h"
#include "serial.h"
#include "tlog/play/keyframe_policy.h"
#include "tlog/play/line_source.h"
#include "tlog/play/term_model.h"
#include "tlog/recording_select.h"

namespace tlog::play {

namespace {

// TLPIDX4: the summary carries the verdict's label ("intact (keyed, key
// K)"). TLPIDX3: keyframes carry Decoder::next_id() (TLPIDX2 had the count
// of messages + 1, wrong after a gap). Older caches are rebuilt.
constexpr std::string_view kMagic = "TLPIDX4";
constexpr size_t kMaxProblems = 20;  // lax mode: the first ones, for the auditor

// IndexOptions::until_ms was reached: the build stops there.
struct ReachedUntil {};

// The index build's second stage: the terminal model, the summary, and the
// keyframe decisions, fed by the decoder stage directly or through batches.
class ModelStage final : public LineEvents {
public:
    ModelStage(RecordingIndex& idx, const IndexOptions& opts) : idx_(idx), opts_(opts) {
        idx_.every_bytes = opts.every_bytes;
        idx_.every_ms = opts.every_ms;
    }

    void line_start(const LineMark& m) override {
        // A keyframe before this message when enough has been played since
        // the last one, and the stream is between escape sequences.
        if (policy_.due(model_, summary_.last_pos())) {
            bool first = policy_.first();
            Keyframe k;
            k.time_ms = first ? 0 : summary_.last_pos();
            k.offset = m.offset;
            k.line = m.line_no - 1;
            k.msg_id = m.next_id;
            k.out_bytes = model_.fed();
            k.snap = model_.snapshot();
            idx_.keyframes.push_back(std::move(k));
            policy_.taken(model_, summary_.last_pos());
            bool reached = !first && opts_.until_ms && idx_.keyframes.back().time_ms >= opts_.until_ms;
            if (reached) throw ReachedUntil{};
        }
        if (opts_.cancelled && opts_.cancelled()) throw IndexCancelled();
    }
    void line_end(const LineMark& m) override {
        summary_.line(m.size);
        if (opts_.progress && m.offset - progress_at_ >= (8u << 20)) {
            progress_at_ = m.offset;
            opts_.progress(m.offset);
        }
    }
    void event(const Event& ev) override {
        summary_.event(ev);
        switch (ev.type) {
            case Event::Type::Window: model_.resize(ev.height, ev.width); break;
            case Event::Type::Output: model_.feed(ev.data); break;
            case Event::Type::Input: break;
        }
    }
    void message(const MessageHeader& h) override { summary_.message(h); }
    void gap(uint64_t first, uint64_t last) override { summary_.gap(first, last); }
    void problem(const Problem& p) override { summary_.problem(p); }

    void finish(const IntegrityReport& r, const std::string& selected) {
        summary_.finish(r, selected);
        if (idx_.keyframes.empty()) {
            Keyframe k;
            k.snap = model_.snapshot();
            idx_.keyframes.push_back(std::move(k));
        }
    }

private:
    RecordingIndex& idx_;
    const IndexOptions& opts_;
    SummarySink summary_{idx_.summary};
    TermModel model_;
    KeyframePolicy policy_{opts_.every_bytes, opts_.every_ms};
    uint64_t progress_at_ = 0;
};

}  // namespace

void SummarySink::event(const Event& ev) {
    last_pos_ = ev.pos_ms;
    switch (ev.type) {
        case Event::Type::Window:
            if (!s_.first_cols && ev.width && ev.height) {
                s_.first_cols = ev.width;
                s_.first_rows = ev.height;
            }
            break;
        case Event::Type::Output: s_.out_bytes += ev.data.size(); break;
        case Event::Type::Input: s_.in_bytes += ev.data.size(); break;
    }
}

void SummarySink::message(const MessageHeader& h) {
    if (!s_.messages) {
        s_.rec = std::string(h.rec);
        s_.user = std::string(h.user);
        s_.host = std::string(h.host);
        s_.term = std::string(h.term);
        s_.session = h.session;
        if (h.has_time) s_.start_ms = h.time_ms >= h.pos ? h.time_ms - h.pos : 0;
    }
    s_.messages++;
    last_pos_ = std::max(last_pos_, h.pos);
}

void SummarySink::gap(uint64_t first, uint64_t last) { s_.gaps.push_back(Gap{first, last, last_pos_}); }

void SummarySink::problem(const Problem& p) {
    if (s_.problems.size() < kMaxProblems) s_.problems.push_back(p.str());
}

void SummarySink::finish(const IntegrityReport& r, const std::string& selected) {
    if (s_.rec.empty()) s_.rec = selected;
    s_.duration_ms = last_pos_;
    s_.verdict = r.verdict;
    s_.integrity = r.str();
    s_.integrity_label = r.label();
    s_.first_bad_id = r.first_bad_id;
    s_.first_bad_line = r.first_bad_line;
}

const Keyframe& RecordingIndex::at_or_before(uint64_t ms) const {
    auto it = std::upper_bound(keyframes.begin(), keyframes.end(), ms,
                               [](uint64_t t, const Keyframe& k) { return t < k.time_ms; });
    if (it == keyframes.begin()) return keyframes.front();
    return *(it - 1);
}

RecordingIndex build_index(const std::string& path, const IndexOptions& opts) {
    RecordingIndex idx;
    ModelStage model(idx, opts);
    auto decode = std::make_unique<DecodeStage>(path, opts.rec, opts.lax, opts.keys);
    if (!opts.pipelined) {
        try {
            decode->run(model);
        } catch (const ReachedUntil&) {
            model.finish(IntegrityReport{}, decode->selected());
            return idx;
        }
        model.finish(decode->finish(), decode->selected());
        return idx;
    }
    // The decoder runs ahead in its own thread; the model replays what it
    // decoded, in order, so every decision is the one the sequential build
    // makes. Leaving by an exception stops and joins the thread.
    DecodeThread decoder(std::move(decode));
    try {
        while (EventBatch* b = decoder.next()) b->replay(model);
    } catch (const ReachedUntil&) {
        // The part read is what a first look needs; no verdict for it.
        model.finish(IntegrityReport{}, decoder.selected());
        return idx;
    }
    model.finish(decoder.report(), decoder.selected());
    return idx;
}

RecordingIndex start_index(const std::string& path, const IndexOptions& opts) {
    RecordingIndex idx;
    LineSource src(path);
    std::string_view line;
    uint64_t off = 0, no = 0;
    RecordingSelector select(opts.rec);
    while (src.next(line, off, no)) {
        if (!select.take(line)) continue;
        Keyframe k;
        k.offset = off;
        k.line = no - 1;
        k.msg_id = 1;
        k.snap = TermModel().snapshot();
        idx.keyframes.push_back(std::move(k));
        idx.summary.rec = select.selected();
        return idx;
    }
    throw std::runtime_error(opts.rec.empty() ? "no messages in " + path
                                              : "no recording \"" + opts.rec + "\" in " + path);
}

std::string RecordingIndex::serialize() const {
    using namespace serial;
    std::string s(kMagic);
    const auto& m = summary;
    for (const std::string* f : {&m.rec, &m.user, &m.host, &m.term, &m.integrity, &m.integrity_label}) put_str(s, *f);
    for (uint64_t v : {m.session, m.start_ms, m.duration_ms, m.messages, m.out_bytes, m.in_bytes, m.log_bytes,
                       uint64_t(m.first_cols), uint64_t(m.first_rows), uint64_t(m.verdict), m.first_bad_id,
                       m.first_bad_line, every_bytes, every_ms})
        put_u64(s, v);
    put_u64(s, m.gaps.size());
    for (const Gap& g : m.gaps) {
        put_u64(s, g.first_id);
        put_u64(s, g.last_id);
        put_u64(s, g.pos_ms);
    }
    put_u64(s, m.problems.size());
    for (const auto& p : m.problems) put_str(s, p);
    put_u64(s, keyframes.size());
    for (const Keyframe& k : keyframes) {
        for (uint64_t v : {k.time_ms, k.offset, k.line, k.msg_id, k.out_bytes}) put_u64(s, v);
        put_str(s, k.snap.serialize());
    }
    return s;
}

bool RecordingIndex::deserialize(std::string_view text, RecordingIndex& out) {
    using namespace serial;
    if (text.substr(0, kMagic.size()) != kMagic) return false;
    Reader r{text.substr(kMagic.size())};
    RecordingIndex idx;
    auto& m = idx.summary;
    for (std::string* f : {&m.rec, &m.user, &m.host, &m.term, &m.integrity, &m.integrity_label}) *f = r.str();
    m.session = r.u64();
    m.start_ms = r.u64();
    m.duration_ms = r.u64();
    m.messages = r.u64();
    m.out_bytes = r.u64();
    m.in_bytes = r.u64();
    m.log_bytes = r.u64();
    m.first_cols = static_cast<uint16_t>(r.u64());
    m.first_rows = static_cast<uint16_t>(r.u64());
    uint64_t verdict = r.u64();
    if (verdict > uint64_t(IntegrityReport::Verdict::Unverifiable)) return false;
    m.verdict = static_cast<IntegrityReport::Verdict>(verdict);
    m.first_bad_id = r.u64();
    m.first_bad_line = r.u64();
    idx.every_bytes = r.u64();
    idx.every_ms = r.u64();
    uint64_t n = r.u64();
    if (!r.ok || n > r.s.size()) return false;
    for (uint64_t i = 0; i < n && r.ok; i++) m.gaps.push_back(Gap{r.u64(), r.u64(), r.u64()});
    n = r.u64();
    if (!r.ok || n > r.s.size()) return false;
    for (uint64_t i = 0; i < n && r.ok; i++) m.problems.push_back(r.str());
    n = r.u64();
    if (!r.ok || n > r.s.size() || n == 0) return false;
    for (uint64_t i = 0; i < n && r.ok; i++) {
        Keyframe k;
        k.time_ms = r.u64();
        k.offset = r.u64();
        k.line = r.u64();
        k.msg_id = r.u64();
        k.out_bytes = r.u64();
        std::string snap = r.str();
        if (!r.ok || !Snapshot::deserialize(snap, k.snap)) return false;
        idx.keyframes.push_back(std::move(k));
    }
    if (!r.ok || !r.s.empty()) return false;
    out = std::move(idx);
    return true;
}

}  // namespace tlog::play
