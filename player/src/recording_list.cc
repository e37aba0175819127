#include "tlog/play/recording_list.h"

#include <map>
#include <memory>

#include "tlog/play/line_source.h"

namespace tlog::play {

namespace {

class SummarySink : public EventSink {
public:
    explicit SummarySink(RecordingSummary& s) : s_(s) {}
    void event(const Event& ev) override {
        last_ = ev.pos_ms;
        if (ev.type == Event::Type::Output) s_.out_bytes += ev.data.size();
        else if (ev.type == Event::Type::Input) s_.in_bytes += ev.data.size();
        else if (!s_.first_cols && ev.width && ev.height) {
            s_.first_cols = ev.width;
            s_.first_rows = ev.height;
        }
    }
    void message(const MessageHeader& h) override {
        if (!s_.messages) {
            s_.rec = std::string(h.rec);
            s_.user = std::string(h.user);
            s_.host = std::string(h.host);
            s_.term = std::string(h.term);
            s_.session = h.session;
            if (h.has_time) s_.start_ms = h.time_ms >= h.pos ? h.time_ms - h.pos : 0;
        }
        s_.messages++;
        if (h.pos > last_) last_ = h.pos;
    }
    void gap(uint64_t a, uint64_t b) override { s_.gaps.push_back(Gap{a, b, last_}); }
    void problem(const Problem& p) override {
        if (s_.problems.size() < 20) s_.problems.push_back(p.str());
    }
    uint64_t last_ = 0;

private:
    RecordingSummary& s_;
};

struct Entry {
    RecordingSummary summary;
    std::unique_ptr<SummarySink> sink;
    std::unique_ptr<Decoder> dec;
};

} // namespace

std::vector<RecordingSummary> list_recordings(const std::string& path, const integrity::Keyring* keys) {
    std::vector<std::unique_ptr<Entry>> order;
    std::map<std::string, Entry*> by_rec;
    LineSource src(path);
    std::string_view line;
    uint64_t off, no;
    std::string rec;
    while (src.next(line, off, no)) {
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        if (!peek_rec(line, rec)) rec.clear();  // lines without an id form one recording
        Entry*& e = by_rec[rec];
        if (!e) {
            auto n = std::make_unique<Entry>();
            n->summary.rec = rec;
            n->sink = std::make_unique<SummarySink>(n->summary);
            DecodeOptions o;
            o.lax = true;
            o.keys = keys;
            o.source = path;
            n->dec = std::make_unique<Decoder>(o);
            e = n.get();
            order.push_back(std::move(n));
        }
        e->summary.log_bytes += line.size() + 1;
        e->dec->feed(line, no, *e->sink);
    }
    std::vector<RecordingSummary> out;
    for (auto& e : order) {
        const IntegrityReport& r = e->dec->finish();
        e->summary.duration_ms = e->sink->last_;
        e->summary.verdict = r.verdict;
        e->summary.integrity = r.str();
        e->summary.first_bad_id = r.first_bad_id;
        e->summary.first_bad_line = r.first_bad_line;
        out.push_back(std::move(e->summary));
    }
    return out;
}

} // namespace tlog::play
