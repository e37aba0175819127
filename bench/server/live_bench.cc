// Live sessions ingested while as many streams follow them
// (bench/README.md, "server", live streams): every recording's first
// message is posted, then one stream per recording is opened
// (GET /api/v1/sessions/REC/stream), then POSTERS connections post the
// rest as live sessions would: one message per request, each recording's
// next message every INTERVAL_MS. Each stream checks that it receives
// every message of its recording exactly once, in order, byte for byte,
// and closes when it has the last. Reports the latency from a message's
// POST to its arrival on the stream (and from the POST's 2xx answer, the
// commit having happened before it), and the server's threads, RSS and
// CPU from /proc/SERVER_PID.
//
//   bench-server-live HOST PORT SERVER_PID POSTERS INTERVAL_MS FILE...
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "read_file.h"
#include "tlog/json.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Recording {
    std::string rec;
    std::vector<std::string> lines;
    std::vector<Clock::time_point> sent, answered, received;
    std::atomic<size_t> next{0};  // the stream's next expected line
    std::atomic<bool> ok{true}, done{false};
    std::string error;
};

struct ProcSample {
    long threads = 0, rss_kib = 0;
    double cpu_s = 0;
};

ProcSample sample(const std::string& pid) {
    ProcSample s;
    std::ifstream status("/proc/" + pid + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("Threads:", 0) == 0) s.threads = std::atol(line.c_str() + 8);
        if (line.rfind("VmRSS:", 0) == 0) s.rss_kib = std::atol(line.c_str() + 6);
    }
    std::ifstream stat("/proc/" + pid + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Fields after the command (which may hold spaces): state is 3rd, utime 14th, stime 15th.
    std::istringstream rest(text.substr(text.rfind(')') + 2));
    std::vector<std::string> f;
    for (std::string w; rest >> w;) f.push_back(w);
    if (f.size() > 12) {
        s.cpu_s = static_cast<double>(std::atoll(f[11].c_str()) + std::atoll(f[12].c_str())) /
                  static_cast<double>(sysconf(_SC_CLK_TCK));
    }
    return s;
}

