// The HTTP library comparison's libmicrohttpd server (bench/README.md,
// "server", "HTTP libraries"): POST /ingest reads the body and answers a
// small JSON; GET /stream is a chunked stream of a line a second until the
// client goes. Its own polling threads (epoll, a pool of THREADS); a stream
// waits suspended (MHD_suspend_connection) and a ticker resumes them.
//
//   bench-http-mhd PORT THREADS
#include <microhttpd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

std::mutex mu;
std::vector<MHD_Connection*> suspended;
uint64_t tick = 0;
bool stopping = false;

struct Stream {
    MHD_Connection* conn;
    uint64_t sent = 0;
};

ssize_t stream_reader(void* cls, uint64_t /*pos*/, char* buf, size_t max) {
    auto* s = static_cast<Stream*>(cls);
    std::lock_guard<std::mutex> g(mu);
    if (stopping) return MHD_CONTENT_READER_END_OF_STREAM;
    if (s->sent == tick) {
        MHD_suspend_connection(s->conn);
        suspended.push_back(s->conn);
        return 0;
    }
    std::string line = "{\"tick\":" + std::to_string(s->sent++) + "}\n";
    size_t n = std::min(max, line.size());
    std::memcpy(buf, line.data(), n);
    return static_cast<ssize_t>(n);
}

void stream_free(void* cls) { delete static_cast<Stream*>(cls); }  // NOLINT: MHD's callback owns it

MHD_Result answer(void* /*cls*/, MHD_Connection* conn, const char* url, const char* method, const char* /*version*/,
                  const char* upload, size_t* upload_size, void** con_cls) {
    if (std::strcmp(method, "POST") == 0 && std::strcmp(url, "/ingest") == 0) {
        if (*con_cls == nullptr) {
            *con_cls = new std::string();  // NOLINT: freed below or in completed()
            return MHD_YES;
        }
        auto* body = static_cast<std::string*>(*con_cls);
        if (*upload_size != 0) {
            body->append(upload, *upload_size);
            *upload_size = 0;
            return MHD_YES;
        }
        std::string text = "{\"bytes\":" + std::to_string(body->size()) + "}\n";
        MHD_Response* r = MHD_create_response_from_buffer(text.size(), text.data(), MHD_RESPMEM_MUST_COPY);
        MHD_add_response_header(r, "Content-Type", "application/json; charset=UTF-8");
        MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (std::strcmp(method, "GET") == 0 && std::strcmp(url, "/stream") == 0) {
        auto* s = new Stream{conn, 0};  // NOLINT: freed by stream_free
        {
            std::lock_guard<std::mutex> g(mu);
            s->sent = tick;
        }
        MHD_Response* r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_reader, s, stream_free);
        MHD_add_response_header(r, "Content-Type", "application/x-ndjson");
        MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ret;
    }
    static const char nf[] = "not found\n";
    MHD_Response* r = MHD_create_response_from_buffer(sizeof nf - 1, const_cast<char*>(nf), MHD_RESPMEM_PERSISTENT);
    MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, r);
    MHD_destroy_response(r);
    return ret;
}

void completed(void* /*cls*/, MHD_Connection* /*conn*/, void** con_cls, MHD_RequestTerminationCode /*why*/) {
    delete static_cast<std::string*>(*con_cls);  // NOLINT: allocated in answer()
    *con_cls = nullptr;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s PORT THREADS\n", argv[0]);
        return 2;
    }
    auto port = static_cast<uint16_t>(std::atoi(argv[1]));
    unsigned threads = static_cast<unsigned>(std::atoi(argv[2]));
    MHD_Daemon* d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, port, nullptr,
                         nullptr, answer, nullptr, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED,
                         completed, nullptr, MHD_OPTION_CONNECTION_LIMIT, 4096U, MHD_OPTION_CONNECTION_TIMEOUT, 120U,
                         MHD_OPTION_LISTEN_BACKLOG_SIZE, 512U, MHD_OPTION_END);
    if (d == nullptr) return 1;
    const MHD_DaemonInfo* info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    std::printf("listening on %u\n", static_cast<unsigned>(info->port));
    std::fflush(stdout);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::atomic<bool> stop{false};
    std::thread ticker([&] {
        while (!stop) {
            std::this_thread::sleep_for(std::chrono::seconds(1));
            std::lock_guard<std::mutex> g(mu);
            tick++;
            for (auto* c : suspended) MHD_resume_connection(c);
            suspended.clear();
        }
    });
    int sig = 0;
    sigwait(&set, &sig);
    stop = true;
    ticker.join();
    {
        // MHD aborts if stopped with connections suspended: end them first.
        std::lock_guard<std::mutex> g(mu);
        stopping = true;
        for (auto* c : suspended) MHD_resume_connection(c);
        suspended.clear();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    MHD_stop_daemon(d);
    return 0;
}
