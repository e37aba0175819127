#include "tlog/play/playback.h"

#include <algorithm>

namespace tlog::play {

class Playback::Sink : public EventSink {
public:
    explicit Sink(Playback& p) : p_(p) {}
    void event(const Event& ev) override {
        PlayEvent e;
        e.type = ev.type;
        e.pos_ms = ev.pos_ms;
        e.data.assign(ev.data);
        e.width = ev.width;
        e.height = ev.height;
        p_.queue_.push_back(std::move(e));
    }
    void message(const MessageHeader& h) override {
        if (!h.end.empty()) p_.ended_ = true;
        if (!p_.on_withheld) return;
        for (const auto& [name, raw] : h.extra) {
            const bool input = name == withheld::kInputField;
            if (!input && name != withheld::kOutputField) continue;
            try {
                for (auto& s : withheld::parse(raw, std::string(name))) add(WithheldNotice{input, std::move(s)});
            } catch (const InputError&) {
                // A malformed span is not shown; the integrity verdict
                // already says whether the message was altered.
            }
        }
    }
    // A span may start before the message that reports it (typing spans
    // a latency flush): keep the notices in time order.
    void add(WithheldNotice n) {
        auto& q = p_.notices_;
        auto at = std::upper_bound(q.begin(), q.end(), n.span.pos_ms,
                                   [](uint64_t t, const WithheldNotice& x) { return t < x.span.pos_ms; });
        q.insert(at, std::move(n));
    }
    void gap(uint64_t first, uint64_t last) override {
        if (p_.on_gap) p_.on_gap(Gap{first, last, p_.pos_});
    }

private:
    Playback& p_;
};

Playback::Playback(const std::string& path, const RecordingIndex& index, bool follow)
    : index_(&index), follow_(follow), src_(path), select_(RecordingSelector::exactly(index.summary.rec)) {
    restart(index_->keyframes.front());
}

Playback::~Playback() = default;

void Playback::restart(const Keyframe& k) {
    model_.restore(k.snap);
    src_.seek(k.offset, k.line);
    // Messages were checked when the index was built: play through
    // whatever the file holds now.
    DecodeOptions o;
    o.lax = true;
    o.source = src_.path();
    // The id the index's decoder expected there: the messages before the
    // keyframe are not missing, and gaps after it are reported as the
    // index found them.
    o.first_id = k.msg_id;
    dec_ = std::make_unique<Decoder>(o);
    sink_ = std::make_unique<Sink>(*this);
    queue_.clear();
    notices_.clear();
    ended_ = false;
    pos_ = k.time_ms;
}

bool Playback::fill() {
    std::string_view line;
    uint64_t off, no;
    while (queue_.empty()) {
        if (!src_.next(line, off, no, follow_)) return false;
        if (!select_.take(line)) continue;
        dec_->feed(line, no, *sink_);
    }
    return true;
}

void Playback::apply(const PlayEvent& ev) {
    switch (ev.type) {
        case Event::Type::Window: model_.resize(ev.height, ev.width); break;
        case Event::Type::Output: model_.feed(ev.data); break;
        case Event::Type::Input: break;
    }
    if (on_event) on_event(ev);
}

void Playback::seek(uint64_t ms) {
    const Keyframe& k = index_->at_or_before(ms);
    // Going forward within reach of the current state: no restore needed.
    if (!(ms >= pos_ && k.time_ms <= pos_)) restart(k);
    advance_to(ms);
}

void Playback::advance_to(uint64_t ms) {
    while (fill() && queue_.front().pos_ms <= ms) {
        // Events of the same millisecond come first: the prompt before the
        // answer typed to it.
        if (queue_.front().pos_ms > 0) report_withheld(queue_.front().pos_ms - 1);
        apply(queue_.front());
        queue_.pop_front();
    }
    report_withheld(ms);
    if (ms > pos_) pos_ = ms;
}

void Playback::report_withheld(uint64_t ms) {
    while (!notices_.empty() && notices_.front().span.pos_ms <= ms) {
        WithheldNotice n = std::move(notices_.front());
        notices_.pop_front();
        if (on_withheld) on_withheld(n);
    }
}

std::optional<uint64_t> Playback::next_time() {
    if (!fill()) return std::nullopt;
    return queue_.front().pos_ms;
}

bool Playback::step() {
    auto t = next_time();
    if (!t) return false;
    advance_to(*t);
    return true;
}

}  // namespace tlog::play
