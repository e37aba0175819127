// Times libplay on a recording: index build (throughput, peak memory),
// cache store and load, and seeks to 10 %, 50 %, 90 % and back to 5 %,
// checking each lands on the marker bench-gen-recording drew there.
//
//   bench-player-seek LOG CACHE_DIR PCT:MS...   (the marks bench-gen-recording printed)
#include <sys/resource.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "tlog/play/index_cache.h"
#include "tlog/play/playback.h"

using namespace tlog::play;

namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
long max_rss_mb() {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s LOG CACHE_DIR PCT:MS...\n", argv[0]);
        return 2;
    }
    std::string log = argv[1];
    struct stat st;
    if (stat(log.c_str(), &st) != 0) return 1;
    double mb = static_cast<double>(st.st_size) / (1 << 20);
    CacheOptions co;
    co.dir = argv[2];
    CacheResult r;
    double t0 = now();
    RecordingIndex idx = open_index(log, co, &r);
    double build = now() - t0;
    std::printf("index build (%s): %.2f s for %.0f MiB = %.1f MiB/s, %zu keyframes, peak RSS %ld MiB\n",
                cache_result_name(r), build, mb, mb / build, idx.keyframes.size(), max_rss_mb());
    t0 = now();
    RecordingIndex again = open_index(log, co, &r);
    std::printf("index load (%s): %.3f s\n", cache_result_name(r), now() - t0);
    Playback pb(log, again);
    int bad = 0;
    for (int i = 3; i < argc; i++) {
        unsigned pct = 0;
        unsigned long long at = 0;
        if (std::sscanf(argv[i], "%u:%llu", &pct, &at) != 2) return 2;
        t0 = now();
        pb.seek(at);
        std::string row = pb.model().row_text(0);
        double dt = now() - t0;
        bool ok = row.find("MARK-" + std::to_string(pct) + "-PERCENT") != std::string::npos;
        bad += !ok;
        std::printf("seek to %u%% (%llu ms): %.1f ms %s\n", pct, at, dt * 1000,
                    ok ? "(marker shown)" : "(MARKER MISSING)");
    }
    std::printf("peak RSS %ld MiB\n", max_rss_mb());
    return bad ? 1 : 0;
}
