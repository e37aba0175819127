// The delivery loop: one thread per source, one batch in flight, the
// commit point moved only by the server's acknowledgement.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <iostream>
#include <mutex>
#include <thread>

#include "internal.h"

namespace tlog::forward {

namespace {

std::mutex log_mu;

// A log value: bare when it is a plain word, else quoted as JSON quotes it
// (logfmt readers and journalctl users both read that).
std::string value(const std::string& v) {
    bool plain = !v.empty() && std::all_of(v.begin(), v.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
               std::string_view("-_./:@+").find(ch) != std::string_view::npos;
    });
    return plain ? v : json::quote(v);
}

// Asked to stop (a signal), or halted because a source failed: the whole
// service then exits with an error and systemd restarts it.
struct Stop {
    const std::atomic<bool>& asked;
    std::atomic<bool> halted{false};
    operator bool() const { return asked || halted; }  // NOLINT(google-explicit-constructor)
};

// Sleeps up to `seconds`, waking early when asked to stop.
void pause(double seconds, const Stop& stop) {
    using clock = std::chrono::steady_clock;
    auto end = clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(seconds));
    while (!stop && clock::now() < end) {
        std::this_thread::sleep_for(std::min<clock::duration>(std::chrono::milliseconds(50), end - clock::now()));
    }
}

void deliver(Source& src, const Config& c, const Stop& stop) {
    Sender sender(c.server);
    Batch batch;
    double backoff = c.retry_min;
    uint64_t failures = 0;
    while (!stop) {
        if (batch.empty() && !src.read(batch, c.batch_lines, c.batch_bytes)) {
            src.wait(c.poll);
            continue;
        }
        auto d = sender.send(batch, src.endpoint());
        if (!d.acked) {
            ++failures;
            // The first failure and then every tenth: a server down for
            // hours must not flood the journal.
            if (failures == 1 || failures % 10 == 0) {
                log("warning", src.name(), "delivery failed; retrying, nothing is skipped",
                    {{"error", d.error},
                     {"lines", std::to_string(batch.where.size())},
                     {"first", batch.where.front()},
                     {"attempts", std::to_string(failures)},
                     {"retry_in_s", std::to_string(backoff)}});
            }
            pause(backoff, stop);
            backoff = std::min(backoff * 2, c.retry_max);
            continue;
        }
        if (failures > 0) {
            log("info", src.name(), "delivering again",
                {{"server", d.url}, {"failed_attempts", std::to_string(failures)}});
        }
        failures = 0;
        backoff = c.retry_min;
        for (const auto& [line, why] : d.refused) {
            ++src.counters.refused;
            log("error", src.name(),
                "the server refused a line; it will never be accepted and is skipped (it stays in the source)",
                {{"where", batch.where[line - 1]},
                 {"server", d.url},
                 {"reason", why},
                 {"refused_total", std::to_string(src.counters.refused.load())}});
        }
        src.counters.delivered += d.created + d.duplicates;
        src.counters.duplicates += d.duplicates;
        try {
            src.commit();
        } catch (const std::exception& e) {
            // Delivered but not recorded as such: sent again later, and the
            // server keeps each message once.
            log("error", src.name(), std::string("cannot save the commit point: ") + e.what());
            pause(c.retry_max, stop);
        }
        batch = Batch{};
    }
}

}  // namespace

void log(const char* level, const std::string& source, const std::string& msg,
         const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string line =
        std::string("tlog-forward: level=") + level + " source=" + value(source) + " msg=" + json::quote(msg);
    for (const auto& [k, v] : fields) {
        line += " " + k + "=" + value(v);
    }
    line += '\n';
    std::lock_guard<std::mutex> g(log_mu);
    std::cerr << line << std::flush;
}

int run(const Config& c, const std::atomic<bool>& stop) {
    // Each source is made, used and destroyed on its own thread: an
    // sd_journal object must stay on the thread that opened it.
    std::vector<std::pair<std::string, std::function<std::unique_ptr<Source>()>>> makers;
    for (const auto& f : c.files) {
        makers.emplace_back("file:" + f, [&c, f] { return make_file_source(f, c.state_dir); });
    }
    for (const auto& f : c.audit_files) {
        makers.emplace_back("audit-file:" + f, [&c, f] { return make_file_source(f, c.state_dir, FileKind::Audit); });
    }
    if (c.journal.enabled) {
        makers.emplace_back("journal", [&c] { return make_journal_source(c.journal, c.state_dir); });
    }
    try {
        if (makers.empty()) {
            throw std::runtime_error(
                R"(no source configured: set "files", "audit_files" or "journal": {"enabled": true})");
        }
        // systemd's StateDirectory= makes it; by hand it may be missing.
        if (::mkdir(c.state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
            throw std::runtime_error("cannot create the state directory " + c.state_dir + ": " + std::strerror(errno));
        }
        Sender check(c.server);  // a bad URL stops here, not in a thread
    } catch (const std::exception& e) {
        log("error", "config", e.what());
        return 1;
    }
    std::string urls;
    for (const auto& x : c.server.urls) {
        urls += (urls.empty() ? "" : ",") + x;
    }
    std::vector<std::thread> threads;
    std::atomic<int> failed{0};
    Stop all{stop};
    for (auto& [name, make] : makers) {
        threads.emplace_back([&, name = name, make = make] {
            std::unique_ptr<Source> src;
            try {
                src = make();
                log("info", src->name(), "started", {{"servers", urls}, {"state_dir", c.state_dir}});
                deliver(*src, c, all);
            } catch (const std::exception& e) {
                log("error", name, std::string("stopped: ") + e.what());
                ++failed;
                all.halted = true;
            }
            if (src) {
                log("info", src->name(), "stopped",
                    {{"delivered", std::to_string(src->counters.delivered.load())},
                     {"duplicates", std::to_string(src->counters.duplicates.load())},
                     {"refused", std::to_string(src->counters.refused.load())},
                     {"lost_bytes", std::to_string(src->counters.lost_bytes.load())},
                     {"lost_gaps", std::to_string(src->counters.lost_gaps.load())}});
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    return failed > 0 ? 1 : 0;
}

}  // namespace tlog::forward
