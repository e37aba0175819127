// Fuzz target: arbitrary bytes and writes through the encoder must decode
// (strictly) to exactly the same streams, within the payload bound.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tlog/decoder.h"
#include "tlog/encoder.h"

namespace {
struct Lines : tlog::MessageSink {
    std::vector<std::string> lines;
    void write(const tlog::EncodedMessage& m) override { lines.emplace_back(m.line.substr(0, m.line.size() - 1)); }
};
struct Sink : tlog::EventSink {
    std::string in, out;
    void event(const tlog::Event& ev) override {
        if (ev.type == tlog::Event::Type::Input) in.append(ev.data);
        if (ev.type == tlog::Event::Type::Output) out.append(ev.data);
    }
};
}  // namespace

// Input layout: byte 0 picks the payload, then records of
// [op][len][len bytes]: op bit 0 input/output, bit 1 a window change,
// bits 2-7 a time step.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    Lines lines;
    tlog::EncoderOptions o;
    o.payload = tlog::kMinPayload + data[0] * 4;
    o.log_input = true;
    std::string in, out;
    {
        tlog::Encoder e(tlog::RecordingInfo{"h", "r", "u", "t", 1}, o, lines, 0, 0);
        int64_t t = 0;
        size_t i = 1;
        while (i + 2 <= size) {
            uint8_t op = data[i], len = data[i + 1];
            i += 2;
            size_t n = std::min<size_t>(len, size - i);
            std::string_view chunk(reinterpret_cast<const char*>(data + i), n);
            i += n;
            t += static_cast<int64_t>(op >> 2) * 700000;
            if (op & 2) e.window(t, len, static_cast<uint16_t>(n));
            if (op & 1) {
                e.input(t, chunk);
                in.append(chunk);
            } else {
                e.output(t, chunk);
                out.append(chunk);
            }
            if ((op & 0xfc) == 0xfc) e.flush();
        }
        e.finish(t, "exit");
    }
    tlog::Decoder d(tlog::DecodeOptions{});
    Sink sink;
    uint64_t n = 0;
    for (const auto& l : lines.lines) d.feed(l, ++n, sink);  // throws (and so fails) on any error
    if (sink.in != in || sink.out != out) __builtin_trap();
    if (d.finish().verdict != tlog::IntegrityReport::Verdict::Intact) __builtin_trap();
    return 0;
}
