// The HTTP library comparison's cpp-httplib server (bench/README.md,
// "server", "HTTP libraries"): POST /ingest reads the body and answers a
// small JSON; GET /stream is a chunked stream of a line a second until the
// client goes. As tlog-server: a thread pool of streams + 8 threads.
//
//   bench-http-httplib PORT MAX_STREAMS
#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s PORT MAX_STREAMS\n", argv[0]);
        return 2;
    }
    size_t threads = std::strtoul(argv[2], nullptr, 10) + 8;
    httplib::Server srv;
    srv.set_payload_max_length(64U << 20U);
    srv.set_tcp_nodelay(true);
    srv.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };  // NOLINT: httplib owns it
    srv.Post("/ingest", [](const httplib::Request& req, httplib::Response& res) {
        res.set_content("{\"bytes\":" + std::to_string(req.body.size()) + "}\n", "application/json; charset=UTF-8");
    });
    srv.Get("/stream", [](const httplib::Request&, httplib::Response& res) {
        res.set_chunked_content_provider("application/x-ndjson", [n = 0](size_t, httplib::DataSink& sink) mutable {
            std::this_thread::sleep_for(std::chrono::seconds(1));
            std::string line = "{\"tick\":" + std::to_string(n++) + "}\n";
            return sink.write(line.data(), line.size());
        });
    });
    int port = std::atoi(argv[1]);
    if (port == 0)
        port = srv.bind_to_any_port("127.0.0.1");
    else if (!srv.bind_to_port("127.0.0.1", port))
        return 1;
    std::printf("listening on %d\n", port);
    std::fflush(stdout);
    return srv.listen_after_bind() ? 0 : 1;
}
