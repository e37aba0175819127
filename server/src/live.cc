// Live sessions as streams (doc/server.md, "Live sessions"): the hub that
// commits wake streams through, and one stream's progress through its
// recording.
#include "tlog/server/live.h"

#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <set>
#include <thread>
#include <utility>

#include "tlog/json.h"
#include "tlog/server/ingest.h"

namespace tlog::server {

namespace {

using Clock = std::chrono::steady_clock;

// Messages read per turn on the store: a stream far behind catches up in
// pieces, not in one response-sized read that holds the store's turn.
constexpr size_t read_page = 256;

// The longest wait without looking at the stop flag (set by a signal
// handler, which cannot wake a condition variable).
constexpr std::chrono::milliseconds stop_check{1000};

}  // namespace

void LiveHub::notify(const std::vector<std::string>& recs) {
    std::lock_guard<std::mutex> g(mu_);
    for (const auto& rec : recs) {
        auto it = channels_.find(rec);
        if (it != channels_.end()) {
            it->second->seq++;
            it->second->cv.notify_all();
        }
    }
}

std::shared_ptr<LiveHub::Channel> LiveHub::join(const std::string& rec) {
    std::lock_guard<std::mutex> g(mu_);
    auto& c = channels_[rec];
    if (!c) {
        c = std::make_shared<Channel>();
    }
    c->users++;
    return c;
}

void LiveHub::release(const std::string& rec) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = channels_.find(rec);
    if (it != channels_.end() && --it->second->users == 0) {
        channels_.erase(it);
    }
}

uint64_t LiveHub::seq(const Channel& c) {
    std::lock_guard<std::mutex> g(mu_);
    return c.seq;
}

void LiveHub::wait(Channel& c, uint64_t seen, Clock::time_point until) {
    std::unique_lock<std::mutex> g(mu_);
    until = std::min(until, Clock::now() + stop_check);
    c.cv.wait_until(g, until, [&] { return c.seq != seen || stopping_.load(); });
}

bool LiveHub::try_open(size_t max) {
    size_t n = open_.load();
    do {
        if (n >= max) {
            refused_++;
            return false;
        }
    } while (!open_.compare_exchange_weak(n, n + 1));
    return true;
}

void LiveHub::close_stream() { open_--; }

std::string LiveHub::metrics_text() const {
    return "# HELP tlog_server_streams Live session streams open.\n"
           "# TYPE tlog_server_streams gauge\n"
           "tlog_server_streams " +
           std::to_string(open_.load()) +
           "\n"
           "# HELP tlog_server_streams_refused_total Streams refused (503) because max_streams were open.\n"
           "# TYPE tlog_server_streams_refused_total counter\n"
           "tlog_server_streams_refused_total " +
           std::to_string(refused_.load()) + "\n";
}

std::optional<StreamedMessage> streamed_message(const std::string& text) {
    // A full parse: the recorded user controls the text fields, and a
    // substring such as "end": inside them must not end anyone's stream.
    auto v = json::parse(text, "stored message");
    const json::Value* id = v.is_object() ? v.find("id") : nullptr;
    const json::Value* host = v.is_object() ? v.find("host") : nullptr;
    auto idv = id != nullptr ? id->as_uint() : std::nullopt;
    if (!idv || host == nullptr || !host->is_string()) {
        return std::nullopt;
    }
    return StreamedMessage{*idv, host->as_string(), v.find("end") != nullptr};
}

Stream::Stream(LiveHub& hub, const StreamSettings& settings, MessageReader read, std::string rec, std::string host,
               uint64_t after)
    : hub_(hub),
      settings_(settings),
      read_(std::move(read)),
      rec_(std::move(rec)),
      host_(std::move(host)),
      next_(after + 1),
      channel_(hub.join(rec_)),
      last_write_(Clock::now()),
      last_read_(Clock::now()) {}

Stream::~Stream() {
    hub_.release(rec_);
    if (admitted_) {
        hub_.close_stream();
    }
}

bool Stream::admit() {
    admitted_ = hub_.try_open(settings_.max_streams);
    return admitted_;
}

bool Stream::open() {
    auto first = read_(rec_, host_, 0, 1);
    if (first.empty()) {
        return false;
    }
    if (host_.empty()) {
        // The host of its first message: a rec that two hosts share is
        // followed for one of them (the parameter `host` chooses).
        if (auto m = streamed_message(first.front())) {
            host_ = m->host;
        }
    }
    if (next_ > 1) {
        // A client that resumes after the end gets an empty stream, not
        // one that waits for ever.
        auto at = read_(rec_, host_, next_ - 2, 1);
        if (!at.empty()) {
            auto m = streamed_message(at.front());
            ended_ = m && m->id == next_ - 1 && m->end;
        }
    }
    return true;
}

bool Stream::send_ready(const std::function<bool(const std::string&)>& write) {
    for (;;) {
        auto msgs = read_(rec_, host_, next_ - 1, read_page);
        auto now = Clock::now();
        std::string out;
        bool held = false;  // waiting for a missing id
        for (const auto& text : msgs) {
            auto m = streamed_message(text);
            if (!m || m->host != host_ || m->id < next_) {
                continue;
            }
            if (m->id > next_) {
                if (!gap_since_) {
                    gap_since_ = now;
                }
                auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(now - *gap_since_);
                if (waited < settings_.gap_timeout) {
                    held = true;
                    break;
                }
                // Given up on: said in a line of its own, which is not a
                // message (no "id"), so a reader can tell and report it.
                out += "{\"tlog_stream_gap\":{\"first_id\":" + std::to_string(next_) +
                       ",\"last_id\":" + std::to_string(m->id - 1) +
                       ",\"waited_ms\":" + std::to_string(waited.count()) + "}}\n";
            }
            gap_since_.reset();
            out += text;
            out += '\n';
            next_ = m->id + 1;
            if (m->end) {
                ended_ = true;
                break;
            }
        }
        if (!out.empty()) {
            if (!write(out)) {
                return false;
            }
            last_write_ = Clock::now();
        }
        if (ended_ || held || msgs.size() < read_page) {
            return true;
        }
    }
}

