// tlog-forward: ships a host's recordings (the file writer's files, the
// journal) and tlog-audit's output files to tlog-server and keeps, per source, the point up to which the
// server acknowledged them (doc/forward.md).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tlog::forward {

enum class Balance { Failover, RoundRobin };

struct ServerOptions {
    std::vector<std::string> urls;  // http://HOST:PORT[/PREFIX] or https://...
    Balance balance = Balance::Failover;
    std::string ca_file;  // https: the CAs that may sign the server's certificate; empty: the system's
    // The host's identity to tlog-server: a client certificate and its key
    // (https), and/or a file holding an ingest token (sent as Bearer).
    std::string tls_cert, tls_key, token_file;
    double connect_timeout = 10;  // seconds
    double io_timeout = 60;       // seconds, each read and write
};

struct JournalOptions {
    bool enabled = false;
    std::string ns;                           // journal namespace (as tlog-play -N)
    std::vector<std::string> matches;         // FIELD=VALUE
    std::vector<std::string> recorder_users;  // names or uids; empty: root and tlog
};

struct Config {
    ServerOptions server;
    std::vector<std::string> files;        // the file writer's files (rotated NAME.1, NAME.2, ... followed too)
    std::vector<std::string> audit_files;  // tlog-audit's output files, followed the same way
    JournalOptions journal;
    std::string state_dir = "/var/lib/tlog-forward";
    size_t batch_lines = 1000;
    size_t batch_bytes = 4U << 20U;
    double retry_min = 1;   // seconds: first wait after a failed delivery
    double retry_max = 60;  // seconds: the cap of the doubling
    double poll = 1;        // seconds between looks at files that did not grow
    std::string source;     // the configuration file read, if any
};

// Reads the configuration file (JSON in tlog's configuration syntax) over
// `c`. Throws tlog::InputError naming the file, line and key.
Config load_config(const std::string& path, Config c);

// Structured log lines on standard error (journald keeps them):
// "level=LEVEL source=NAME msg="..." key=value ...". Thread-safe.
void log(const char* level, const std::string& source, const std::string& msg,
         const std::vector<std::pair<std::string, std::string>>& fields = {});

// Counters of one source, reported in its log lines and at exit.
struct Counters {
    std::atomic<uint64_t> delivered{0};   // lines the server stored or already had
    std::atomic<uint64_t> duplicates{0};  // of which it already had
    std::atomic<uint64_t> refused{0};     // lines the server refused (4xx): skipped
    std::atomic<uint64_t> lost_bytes{0};  // file data gone before delivery (deleted, truncated)
    std::atomic<uint64_t> lost_gaps{0};   // journal stretches vacuumed before delivery
};

// Runs until `stop` becomes true: one thread per source, each sending its
// batches in order and advancing its commit point only on the server's
// acknowledgement. Returns 0, or 1 when a source could not start.
int run(const Config& c, const std::atomic<bool>& stop);

}  // namespace tlog::forward
