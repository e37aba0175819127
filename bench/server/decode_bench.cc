// The limit of tlog-server's ingest: validate_message (librec's strict
// decoder over one message, as the server runs it on every line) over the
// lines of recording files, timed in thread CPU time.
//
//   bench-server-decode FILE...
//
// Prints JSON MB/s and messages/s, the best of three passes.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tlog/server/validate.h"

namespace {

double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s FILE...\n", argv[0]);
        return 2;
    }
    std::vector<std::string> lines;
    size_t bytes = 0;
    for (int i = 1; i < argc; ++i) {
        std::ifstream f(argv[i], std::ios::binary);
        if (!f) {
            std::fprintf(stderr, "%s: cannot open\n", argv[i]);
            return 1;
        }
        std::string line;
        while (std::getline(f, line)) {
            bytes += line.size() + 1;
            lines.push_back(std::move(line));
        }
    }
    double best = 1e300;
    uint64_t ids = 0;
    for (int pass = 0; pass < 3; ++pass) {
        double t0 = cpu_seconds();
        for (size_t i = 0; i < lines.size(); ++i) {
            ids += tlog::server::validate_message(lines[i], "bench", i + 1).id;
        }
        best = std::min(best, cpu_seconds() - t0);
    }
    std::printf("validate_message: %zu messages, %.1f MB of JSON: %.1f MB/s, %.0f messages/s (checksum %llu)\n",
                lines.size(), static_cast<double>(bytes) / 1e6, static_cast<double>(bytes) / 1e6 / best,
                static_cast<double>(lines.size()) / best, static_cast<unsigned long long>(ids));
    return 0;
}
