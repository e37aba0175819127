// -r es and -r server: recordings read over HTTP(S), from Elasticsearch (or
// anything answering its _search as tlog-server does) and from tlog-server's
// own API. As with the journal, the messages are copied into a private file
// that the player then indexes and plays like any recording, so seeking,
// search, --verify, --list and exports behave as on a file; with --follow
// the copy grows as new messages are polled for.
// The server is not trusted: a response that is not what was asked for is
// an error naming the URL and what was wrong, and one response is bounded.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "tlog/play/journal_source.h"

namespace tlog::play {

struct RemoteQuery {
    enum class Kind { Es, Server };
    Kind kind = Kind::Server;
    // Es: the _search URL (tlog's es.baseurl: no query, no fragment).
    // Server: tlog-server's base URL (scheme, host, port, optional prefix).
    // user:password@ in it is sent as HTTP basic authentication and never
    // shown.
    std::string url;
    std::string query;                 // Es: the query string (tlog's es.query)
    std::string rec;                   // Server: the recording
    std::string host;                  // Server: its host, when the same id is on several
    std::string ca_file;               // https: trust these CAs instead of the system's
    uint64_t page = 1000;              // messages per request
    std::chrono::seconds timeout{30};  // connect, and each read
};

// The URL as shown to the auditor: without user:password@.
std::string shown_url(const std::string& url);

// The source as the auditor is told it: "recording REC on URL", "the
// search "QUERY" on URL".
std::string remote_source_name(const RemoteQuery& q);

// How a stream (-r server --follow) stopped.
enum class StreamEnd {
    Ended,        // after the message carrying "end"
    Cut,          // the connection closed before it (server stopping, network)
    Unsupported,  // the server has no stream (404/405): poll pages instead
};

// Reads a recording's messages page by page and keeps its place, so new
// messages can be copied as they arrive (--follow). Use from one thread.
class RemoteReader {
public:
    // Checks the URL; connects on the first copy. Throws
    // std::invalid_argument for a bad URL or query.
    RemoteReader(RemoteQuery q, std::shared_ptr<JournalEntries> entries);
    ~RemoteReader();
    RemoteReader(const RemoteReader&) = delete;
    RemoteReader& operator=(const RemoteReader&) = delete;
    // Fetches every message not copied yet and appends them, one a line, to
    // `fd`. Returns how many. Throws std::runtime_error naming the URL and
    // the HTTP status, the connection error or what the body lacks.
    uint64_t copy_new(int fd);
    // Server: follows the recording's live stream from the last message
    // copied, appending each message to `fd` as the server sends it (in id
    // order, once; a gap the server gave up on stays a gap in the copy).
    // Throws as copy_new for errors other than the connection closing.
    StreamEnd stream_new(int fd);
    // From another thread: ends a stream_new in progress.
    void cancel();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Copies every message to `out_path` (created mode 0600). Returns how many.
uint64_t remote_to_file(const RemoteQuery& q, const std::string& out_path, std::shared_ptr<JournalEntries> entries);

}  // namespace tlog::play
