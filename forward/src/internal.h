// The pieces of tlog-forward behind run(): sources, their commit points,
// and the client that posts batches (doc/forward.md).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tlog/forward/forward.h"
#include "tlog/json.h"

namespace tlog::forward {

// Lines read from a source and not acknowledged yet, one JSON message a
// line; `where[i]` names line i+1 for the log ("FILE offset N").
struct Batch {
    std::string body;
    std::vector<std::string> where;
    bool empty() const { return where.empty(); }
};

// A source reads batches from its last acknowledged point. Only one batch
// is in flight: commit() makes the end of the batch read last the new
// commit point, on disk, and only after the server acknowledged it.
class Source {
public:
    virtual ~Source() = default;
    virtual const std::string& name() const = 0;
    // Appends new lines to `b` within the limits; false when none.
    virtual bool read(Batch& b, size_t max_lines, size_t max_bytes) = 0;
    virtual void commit() = 0;
    // Sleeps until there may be more to read (at most `seconds`).
    virtual void wait(double seconds) = 0;
    // The server's path its lines go to (below the URL's prefix).
    virtual const char* endpoint() const { return "/api/v1/ingest"; }
    Counters counters;
};

// What a file holds, which decides the endpoint, the source's name
// ("file:PATH", "audit-file:PATH") and its state file.
enum class FileKind { Recording, Audit };
std::unique_ptr<Source> make_file_source(const std::string& path, const std::string& state_dir,
                                         FileKind kind = FileKind::Recording);
std::unique_ptr<Source> make_journal_source(const JournalOptions& o, const std::string& state_dir);

// The state file of a source: STATE_DIR/KIND-NAME-HASH.state, HASH from the
// source's identity so two sources never share a file.
std::string state_path(const std::string& state_dir, const std::string& kind, const std::string& identity);
// Reads a state file; null when there is none. Throws tlog::InputError
// naming the file when it is not valid.
std::unique_ptr<json::Value> read_state(const std::string& path);
// Writes it atomically: a temporary file, fsync, rename, fsync of the
// directory. Throws std::runtime_error naming the file.
void write_state(const std::string& path, const json::Value& v);

// What the server answered for one batch.
struct Delivery {
    bool acked = false;  // every line stored, a duplicate, or refused for good
    std::string error;   // when not acked: why (for the log)
    std::string url;     // the server that answered
    uint64_t created = 0, duplicates = 0;
    std::map<uint64_t, std::string> refused;  // line (1-based) -> the server's reason
};

class Sender {
public:
    explicit Sender(const ServerOptions& o);
    ~Sender();
    Sender(const Sender&) = delete;
    Sender& operator=(const Sender&) = delete;
    // Posts the batch to `endpoint` of one server after the other
    // (failover), starting with the next one in turn (round-robin) or the
    // last that worked.
    Delivery send(const Batch& b, const char* endpoint = "/api/v1/ingest");

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Reads a server's answer to a batch of `lines` lines (exposed for tests).
Delivery parse_answer(int status, const std::string& body, size_t lines);

}  // namespace tlog::forward