double pct(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 7) {
        std::fprintf(stderr, "usage: %s HOST PORT SERVER_PID POSTERS INTERVAL_MS FILE...\n", argv[0]);
        return 2;
    }
    std::string host = argv[1];
    int port = std::atoi(argv[2]);
    std::string pid = argv[3];
    int posters = std::atoi(argv[4]);
    auto interval = std::chrono::milliseconds(std::atoi(argv[5]));
    std::vector<std::unique_ptr<Recording>> recs;
    uint64_t messages = 0, bytes = 0;
    size_t longest = 0;
    for (int i = 6; i < argc; ++i) {
        auto r = std::make_unique<Recording>();
        std::string text = bench::read_file(argv[i]);
        for (size_t at = 0; at < text.size();) {
            size_t nl = text.find('\n', at);
            if (nl == std::string::npos) nl = text.size();
            if (nl > at) r->lines.push_back(text.substr(at, nl - at));
            at = nl + 1;
        }
        r->rec = tlog::json::parse(r->lines.at(0), argv[i]).find("rec")->as_string();
        r->sent.resize(r->lines.size());
        r->answered.resize(r->lines.size());
        r->received.resize(r->lines.size());
        messages += r->lines.size();
        for (const auto& l : r->lines) bytes += l.size();
        longest = std::max(longest, r->lines.size());
        recs.push_back(std::move(r));
    }
    std::atomic<uint64_t> post_failures{0};
    auto post = [&](httplib::Client& cli, Recording& r, size_t k) {
        r.sent[k] = Clock::now();
        auto res = cli.Post("/api/v1/ingest", r.lines[k] + "\n", "application/x-ndjson");
        r.answered[k] = Clock::now();
        if (!res || res->status != 200) {
            if (post_failures++ == 0)
                std::fprintf(stderr, "post failed: %s\n",
                             res ? res->body.c_str() : httplib::to_string(res.error()).c_str());
        }
    };
    auto run_posters = [&](size_t from, size_t to, bool paced) {
        std::vector<std::thread> threads;
        auto t0 = Clock::now();
        for (int p = 0; p < posters; ++p) {
            threads.emplace_back([&, p] {
                httplib::Client cli(host, port);
                cli.set_keep_alive(true);
                cli.set_tcp_nodelay(true);
                cli.set_read_timeout(120, 0);
                for (size_t k = from; k < to; ++k) {
                    for (size_t s = static_cast<size_t>(p); s < recs.size(); s += static_cast<size_t>(posters)) {
                        if (k < recs[s]->lines.size()) post(cli, *recs[s], k);
                    }
                    if (paced) std::this_thread::sleep_until(t0 + interval * static_cast<int64_t>(k - from + 1));
                }
            });
        }
        for (auto& t : threads) t.join();
    };
    run_posters(0, 1, false);

    std::atomic<size_t> connected{0}, settled{0};
    std::vector<std::thread> streams;
    for (auto& rp : recs) {
        // A few at a time: cpp-httplib 0.11 listens with a backlog of 5.
        while (streams.size() - settled >= 16) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        streams.emplace_back([&, r = rp.get()] {
            httplib::Client cli(host, port);
            cli.set_read_timeout(300, 0);
            std::string pending;
            int status = 0;
            cli.Get(
                "/api/v1/sessions/" + r->rec + "/stream",
                [&](const httplib::Response& res) {
                    status = res.status;
                    connected++;
                    settled++;
                    return status == 200;
                },
                [&](const char* data, size_t len) {
                    pending.append(data, len);
                    size_t at = 0;
                    for (size_t nl; (nl = pending.find('\n', at)) != std::string::npos; at = nl + 1) {
                        std::string_view line(pending.data() + at, nl - at);
                        if (line.empty()) continue;  // keep-alive
                        size_t k = r->next;
                        if (k >= r->lines.size() || line != r->lines[k]) {
                            r->error = "line " + std::to_string(k) + " of " + r->rec + " is not the message expected";
                            r->ok = false;
                            return false;
                        }
                        r->received[k] = Clock::now();
                        r->next = k + 1;
                    }
                    pending.erase(0, at);
                    if (r->next == r->lines.size()) {
                        r->done = true;
                        return false;  // all there: the client goes
                    }
                    return true;
                });
            if (status == 0) settled++;  // no response at all
            if (status != 200) {
                r->error = "stream of " + r->rec + ": HTTP " + std::to_string(status);
                r->ok = false;
            }
            if (!r->done && r->ok) {
                r->error = "stream of " + r->rec + " ended after " + std::to_string(r->next) + " of " +
                           std::to_string(r->lines.size());
                r->ok = false;
            }
        });
    }
    while (settled < recs.size()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    // Streams of one-message recordings close at once; the others are open.
    ProcSample before = sample(pid);
    std::atomic<bool> sampling{true};
    ProcSample peak;
    std::thread sampler([&] {
        while (sampling) {
            auto s = sample(pid);
            peak.threads = std::max(peak.threads, s.threads);
            peak.rss_kib = std::max(peak.rss_kib, s.rss_kib);
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    });
    auto t0 = Clock::now();
    run_posters(1, longest, true);
    double post_wall = std::chrono::duration<double>(Clock::now() - t0).count();
    for (auto& t : streams) t.join();
    double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    sampling = false;
    sampler.join();
    ProcSample after = sample(pid);

    std::vector<double> from_post, from_answer;
    uint64_t bad = 0, before_answer = 0;
    for (const auto& r : recs) {
        if (!r->ok) {
            if (bad++ < 5) std::fprintf(stderr, "%s\n", r->error.c_str());
            continue;
        }
        for (size_t k = 1; k < r->lines.size(); ++k) {
            from_post.push_back(std::chrono::duration<double, std::milli>(r->received[k] - r->sent[k]).count());
            double a = std::chrono::duration<double, std::milli>(r->received[k] - r->answered[k]).count();
            if (a < 0) before_answer++;
            from_answer.push_back(std::max(a, 0.0));
        }
    }
    double cpu = after.cpu_s - before.cpu_s;
    std::printf(
        "streams %zu messages %llu json_mb %.1f posters %d interval_ms %lld post_wall_s %.2f wall_s %.2f "
        "streams_bad %llu post_failures %llu streams_connected %zu\n"
        "latency_from_post_ms p50 %.2f p95 %.2f p99 %.2f max %.1f\n"
        "latency_from_answer_ms p50 %.2f p95 %.2f p99 %.2f max %.1f (arrived before the answer: %llu)\n"
        "server threads %ld (peak %ld) rss_mib %.1f (peak %.1f) cpu_s %.2f cpu_per_wall %.2f\n",
        recs.size(), static_cast<unsigned long long>(messages), static_cast<double>(bytes) / 1e6, posters,
        static_cast<long long>(interval.count()), post_wall, wall, static_cast<unsigned long long>(bad),
        static_cast<unsigned long long>(post_failures.load()), connected.load(), pct(from_post, 0.5),
        pct(from_post, 0.95), pct(from_post, 0.99), pct(from_post, 1.0), pct(from_answer, 0.5), pct(from_answer, 0.95),
        pct(from_answer, 0.99), pct(from_answer, 1.0), static_cast<unsigned long long>(before_answer), before.threads,
        peak.threads, static_cast<double>(before.rss_kib) / 1024, static_cast<double>(peak.rss_kib) / 1024, cpu,
        cpu / wall);
    return bad == 0 && post_failures == 0 ? 0 : 1;
}
