// The cost of a signed checkpoint as the database grows (bench/README.md,
// "server", "Checkpoints"): STEPS times, STEP_MB of new messages are
// stored (the last four recordings of the step before go on, the rest in
// new ones, 200 messages of about 1 KiB each a recording), then one
// checkpoint is made (Checkpointer::run_once) and timed. The cost should
// follow what arrived since the last checkpoint, not the database's size.
//
//   bench-server-checkpoint DATABASE KEY_FILE STEP_MB STEPS
//
// DATABASE is created (an SQLite path or a PostgreSQL spec); KEY_FILE from
// tlog-server keygen.
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "tlog/server/checkpoint.h"
#include "tlog/server/store.h"

namespace {

double cpu_now() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
double wall_now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// A message of about 1 KiB of output, as a recorder writes it.
std::string message(const std::string& rec, uint64_t id) {
    std::string out(900, 'x');
    for (size_t i = 0; i < out.size(); i += 60) out[i] = static_cast<char>('a' + (id + i) % 26);
    return "{\"ver\":\"2.3\",\"host\":\"bench\",\"rec\":\"" + rec +
           "\",\"user\":\"alice\",\"term\":\"xterm\",\"session\":7,\"id\":" + std::to_string(id) +
           ",\"pos\":" + std::to_string(id * 1000) + ",\"time\":" + std::to_string(1700000000 + id) +
           ".000,\"timing\":\">900\",\"in_txt\":\"\",\"in_bin\":[],\"out_txt\":\"" + out + "\",\"out_bin\":[]}";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: bench-server-checkpoint DATABASE KEY_FILE STEP_MB STEPS\n");
        return 2;
    }
    try {
        auto store = tlog::server::open_store(argv[1]);
        tlog::server::Checkpointer cp(tlog::server::open_store(argv[1]), {argv[2], 300000});
        const uint64_t step_bytes = std::stoull(argv[3]) << 20U;
        const int steps = std::stoi(argv[4]);
        constexpr size_t per_rec = 200;  // messages a recording gets in a step
        struct Rec {
            std::string name;
            uint64_t next = 1;
        };
        std::vector<Rec> recs;
        uint64_t total = 0;
        std::printf("step stored_mb arrived_mb recordings messages_read cpu_ms wall_ms\n");
        for (int s = 1; s <= steps; ++s) {
            uint64_t arrived = 0;
            store->begin();
            // Half to the last recordings of the previous step (going on).
            size_t going_on = recs.size() >= 4 ? recs.size() - 4 : 0;
            for (size_t r = going_on; r < recs.size() && arrived < step_bytes / 2; ++r) {
                for (size_t i = 0; i < per_rec; ++i) {
                    auto m = message(recs[r].name, recs[r].next);
                    store->add(
                        {"bench", recs[r].name, "alice", "xterm", 7, recs[r].next, recs[r].next * 1000, std::nullopt},
                        m, 0);
                    ++recs[r].next;
                    arrived += m.size();
                }
            }
            while (arrived < step_bytes) {
                recs.push_back({"r" + std::to_string(getpid()) + "-" + std::to_string(recs.size()), 1});
                auto& r = recs.back();
                for (size_t i = 0; i < per_rec; ++i) {
                    auto m = message(r.name, r.next);
                    store->add({"bench", r.name, "alice", "xterm", 7, r.next, r.next * 1000, std::nullopt}, m, 0);
                    ++r.next;
                    arrived += m.size();
                }
            }
            store->commit();
            total += arrived;
            double c0 = cpu_now(), w0 = wall_now();
            auto st = cp.run_once(1700000000000ULL + static_cast<uint64_t>(s));
            double c1 = cpu_now(), w1 = wall_now();
            std::printf("%d %.0f %.1f %llu %llu %.1f %.1f\n", s, static_cast<double>(total) / 1048576.0,
                        static_cast<double>(arrived) / 1048576.0, static_cast<unsigned long long>(st.recordings),
                        static_cast<unsigned long long>(st.messages_read), (c1 - c0) * 1000, (w1 - w0) * 1000);
            std::fflush(stdout);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench-server-checkpoint: %s\n", e.what());
        return 1;
    }
    return 0;
}
