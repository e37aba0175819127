// The stages of tlog-server's ingest in one process, without HTTP, on the
// same lines the server is sent (bench/README.md, "server"):
//   decode    librec's decoder over each recording in order, one Decoder a
//             recording (what the player does): the limit of any ingest;
//   validate  the server's check of each message alone
//             (tlog::server::Validator);
//   store     Store::add of the validated messages into a fresh SQLite
//             database, one transaction per body of BODY_KB (as one request);
//   ingest    ingest_json_lines over the same bodies (validate and store).
// Prints MB/s of JSON (thread CPU time and wall time) and messages/s.
//
//   bench-server-stages DB_DIR BODY_KB FILE...
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "read_file.h"
#include "tlog/decoder.h"
#include "tlog/server/ingest.h"
#include "tlog/server/store.h"
#include "tlog/server/validate.h"

namespace {

double cpu_now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
double wall_now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

struct Recording {
    std::string text;
    std::vector<std::string_view> lines;
    std::vector<std::string_view> bodies;  // runs of whole lines of about BODY_KB
};

struct Null final : tlog::EventSink {
    uint64_t bytes = 0;
    void event(const tlog::Event& ev) override { bytes += ev.data.size(); }
};

struct Timer {
    const char* name;
    double cpu0 = cpu_now(), wall0 = wall_now();
    void report(uint64_t json_bytes, uint64_t messages) const {
        double cpu = cpu_now() - cpu0, wall = wall_now() - wall0;
        std::printf("%-9s %8.1f MB/s cpu %8.1f MB/s wall %9.0f msg/s cpu  (%.3f s cpu, %.3f s wall)\n", name,
                    static_cast<double>(json_bytes) / 1e6 / cpu, static_cast<double>(json_bytes) / 1e6 / wall,
                    static_cast<double>(messages) / cpu, cpu, wall);
    }
};

void remove_db(const std::string& path) {
    for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path + suffix).c_str());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s DB_DIR BODY_KB FILE...\n", argv[0]);
        return 2;
    }
    std::string db = std::string(argv[1]) + "/stages.sqlite";
    size_t body_bytes = std::strtoull(argv[2], nullptr, 10) * 1024;
    std::vector<Recording> recs(static_cast<size_t>(argc - 3));
    uint64_t json_bytes = 0, messages = 0;
    for (size_t i = 0; i < recs.size(); ++i) {
        auto& r = recs[i];
        r.text = bench::read_file(argv[i + 3]);
        std::string_view t = r.text;
        size_t body_start = 0;
        for (size_t at = 0; at < t.size();) {
            size_t nl = t.find('\n', at);
            if (nl == std::string_view::npos) nl = t.size();
            r.lines.push_back(t.substr(at, nl - at));
            json_bytes += nl - at;
            messages++;
            at = nl + 1;
            if (at - body_start >= body_bytes || at >= t.size()) {
                r.bodies.push_back(t.substr(body_start, std::min(at, t.size()) - body_start));
                body_start = at;
            }
        }
    }
    std::printf("%zu recordings, %llu messages, %llu bytes of JSON, bodies of %zu KiB\n", recs.size(),
                static_cast<unsigned long long>(messages), static_cast<unsigned long long>(json_bytes),
                body_bytes / 1024);

    {
        Timer t{"decode"};
        Null sink;
        for (const auto& r : recs) {
            tlog::Decoder dec(tlog::DecodeOptions{});
            uint64_t no = 0;
            for (auto l : r.lines) dec.feed(l, ++no, sink);
            if (dec.finish().verdict != tlog::IntegrityReport::Verdict::Intact) {
                std::fprintf(stderr, "a generated recording is not intact\n");
                return 1;
            }
        }
        t.report(json_bytes, messages);
    }
    std::vector<tlog::server::MessageMeta> metas;
    metas.reserve(messages);
    {
        Timer t{"validate"};
        tlog::server::Validator v;
        for (const auto& r : recs) {
            uint64_t no = 0;
            for (auto l : r.lines) metas.push_back(v.check(l, ++no));
        }
        t.report(json_bytes, messages);
    }
    remove_db(db);
    {
        auto store_ptr = tlog::server::open_store(db);
        auto& store = *store_ptr;
        Timer t{"store"};
        size_t m = 0;
        for (const auto& r : recs) {
            size_t line = 0;
            for (auto body : r.bodies) {
                store.begin();
                for (size_t used = 0; used < body.size(); ++line, ++m) {
                    store.add(metas[m], r.lines[line], 0);
                    used += r.lines[line].size() + 1;
                }
                store.commit();
            }
        }
        t.report(json_bytes, messages);
    }
    struct stat st {};
    ::stat(db.c_str(), &st);
    std::printf("stored   %.3f bytes of database per byte of JSON (%lld bytes)\n",
                static_cast<double>(st.st_size) / static_cast<double>(json_bytes), static_cast<long long>(st.st_size));
    remove_db(db);
    {
        auto store_ptr = tlog::server::open_store(db);
        auto& store = *store_ptr;
        Timer t{"ingest"};
        for (const auto& r : recs) {
            for (auto body : r.bodies) {
                auto rep = tlog::server::ingest_json_lines(store, body, 0);
                if (rep.failed != 0) {
                    std::fprintf(stderr, "ingest refused %llu lines: %s\n", static_cast<unsigned long long>(rep.failed),
                                 rep.items[0].error.c_str());
                    return 1;
                }
            }
        }
        t.report(json_bytes, messages);
    }
    remove_db(db);
    return 0;
}
