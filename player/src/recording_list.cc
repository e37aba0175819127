#include "tlog/play/recording_list.h"

#include <map>
#include <memory>

#include "tlog/play/line_source.h"
#include "tlog/recording_select.h"

namespace tlog::play {

namespace {

struct Entry {
    RecordingSummary summary;
    std::string key;  // the id its lines show ("" for lines without one)
    std::unique_ptr<SummarySink> sink;
    std::unique_ptr<Decoder> dec;
};

}  // namespace

std::vector<RecordingSummary> list_recordings(const std::string& path, const integrity::Keyring* keys) {
    std::vector<std::unique_ptr<Entry>> order;
    std::map<std::string, Entry*> by_rec;
    LineSource src(path);
    std::string_view line;
    uint64_t off, no;
    std::string rec;
    while (src.next(line, off, no)) {
        const LineRecording belongs = line_recording(line, rec);
        if (belongs == LineRecording::Blank) continue;
        if (belongs == LineRecording::NoId) rec.clear();  // lines without an id form one recording
        Entry*& e = by_rec[rec];
        if (!e) {
            auto n = std::make_unique<Entry>();
            n->key = rec;
            n->sink = std::make_unique<SummarySink>(n->summary);
            DecodeOptions o;
            o.lax = true;
            o.keys = keys;
            o.source = path;
            n->dec = std::make_unique<Decoder>(o);
            e = n.get();
            order.push_back(std::move(n));
        }
        e->sink->line(line.size());
        e->dec->feed(line, no, *e->sink);
    }
    std::vector<RecordingSummary> out;
    for (auto& e : order) {
        e->sink->finish(e->dec->finish(), e->key);
        out.push_back(std::move(e->summary));
    }
    return out;
}

}  // namespace tlog::play
