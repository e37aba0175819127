// The HTTP library comparison's client (bench/README.md, "server", "HTTP
// libraries"), the same for every server:
//
//   bench-http-load HOST PORT ingest CONNECTIONS SECONDS
//     posts 1 MiB bodies over CONNECTIONS keep-alive connections for
//     SECONDS; every answer must be 200 with {"bytes":1048576}.
//   bench-http-load HOST PORT streams N SECONDS
//     opens N GET /stream connections (16 connecting at a time), holds them
//     SECONDS and reports how many answered 200 and sent data.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int ingest(const std::string& host, int port, int conns, double seconds) {
    const std::string body(1U << 20U, 'x');
    const std::string want = "{\"bytes\":" + std::to_string(body.size()) + "}";
    std::atomic<uint64_t> ok{0}, bad{0};
    auto until = Clock::now() + std::chrono::duration<double>(seconds);
    auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < conns; ++c) {
        threads.emplace_back([&] {
            httplib::Client cli(host, port);
            cli.set_keep_alive(true);
            cli.set_tcp_nodelay(true);
            cli.set_read_timeout(60, 0);
            while (Clock::now() < until) {
                auto res = cli.Post("/ingest", body, "application/x-ndjson");
                if (res && res->status == 200 && res->body.rfind(want, 0) == 0) {
                    ok++;
                } else {
                    bad++;
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("ingest connections %d requests %llu failed %llu wall_s %.2f req_s %.1f mb_s %.1f\n", conns,
                static_cast<unsigned long long>(ok.load()), static_cast<unsigned long long>(bad.load()), wall,
                static_cast<double>(ok) / wall,
                static_cast<double>(ok) * static_cast<double>(body.size()) / 1e6 / wall);
    return bad == 0 ? 0 : 1;
}

int streams(const std::string& host, int port, int n, double seconds) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
    std::vector<pollfd> fds;
    std::vector<std::string> got(static_cast<size_t>(n));
    const std::string req = "GET /stream HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
    auto drain = [&](int ms) {
        if (poll(fds.data(), fds.size(), ms) <= 0) return;
        for (size_t i = 0; i < fds.size(); ++i) {
            if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0 || fds[i].fd < 0) continue;
            char buf[4096];
            ssize_t r = read(fds[i].fd, buf, sizeof buf);
            if (r <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                continue;
            }
            if (got[i].size() < 4096) got[i].append(buf, static_cast<size_t>(r));
        }
    };
    for (int i = 0; i < n; ++i) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
            close(fd);
            fd = -1;
        }
        fds.push_back({fd, POLLIN, 0});
        // Wait for the answers of all but 16 before connecting more: the
        // servers' listen backlogs differ (cpp-httplib 0.11: 5).
        auto deadline = Clock::now() + std::chrono::seconds(30);
        for (;;) {
            size_t waiting = 0;
            for (size_t k = 0; k < fds.size(); ++k)
                if (fds[k].fd >= 0 && got[k].find("\r\n\r\n") == std::string::npos) waiting++;
            if (waiting < 16 || Clock::now() > deadline) break;
            drain(50);
        }
    }
    auto until = Clock::now() + std::chrono::duration<double>(seconds);
    std::printf("streams %d open\n", n);
    std::fflush(stdout);
    while (Clock::now() < until) drain(100);
    int ok = 0, data = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        if (got[i].rfind("HTTP/1.1 200", 0) == 0) ok++;
        if (got[i].find("\"tick\"") != std::string::npos) data++;
        if (fds[i].fd >= 0) close(fds[i].fd);
    }
    std::printf("streams %d answered_200 %d sent_data %d\n", n, ok, data);
    return ok == n && data == n ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 6) {
        std::fprintf(stderr, "usage: %s HOST PORT ingest|streams CONNECTIONS|N SECONDS\n", argv[0]);
        return 2;
    }
    std::string mode = argv[3];
    if (mode == "ingest") return ingest(argv[1], std::atoi(argv[2]), std::atoi(argv[4]), std::atof(argv[5]));
    return streams(argv[1], std::atoi(argv[2]), std::atoi(argv[4]), std::atof(argv[5]));
}
