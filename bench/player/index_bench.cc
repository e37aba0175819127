// The index build alone, and its two stages apart, on a recording:
//   decode      lines read, recording picked, JSON/UTF-8/integrity decoded,
//               events counted (no terminal model): the decoder's ceiling;
//   sequential  build_index in one thread (decoder and model in turn);
//   pipelined   build_index with the decoder and the model in two threads.
// Prints wall time and MiB/s of log, CPU time of the whole process and of
// the calling thread (in the pipelined build: the model stage; the rest is
// the decoder thread), and keyframes. On a shared machine wall time mostly
// measures the neighbours: the pipelined build's wall time on two free
// cores is about the larger of the two stages' CPU times, which the last
// column gives as MiB/s ("stage-bound").
//
//   bench-player-index LOG [decode|sequential|pipelined]...   (default: all)
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "tlog/decoder.h"
#include "tlog/play/line_source.h"
#include "tlog/play/recording_index.h"

using namespace tlog::play;

namespace {

double wall() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double cpu() {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    auto sec = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
    return sec(ru.ru_utime) + sec(ru.ru_stime);
}

long max_rss_mib() {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

double thread_cpu() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Count : tlog::EventSink {
    uint64_t out = 0, events = 0;
    void event(const tlog::Event& ev) override {
        events++;
        if (ev.type == tlog::Event::Type::Output) out += ev.data.size();
    }
};

// The decoder stage as build_index runs it, without the model.
uint64_t decode_only(const std::string& path) {
    tlog::DecodeOptions o;
    o.source = path;
    tlog::Decoder dec(o);
    LineSource src(path);
    Count count;
    std::string selected, rec;
    std::string_view line;
    uint64_t off = 0, no = 0;
    while (src.next(line, off, no)) {
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        if (tlog::peek_rec(line, rec)) {
            if (selected.empty())
                selected = rec;
            else if (rec != selected)
                continue;
        }
        dec.feed(line, no, count);
    }
    if (dec.finish().verdict != tlog::IntegrityReport::Verdict::Intact)
        std::fprintf(stderr, "warning: verdict %s\n", dec.integrity().str().c_str());
    return count.out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s LOG [decode|sequential|pipelined]...\n", argv[0]);
        return 2;
    }
    std::string log = argv[1];
    struct stat st;
    if (stat(log.c_str(), &st) != 0) {
        std::perror(argv[1]);
        return 1;
    }
    double mib = static_cast<double>(st.st_size) / (1 << 20);
    std::vector<std::string> modes(argv + 2, argv + argc);
    if (modes.empty()) modes = {"decode", "sequential", "pipelined"};
    std::printf("%s: %.0f MiB\n", log.c_str(), mib);
    for (const std::string& mode : modes) {
        double w0 = wall(), c0 = cpu(), t0 = thread_cpu();
        std::string what;
        if (mode == "decode") {
            uint64_t out = decode_only(log);
            what = std::to_string(out >> 20) + " MiB of output";
        } else if (mode == "sequential" || mode == "pipelined") {
            IndexOptions io;
            io.pipelined = mode == "pipelined";
            RecordingIndex idx = build_index(log, io);
            what = std::to_string(idx.keyframes.size()) + " keyframes, " + idx.summary.integrity;
        } else {
            std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
            return 2;
        }
        double w = wall() - w0, c = cpu() - c0, t = std::min(c, thread_cpu() - t0);
        double stage = std::max(t, c - t);
        std::printf(
            "%-10s %6.2f s wall %7.1f MiB/s | cpu %6.2f s, this thread %6.2f s, others %6.2f s | "
            "stage-bound %7.1f MiB/s  (%s; peak RSS so far %ld MiB)\n",
            mode.c_str(), w, mib / w, c, t, c - t, mib / stage, what.c_str(), max_rss_mib());
        std::fflush(stdout);
    }
    return 0;
}
