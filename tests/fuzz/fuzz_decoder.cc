// Fuzz target: the decoder on arbitrary input, split into lines as a file
// reader would, in strict and lax mode, and with each line checked alone by
// one decoder that goes on after a refused line (the server's ingest).
// Anything but InputError is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tlog/decoder.h"

namespace {
struct Sink : tlog::EventSink {
    size_t bytes = 0;
    void event(const tlog::Event& ev) override { bytes += ev.data.size() + ev.width + ev.height; }
};

void run(std::string_view data, bool lax) {
    tlog::DecodeOptions o;
    o.lax = lax;
    tlog::Decoder d(o);
    Sink sink;
    uint64_t line_no = 0;
    try {
        size_t start = 0;
        while (start <= data.size()) {
            size_t nl = data.find('\n', start);
            if (nl == std::string_view::npos) nl = data.size();
            std::string_view line = data.substr(start, nl - start);
            std::string rec;
            (void)tlog::peek_rec(line, rec);
            if (!line.empty()) d.feed(line, ++line_no, sink);
            start = nl + 1;
        }
        (void)d.finish();
    } catch (const tlog::InputError&) {
        if (lax) __builtin_trap();  // lax mode reports problems, it never throws
    }
}

void run_each_alone(std::string_view data) {
    tlog::DecodeOptions o;
    o.each_alone = true;
    tlog::Decoder d(o);
    Sink sink;
    uint64_t line_no = 0;
    size_t start = 0;
    while (start <= data.size()) {
        size_t nl = data.find('\n', start);
        if (nl == std::string_view::npos) nl = data.size();
        std::string_view line = data.substr(start, nl - start);
        try {
            if (!line.empty()) d.feed(line, ++line_no, sink);
        } catch (const tlog::InputError&) {}
        start = nl + 1;
    }
    (void)d.finish();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);
    run(s, false);
    run(s, true);
    run_each_alone(s);
    return 0;
}
