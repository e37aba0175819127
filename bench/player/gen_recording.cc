// Writes a large tlog recording for the player benchmark: heavy output,
// full-screen redraws (positioned, coloured writes in the alternate screen,
// as curses programs do), scrolling logs, window resizes, and markers
// ("MARK-NN") drawn at 5, 10, 50 and 90 % of the recording's time so a
// player's arrival there can be seen in its output.
//
//   bench-gen-recording OUT SIZE_MB
//
// Each chunk of output is 10 ms of recording time; the file is written in
// one pass through librec's Encoder (memory stays small).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>

#include "tlog/encoder.h"

namespace {

class FileSink : public tlog::MessageSink {
public:
    explicit FileSink(const char* path) : fd_(::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) {
        if (fd_ < 0) throw std::runtime_error("cannot create output");
        buf_.reserve(1 << 22);
    }
    ~FileSink() override {
        drain();
        ::close(fd_);
    }
    void write(const tlog::EncodedMessage& m) override {
        buf_.append(m.line);
        bytes += m.line.size();
        if (buf_.size() > (1 << 21)) drain();
    }
    void drain() {
        const char* p = buf_.data();
        size_t n = buf_.size();
        while (n) {
            ssize_t w = ::write(fd_, p, n);
            if (w <= 0) throw std::runtime_error("write failed");
            p += w;
            n -= static_cast<size_t>(w);
        }
        buf_.clear();
    }
    uint64_t bytes = 0;

private:
    int fd_;
    std::string buf_;
};

constexpr int64_t kStepNs = 10 * 1000000LL;  // 10 ms per chunk
constexpr uint64_t kChunkOut = 3000;         // about this much output per chunk

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s OUT SIZE_MB\n", argv[0]);
        return 2;
    }
    uint64_t target = std::strtoull(argv[2], nullptr, 10) << 20;
    // The encoded log is about 1.25 times the output (JSON escapes, timing).
    uint64_t chunks = target / (kChunkOut * 5 / 4);
    FileSink sink(argv[1]);
    tlog::EncoderOptions eo;
    tlog::RecordingInfo info{"bench-host", "bench-rec-1", "bench", "xterm-256color", 1};
    tlog::Encoder enc(info, eo, sink, 0, 1700000000000000000LL);
    std::mt19937 rng(1);
    const uint16_t sizes[][2] = {{80, 24}, {132, 43}, {100, 30}};
    int size_idx = 0;
    enc.window(0, 80, 24);
    bool alt = false;
    const uint64_t marks[] = {5, 10, 50, 90};
    std::string out;
    for (uint64_t i = 0; i < chunks; i++) {
        int64_t t = static_cast<int64_t>(i) * kStepNs;
        uint16_t cols = sizes[size_idx][0], rows = sizes[size_idx][1];
        out.clear();
        if (i % 2000 == 1999) {  // a resize every 20 s
            size_idx = (size_idx + 1) % 3;
            enc.window(t, sizes[size_idx][0], sizes[size_idx][1]);
            cols = sizes[size_idx][0];
            rows = sizes[size_idx][1];
        }
        if (i % 500 == 0) {  // a full-screen program starts or ends every 5 s
            out += alt ? "\x1b[?1049l" : "\x1b[?1049h\x1b[H\x1b[2J";
            alt = !alt;
        }
        while (out.size() < kChunkOut) {
            if (alt) {
                // A curses redraw: coloured fields at positions.
                int r = 1 + static_cast<int>(rng() % rows), c = 1 + static_cast<int>(rng() % (cols - 20));
                out += "\x1b[" + std::to_string(r) + ";" + std::to_string(c) + "H\x1b[3" + std::to_string(rng() % 8) +
                       ";4" + std::to_string(rng() % 8) + "m cpu " + std::to_string(rng() % 100) + "% \x1b[0m";
            } else {
                out += "\x1b[32m" + std::to_string(t / 1000000) + "\x1b[0m log line " + std::to_string(rng()) +
                       " some ordinary text of a busy program \xe2\x94\x82 \xe4\xb8\xad\xe6\x96\x87\r\n";
            }
        }
        for (uint64_t pct : marks)
            if (i == chunks * pct / 100) out += "\x1b[H\x1b[0mMARK-" + std::to_string(pct) + "-PERCENT";
        enc.output(t, out);
    }
    enc.finish(static_cast<int64_t>(chunks) * kStepNs, "exit");
    sink.drain();
    std::printf("chunks %llu duration_ms %llu log_bytes %llu\n", static_cast<unsigned long long>(chunks),
                static_cast<unsigned long long>(chunks * 10), static_cast<unsigned long long>(sink.bytes));
    for (uint64_t pct : marks)
        std::printf("mark %llu at_ms %llu\n", static_cast<unsigned long long>(pct),
                    static_cast<unsigned long long>(chunks * pct / 100 * 10));
    return 0;
}
