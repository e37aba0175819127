// The indexer alone, in one process, on a database that already holds
// recordings (bench/README.md, "server", "Index"): Indexer::run_once until
// nothing is left to index, and its CPU time. For profiling
// (`perf record`, `valgrind --tool=callgrind`) without the HTTP server;
// the index tables are emptied first by the caller (index_bench.py does it
// with SQL, as here: this program only indexes).
//
//   bench-server-index DATABASE [BATCH]
//
// BATCH: messages indexed between two saves (IndexConfig::batch).
#include <time.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

#include "tlog/server/index.h"
#include "tlog/server/store.h"

namespace {

double cpu_now() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
double wall_now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2 && argc != 3) {
        std::fprintf(stderr, "usage: bench-server-index DATABASE [BATCH]\n");
        return 2;
    }
    try {
        tlog::server::IndexConfig cfg;
        if (argc == 3) cfg.batch = std::stoul(argv[2]);
        tlog::server::Indexer ix(tlog::server::open_store(argv[1]), cfg);
        double c0 = cpu_now(), w0 = wall_now();
        uint64_t fed = ix.run_once();
        double c1 = cpu_now(), w1 = wall_now();
        std::printf("messages %llu cpu_s %.3f wall_s %.3f\n", static_cast<unsigned long long>(fed), c1 - c0, w1 - w0);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench-server-index: %s\n", e.what());
        return 1;
    }
    return 0;
}
