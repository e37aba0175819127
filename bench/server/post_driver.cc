// Posts recordings to a running tlog-server over HTTP, CONNECTIONS at a
// time, and reports JSON MB/s and messages/s of the whole run (wall time).
// Each connection takes whole recordings from a shared list and posts each
// in order, in bodies of about BODY_KB of whole lines, as a shipper would;
// the bodies are built before the clock starts. Every response is checked:
// all messages created, none refused.
//
//   bench-server-post HOST PORT ingest|bulk|null CONNECTIONS BODY_KB FILE...
//   bench-server-post HOST PORT schedule CONNECTIONS SPEED SCHEDULE
//
// `bulk` sends Elasticsearch _bulk bodies (an {"index":{}} action line
// before each message); `null` posts the JSON-lines bodies to a path no
// route serves, so the server only reads them and answers 404: the HTTP
// library's own cost.
//
// `schedule` replays a timed load (bench/server/capacity_sim.py writes it):
// SCHEDULE is a sequence of requests, each a line `MS PATH MESSAGES BYTES`
// followed by BYTES of body, in order of MS, the time from the start at
// which a shipper has the request ready (divided by SPEED: 20 plays 20
// simulated seconds in one). The connections take the requests in order,
// each waiting for its time; a request is late when no connection was free
// at its time (the server did not keep up). Reports the requests, messages,
// and the lateness and response time (50th, 99th percentile, maximum).
#include <fcntl.h>
#include <unistd.h>

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "read_file.h"
#include "tlog/json.h"

