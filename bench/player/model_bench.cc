// The terminal model's replay throughput, side by side with libvterm (the
// model libplay used before its own; Debian libvterm-dev 0.1.4), on the
// kinds of output the player benchmark's recording holds:
//
//   bench-model [MB per workload] [repeats] [WORKLOAD: ours only, for a profiler]
//
// Prints MB/s of each model per workload (best of the repeats, thread CPU
// time) and the ratio. Both get the same bytes in the same 3000-byte
// pieces (the size of the benchmark recording's messages).
#include <vterm.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "tlog/play/term_model.h"

namespace {

double cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string workload(const std::string& kind, size_t bytes) {
    std::mt19937 rng(7);
    std::string out;
    out.reserve(bytes + 256);
    if (kind == "curses") out += "\x1b[?1049h\x1b[H\x1b[2J";
    while (out.size() < bytes) {
        if (kind == "logs") {
            out += "\x1b[32m" + std::to_string(rng() % 100000) + "\x1b[0m log line " + std::to_string(rng()) +
                   " some ordinary text of a busy program \xe2\x94\x82 \xe4\xb8\xad\xe6\x96\x87\r\n";
        } else if (kind == "curses") {
            out += "\x1b[" + std::to_string(1 + rng() % 24) + ";" + std::to_string(1 + rng() % 60) + "H\x1b[3" +
                   std::to_string(rng() % 8) + ";4" + std::to_string(rng() % 8) + "m cpu " +
                   std::to_string(rng() % 100) + "% \x1b[0m";
        } else if (kind == "text") {
            out += "plain build output: compiling src/file_" + std::to_string(rng() % 1000) +
                   ".cc with the usual flags and some more words\r\n";
        } else {  // cjk
            out +=
                "\xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97\xe7\xac\xa6 \xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88 "
                "\xed\x95\x9c\xea\xb8\x80 e\xcc\x81 " +
                std::to_string(rng() % 1000) + "\r\n";
        }
    }
    return out;
}

void discard(const char*, size_t, void*) {}

void feed_vterm(const std::string& data) {
    VTerm* vt = vterm_new(24, 80);
    vterm_set_utf8(vt, 1);
    vterm_output_set_callback(vt, &discard, nullptr);
    VTermScreen* screen = vterm_obtain_screen(vt);
    vterm_screen_enable_altscreen(screen, 1);
    vterm_screen_reset(screen, 1);
    for (size_t i = 0; i < data.size(); i += 3000)
        vterm_input_write(vt, data.data() + i, std::min<size_t>(3000, data.size() - i));
    vterm_free(vt);
}

void feed_model(const std::string& data) {
    tlog::play::TermModel m(24, 80);
    for (size_t i = 0; i < data.size(); i += 3000) m.feed(std::string_view(data).substr(i, 3000));
    if (m.rows() != 24) std::abort();
}

double best_mbps(const std::string& data, int repeats, const std::function<void(const std::string&)>& run) {
    double best = 1e9;
    for (int i = 0; i < repeats; i++) {
        double t0 = cpu_seconds();
        run(data);
        best = std::min(best, cpu_seconds() - t0);
    }
    return static_cast<double>(data.size()) / 1e6 / best;
}

}  // namespace

int main(int argc, char** argv) {
    size_t mb = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 64;
    int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
    const char* only = argc > 3 ? argv[3] : nullptr;
    std::printf("%-8s %12s %12s %8s\n", "workload", "ours MB/s", "libvterm", "ratio");
    for (const char* kind : {"logs", "curses", "text", "cjk"}) {
        if (only && std::string(only) != kind) continue;
        std::string data = workload(kind, mb << 20);
        double ours = best_mbps(data, repeats, feed_model);
        double theirs = only ? 1 : best_mbps(data, repeats, feed_vterm);
        std::printf("%-8s %12.1f %12.1f %7.1fx\n", kind, ours, theirs, ours / theirs);
    }
    return 0;
}