bool Stream::step(const std::function<bool(const std::string&)>& write) {
    if (hub_.stopping()) {
        return false;
    }
    if (ended_) {
        return false;
    }
    auto now = Clock::now();
    uint64_t s = hub_.seq(*channel_);
    bool due = fresh_ || s != seen_ || (settings_.poll.count() > 0 && now - last_read_ >= settings_.poll) ||
               (gap_since_ && now - *gap_since_ >= settings_.gap_timeout);
    if (due) {
        // The sequence is taken before reading: a commit that lands during
        // the read wakes the next wait instead of being missed.
        seen_ = s;
        fresh_ = false;
        last_read_ = now;
        if (!send_ready(write)) {
            return false;
        }
        if (ended_) {
            return false;
        }
        now = Clock::now();
    }
    if (now - last_write_ >= settings_.keepalive) {
        // An empty line: NDJSON readers skip it; proxies see traffic, and
        // a client that went is found when a write fails.
        if (!write("\n")) {
            return false;
        }
        last_write_ = now;
    }
    auto until = last_write_ + settings_.keepalive;
    if (settings_.poll.count() > 0) {
        until = std::min(until, last_read_ + settings_.poll);
    }
    if (gap_since_) {
        until = std::min(until, *gap_since_ + settings_.gap_timeout);
    }
    hub_.wait(*channel_, seen_, until);
    return true;
}

std::vector<std::string> committed_recs(const CheckedBody& checked) {
    std::set<std::string_view> seen;
    std::vector<std::string> out;
    for (const auto& m : checked.messages) {
        if (seen.insert(m.meta.rec).second) {
            out.push_back(m.meta.rec);
        }
    }
    return out;
}

namespace {

class GrowingPool final : public httplib::TaskQueue {
public:
    explicit GrowingPool(size_t max) : max_(std::max<size_t>(max, 1)) {}
    ~GrowingPool() override { shutdown(); }
    GrowingPool(const GrowingPool&) = delete;
    GrowingPool& operator=(const GrowingPool&) = delete;
    GrowingPool(GrowingPool&&) = delete;
    GrowingPool& operator=(GrowingPool&&) = delete;

    void enqueue(std::function<void()> fn) override {
        std::lock_guard<std::mutex> g(mu_);
        jobs_.push_back(std::move(fn));
        if (idle_ < jobs_.size() && threads_.size() < max_) {
            threads_.emplace_back([this] { work(); });
        } else {
            cv_.notify_one();
        }
    }

    void shutdown() override {
        std::vector<std::thread> threads;
        {
            std::lock_guard<std::mutex> g(mu_);
            stop_ = true;
            threads.swap(threads_);
        }
        cv_.notify_all();
        for (auto& t : threads) {
            t.join();
        }
    }

private:
    void work() {
        std::unique_lock<std::mutex> g(mu_);
        for (;;) {
            ++idle_;
            cv_.wait(g, [this] { return stop_ || !jobs_.empty(); });
            --idle_;
            if (jobs_.empty()) {
                return;  // stopping, and every connection served
            }
            auto fn = std::move(jobs_.front());
            jobs_.pop_front();
            g.unlock();
            fn();
            g.lock();
        }
    }

    const size_t max_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> jobs_;
    std::vector<std::thread> threads_;
    size_t idle_ = 0;
    bool stop_ = false;
};

}  // namespace

httplib::TaskQueue* new_growing_task_queue(size_t max_threads) {
    return new GrowingPool(max_threads);  // NOLINT(cppcoreguidelines-owning-memory): httplib takes it
}

void serve_stream(LiveHub& hub, const StreamSettings& settings, MessageReader read, const std::string& rec,
                  const std::string& host, uint64_t after, httplib::Response& res) {
    auto reply = [&](int status, const std::string& what) {
        auto o = json::Value::make_object();
        o.set("error", json::Value::make_string(what));
        o.set("status", json::Value::make_uint(static_cast<uint64_t>(status)));
        res.status = status;
        res.set_content(json::dump(o) + "\n", "application/json; charset=UTF-8");
    };
    auto st = std::make_shared<Stream>(hub, settings, std::move(read), rec, host, after);
    if (!st->admit()) {
        // Retry-After: streams end as sessions end; a client may try again.
        res.set_header("Retry-After", "10");
        reply(503,
              "too many live streams open (max_streams " + std::to_string(settings.max_streams) + "): try again later");
        return;
    }
    if (!st->open()) {
        reply(404, "no recording " + json::quote(rec) + (host.empty() ? "" : " from host " + json::quote(host)));
        return;
    }
    res.set_chunked_content_provider("application/x-ndjson", [st, rec](size_t /*offset*/, httplib::DataSink& sink) {
        try {
            bool more = st->step([&](const std::string& s) { return sink.write(s.data(), s.size()); });
            if (!more && st->ended()) {
                sink.done();
            }
            // The client went (a write failed) or the server stops:
            // false closes the connection without the last chunk.
            return more || st->ended();
        } catch (const std::exception& e) {
            // Nothing may leave the library's thread; the client sees the
            // stream cut short, without its last chunk.
            std::string line = "tlog-server: stream of " + json::quote(rec) + ": " + e.what() + "\n";
            std::fwrite(line.data(), 1, line.size(), stderr);
            return false;
        }
    });
}

}  // namespace tlog::server
