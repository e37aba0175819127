// Live sessions as streams: GET /api/v1/sessions/REC/stream sends a
// recording's stored messages, then each new one as it is committed, in id
// order and never twice, until the message carrying `end` (doc/server.md,
// "Live sessions"). Commits wake the streams of their recordings in the
// process; other instances' commits (PostgreSQL) are found by a bounded poll.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace httplib {
struct Response;
class TaskQueue;
}  // namespace httplib

namespace tlog::server {

struct CheckedBody;

struct StreamSettings {
    size_t max_streams = 500;                      // more are refused with 503
    std::chrono::milliseconds keepalive{15000};    // an empty line after this long without one
    std::chrono::milliseconds gap_timeout{10000};  // a missing id waited for this long is skipped
    // 0: commits of this process only; else also re-read this often (other
    // instances' commits). Negative: 1 s on PostgreSQL, 0 on SQLite.
    std::chrono::milliseconds poll{-1};
};

// Wakes the streams of a recording when a commit stored messages of it.
// One condition per followed recording: a commit wakes only its own
// streams, and no stream reads the database unless woken (or polling).
class LiveHub {
public:
    struct Channel {
        std::condition_variable cv;
        uint64_t seq = 0;  // commits seen for this recording
        size_t users = 0;
    };

    // Called after a commit (the recordings it stored messages of).
    void notify(const std::vector<std::string>& recs);
    // A stream's place to wait on; give it back with release().
    std::shared_ptr<Channel> join(const std::string& rec);
    void release(const std::string& rec);
    uint64_t seq(const Channel& c);
    // Until the channel's seq differs from `seen`, the deadline or stop.
    void wait(Channel& c, uint64_t seen, std::chrono::steady_clock::time_point until);
    // The server is stopping: streams end within a second. Only sets a
    // lock-free flag, so a signal handler may call it.
    void stop() { stopping_.store(true); }
    bool stopping() const { return stopping_.load(); }

    // Admission: a slot while fewer than `max` streams are open.
    bool try_open(size_t max);
    void close_stream();
    // The lines /metrics adds (Prometheus' text format).
    std::string metrics_text() const;

private:
    std::mutex mu_;
    std::map<std::string, std::shared_ptr<Channel>> channels_;
    std::atomic<bool> stopping_{false};
    std::atomic<size_t> open_{0};
    std::atomic<uint64_t> refused_{0};
};

// Reads a recording's stored messages with id > after (the Store's
// messages(), in id order), taking the store's turn.
using MessageReader = std::function<std::vector<std::string>(const std::string& rec, const std::string& host,
                                                             uint64_t after, size_t limit)>;

// One stream's state, between the HTTP library's calls for more.
class Stream {
public:
    Stream(LiveHub& hub, const StreamSettings& settings, MessageReader read, std::string rec, std::string host,
           uint64_t after);
    // Takes one of the hub's slots; false (503) when all are taken.
    bool admit();
    ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    Stream(Stream&&) = delete;
    Stream& operator=(Stream&&) = delete;

    // Whether the recording has a stored message (a stream of an unknown
    // recording is a 404, as for /messages). Also learns its host when
    // none was given, and whether `after` is already its end.
    bool open();
    // Sends what is ready (in order), else waits for a commit, the
    // keep-alive or the gap's deadline. `write` sends one chunk and says if
    // the client took it. Returns false when the stream is over: the end
    // was sent, the client went, or the server stops; `ended` tells the first.
    bool step(const std::function<bool(const std::string&)>& write);
    bool ended() const { return ended_; }

private:
    // The ids to send, in order, from the stored messages after next_ - 1.
    bool send_ready(const std::function<bool(const std::string&)>& write);

    LiveHub& hub_;
    StreamSettings settings_;
    MessageReader read_;
    std::string rec_, host_;
    uint64_t next_;  // the id to send next
    std::shared_ptr<LiveHub::Channel> channel_;
    uint64_t seen_ = 0;
    bool fresh_ = true;  // nothing read yet
    bool ended_ = false;
    bool admitted_ = false;
    std::chrono::steady_clock::time_point last_write_;
    std::chrono::steady_clock::time_point last_read_;
    std::optional<std::chrono::steady_clock::time_point> gap_since_;
};

// The id and whether it carries `end`, of a stored message (its JSON was
// validated on ingest); nullopt when it has no unsigned id.
struct StreamedMessage {
    uint64_t id = 0;
    std::string host;
    bool end = false;
};
std::optional<StreamedMessage> streamed_message(const std::string& json);

// The recordings a checked request stored messages of (each once), for
// LiveHub::notify after its commit.
std::vector<std::string> committed_recs(const CheckedBody& checked);

// The HTTP library's connection threads: started as connections need them,
// up to `max_threads`, kept once started (a connection holds one for as long
// as it lasts, a stream for hours). For httplib::Server::new_task_queue,
// which takes ownership.
httplib::TaskQueue* new_growing_task_queue(size_t max_threads);

// GET /api/v1/sessions/REC/stream: 503 past max_streams, 404 for a
// recording with no message, else the chunked NDJSON stream.
void serve_stream(LiveHub& hub, const StreamSettings& settings, MessageReader read, const std::string& rec,
                  const std::string& host, uint64_t after, httplib::Response& res);

}  // namespace tlog::server