namespace {

struct Body {
    std::string text;
    uint64_t messages = 0;
};

struct Timed {
    double at_s = 0;
    std::string path;
    Body body;
};

std::vector<Timed> read_schedule(const char* file, double speed) {
    const std::string text = bench::read_file(file);
    std::vector<Timed> out;
    for (size_t at = 0; at < text.size();) {
        const size_t nl = text.find('\n', at);
        if (nl == std::string::npos) break;
        char path[256];
        double ms = 0;
        unsigned long long messages = 0, bytes = 0;
        if (std::sscanf(text.substr(at, nl - at).c_str(), "%lf %255s %llu %llu", &ms, path, &messages, &bytes) != 4 ||
            nl + 1 + bytes > text.size()) {
            std::fprintf(stderr, "%s: bad request header at byte %zu\n", file, at);
            std::exit(2);
        }
        out.push_back({ms / 1000.0 / speed, path, {text.substr(nl + 1, bytes), messages}});
        at = nl + 1 + bytes;
    }
    return out;
}

// One connection kept alive, without Nagle's delay as libcurl (rsyslog's
// omelasticsearch) has by default, patient with a busy server.
httplib::Client client(const std::string& host, int port) {
    httplib::Client cli(host, port);
    cli.set_keep_alive(true);
    cli.set_tcp_nodelay(true);
    cli.set_read_timeout(600, 0);
    cli.set_write_timeout(600, 0);
    return cli;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

int run_schedule(const std::string& host, int port, int connections, double speed, const char* file) {
    const auto reqs = read_schedule(file, speed);
    uint64_t messages = 0, bytes = 0;
    for (const auto& r : reqs) {
        messages += r.body.messages;
        bytes += r.body.text.size();
    }
    std::atomic<size_t> next{0};
    std::atomic<uint64_t> failures{0};
    std::mutex m;
    std::vector<double> late, took;
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < connections; ++c) {
        threads.emplace_back([&] {
            auto cli = client(host, port);
            std::vector<double> my_late, my_took;
            for (size_t i = next++; i < reqs.size(); i = next++) {
                const auto& r = reqs[i];
                const auto due = t0 + std::chrono::duration<double>(r.at_s);
                std::this_thread::sleep_until(due);
                const auto start = std::chrono::steady_clock::now();
                my_late.push_back(std::chrono::duration<double>(start - due).count());
                auto res = cli.Post(r.path, r.body.text, "application/x-ndjson");
                my_took.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
                if (!res) {
                    if (failures++ == 0)
                        std::fprintf(stderr, "request failed: %s\n", httplib::to_string(res.error()).c_str());
                    continue;
                }
                auto v = tlog::json::parse(res->body, "response");
                if (res->status != 200 || v.find("created")->as_uint().value_or(0) != r.body.messages) {
                    if (failures++ == 0) std::fprintf(stderr, "unexpected response: %.300s\n", res->body.c_str());
                }
            }
            const std::lock_guard<std::mutex> lock(m);
            late.insert(late.end(), my_late.begin(), my_late.end());
            took.insert(took.end(), my_took.begin(), my_took.end());
        });
    }
    for (auto& t : threads) t.join();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf(
        "mode schedule connections %d speed %g requests %zu messages %llu sent_bytes %llu wall_s %.3f msg_s %.1f "
        "late_p50_s %.4f late_p99_s %.4f late_max_s %.4f took_p50_s %.4f took_p99_s %.4f failures %llu\n",
        connections, speed, reqs.size(), static_cast<unsigned long long>(messages),
        static_cast<unsigned long long>(bytes), wall, static_cast<double>(messages) / wall, percentile(late, 0.5),
        percentile(late, 0.99), percentile(late, 1.0), percentile(took, 0.5), percentile(took, 0.99),
        static_cast<unsigned long long>(failures.load()));
    return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 7 && std::string(argv[3]) == "schedule")
        return run_schedule(argv[1], std::atoi(argv[2]), std::atoi(argv[4]), std::atof(argv[5]), argv[6]);
    if (argc < 7) {
        std::fprintf(stderr,
                     "usage: %s HOST PORT ingest|bulk|null CONNECTIONS BODY_KB FILE...\n"
                     "       %s HOST PORT schedule CONNECTIONS SPEED SCHEDULE\n",
                     argv[0], argv[0]);
        return 2;
    }
    std::string host = argv[1];
    int port = std::atoi(argv[2]);
    std::string mode = argv[3];
    int connections = std::atoi(argv[4]);
    size_t body_bytes = std::strtoull(argv[5], nullptr, 10) * 1024;
    const char* path = mode == "ingest" ? "/api/v1/ingest" : mode == "bulk" ? "/tlog/_bulk" : "/bench/null";
    std::vector<std::vector<Body>> recs;
    uint64_t json_bytes = 0, messages = 0, sent_bytes = 0;
    for (int i = 6; i < argc; ++i) {
        std::string text = bench::read_file(argv[i]);
        auto& bodies = recs.emplace_back();
        bodies.emplace_back();
        for (size_t at = 0; at < text.size();) {
            size_t nl = text.find('\n', at);
            if (nl == std::string::npos) nl = text.size();
            if (bodies.back().text.size() >= body_bytes) bodies.emplace_back();
            Body& b = bodies.back();
            if (mode == "bulk") b.text += "{\"index\":{}}\n";
            b.text.append(text, at, nl - at + 1);
            b.messages++;
            json_bytes += nl - at;
            messages++;
            at = nl + 1;
        }
        for (const auto& b : bodies) sent_bytes += b.text.size();
    }
    std::atomic<size_t> next{0};
    std::atomic<uint64_t> failures{0}, requests{0};
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < connections; ++c) {
        threads.emplace_back([&] {
            auto cli = client(host, port);
            for (size_t r = next++; r < recs.size(); r = next++) {
                for (const auto& b : recs[r]) {
                    auto res = cli.Post(path, b.text, "application/x-ndjson");
                    requests++;
                    if (!res) {
                        std::fprintf(stderr, "request failed: %s\n", httplib::to_string(res.error()).c_str());
                        failures++;
                        continue;
                    }
                    if (mode == "null") {
                        if (res->status != 404) failures++;
                        continue;
                    }
                    auto v = tlog::json::parse(res->body, "response");
                    bool ok = res->status == 200;
                    if (mode == "ingest") {
                        ok = ok && v.find("created")->as_uint().value_or(0) == b.messages;
                    } else {
                        ok = ok && !v.find("errors")->as_bool() && v.find("items")->items().size() == b.messages;
                    }
                    if (!ok) {
                        if (failures++ == 0) std::fprintf(stderr, "unexpected response: %.300s\n", res->body.c_str());
                    }
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf(
        "mode %s connections %d body_kb %zu recordings %zu messages %llu json_bytes %llu sent_bytes %llu requests %llu "
        "wall_s %.3f json_mb_s %.1f msg_s %.0f failures %llu\n",
        mode.c_str(), connections, body_bytes / 1024, recs.size(), static_cast<unsigned long long>(messages),
        static_cast<unsigned long long>(json_bytes), static_cast<unsigned long long>(sent_bytes),
        static_cast<unsigned long long>(requests.load()), wall, static_cast<double>(json_bytes) / 1e6 / wall,
        static_cast<double>(messages) / wall, static_cast<unsigned long long>(failures.load()));
    return failures == 0 ? 0 : 1;
}
