// Helpers shared by the codec tests: collect encoder output, decode it back.
#pragma once

#include <string>
#include <vector>

#include "tlog/decoder.h"
#include "tlog/encoder.h"
#include "tlog/json.h"

namespace testutil {

struct Lines : tlog::MessageSink {
    std::vector<std::string> lines;
    void write(const tlog::EncodedMessage& m) override {
        std::string l(m.line);
        if (!l.empty() && l.back() == '\n') l.pop_back();
        lines.push_back(l);
    }
    std::string joined() const {
        std::string s;
        for (auto& l : lines) s += l + "\n";
        return s;
    }
};

struct Collected : tlog::EventSink {
    std::string out, in;
    std::vector<std::pair<uint64_t, std::string>> windows;  // pos, "WxH"
    std::vector<uint64_t> out_pos;                          // time of each output event
    std::vector<std::pair<uint64_t, uint64_t>> gaps;
    std::vector<std::string> problems;
    uint64_t last_pos = 0;
    std::string order;  // 'i' / 'o' / 'w' per event
    void event(const tlog::Event& ev) override {
        last_pos = ev.pos_ms;
        switch (ev.type) {
            case tlog::Event::Type::Output:
                out.append(ev.data);
                out_pos.push_back(ev.pos_ms);
                order += 'o';
                break;
            case tlog::Event::Type::Input:
                in.append(ev.data);
                order += 'i';
                break;
            case tlog::Event::Type::Window:
                windows.emplace_back(ev.pos_ms, std::to_string(ev.width) + "x" + std::to_string(ev.height));
                order += 'w';
                break;
        }
    }
    void gap(uint64_t a, uint64_t b) override { gaps.emplace_back(a, b); }
    void problem(const tlog::Problem& p) override { problems.push_back(p.str()); }
};

inline tlog::RecordingInfo info(const std::string& rec = "rec-1") {
    return tlog::RecordingInfo{"host.example", rec, "alice", "xterm-256color", 7};
}

// Decodes lines with a fresh decoder; returns the report.
inline tlog::IntegrityReport decode(const std::vector<std::string>& lines, Collected& c, bool lax = false,
                                    const tlog::integrity::Keyring* keys = nullptr) {
    tlog::DecodeOptions o;
    o.lax = lax;
    o.keys = keys;
    o.source = "test.log";
    tlog::Decoder d(o);
    uint64_t n = 0;
    for (const auto& l : lines) d.feed(l, ++n, c);
    return d.finish();
}

// The payload size of a message as tlog counts it: timing, text and binary
// fields as they are encoded in the JSON line.
inline size_t payload_of(const std::string& line) {
    tlog::json::Value v = tlog::json::parse(line, "msg");
    size_t n = 0;
    for (const char* f : {"timing", "in_txt", "out_txt"}) n += tlog::json::escaped_length(v.find(f)->as_string());
    for (const char* f : {"in_bin", "out_bin"}) {
        const auto& items = v.find(f)->items();
        for (size_t i = 0; i < items.size(); i++) n += items[i].number_text().size() + (i ? 1 : 0);
    }
    return n;
}

inline tlog::json::Value field(const std::string& line, const char* f) {
    return *tlog::json::parse(line, "msg").find(f);
}

}  // namespace testutil
