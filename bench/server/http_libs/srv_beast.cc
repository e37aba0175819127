// The HTTP library comparison's Boost.Beast server (bench/README.md,
// "server", "HTTP libraries"): POST /ingest reads the body and answers a
// small JSON; GET /stream is a chunked stream of a line a second until the
// client goes. Asio's io_context on THREADS threads, a C++20 coroutine per
// connection.
//
//   bench-http-beast PORT THREADS
// Boost 1.74's awaitable.hpp uses std::exchange without including it.
#include <utility>
// clang-format off
#include <boost/asio.hpp>
#include <boost/beast.hpp>
// clang-format on
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

asio::awaitable<void> session(tcp::socket sock) {
    beast::tcp_stream stream(std::move(sock));
    beast::flat_buffer buf;
    // Beast reads at most the buffer's free capacity (at least 512 bytes)
    // at a time, and the parser empties the buffer as it goes: without
    // this a 1 MiB body took 2,000 recvmsg calls.
    buf.reserve(1U << 16U);
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(64U << 20U);
        co_await http::async_read(stream, buf, parser, asio::use_awaitable);
        auto& req = parser.get();
        if (req.method() == http::verb::post && req.target() == "/ingest") {
            http::response<http::string_body> res{http::status::ok, req.version()};
            res.set(http::field::content_type, "application/json; charset=UTF-8");
            res.body() = "{\"bytes\":" + std::to_string(req.body().size()) + "}\n";
            res.keep_alive(req.keep_alive());
            res.prepare_payload();
            co_await http::async_write(stream, res, asio::use_awaitable);
            if (!res.keep_alive()) break;
        } else if (req.method() == http::verb::get && req.target() == "/stream") {
            http::response<http::empty_body> res{http::status::ok, req.version()};
            res.set(http::field::content_type, "application/x-ndjson");
            res.chunked(true);
            http::response_serializer<http::empty_body> sr{res};
            co_await http::async_write_header(stream, sr, asio::use_awaitable);
            asio::steady_timer timer(co_await asio::this_coro::executor);
            for (uint64_t n = 0;; ++n) {
                timer.expires_after(std::chrono::seconds(1));
                co_await timer.async_wait(asio::use_awaitable);
                std::string line = "{\"tick\":" + std::to_string(n) + "}\n";
                co_await asio::async_write(stream, http::make_chunk(asio::buffer(line)), asio::use_awaitable);
            }
        } else {
            http::response<http::string_body> res{http::status::not_found, req.version()};
            res.body() = "not found\n";
            res.prepare_payload();
            co_await http::async_write(stream, res, asio::use_awaitable);
        }
    }
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> listener(tcp::acceptor& acc) {
    for (;;) {
        tcp::socket sock = co_await acc.async_accept(asio::use_awaitable);
        sock.set_option(tcp::no_delay(true));
        auto ex = sock.get_executor();
        // A client that goes ends its coroutine with an exception: dropped.
        asio::co_spawn(ex, session(std::move(sock)), asio::detached);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s PORT THREADS\n", argv[0]);
        return 2;
    }
    int threads = std::atoi(argv[2]);
    asio::io_context ioc(threads);
    tcp::acceptor acc(ioc, {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::atoi(argv[1]))});
    acc.listen(512);
    std::printf("listening on %u\n", static_cast<unsigned>(acc.local_endpoint().port()));
    std::fflush(stdout);
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](auto, auto) { ioc.stop(); });
    asio::co_spawn(ioc, listener(acc), asio::detached);
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i) pool.emplace_back([&] { ioc.run(); });
    ioc.run();
    for (auto& t : pool) t.join();
    return 0;
}
