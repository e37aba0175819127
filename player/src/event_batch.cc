#include "event_batch.h"

namespace tlog::play {

EventBatch::Span EventBatch::keep(std::string_view s) {
    Span sp{bytes_.size(), s.size()};
    bytes_.append(s);
    return sp;
}

void EventBatch::line_start(const LineMark& m) {
    recs_.push_back(Rec{Kind::LineStart, {}, 0, 0, m.offset, m.line_no, m.next_id, m.size, {}});
}

void EventBatch::line_end(const LineMark& m) {
    recs_.push_back(Rec{Kind::LineEnd, {}, 0, 0, m.offset, m.line_no, m.next_id, m.size, {}});
}

void EventBatch::event(const Event& ev) {
    recs_.push_back(Rec{Kind::Event, ev.type, ev.width, ev.height, ev.pos_ms, 0, 0, 0, keep(ev.data)});
}

void EventBatch::message(const MessageHeader& h) {
    Header s{h.line,       h.session,   h.id,         h.pos,        h.time_ms,   h.has_time,    keep(h.ver),
             keep(h.host), keep(h.rec), keep(h.user), keep(h.term), keep(h.end), extra_.size(), 0};
    for (const auto& [name, raw] : h.extra) extra_.emplace_back(keep(name), keep(raw));
    s.extra_end = extra_.size();
    recs_.push_back(Rec{Kind::Message, {}, 0, 0, 0, 0, 0, headers_.size(), {}});
    headers_.push_back(s);
}

void EventBatch::gap(uint64_t first, uint64_t last) {
    recs_.push_back(Rec{Kind::Gap, {}, 0, 0, first, last, 0, 0, {}});
}

void EventBatch::problem(const Problem& p) {
    recs_.push_back(Rec{Kind::Problem, {}, 0, 0, 0, 0, 0, problems_.size(), {}});
    problems_.push_back(p);
}

void EventBatch::replay(LineEvents& to) const {
    for (const Rec& r : recs_) {
        switch (r.kind) {
            case Kind::LineStart: to.line_start(LineMark{r.a, r.b, r.c, r.d}); break;
            case Kind::LineEnd: to.line_end(LineMark{r.a, r.b, r.c, r.d}); break;
            case Kind::Event: to.event(Event{r.type, r.a, view(r.data), r.width, r.height}); break;
            case Kind::Message: {
                const Header& s = headers_[r.d];
                MessageHeader h;
                h.line = s.line;
                h.ver = view(s.ver);
                h.host = view(s.host);
                h.rec = view(s.rec);
                h.user = view(s.user);
                h.term = view(s.term);
                h.end = view(s.end);
                h.session = s.session;
                h.id = s.id;
                h.pos = s.pos;
                h.time_ms = s.time_ms;
                h.has_time = s.has_time;
                for (size_t i = s.extra_begin; i < s.extra_end; i++)
                    h.extra.emplace_back(view(extra_[i].first), view(extra_[i].second));
                to.message(h);
                break;
            }
            case Kind::Gap: to.gap(r.a, r.b); break;
            case Kind::Problem: to.problem(problems_[r.d]); break;
        }
    }
}

void EventBatch::clear() {
    // Capacity is kept: batches are reused, so a steady build allocates nothing.
    bytes_.clear();
    recs_.clear();
    headers_.clear();
    extra_.clear();
    problems_.clear();
}

}  // namespace tlog::play
