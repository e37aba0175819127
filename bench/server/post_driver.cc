// Posts recordings to a running tlog-server over HTTP, CONNECTIONS at a
// time, and reports JSON MB/s and messages/s of the whole run (wall time).
// Each connection takes whole recordings from a shared list and posts each
// in order, in bodies of about BODY_KB of whole lines, as a shipper would;
// the bodies are built before the clock starts. Every response is checked:
// all messages created, none refused.
//
//   bench-server-post HOST PORT ingest|bulk|null CONNECTIONS BODY_KB FILE...
//
// `bulk` sends Elasticsearch _bulk bodies (an {"index":{}} action line
// before each message); `null` posts the JSON-lines bodies to a path no
// route serves, so the server only reads them and answers 404: the HTTP
// library's own cost.
#include <fcntl.h>
#include <unistd.h>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
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

}  // namespace

int main(int argc, char** argv) {
    if (argc < 7) {
        std::fprintf(stderr, "usage: %s HOST PORT ingest|bulk|null CONNECTIONS BODY_KB FILE...\n", argv[0]);
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
            httplib::Client cli(host, port);
            cli.set_keep_alive(true);
            // As libcurl (rsyslog's omelasticsearch) does by default.
            cli.set_tcp_nodelay(true);
            cli.set_read_timeout(600, 0);
            cli.set_write_timeout(600, 0);
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
